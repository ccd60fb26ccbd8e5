"""What a working driver's real return is made of, and whether the dream sees it (issue #13; a probe)

    python3 scripts/racing_return_parts.py [--controller carracing-controller-dream] [--tracks 8] [--dreams 64]
        [--steer-gain 1.0] [--workers 2] [--out parts.json]

The controllers of ``bench racing --fidelity`` (``fidelity.controller_set`` around the controller, seed 0) drive
the bench's real tracks (seeds 3,000,000…, the fast renderer, 1,000 steps, in lockstep per controller as the
bench does, so the returns are the bench's to the digit) and dream from the bench's dream starts (3,001,000…,
τ 1.0, 1,000 steps). Per controller it records, in the real game: return, tiles reached, laps completed,
episodes that left the playfield, the share of frames with the car on the road (``dream_batch.on_road`` on the
preprocessed frame), mean speed and mean gas / brake / |steer|; in the dream: return, steps with a tile-sized
predicted reward (> 1), the share of every 10th dreamt frame on the road, and the same action means. It prints
the Spearman correlations of each part with the return (all controllers / the working ones, real ≥ 300), the
same part in the dream against the real one, and the linear fit of the real return on road share and speed.

``--mdn DIR`` dreams with another M on the same V (the controllers still read the world's M on the real
track, as in ``racing_dream_count.py --mdn``); ``--real JSON`` takes the real parts from an earlier ``--out``
of the same controllers instead of driving again (the real game is 5 of the 9 minutes).

``--steer-gain k`` multiplies every controller's steering row (weights and bias) by k before it drives: with
k < 1 the wheel leaves full lock more often (the fidelity set's drivers hold |steer| ≈ 0.96 on average), a check
of whether the dream ranks smoother drivers better.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio

REAL_KEYS = ("ret", "tiles", "steps", "lap", "oob", "road", "speed", "gas", "brake", "steer")
DREAM_KEYS = ("ret", "tiles", "road", "gas", "brake", "steer")


def soften(params, gain: float):
    """Controller parameters with the steering row (weights and bias) multiplied by ``gain``."""
    import numpy as np

    from gdl_studio.racing.controller import ACTION_SIZE

    p = np.array(params, np.float64, copy=True)
    n_in = (len(p) - ACTION_SIZE) // ACTION_SIZE
    p[:n_in] *= gain
    p[ACTION_SIZE * n_in] *= gain
    return p


def drive(task) -> tuple[int, dict]:
    """One controller on the real tracks in lockstep: per-episode parts."""
    index, name, params, seeds = task
    import numpy as np
    import torch

    torch.set_num_threads(1)
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.dream_batch import on_road
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import preprocess, to_tensor
    from gdl_studio.racing.worlds import load_world_for

    world = load_world_for(name)
    n = len(seeds)
    envs = [make_env() for _ in range(n)]
    obs = np.stack([e.reset(seed=int(s))[0] for e, s in zip(envs, seeds)])
    agent = BatchAgent(world.vae, world.mdn, np.repeat(np.asarray(params)[None], n, 0))
    acc = {k: np.zeros(n) for k in REAL_KEYS}
    alive = list(range(n))
    for _ in range(1000):
        actions = agent.act(obs)
        nxt, keep, frames = [], [], []
        for j, i in enumerate(alive):
            o, r, term, trunc, _ = envs[i].step(actions[j])
            acc["ret"][i] += r
            acc["steps"][i] += 1
            acc["tiles"][i] += r > 0
            acc["speed"][i] += float(np.hypot(*envs[i].unwrapped.car.hull.linearVelocity))
            acc["gas"][i] += actions[j][1]
            acc["brake"][i] += actions[j][2]
            acc["steer"][i] += abs(actions[j][0])
            frames.append(preprocess(o))
            if term:  # a lap completed, or the car left the playfield (−100)
                acc["lap" if r > -50 else "oob"][i] = 1
            if not (term or trunc):
                nxt.append(o)
                keep.append(j)
        with torch.inference_mode():
            ok = on_road(to_tensor(np.stack(frames)))
        for j, i in enumerate(alive):
            acc["road"][i] += ok[j]
        if not keep:
            break
        alive = [alive[j] for j in keep]
        agent.keep(np.asarray(keep))
        obs = np.stack(nxt)
    for e in envs:
        e.close()
    for k in ("road", "speed", "gas", "brake", "steer"):
        acc[k] /= acc["steps"]
    return index, {k: v.tolist() for k, v in acc.items()}


def dream(name: str, controllers, seeds: list[int], seed: int = 0, mdn_dir: Path | None = None) -> dict:
    """The controllers' dreams from the first frames of ``seeds`` (τ 1.0, 1,000 steps): per-dream parts."""
    import numpy as np
    import torch

    from gdl_studio.racing.dream_batch import _sample, controller_tensors, on_road, squash_torch
    from gdl_studio.racing.fidelity import first_frame_latents
    from gdl_studio.racing.models_io import load_dir
    from gdl_studio.racing.worlds import load_world_for

    world = load_world_for(name)
    mdn, vae = (load_dir(mdn_dir) if mdn_dir else world.mdn), world.vae
    z0 = first_frame_latents(vae, seeds)
    params = np.repeat(np.asarray(controllers), len(seeds), 0)
    batch = len(params)
    weight, bias = controller_tensors(params, mdn.config.z_size, mdn.config.hidden, "cpu")
    gen = torch.Generator().manual_seed(seed)
    z = torch.as_tensor(np.tile(z0, (len(controllers), 1)), dtype=torch.float32)
    state = mdn.initial_state(batch, device="cpu")
    acc = {k: torch.zeros(batch, dtype=torch.float64) for k in DREAM_KEYS}
    checks = 0
    with torch.inference_mode():
        for t in range(1000):
            if t % 10 == 0:
                acc["road"] += torch.as_tensor(on_road(vae.decode(z).float()), dtype=torch.float64)
                checks += 1
            a = squash_torch(torch.einsum("bij,bj->bi", weight, torch.cat([z, state[0][0]], 1)) + bias)
            out, state = mdn.step(z, a, state)
            acc["ret"] += out.reward.double()
            acc["tiles"] += (out.reward > 1).double()
            acc["gas"] += a[:, 1].double()
            acc["brake"] += a[:, 2].double()
            acc["steer"] += a[:, 0].abs().double()
            z = _sample(out, 1.0, gen)
    acc["road"] /= checks
    for k in ("gas", "brake", "steer"):
        acc[k] /= 1000
    return {k: v.view(len(controllers), -1).numpy().tolist() for k, v in acc.items()}


