"""How much of the dream's poor ranking is the noise of too few dreams? (issue #13; a probe)

    python3 scripts/racing_dream_count.py FIDELITY_JSON [--dreams 16 64 256] [--models DIR] [--mdn DIR] [--shrink]
        [--road] [--device cpu] [--controller NAME_OR_DIR]

``bench racing --fidelity`` judges each of its 33 controllers by the mean of 16 dreams. One dream's return
varies a lot (the base driver's dreams: std 156 on the shipped v2 world), so 16 dreams leave a standard
error of about 39 on each mean, comparable to the spread of the working drivers' means (std 50). This
rebuilds the same controllers (``fidelity.controller_set`` around the JSON's controller, seed 0), dreams
each of them N times from the first frames of N tracks (the bench's dream tracks, then more of the same
series), and ranks them against the JSON's real returns (which it does not recompute). For each N it
prints the rank correlation over all controllers and over the working ones (real ≥ 300), and the dream
means' own split-half reliability (odd vs even dreams, stepped up with Spearman–Brown: how well the dream
ranking reproduces itself at that N). ``--mdn DIR`` dreams with another M on the same V (e.g. one fine-tuned
from the world's M) against the same real returns, which were driven with the world's own M: a quick check
of a candidate M before the full bench re-drives every controller in its world. ``--shrink``: in the dream
the controllers read E[μ | z] per latent dimension instead of M's sample z. On the real track they read V's
mean μ; in the dream they read a sample with V's posterior noise in it (M is trained on z ~ N(μ, σ²)), which
in V's collapsed dimensions (μ ≈ 0 on every frame, σ ≈ 1) is pure noise through weights that real-game
CMA-ES never had reason to keep small. The shrink var(μ) / (var(μ) + E[σ²]) per dimension is measured on V's
encodings of 4 real episodes of the base controller (tracks 3,005,000…) and folded into each controller's
weights and bias (z_c = m + shrink · (z − m), m the mean μ). ``--road``: V also decodes every 10th dreamt
frame and the script ranks the controllers by how much of their dreams they keep on the road (the mean share
of checked frames on the road, and the share of dreams on the road in ≥ 90 % of them) beside their dream return.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("fidelity_json", type=Path, help="a `bench racing --fidelity --json` output (its real returns)")
    ap.add_argument("--dreams", type=int, nargs="+", default=[16, 64, 256])
    ap.add_argument("--models", type=Path, help="models directory of the world (default: the installed models)")
    ap.add_argument("--mdn", type=Path, help="dream with this M directory instead of the world's (same V)")
    ap.add_argument(
        "--reader",
        choices=("mdn", "world"),
        default="mdn",
        help="with --mdn: whose LSTM the controllers read h from: that M's (default) or the world's, as in the "
        "real game, where the JSON's real returns were driven (then --mdn only dreams)",
    )
    ap.add_argument("--shrink", action="store_true", help="controllers read E[μ | z] (see above), not z")
    ap.add_argument("--road", action="store_true", help="also rank by the dreams' road-keeping (see above)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--controller",
        help="the controller (name or directory) the JSON's set surrounds, when the name the JSON gives now "
        "installs another one (e.g. a kept copy of an earlier dream driver)",
    )
    ap.add_argument("--tau", type=float, default=1.0, help="dream temperature (the bench's default: 1.0)")
    args = ap.parse_args(argv)

    import numpy as np

    from gdl_studio.racing.dream_batch import ROAD_EVERY
    from gdl_studio.racing.fidelity import (
        FIDELITY_SEED_BASE,
        FidelityConfig,
        controller_set,
        dream_returns,
        first_frame_latents,
        road_figures,
        spearman,
        spearman_among,
        split_half_reliability,
    )
    from gdl_studio.racing.mdn_rnn import ReadMDNRNN
    from gdl_studio.racing.models_io import controller_params, load_dir
    from gdl_studio.racing.worlds import load_world_for

    fid = json.loads(args.fidelity_json.read_text())
    real = np.asarray(fid["fidelity.per_controller.real"], float)
    cfg = FidelityConfig()
    name = args.controller or fid.get("controller", "carracing-controller")
    params, _ = controller_params(name)
    world = load_world_for(name, models=args.models)
    controllers = controller_set(params, len(real), cfg.seed)
    if args.shrink:
        shrink, mean = latent_shrink(world, params, [FIDELITY_SEED_BASE + 5000 + i for i in range(4)])
        print("shrink per latent dimension:", " ".join(f"{v:.2f}" for v in shrink), flush=True)
        controllers = [read_shrunk(c, shrink, mean, world.mdn.config.z_size) for c in controllers]
    working = real >= cfg.working_threshold
    base = 10_000 * cfg.seed + FIDELITY_SEED_BASE
    n_max = max(args.dreams)
    t0 = time.perf_counter()
    z0 = first_frame_latents(world.vae, [base + 1000 + i for i in range(n_max)])
    print(
        f"{len(controllers)} controllers ({int(working.sum())} working), real returns driven in {fid.get('world')}; "
        f"the controller's world now {world.cards['carracing-vae'].name} + {world.cards['carracing-mdnrnn'].name}, "
        f"τ {args.tau}",
        flush=True,
    )
    mdn = (load_dir(args.mdn) if args.mdn else world.mdn).to(args.device)
    if args.mdn and args.reader == "world":  # the controllers read the world's M, args.mdn only dreams
        mdn = ReadMDNRNN.from_pair(world.mdn.to(args.device), mdn)
    if args.mdn:
        reads = ", the controllers reading the world's M" if args.reader == "world" else ""
        print(f"dreaming with {args.mdn}{reads}", flush=True)
    for n in sorted(args.dreams):
        t = time.perf_counter()
        dream, road, steps = dream_returns(
            mdn,
            controllers,
            z0[:n],
            args.tau,
            cfg.dream_steps,
            cfg.seed,
            args.device,
            decoder=world.vae.to(args.device).decode if args.road else None,
            road_every=ROAD_EVERY if args.road else 0,
        )
        means = dream.mean(1)
        rel = split_half_reliability(dream) if n >= 2 else float("nan")
        rel_w = split_half_reliability(dream, working) if n >= 2 else float("nan")
        corr, corr_w = spearman(means, real), spearman_among(means, real, working)
        top = real >= cfg.top_threshold
        corr_t = spearman_among(means, real, top)
        spread, secs = means[working].std(), time.perf_counter() - t
        print(
            f"{n:4d} dreams: rank_corr {corr:.3f}, working {corr_w:.3f}, top {corr_t:.3f} ({int(top.sum())}); "
            f"dream reliability {rel:.3f}, "
            f"working {rel_w:.3f}; dream std per controller {dream.std(1).mean():.1f}, "
            f"spread of working means {spread:.1f} ({steps} dream steps, {secs:.0f} s)",
            flush=True,
        )
        if road is not None:
            figs = road_figures(road[0])
            print(
                f"      the base controller's dreams: {figs['on_road']:.2f} on the road throughout, "
                f"{figs['on_road_frames']:.3f} of the frames; dream return {dream[0].mean():.1f}",
                flush=True,
            )
            for label, score in (("road frames", road.mean(1)), ("dreams ≥ 90 % on road", (road >= 0.9).mean(1))):
                print(
                    f"      by {label}: rank_corr {spearman(score, real):.3f}, "
                    f"working {spearman_among(score, real, working):.3f}",
                    flush=True,
                )
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


def latent_shrink(world, params, seeds: list[int]):
    """Per latent dimension: var(μ) / (var(μ) + E[σ²]) and the mean μ, over V's encodings of real episodes
    (the frames after each step: the first frame of a track is left out)."""
    import numpy as np
    import torch

    from gdl_studio.racing.fast_env import MAX_EPISODE_STEPS
    from gdl_studio.racing.fidelity import record_episodes
    from gdl_studio.racing.preprocess import to_tensor

    recorded: list = []
    record_episodes(world, params, seeds, MAX_EPISODE_STEPS, frames_out=recorded)
    frames = np.concatenate([f[1:] for f in recorded])
    with torch.inference_mode():
        enc = [world.vae.encode(to_tensor(frames[i : i + 512])) for i in range(0, len(frames), 512)]
    mu = torch.cat([m for m, _ in enc]).numpy()
    var = torch.cat([lv for _, lv in enc]).exp().numpy()
    return mu.var(0) / (mu.var(0) + var.mean(0)), mu.mean(0)


def read_shrunk(params, shrink, mean, z_size: int):
    """Controller parameters that act on m + shrink · (z − m) when given z (weights and bias folded)."""
    import numpy as np

    from gdl_studio.racing.controller import ACTION_SIZE

    p = np.array(params, np.float32, copy=True)
    n_in = (len(p) - ACTION_SIZE) // ACTION_SIZE
    weight, bias = p[: ACTION_SIZE * n_in].reshape(ACTION_SIZE, n_in), p[ACTION_SIZE * n_in :]
    wz = weight[:, :z_size].copy()
    bias += wz @ ((1.0 - shrink) * mean)
    weight[:, :z_size] = wz * shrink
    return p


if __name__ == "__main__":
    raise SystemExit(main())
