"""Open-loop action replay: the driver's recorded real actions fed to M's dream from the real first frame (no
controller in the loop), against the same driver closing the loop in the dream. Share of checked frames on the
road and dream return; τ 1.0, 8 real episodes x 8 dreams."""

import sys

sys.path.insert(0, ".")
from pathlib import Path

import numpy as np
import torch

import gdl_studio.racing.dream_batch as db
from gdl_studio.racing.dream_batch import on_road
from gdl_studio.racing.fidelity import record_episodes
from gdl_studio.racing.mdn_rnn import ReadMDNRNN
from gdl_studio.racing.models_io import controller_params, load_dir
from gdl_studio.racing.worlds import load_world_for

c = Path(sys.argv[1]) if "/" in sys.argv[1] else sys.argv[1]
params, _ = controller_params(c)
world = load_world_for(c)
eps = record_episodes(world, params, [6_910_000 + i for i in range(8)], 1000)
real_road = []
for mu, _act, _rew in eps:
    with torch.inference_mode():
        real_road.append(on_road(world.vae.decode(torch.as_tensor(mu[::10]).float())).mean())
print(
    "real: return",
    round(float(np.mean([e[2].sum() for e in eps])), 1),
    "frames on road (V's decoding)",
    round(float(np.mean(real_road)), 3),
)
for mdir in sys.argv[2:]:
    mdn = world.mdn if mdir == "-" else ReadMDNRNN.from_pair(world.mdn, load_dir(mdir))
    gen = torch.Generator().manual_seed(0)
    roads, rets = [], []
    for mu, act, _rew in eps:
        B = 8
        z = torch.as_tensor(mu[0:1]).float().repeat(B, 1)
        st = mdn.initial_state(B)
        tot = torch.zeros(B)
        r = []
        with torch.inference_mode():
            for t in range(len(act)):
                if t % 10 == 0:
                    r.append(on_road(world.vae.decode(z)))
                a = torch.as_tensor(act[t : t + 1]).float().repeat(B, 1)
                out, st = mdn.step(z, a, st)
                tot += out.reward.float()
                z = db._sample(out, 1.0, gen)
        roads.append(np.mean(r))
        rets.append(float(tot.mean()))
    print(
        mdir[-32:],
        "replayed actions: return",
        round(float(np.mean(rets)), 1),
        "frames on road",
        round(float(np.mean(roads)), 3),
        flush=True,
    )
