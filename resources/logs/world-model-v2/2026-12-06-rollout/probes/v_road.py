"""Does V keep the road? on_road of V's decoding of each recorded frame against on_road of the frame itself, on the
validation episodes of runs/sw/roll (every 20th). Run from the repository root: python3 PROBES/v_road.py"""

import numpy as np
import torch

from gdl_studio.racing.collect import list_episodes
from gdl_studio.racing.dream_batch import on_road
from gdl_studio.racing.preprocess import to_tensor
from gdl_studio.racing.worlds import load_world_for

torch.set_num_threads(2)
vae = load_world_for("carracing-controller-dream").vae.eval()
files = list_episodes("runs/sw/roll")
s = np.load("runs/sw/ck-roll30/series.npz")
L = s["lengths"]
fo = np.concatenate([[0], np.cumsum(L + 1)])
rf = []
vf = []
for e in [e for e in range(len(files)) if e % 20 == 19]:
    with np.load(files[e]) as d:
        fr = d["frames"]
    real = on_road(to_tensor(fr))
    mu = torch.from_numpy(s["mu"][fo[e] : fo[e + 1]].astype(np.float32))
    with torch.inference_mode():
        dec = on_road(vae.decode(mu))
    rf += list(~real)
    vf += list(~dec)
rf = np.array(rf)
vf = np.array(vf)
print(
    "frames",
    len(rf),
    "real off",
    rf.mean().round(3),
    "V-decoded off",
    vf.mean().round(3),
    "of real-off frames V says off",
    vf[rf].mean().round(3),
    "of real-on V says off",
    vf[~rf].mean().round(3),
)
