import sys
import time

import numpy as np
import torch

sys.path.insert(0, ".")
sys.path.insert(0, __import__("os").path.dirname(__file__))
from read_mean import run

from gdl_studio.racing.fidelity import first_frame_latents, spearman
from gdl_studio.racing.mdn_rnn import ReadMDNRNN
from gdl_studio.racing.models_io import load_dir
from gdl_studio.racing.models_io import load_dir as _load_dir
from gdl_studio.racing.worlds import load_world_for

M_V4 = _load_dir("models/carracing-mdnrnn-v4")  # the world these probes ran in (before M v5 shipped)
torch.set_num_threads(2)
world = load_world_for("carracing-controller-dream")
vae = world.vae.eval()
va = np.load("resources/logs/world-model-v2/2026-12-05-trust-region/h100/real-valid.npz")
ctrls, real = np.asarray(va["params"]), va["real"].mean(1)
z0 = first_frame_latents(vae, [8_300_000 + i for i in range(16)])
for d in sys.argv[1:]:
    mdn = M_V4 if d == "v4" else ReadMDNRNN.from_pair(M_V4, load_dir(d)).eval()
    t0 = time.time()
    ret, road = run(
        mdn, np.repeat(ctrls, 16, 0), np.tile(z0, (len(ctrls), 1)), 1.0, 0, "sample", decoder=vae.decode, road_every=10
    )
    fr = road.reshape(len(ctrls), 16).mean(1)
    ok = (road.reshape(len(ctrls), 16) >= 0.95).mean(1)
    o = np.argsort(real)
    print(d, f"{time.time() - t0:.0f}s; spearman(dream road frames, real) {spearman(fr, real):.3f}")
    print("  real:        ", np.round(real[o]).astype(int).tolist())
    print("  road frames: ", np.round(fr[o], 2).tolist())
    print("  dreams on road:", np.round(ok[o], 2).tolist())
