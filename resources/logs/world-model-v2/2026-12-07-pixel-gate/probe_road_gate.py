"""Trace a gated driver on one track of a lockstep batch: every 10th step the tiles reached, the car's distance from
the nearest tile's centre, its speed, the road share around the car, whether the expert drives, and the action.
The batch is tracks FIRST … FIRST + N − 1 (default: the track alone); a driver's return on a track can depend on the
batch's size (float rounding of the batched V and M), so use the batch the score was driven in.

    python resources/logs/world-model-v2/2026-12-07-pixel-gate/probe_road_gate.py MODEL_DIR TRACK [FIRST N]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "scripts"))

from racing_distill import TEACHER, Teacher

from gdl_studio.racing.agent import BatchAgent
from gdl_studio.racing.fast_env import make_env
from gdl_studio.racing.models_io import controller_params, load_dir
from gdl_studio.racing.preprocess import preprocess, road_share, to_tensor


def main() -> int:
    model, track = Path(sys.argv[1]), int(sys.argv[2])
    first, n = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (track, 1)
    seeds = list(range(first, first + n))
    k = seeds.index(track)
    vae, mdn = load_dir(Path("models/carracing-vae")), load_dir(Path("models/carracing-mdnrnn"))  # its world
    flat, _ = controller_params(model)
    envs = [make_env() for _ in seeds]
    obs = np.stack([env.reset(seed=s)[0] for env, s in zip(envs, seeds)])
    teacher = Teacher(envs[k], {**TEACHER, "roff": 8})
    agent = BatchAgent(vae, mdn, np.repeat(flat[None], n, axis=0))
    total, tiles = 0.0, 0
    for t in range(1000):
        teacher.act()
        share = float(road_share(to_tensor(preprocess(obs[k : k + 1])))[0])
        a = agent.act(obs)
        speed = float(np.linalg.norm(envs[k].unwrapped.car.hull.linearVelocity))
        on = bool(agent.expert[k]) if agent.expert is not None else False
        if t % 10 == 0 or on:
            print(
                f"{t} tiles {tiles} off {teacher.distance():.1f} v {speed:.1f} road {share:.2f} "
                f"{'EXPERT' if on else 'driver'} {np.round(a[k], 2)}"
            )
        steps = [env.step(a[i]) for i, env in enumerate(envs)]  # every env steps (no early ends here)
        obs = np.stack([s[0] for s in steps])
        total += steps[k][1]
        tiles += steps[k][1] > 0
        if steps[k][2] or steps[k][3]:
            break
    print(f"return {total:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
