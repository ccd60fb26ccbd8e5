"""How multimodal are an M's mixtures on real driving? Three real episodes of the dream driver (tracks 3,021,000-2),
teacher-forced through the M given (default: M v4). Session 31:

    python resources/logs/world-model-v2/2026-12-06-joint/probes/mixture_modes.py [M_DIR]
"""

import sys
import time

import numpy as np
import torch

sys.path.insert(0, ".")
from gdl_studio.racing.fidelity import record_episodes
from gdl_studio.racing.models_io import controller_params, load_dir
from gdl_studio.racing.worlds import load_world_for

w = load_world_for("carracing-controller-dream")
p, _ = controller_params("carracing-controller-dream")
t = time.time()
eps = record_episodes(w, p, [3021000, 3021001, 3021002], 1000)
print("drove", time.time() - t, [float(r.sum()) for _, _, r in eps])
m = load_dir(sys.argv[1] if len(sys.argv) > 1 else "models/carracing-mdnrnn-v4")
for mu, a, _r in eps:
    with torch.inference_mode():
        out, _ = m(torch.from_numpy(mu[None, :-1]), torch.from_numpy(a[None]))
    pi = out.logpi.exp()[0]  # T, z, K
    mx = pi.max(-1).values
    low8, low6 = (mx < 0.8).float().mean(), (mx < 0.6).float().mean()
    print(f"max pi per dim: mean {mx.mean():.3f}, share of (t,d) with max<0.8: {low8:.3f}, <0.6: {low6:.3f}")
    # bimodality: weighted spread of component means vs sigma
    mean = (pi * out.mu[0]).sum(-1, keepdim=True)
    between = (pi * (out.mu[0] - mean) ** 2).sum(-1)
    within = (pi * out.logsigma[0].exp() ** 2).sum(-1)
    share = (between > within).float().mean()
    print(f"  between/within variance mean {(between / within).mean():.3f}; share with between>within {share:.3f}")
    step = np.abs(np.diff(mu, axis=0)).mean()
    print(f"  mean within sigma {within.sqrt().mean():.3f}; real step |dz| mean {step:.3f}")
