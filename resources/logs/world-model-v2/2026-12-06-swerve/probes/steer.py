"""The fidelity bench's steer check for dreamer Ms behind M v4's reader, on validation tracks (not the bench's).

    python3 probes/steer.py [--episodes N] v4|v5|DREAMER_DIR ...

The dream driver's real episodes on tracks FIDELITY_SEED_BASE + 15000 + i (what `bench racing --fidelity --seed 1`
would use; the bench runs seed 0) are recorded once, the real branches with the steering flipped are driven once,
and each dreamer dreams the same branches (fidelity.steer_dream). v5 is the shipped M v5.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from dreamers import load_dreamer

from gdl_studio.racing.dream_batch import on_road
from gdl_studio.racing.fidelity import (
    FIDELITY_SEED_BASE,
    STEER_HORIZON,
    flip_steering,
    record_episodes,
    steer_dream,
    steer_real,
    steer_starts,
    teacher_forced_states,
)
from gdl_studio.racing.mdn_rnn import sample_mixture
from gdl_studio.racing.models_io import controller_params
from gdl_studio.racing.worlds import load_world_for


def sampled(mdn, mu, actions, starts, k, gen):
    """Share of K sampled dreams (tau 1) per branch off the road after STEER_HORIZON steps: (kept, flipped),
    each (len(starts),)."""
    states = teacher_forced_states(mdn, mu, actions)
    result = []
    for flip in (False, True):
        shares = []
        for s in starts:
            z = torch.as_tensor(mu[s : s + 1]).repeat(k, 1)
            state = tuple(t.repeat(1, k, 1) for t in states[s - 1])
            with torch.inference_mode():
                for a in actions[s : s + STEER_HORIZON]:
                    a = flip_steering(a) if flip else a
                    out, state = mdn.step(z, torch.as_tensor(np.asarray(a, np.float32)[None]).repeat(k, 1), state)
                    z = sample_mixture(out.logpi, out.mu, out.logsigma, 1.0, gen)
                shares.append(float((~on_road(vae.decode(z))).mean()))
        result.append(np.asarray(shares))
    return result


ap = argparse.ArgumentParser()
ap.add_argument("dreamers", nargs="+")
ap.add_argument("--episodes", type=int, default=8)
ap.add_argument("--samples", type=int, default=0, help="also K sampled dreams (tau 1) per branch, flipped and kept")
ap.add_argument("--cache", help="an .npz keeping the real episodes and branches between runs")
args = ap.parse_args()
torch.set_num_threads(2)
world = load_world_for("carracing-controller-dream")
vae = world.vae.eval()
params, _ = controller_params("carracing-controller-dream")
seeds = [FIDELITY_SEED_BASE + 10_000 + 5000 + i for i in range(args.episodes)]
t0 = time.time()
if args.cache and os.path.exists(args.cache):
    c = np.load(args.cache)
    episodes = [(c[f"mu{i}"], c[f"a{i}"], None) for i in range(args.episodes)]
    real_off = c["real_off"]
else:
    episodes = record_episodes(world, params, seeds, 1000)
    real = [steer_real(s, a, steer_starts(len(a))) for s, (_, a, _) in zip(seeds, episodes, strict=True)]
    real_off = ~np.concatenate(real)
    if args.cache:
        arrays = {f"mu{i}": e[0] for i, e in enumerate(episodes)} | {f"a{i}": e[1] for i, e in enumerate(episodes)}
        np.savez(args.cache, real_off=real_off, **arrays)
print(f"real: {real_off.size} branches, off the road {real_off.mean():.3f} ({time.time() - t0:.0f}s)", flush=True)
for d in args.dreamers:
    mdn = load_dreamer(d)
    t1 = time.time()
    kept, flipped = [], []
    for mu, a, _ in episodes:
        k, f = steer_dream(vae, mdn, mu, a, steer_starts(len(a)))
        kept.append(k)
        flipped.append(f)
    dream_off, kept_off = ~np.concatenate(flipped), ~np.concatenate(kept)
    if args.samples:
        gen = torch.Generator().manual_seed(0)
        pairs = [sampled(mdn, mu, a, steer_starts(len(a)), args.samples, gen) for mu, a, _ in episodes]
        s_kept, s_flip = (np.concatenate([p[i] for p in pairs]) for i in (0, 1))
        print(
            f"{d} sampled x{args.samples}: off with the flipped wheel {s_flip.mean():.3f} "
            f"(where the real car left {s_flip[real_off].mean():.3f}, where it stayed {s_flip[~real_off].mean():.3f}); "
            f"off with the recorded wheel {s_kept.mean():.3f}",
            flush=True,
        )
    caught = dream_off[real_off].mean() if real_off.any() else float("nan")
    false_alarm = dream_off[~real_off].mean() if (~real_off).any() else float("nan")
    print(
        f"{d}: dream_off {dream_off.mean():.3f}, caught {caught:.3f}, off where the real car stayed {false_alarm:.3f}, "
        f"off with the recorded wheel {kept_off.mean():.3f} ({time.time() - t1:.0f}s)",
        flush=True,
    )
