"""The Dream panel's take-the-wheel test on many tracks (session 40): on each track the driver drives, a person steers
hard left with gas 0.3 over steps 100-139 and lets go (the gate counts the person's frames, as in the panel), then
the driver drives to the end. One episode per track and driver, each alone (no lockstep batch), in worker processes.
Prints JSON: per driver the returns and the wrong-way steps after the hand-back. From the repository root:

    python resources/logs/world-model-v2/2026-12-07-hud-expert/takeover.py --first 6006096 --tracks 64 \\
        --workers 16 models/carracing-controller-distilled runs/hud-model/carracing-controller-distilled
"""

from __future__ import annotations

import argparse
import json
import sys
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

_W: dict = {}


def _init() -> None:
    import torch

    from gdl_studio.racing.models_io import load_world_model_from
    from gdl_studio.racing.worlds import resolve_world

    torch.set_num_threads(1)
    _W["wm"] = load_world_model_from(resolve_world("carracing-controller").models_dir())


def take_the_wheel(wm, ctrl: Path, seed: int, teacher_p: dict) -> tuple[float, int, int, list[int]]:
    """One episode on track ``seed``: the driver ``ctrl`` drives, a person steers hard left with gas 0.3 over steps
    100-139 and lets go. Returns the return, the wrong-way steps after the hand-back (velocity against the track's
    direction at the nearest tile, speed over 5), the steps the expert drove after it and the nearest tile each step
    (a ``racing_distill.Teacher`` with ``teacher_p`` only finds that tile). ``probe_swerve.py`` prints one track."""
    from racing_distill import Teacher

    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.models_io import controller_params

    params, _ = controller_params(ctrl)
    env = make_env()
    obs = env.reset(seed=seed)[0]
    teacher = Teacher(env, teacher_p)
    agent = BatchAgent(wm.vae, wm.mdn, params[None])
    total, wrong, expert, tiles = 0.0, 0, 0, []
    for step in range(1000):
        teacher.act()
        a = agent.policy(agent.features(obs[None]))[0]
        if 100 <= step < 140:
            a = np.array([-1.0, 0.3, 0.0], np.float32)
        elif agent.expert is not None and agent.expert[0]:
            expert += 1
        agent.advance(a[None])
        vel = np.array(env.unwrapped.car.hull.linearVelocity)
        i = int(teacher.i)
        tangent = teacher.track[(i + 1) % len(teacher.track)] - teacher.track[i]
        wrong += int(step >= 140 and np.linalg.norm(vel) > 5 and tangent @ vel < 0)
        obs, r, term, trunc, _ = env.step(a)
        total += float(r)
        tiles.append(i)
        if term or trunc:
            break
    env.close()
    return total, wrong, expert, tiles


def episode(task: tuple[str, int]) -> tuple[float, int]:
    from racing_distill import TEACHER

    total, wrong, _, _ = take_the_wheel(_W["wm"], Path(task[0]), task[1], TEACHER)
    return total, wrong


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("controllers", nargs="+")
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--tracks", type=int, default=64)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    seeds = list(range(args.first, args.first + args.tracks))
    tasks = [(c, s) for c in args.controllers for s in seeds]
    with get_context("spawn").Pool(args.workers, _init) as pool:
        res = pool.map(episode, tasks, chunksize=1)
    out: dict = {"first_track": args.first, "tracks": args.tracks}
    for k, c in enumerate(args.controllers):
        part = res[k * len(seeds) : (k + 1) * len(seeds)]
        ret = np.array([r for r, _ in part])
        out[c] = {
            "returns": [round(r, 1) for r in ret.tolist()],
            "wrong_way": [w for _, w in part],
            "mean": round(float(ret.mean()), 1),
            "std": round(float(ret.std()), 1),
            "under_800": int((ret < 800).sum()),
        }
        print(f"{c}: {ret.mean():.1f} ± {ret.std():.1f}, {int((ret < 800).sum())} under 800", file=sys.stderr)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
