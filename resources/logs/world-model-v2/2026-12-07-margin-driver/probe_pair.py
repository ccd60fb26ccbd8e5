"""A probe (not app code): two road drivers whose crashes fall on different tracks, combined cautiously.

The shipped gated controller (``S``) and a second MLP driver (``M2``, e.g. the alat-90 average) read the same
[z, h] (both were taught on the same V and M). While the gate is closed the executed action is
- ``--mode cautious``: the mean of their raw steering, the smaller raw gas and the larger raw brake;
- ``--mode mean``: the plain mean of their raw outputs (an 8-member average);
- ``--mode disagree:THETA``: S's action, with the smaller gas and the larger brake only on the steps where their
  steering (squashed) differs by more than THETA.
While the gate is open the expert drives as shipped. Unless ``--only-pair``, it also drives ``S`` and the gated
controller with ``M2`` as its driver on the same lockstep batches, so the three compare like for like.

    python probe_pair.py S M2 --tracks 6007354 6007422 … --first 6000000 --count 32 --workers 2 > out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))

_P: dict = {}


def _init(models_dir: str, m2: list, mode: str) -> None:
    from gdl_studio.racing import agent, fidelity
    from gdl_studio.racing.controller import raw_outputs, squash, take_rows, unpack

    fidelity._init_worker(models_dir)
    _P["m2"], _P["mode"] = np.asarray(m2, np.float64), mode

    class PairAgent(agent.BatchAgent):
        def __init__(self, vae, mdn, params, z_size=32, predict_reward=False):
            super().__init__(vae, mdn, params, z_size, predict_reward)
            self.pair = _P.get("pair", False)
            self.parts2 = unpack(np.repeat(_P["m2"][None], self.batch, 0), z_size, self.hidden)

        def policy(self, x):
            r1 = raw_outputs(self.parts, x, self.expert, self.hud)
            if not self.pair:
                return squash(r1)
            r2 = raw_outputs(self.parts2, x)
            if _P["mode"] == "mean":
                both = (r1 + r2) / 2
            elif _P["mode"].startswith("disagree"):  # S's action, made cautious only where the two disagree
                theta = float(_P["mode"].split(":")[1])
                wide = np.abs(np.tanh(r1[:, 0]) - np.tanh(r2[:, 0])) > theta
                both = r1.copy()
                both[wide, 1] = np.minimum(r1[wide, 1], r2[wide, 1])
                both[wide, 2] = np.maximum(r1[wide, 2], r2[wide, 2])
            else:
                both = np.stack(
                    [(r1[:, 0] + r2[:, 0]) / 2, np.minimum(r1[:, 1], r2[:, 1]), np.maximum(r1[:, 2], r2[:, 2])], 1
                )
            on = np.zeros(len(x), bool) if self.expert is None else np.asarray(self.expert, bool)
            if self.reads_hud and self.hud is None:
                on[:] = False
            return squash(np.where(on[:, None], r1, both))

        def keep(self, index):
            super().keep(index)
            self.parts2 = take_rows(self.parts2, index)

    agent.BatchAgent = PairAgent


def _task(t):
    name, params, seeds, pair = t
    from gdl_studio.racing.agent import run_episodes
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.fidelity import _W

    _P["pair"] = pair
    params = np.asarray(params, np.float64)
    r, steps = run_episodes(make_env, _W["vae"], _W["mdn"], np.repeat(params[None], len(seeds), 0), seeds)
    return name, seeds, r.tolist(), steps


def main() -> int:
    import multiprocessing as mp

    from gdl_studio.racing.controller import pack_gated, split_gated
    from gdl_studio.racing.models_io import controller_params

    ap = argparse.ArgumentParser()
    ap.add_argument("shipped")
    ap.add_argument("m2")
    ap.add_argument("--tracks", type=int, nargs="*", default=[])
    ap.add_argument("--first", type=int, default=None)
    ap.add_argument("--count", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--mode", default="cautious", help="cautious, mean or disagree:THETA")
    ap.add_argument("--models", default="models")
    ap.add_argument("--only-pair", action="store_true", help="drive only the pair (the others scored elsewhere)")
    ap.add_argument("--no-a", action="store_true", help="drive the pair and S, not A")
    args = ap.parse_args()
    s, _ = controller_params(args.shipped)
    m2, _ = controller_params(args.m2)
    _, expert, g = split_gated(s)
    a = pack_gated(m2, expert, g[0], g[1], int(g[2]), int(g[3]), int(g[4]))
    sets = [list(args.tracks)] if args.tracks else []
    if args.count:
        sets += [list(range(args.first, args.first + args.count))]
    tasks = []
    for seeds in sets:
        for k in range(0, len(seeds), 128):
            chunk = seeds[k : k + 128]
            tasks.append(("pair", s.tolist(), chunk, True))
            if not args.only_pair:
                tasks.append(("shipped", s.tolist(), chunk, False))
            if not (args.only_pair or args.no_a):
                tasks.append(("A", a.tolist(), chunk, False))
    out: dict = {}
    t0 = time.perf_counter()
    with mp.get_context("spawn").Pool(args.workers, _init, (args.models, m2.tolist(), args.mode)) as pool:
        for name, seeds, r, _steps in pool.imap_unordered(_task, tasks):
            out.setdefault(name, {}).update(dict(zip(map(str, seeds), r)))
            print(f"{name} {len(seeds)} tracks: {np.mean(r):.1f} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    print(json.dumps({"mode": args.mode, "returns": out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
