"""How fast does a turn of the wheel show in the next frames: in the real game, and in M's dream? (issue #13; a probe)

    python3 scripts/racing_response_probe.py [--episodes 3] [--steps 400] [--m DIR ...]

A driver's real return depends on how the car answers the wheel over the next few steps. This probe
measures that answer. The shipped dream driver drives real tracks (seeds 3,900,000 + i, used by no training or
selection) in its own world (V v2 + M v2). Every 20 steps the probe branches twice from the same state, once
with the recorded actions and once with the steering flipped (``fidelity.flip_steering``). It branches in the
real game (replaying the seed) and in each M (teacher-forced to the branch, then open loop on the mean of its
most likely component). It prints the mean absolute difference of the two branches' latents after 1, 2 and 5
steps, over V's active dimensions (mean posterior variance < 0.5; the rest are collapsed, μ ≈ 0 on every
frame). It also prints how much the driver's steering changes per step, on the real tracks and in 32 dreams of
1,000 steps from real first frames at τ 1.0.

The round-1 M (random-policy data, with its own V) is shown beside the v2 M, each on its own V's latents of
the same frames.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio

STEPS_AFTER = (1, 2, 5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--steps", type=int, default=400, help="steps of each real episode")
    ap.add_argument("--m", type=Path, action="append", default=[], help="another M directory (on V v2)")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from gdl_studio.racing.dream_batch import _sample, controller_tensors, squash_torch
    from gdl_studio.racing.fidelity import (
        FIDELITY_SEED_BASE,
        first_frame_latents,
        flip_branches,
        flipped_frames,
        record_episodes,
        teacher_forced_states,
    )
    from gdl_studio.racing.models_io import controller_params, load_dir
    from gdl_studio.racing.preprocess import to_tensor
    from gdl_studio.racing.worlds import load_world_for

    torch.set_num_threads(1)
    name = "carracing-controller-dream"
    params, _ = controller_params(name)
    world = load_world_for(name)  # V v2 + M v2
    vae1 = load_dir("models/carracing-vae")
    rows = [("round-1 M (random-policy data), V round 1", vae1, load_dir("models/carracing-mdnrnn"))]
    rows.append(("v2 M (on-policy rounds), V v2", world.vae, world.mdn))
    rows += [(f"{d}, V v2", world.vae, load_dir(d)) for d in args.m]
    hmax = max(STEPS_AFTER)

    def encode(vae, frames):
        with torch.inference_mode():
            mu, logvar = vae.encode(to_tensor(np.asarray(frames)))
        return mu.numpy(), logvar.exp().numpy()

    real_diff = {vae: {k: [] for k in STEPS_AFTER} for vae in (vae1, world.vae)}
    dream_diff = {label: {k: [] for k in STEPS_AFTER} for label, *_ in rows}
    real_change = []
    for i in range(args.episodes):
        seed = 3_900_000 + i
        recorded: list = []
        ((_, actions_arr, _),) = record_episodes(world, params, [seed], args.steps, frames_out=recorded)
        frames = recorded[0]
        real_change.append(np.abs(np.diff(actions_arr[:, 0])).mean())
        starts = list(range(50, len(actions_arr) - hmax, 20))
        # per start: (the recorded frames after it, the frames with the steering flipped), hmax each
        branches = [(frames[s + 1 : s + 1 + hmax], flipped_frames(seed, actions_arr, s, hmax)) for s in starts]
        active = {}  # per V: its active dimensions
        for vae in real_diff:
            active[vae] = encode(vae, frames)[1].mean(0) < 0.5
            for kept, flipped in branches:
                diff = np.abs(encode(vae, kept)[0] - encode(vae, flipped)[0])[:, active[vae]].mean(1)
                for k in STEPS_AFTER:
                    real_diff[vae][k].append(diff[k - 1])
        for label, vae, mdn in rows:
            mu = encode(vae, frames)[0]
            states = teacher_forced_states(mdn, mu, actions_arr)
            for s in starts:
                kept, flipped = flip_branches(mdn, mu, states, actions_arr, s, hmax)
                diff = np.abs(kept.numpy() - flipped.numpy())[:, active[vae]].mean(1)
                for k in STEPS_AFTER:
                    dream_diff[label][k].append(diff[k - 1])
        print(f"track {seed}: {len(actions_arr)} steps, {len(starts)} branches", file=sys.stderr, flush=True)

    def fmt(d):
        return ", ".join(f"after {k}: {np.mean(v):.4f}" for k, v in d.items())

    print("latent difference, recorded vs flipped steering, mean |Δμ| over V's active dimensions")
    print(f"  real game, V round 1: {fmt(real_diff[vae1])}")
    print(f"  real game, V v2: {fmt(real_diff[world.vae])}")
    for label, *_ in rows:
        print(f"  {label}: {fmt(dream_diff[label])}")
    print(f"steering change per step of the dream driver: real game {np.mean(real_change):.3f}")
    z0 = first_frame_latents(world.vae, [FIDELITY_SEED_BASE + 1000 + i for i in range(32)])
    weight, bias = controller_tensors(
        np.repeat(np.asarray(params, np.float32)[None], 32, 0), 32, world.mdn.config.hidden
    )
    for label, _, mdn in rows[1:]:
        gen = torch.Generator().manual_seed(0)
        z, state, steer = torch.as_tensor(z0), mdn.initial_state(32), []
        with torch.inference_mode():
            for _ in range(1000):
                a = squash_torch(torch.einsum("bij,bj->bi", weight, torch.cat([z, state[0][0]], 1)) + bias)
                steer.append(a[:, 0].numpy().copy())
                out, state = mdn.step(z, a, state)
                z = _sample(out, 1.0, gen)
        print(f"  in the dream of {label}: {np.abs(np.diff(np.array(steer), axis=0)).mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
