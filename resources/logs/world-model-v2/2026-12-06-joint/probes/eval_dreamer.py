"""Dream-road (200 validation starts) and validation ranking of a dreamer M behind M v4's reader."""

import sys
import time

import numpy as np
import torch

sys.path.insert(0, ".")
sys.path.insert(0, __import__("os").path.dirname(__file__))
from read_mean import run

from gdl_studio.racing.fidelity import DREAM_ROAD_SEED_BASE, first_frame_latents, road_figures, spearman, spearman_among
from gdl_studio.racing.mdn_rnn import ReadMDNRNN
from gdl_studio.racing.models_io import controller_params, load_dir
from gdl_studio.racing.models_io import load_dir as _load_dir
from gdl_studio.racing.worlds import load_world_for

M_V4 = _load_dir("models/carracing-mdnrnn-v4")  # the world these probes ran in (before M v5 shipped)
torch.set_num_threads(2)
dreamer_dir, what = sys.argv[1], sys.argv[2]
tau = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
world = load_world_for("carracing-controller-dream")
vae = world.vae.eval()
mdn = M_V4 if dreamer_dir == "v4" else ReadMDNRNN.from_pair(M_V4, load_dir(dreamer_dir)).eval()
t0 = time.time()
if what == "road":
    p, _ = controller_params("carracing-controller-dream")
    n = 200
    z0 = first_frame_latents(vae, [DREAM_ROAD_SEED_BASE + 1000 + i for i in range(n)])
    ret, road = run(mdn, np.repeat(p[None], n, 0), z0, tau, 11, "sample", decoder=vae.decode, road_every=10)
    print(
        dreamer_dir,
        "road",
        tau,
        road_figures(road),
        "return",
        round(float(ret.mean()), 1),
        round(float(ret.std()), 1),
        f"{time.time() - t0:.0f}s",
        flush=True,
    )
elif what == "test":  # the bench's 33 controllers, real returns stored from 24 tracks (chooses nothing)
    import json

    from gdl_studio.racing.fidelity import FIDELITY_SEED_BASE, FidelityConfig, controller_set

    fid = json.load(open("resources/logs/world-model-v2/2026-12-05-trust-region/fidelity-v4-cpu-24tracks.json"))
    real = np.asarray(fid["fidelity.per_controller.real"], float)
    cfg = FidelityConfig()
    ctrls = np.asarray(controller_set(controller_params("carracing-controller-dream")[0], len(real), cfg.seed))
    z0 = first_frame_latents(vae, [10_000 * cfg.seed + FIDELITY_SEED_BASE + 1000 + i for i in range(64)])
    ret, _ = run(mdn, np.repeat(ctrls, 64, 0), np.tile(z0, (len(ctrls), 1)), tau, 0, "sample")
    m = ret.reshape(len(ctrls), 64).mean(1)
    w, tp = real >= 300, real >= 700
    print(
        f"{dreamer_dir} bench controllers {tau}: rank_corr {spearman(m, real):.3f}, "
        f"working {spearman_among(m, real, w):.3f}, "
        f"top {spearman_among(m, real, tp):.3f} ({int(tp.sum())}); "
        f"dream mean {m.mean():.0f} real mean {real.mean():.0f}; {time.time() - t0:.0f}s",
        flush=True,
    )
else:
    va = np.load("resources/logs/world-model-v2/2026-12-05-trust-region/h100/real-valid.npz")
    ctrls, real = np.asarray(va["params"]), va["real"].mean(1)
    z0 = first_frame_latents(vae, [8_300_000 + i for i in range(64)])
    ret, _ = run(mdn, np.repeat(ctrls, 64, 0), np.tile(z0, (len(ctrls), 1)), tau, 0, "sample")
    m = ret.reshape(len(ctrls), 64).mean(1)
    w, tp = real >= 300, real >= 700
    print(
        f"{dreamer_dir} valid {tau}: rank_corr {spearman(m, real):.3f}, working {spearman_among(m, real, w):.3f}, "
        f"top {spearman_among(m, real, tp):.3f} ({int(tp.sum())}); "
        f"dream mean {m.mean():.0f} real mean {real.mean():.0f}; {time.time() - t0:.0f}s",
        flush=True,
    )
