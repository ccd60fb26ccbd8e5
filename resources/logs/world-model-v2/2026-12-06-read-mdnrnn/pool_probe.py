"""Rank figures of M v4, the refitted span25 world (rw25) and their min / mean pools (session 29 probe).

python resources/logs/world-model-v2/2026-12-06-read-mdnrnn/pool_probe.py valid|test  # runs/ve/m-rw25 first
"""

import json
import sys

import numpy as np

sys.path.insert(0, ".")
import torch

from gdl_studio.racing.fidelity import (
    FIDELITY_SEED_BASE,
    FidelityConfig,
    controller_set,
    dream_returns,
    first_frame_latents,
    spearman,
    spearman_among,
)
from gdl_studio.racing.models_io import controller_params, load_dir
from gdl_studio.racing.worlds import load_world_for

torch.set_num_threads(2)
which = sys.argv[1]
world = load_world_for("carracing-controller-dream")
v4, rw = world.mdn, load_dir("runs/ve/m-rw25/carracing-mdnrnn")
if which == "valid":  # session 22's validation controllers, 16-track real means; starts as the VE fit's validation
    va = np.load("resources/logs/world-model-v2/2026-12-05-trust-region/h100/real-valid.npz")
    ctrls, real = list(va["params"]), va["real"].mean(1)
    z0 = first_frame_latents(world.vae, [8_300_000 + i for i in range(64)])
else:  # the bench's 33 (test), as racing_dream_count.py
    fid = json.load(open("resources/logs/world-model-v2/2026-12-05-trust-region/fidelity-v4-cpu-24tracks.json"))
    real = np.asarray(fid["fidelity.per_controller.real"], float)
    cfg = FidelityConfig()
    ctrls = controller_set(controller_params("carracing-controller-dream")[0], len(real), cfg.seed)
    z0 = first_frame_latents(world.vae, [10_000 * cfg.seed + FIDELITY_SEED_BASE + 1000 + i for i in range(64)])
means = {}
for name, m in (("v4", v4), ("rw25", rw)):
    d, _, _ = dream_returns(m, ctrls, z0, 1.0, 1000, 0, "cpu")
    means[name] = d.mean(1)
means["min"] = np.minimum(means["v4"], means["rw25"])
means["mean"] = (means["v4"] + means["rw25"]) / 2
w, t = real >= 300, real >= 700
for k, v in means.items():
    print(
        f"{which} {k:5s}: rank_corr {spearman(v, real):.3f}, working {spearman_among(v, real, w):.3f}, "
        f"top {spearman_among(v, real, t):.3f} ({int(t.sum())})",
        flush=True,
    )