def report(real: dict, dreamt: dict, working_threshold: float = 300.0) -> None:
    import numpy as np

    from gdl_studio.racing.fidelity import spearman

    rl = {k: np.asarray(v).mean(1) for k, v in real.items()}
    dr = {k: np.asarray(v).mean(1) for k, v in dreamt.items()}
    w = rl["ret"] >= working_threshold

    def sp(a, b, keep=None):
        return spearman(a, b) if keep is None else spearman(a[keep], b[keep])

    print(
        f"{len(w)} controllers, {int(w.sum())} working; laps completed in {rl['lap'].mean():.3f} of the real episodes, "
        f"left the playfield in {rl['oob'].mean():.3f}"
    )
    print("real game, Spearman of each part with the real return (all / working), mean over the working:")
    for k in ("tiles", "road", "speed", "gas", "brake", "steer", "oob"):
        print(f"  {k:6s} {sp(rl[k], rl['ret']):+.3f} / {sp(rl[k], rl['ret'], w):+.3f}   {rl[k][w].mean():.3f}")
    print("dream, each part with the dream return (all / working); with the real return; mean over the working:")
    for k in ("tiles", "road", "gas", "brake", "steer"):
        print(
            f"  {k:6s} {sp(dr[k], dr['ret']):+.3f} / {sp(dr[k], dr['ret'], w):+.3f};  "
            f"{sp(dr[k], rl['ret']):+.3f} / {sp(dr[k], rl['ret'], w):+.3f}   {dr[k][w].mean():.3f}"
        )
    print(f"dream return against real return: {sp(dr['ret'], rl['ret']):+.3f} / {sp(dr['ret'], rl['ret'], w):+.3f}")
    print("the same part, dream against real game, per controller (all / working); means dream / real:")
    for k in ("road", "gas", "brake", "steer"):
        print(
            f"  {k:6s} {sp(dr[k], rl[k]):+.3f} / {sp(dr[k], rl[k], w):+.3f}   "
            f"{dr[k][w].mean():.3f} / {rl[k][w].mean():.3f}"
        )
    y = rl["ret"][w]
    for label, cols in (("road + speed", ("road", "speed")), ("road", ("road",)), ("speed", ("speed",))):
        x = np.column_stack([np.ones(int(w.sum()))] + [rl[c][w] for c in cols])
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        r2 = 1 - ((y - x @ coef) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        print(f"real return of the working drivers ~ {label}: R² {r2:.3f}")


def drive_all(name: str, controllers, seeds: list[int], workers: int) -> dict:
    """Every controller on the real tracks (a process each, ``workers`` at a time): parts by key."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    tasks = [(i, name, c, seeds) for i, c in enumerate(controllers)]
    rows: dict[int, dict] = {}
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        for i, parts in pool.map(drive, tasks):
            rows[i] = parts
            print(f"  real: controller {i} {sum(parts['ret']) / len(parts['ret']):.1f}", file=sys.stderr, flush=True)
    return {k: [rows[i][k] for i in range(len(controllers))] for k in REAL_KEYS}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--controller", default="carracing-controller-dream")
    ap.add_argument("--tracks", type=int, default=8)
    ap.add_argument("--dreams", type=int, default=64)
    ap.add_argument("--steer-gain", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mdn", type=Path, help="dream with this M directory (same V) instead of the world's")
    ap.add_argument("--real", type=Path, help="the real parts of an earlier --out of the same controllers")
    ap.add_argument("--out", type=Path, help="write the per-episode and per-dream parts here (JSON)")
    args = ap.parse_args(argv)

    from gdl_studio.racing.fidelity import FIDELITY_SEED_BASE, FidelityConfig, controller_set
    from gdl_studio.racing.models_io import controller_params

    params, _ = controller_params(args.controller)
    controllers = controller_set(params, FidelityConfig().controllers, 0)
    if args.steer_gain != 1.0:
        controllers = [soften(c, args.steer_gain) for c in controllers]
    seeds = [FIDELITY_SEED_BASE + i for i in range(args.tracks)]
    t0 = time.perf_counter()
    if args.real:
        recorded = json.loads(args.real.read_text())
        if recorded["args"]["steer_gain"] != args.steer_gain or recorded["args"]["controller"] != args.controller:
            ap.error(f"{args.real} holds other controllers")
        real = recorded["real"]
    else:
        real = drive_all(args.controller, controllers, seeds, args.workers)
    print(f"real game done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    dream_seeds = [FIDELITY_SEED_BASE + 1000 + i for i in range(args.dreams)]
    dreamt = dream(args.controller, controllers, dream_seeds, mdn_dir=args.mdn)
    print(f"dreams done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
    if args.out:
        saved = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
        args.out.write_text(json.dumps({"args": saved, "real": real, "dream": dreamt}))
    report(real, dreamt)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
