"""Teacher-forced reward of Ms on real episodes of a driver, and its real vs M-predicted per-step reward."""

import sys

sys.path.insert(0, ".")
from pathlib import Path

import numpy as np
import torch

from gdl_studio.racing.fidelity import record_episodes
from gdl_studio.racing.mdn_rnn import ReadMDNRNN
from gdl_studio.racing.models_io import controller_params, load_dir
from gdl_studio.racing.worlds import load_world_for

c = Path(sys.argv[1]) if "/" in sys.argv[1] else sys.argv[1]
params, _ = controller_params(c)
world = load_world_for(c)
eps = record_episodes(world, params, [6_900_000 + i for i in range(3)], 1000)
for mdir in sys.argv[2:]:
    mdn = world.mdn if mdir == "-" else ReadMDNRNN.from_pair(world.mdn, load_dir(mdir))
    out = []
    for mu, act, rew in eps:
        st = mdn.initial_state(1)
        pr = []
        nll = []
        with torch.inference_mode():
            for t in range(len(act)):
                o, st = mdn.step(torch.as_tensor(mu[t : t + 1]).float(), torch.as_tensor(act[t : t + 1]).float(), st)
                pr.append(float(o.reward[0]))
        pr = np.array(pr)
        out.append((rew.sum(), pr.sum(), np.corrcoef(pr, rew)[0, 1]))
    print(
        mdir[-30:],
        [(round(a, 1), round(b, 1), round(c_, 2)) for a, b, c_ in out],
        "mean brake",
        round(float(np.mean([e[1][:, 2].mean() for e in eps])), 3),
        "gas",
        round(float(np.mean([e[1][:, 1].mean() for e in eps])), 3),
        flush=True,
    )
