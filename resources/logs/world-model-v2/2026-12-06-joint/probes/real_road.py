"""Reference: the same road check on the real game's frames (V's reconstruction of each 10th frame, and the raw
frame)."""

import sys
import time

import numpy as np
import torch

sys.path.insert(0, ".")
from gdl_studio.racing.dream_batch import on_road
from gdl_studio.racing.fidelity import DREAM_ROAD_SEED_BASE, record_episodes, road_figures
from gdl_studio.racing.models_io import controller_params
from gdl_studio.racing.worlds import load_world_for

torch.set_num_threads(1)
ctrl, n, off = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p, _ = controller_params(ctrl)
world = load_world_for(ctrl)
vae = world.vae.eval()
fr_rec, fr_raw, rets, lens = [], [], [], []
t0 = time.time()
for i in range(n):
    frames = []
    ((mu, a, r),) = record_episodes(world, p, [DREAM_ROAD_SEED_BASE + off + i], 1000, frames_out=frames)
    with torch.inference_mode():
        idx = np.arange(0, len(a), 10)
        rec = vae.decode(torch.from_numpy(mu[idx])).float()
        raw = torch.from_numpy(frames[0][idx]).permute(0, 3, 1, 2).float() / 255.0
    fr_rec.append(on_road(rec).mean())
    fr_raw.append(on_road(raw).mean())
    rets.append(float(r.sum()))
    lens.append(len(a))
    print(
        i,
        round(rets[-1], 1),
        len(a),
        round(float(fr_rec[-1]), 3),
        round(float(fr_raw[-1]), 3),
        f"{time.time() - t0:.0f}s",
        file=sys.stderr,
        flush=True,
    )
print(
    ctrl,
    n,
    off,
    "V-reconstructed",
    road_figures(np.array(fr_rec)),
    "raw",
    road_figures(np.array(fr_raw)),
    "return",
    round(float(np.mean(rets)), 1),
    "steps<1000:",
    int(np.sum(np.array(lens) < 1000)),
)
