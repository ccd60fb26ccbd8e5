"""Session 28: round K of the --gyro run against round K of session 26's run (same recipe, no gyro input) on N
validation tracks from 6,000,320. Run from the repository root: python <this file> K N."""

import json
import sys
from argparse import Namespace
from multiprocessing import get_context
from pathlib import Path

sys.path.insert(0, "scripts")
from racing_distill import TEACHER, drive_alone, load_round, return_stats

from gdl_studio.racing.train_controller import _worker_init
from gdl_studio.racing.worlds import resolve_world

SESSION26 = "resources/logs/world-model-v2/2026-12-06-distill-ensemble/session26-run"


def main() -> None:
    k, n = int(sys.argv[1]), int(sys.argv[2])
    seeds = list(range(6_000_320, 6_000_320 + n))
    models_dir = str(resolve_world("carracing-controller").models_dir())
    out = {}
    with get_context("spawn").Pool(2, _worker_init, (models_dir,)) as pool:
        for name, path, gyro in (
            ("gyro", Path(f"runs/distill-gyro/round-{k}.npz"), True),
            ("session26", Path(f"{SESSION26}/round-{k}.npz"), False),
        ):
            v, steps = drive_alone(pool, load_round(path), seeds, Namespace(batch=4, gyro=gyro), TEACHER, (0, 1, 2))
            out[name] = {**return_stats(v), "env_steps": steps, "returns": v.round(1).tolist()}
            print(name, {k2: v2 for k2, v2 in out[name].items() if k2 != "returns"}, file=sys.stderr, flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
