"""Does one of a controller's output biases sit where the real game wants it? (issue #13, CPU)

Shifts one raw output bias of a shipped controller (0 steer, 1 gas, 2 brake) by each given amount and drives
every variant on the same real tracks (paired with the unshifted controller), in the controller's own world::

    python scripts/racing_bias_probe.py carracing-controller-dream --output 1 --deltas=-0.3,0,0.3,0.6,1.0 \\
        --first 8200000 --tracks 16 --workers 2

Also prints the unshifted driver's mean actions and speed on the first 4 tracks.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def action_stats(name: str, seeds: list[int]) -> str:
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.train_controller import initial_from_model
    from gdl_studio.racing.worlds import resolve_world

    world = resolve_world(name).load()
    params, _ = initial_from_model(Path("models") / name)
    envs = [make_env() for _ in seeds]
    obs = np.stack([env.reset(seed=s)[0] for env, s in zip(envs, seeds)])
    agent = BatchAgent(world.vae, world.mdn, np.repeat(params[None], len(seeds), 0))
    actions, speeds = [], []
    for _ in range(1000):  # all of these tracks' episodes run the full 1,000 steps (no lap is finished)
        a = agent.act(obs)
        actions.append(a)
        steps = [env.step(a[j]) for j, env in enumerate(envs)]
        obs = np.stack([s[0] for s in steps])
        speeds.append([np.linalg.norm(env.unwrapped.car.hull.linearVelocity) for env in envs])
    for env in envs:
        env.close()
    act, v = np.asarray(actions), np.asarray(speeds)
    steer, gas, brake = act[..., 0], act[..., 1], act[..., 2]
    return (
        f"|steer| {np.abs(steer).mean():.3f}, gas {gas.mean():.3f} (over 0.9: {(gas > 0.9).mean():.3f}), "
        f"brake {brake.mean():.3f} (on: {(brake > 0).mean():.3f}), "
        f"speed {v.mean():.1f} (p90 {np.percentile(v, 90):.1f})"
    )


def main() -> int:
    from gdl_studio.racing.train_controller import Evaluator, initial_from_model
    from gdl_studio.racing.worlds import resolve_world

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("controller")
    ap.add_argument("--output", type=int, choices=(0, 1, 2), default=1, help="0 steer, 1 gas, 2 brake")
    ap.add_argument("--deltas", default="-0.3,0,0.3,0.6,1.0", help="raw bias shifts (must include 0)")
    ap.add_argument("--first", type=int, default=8_200_000, help="first track seed")
    ap.add_argument("--tracks", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    deltas = [float(x) for x in args.deltas.split(",")]
    if 0.0 not in deltas:
        ap.error("--deltas must include 0 (the controller as shipped)")
    print(action_stats(args.controller, list(range(args.first, args.first + 4))), flush=True)
    params, _ = initial_from_model(Path("models") / args.controller)
    bias0 = params.size - 3
    candidates = []
    for d in deltas:
        q = params.copy()
        q[bias0 + args.output] += d
        candidates.append(q)
    seeds = list(range(args.first, args.first + args.tracks))
    evaluator = Evaluator(resolve_world(args.controller).models_dir(), args.workers)
    t0 = time.perf_counter()
    try:
        returns, _ = evaluator.per_track(candidates, seeds, 4, 1000, None)
    finally:
        evaluator.close()
    base = returns[deltas.index(0.0)]
    for d, r in zip(deltas, returns):
        diff = r - base
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        print(
            f"bias {args.output} {d:+.2f}: {r.mean():6.1f} ± {r.std():5.1f} (min {r.min():6.1f}), "
            f"paired {diff.mean():+6.1f} ± {se:.1f}, better on {(diff > 0).sum()}/{len(diff)}",
            flush=True,
        )
    print(f"{time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
