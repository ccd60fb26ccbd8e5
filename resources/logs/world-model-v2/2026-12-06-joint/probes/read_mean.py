"""Probe: the driver reads (and the road check decodes) M's expected next latent, M is fed its sample."""

import sys
import time

import numpy as np
import torch

sys.path.insert(0, ".")
import gdl_studio.racing.dream_batch as db
from gdl_studio.racing.controller import raw_outputs
from gdl_studio.racing.fidelity import (
    DREAM_ROAD_SEED_BASE,
    first_frame_latents,
    road_figures,
    spearman,
    spearman_among,
)
from gdl_studio.racing.models_io import controller_params
from gdl_studio.racing.models_io import load_dir as _load_dir
from gdl_studio.racing.worlds import load_world_for

M_V4 = _load_dir("models/carracing-mdnrnn-v4")  # the world these probes ran in (before M v5 shipped)
torch.set_num_threads(2)


def mean_of(out):
    return (out.logpi.float().exp() * out.mu.float()).sum(-1)


def run(mdn, params, z0, tau, seed, read, steps=1000, decoder=None, road_every=0, shrink=1.0):
    parts = db.controller_tensors(params, 32, mdn.config.hidden, "cpu")
    B = parts[0].shape[0]
    gen = torch.Generator().manual_seed(seed)
    z = torch.as_tensor(np.asarray(z0, np.float32)).reshape(B, 32)
    zr = z.clone()
    state = mdn.initial_state(B)
    tot = torch.zeros(B, dtype=torch.float64)
    hits = np.zeros(B)
    checks = np.zeros(B)
    with torch.inference_mode():
        for t in range(steps):
            if decoder is not None and road_every and t % road_every == 0:
                hits += db.on_road(decoder(zr).float())
                checks += 1
            x = torch.cat([zr, state[0][0]], 1)
            a = db.squash_torch(raw_outputs(parts, x))
            out, state = mdn.step(z, a, state)
            tot += out.reward.double()
            z = db._sample(out, tau, gen)
            if read == "mean":
                zr = mean_of(out)
            elif read == "shrink":  # mean + shrink * (sample - mean)
                m = mean_of(out)
                zr = m + shrink * (z - m)
            else:
                zr = z
    return tot.numpy(), (hits / np.maximum(checks, 1) if decoder is not None else None)


if __name__ == "__main__":
    what = sys.argv[1]
    read = sys.argv[2]
    shrink = float(sys.argv[3]) if len(sys.argv) > 3 else 1.0
    world = load_world_for("carracing-controller-dream")
    vae = world.vae.eval()
    mdn = M_V4
    t0 = time.time()
    if what.startswith("road"):
        n, off, sd = 200, 1000, 11
        if what == "road-bench":
            n, off, sd = 50, 0, 0
        p, _ = controller_params("carracing-controller-dream")
        z0 = first_frame_latents(vae, [DREAM_ROAD_SEED_BASE + off + i for i in range(n)])
        ret, road = run(
            mdn, np.repeat(p[None], n, 0), z0, 1.0, sd, read, decoder=vae.decode, road_every=10, shrink=shrink
        )
        ok = road >= 0.999
        print(
            what,
            read,
            shrink,
            road_figures(road[None]),
            "return",
            round(float(ret.mean()), 1),
            round(float(ret.std()), 1),
            f"{time.time() - t0:.0f}s",
            flush=True,
        )
    else:
        va = np.load("resources/logs/world-model-v2/2026-12-05-trust-region/h100/real-valid.npz")
        ctrls, real = np.asarray(va["params"]), va["real"].mean(1)
        z0 = first_frame_latents(vae, [8_300_000 + i for i in range(64)])
        P = np.repeat(ctrls, 64, 0)
        Z = np.tile(z0, (len(ctrls), 1))
        ret, _ = run(mdn, P, Z, 1.0, 0, read, shrink=shrink)
        m = ret.reshape(len(ctrls), 64).mean(1)
        w, tp = real >= 300, real >= 700
        print(
            f"valid {read} {shrink}: rank_corr {spearman(m, real):.3f}, working {spearman_among(m, real, w):.3f}, "
            f"top {spearman_among(m, real, tp):.3f} ({int(tp.sum())}); "
            f"dream mean {m.mean():.0f} real mean {real.mean():.0f}; {time.time() - t0:.0f}s",
            flush=True,
        )
