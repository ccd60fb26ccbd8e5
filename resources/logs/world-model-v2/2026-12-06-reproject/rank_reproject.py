"""Rank figures with V re-projection every k dream steps (session 30 probe). python rank_reproj.py valid|test k..."""

import json
import sys
import time

import numpy as np

sys.path.insert(0, ".")
import torch

import gdl_studio.racing.dream_batch as db
from gdl_studio.racing.fidelity import (
    FIDELITY_SEED_BASE,
    FidelityConfig,
    controller_set,
    dream_returns,
    first_frame_latents,
    spearman,
    spearman_among,
)
from gdl_studio.racing.models_io import controller_params
from gdl_studio.racing.worlds import load_world_for

torch.set_num_threads(2)
which = sys.argv[1]
ks = [int(k) for k in sys.argv[2:]]
world = load_world_for("carracing-controller-dream")
vae = world.vae.eval()
if which == "valid":
    va = np.load("resources/logs/world-model-v2/2026-12-05-trust-region/h100/real-valid.npz")
    ctrls, real = list(va["params"]), va["real"].mean(1)
    z0 = first_frame_latents(vae, [8_300_000 + i for i in range(64)])
else:
    fid = json.load(open("resources/logs/world-model-v2/2026-12-05-trust-region/fidelity-v4-cpu-24tracks.json"))
    real = np.asarray(fid["fidelity.per_controller.real"], float)
    cfg = FidelityConfig()
    ctrls = controller_set(controller_params("carracing-controller-dream")[0], len(real), cfg.seed)
    z0 = first_frame_latents(vae, [10_000 * cfg.seed + FIDELITY_SEED_BASE + 1000 + i for i in range(64)])
orig = db._sample
w, t = real >= 300, real >= 700
for k in ks:
    cnt = [0]

    def samp(out, tau, gen, k=k, cnt=cnt):
        z = orig(out, tau, gen)
        cnt[0] += 1
        if k and cnt[0] % k == 0:
            return vae.encode(vae.decode(z))[0]
        return z

    db._sample = samp
    t0 = time.time()
    d, _, _ = dream_returns(world.mdn, ctrls, z0, 1.0, 1000, 0, "cpu")
    m = d.mean(1)
    np.save(f"/tmp/p30/dream-{which}-k{k}.npy", d)
    print(
        f"{which} k{k}: rank_corr {spearman(m, real):.3f}, working {spearman_among(m, real, w):.3f}, "
        f"top {spearman_among(m, real, t):.3f} ({int(t.sum())}); {time.time() - t0:.0f}s",
        flush=True,
    )
