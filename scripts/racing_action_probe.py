"""Does an M's dream respond to the steering? (issue #13; a probe)

    python3 scripts/racing_action_probe.py [--episodes 3] [--m DIR ...]

A hypothesis for why dreams rank working drivers badly: M trained on on-policy rollouts could learn to
predict the next latent from the state alone (the driver's action is a function of the state), so its
dream would barely respond to what the controller does. This probe drives real tracks (seed 3,900,000 +
i, tracks no training or selection uses) with the shipped real controller, runs each M teacher-forced
along them, and every 10 steps branches two open-loop dreams from the real state: one with the real
actions, one with the steering flipped (a held-straight wheel turned to 0.8). It prints the mean absolute
difference of the two dreams' latents after 1, 10 and 30 steps (means of the most likely mixture
component, no sampling), in units of the real latents' standard deviation, for the shipped round-1 M
(random-policy data, with its own V), the shipped v2 M, and any ``--m`` directory (an M on V v2).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio

HORIZONS = (1, 10, 30)


def response(mdn, episodes) -> tuple[dict[int, float], int]:
    """Mean |dream(real actions) − dream(flipped steering)| after each horizon, in z standard deviations."""
    import numpy as np

    from gdl_studio.racing.fidelity import flip_branches, teacher_forced_states

    zstd = float(np.concatenate([e[0] for e in episodes]).std(0).mean())
    diffs: dict[int, list[float]] = {k: [] for k in HORIZONS}
    for mu, actions, _ in episodes:
        states = teacher_forced_states(mdn, mu, actions)
        for s in range(50, len(actions) - max(HORIZONS) - 1, 10):
            kept, flipped = (b.numpy() for b in flip_branches(mdn, mu, states, actions, s, max(HORIZONS)))
            for k in HORIZONS:
                diffs[k].append(float(np.abs(kept[k - 1] - flipped[k - 1]).mean()) / zstd)
    return {k: float(np.mean(v)) for k, v in diffs.items()}, len(diffs[HORIZONS[0]])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--m", type=Path, action="append", default=[], help="another M directory (on V v2)")
    args = ap.parse_args(argv)

    import torch

    from gdl_studio.racing.fidelity import record_episodes
    from gdl_studio.racing.models_io import CONTROLLER_NAME, controller_params, load_dir
    from gdl_studio.racing.worlds import load_world_for

    torch.set_num_threads(1)
    world = load_world_for(CONTROLLER_NAME)  # the shipped controller with its own V and M (round 1)
    vae2 = load_dir("models/carracing-vae-v2")
    params, _ = controller_params(CONTROLLER_NAME)
    seeds = [3_900_000 + i for i in range(args.episodes)]
    ep_v1 = record_episodes(world, params, seeds, 1000)
    ep_v2 = record_episodes(world, params, seeds, 1000, encoder=vae2)
    rows = [("round-1 M (random-policy data), V round 1", world.mdn, ep_v1)]
    rows.append(("v2 M (on-policy rounds), V v2", load_dir("models/carracing-mdnrnn-v2"), ep_v2))
    rows += [(f"{d}, V v2", load_dir(d), ep_v2) for d in args.m]
    for label, mdn, eps in rows:
        r, starts = response(mdn, eps)
        figures = " ".join(f"h{k} {r[k]:.3f}" for k in HORIZONS)
        print(f"{label}: {figures} (z std units, {starts} branch points)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
