"""How far a flipped wheel moves the dream, against how far it moves the real game.

    python3 probes/wheel_gap.py CACHE.npz v4|v5|DREAMER_DIR ...

On the steer check's branches of steer.py's cache (the first 4 validation episodes): the distance in V's latent
space between the frame after 30 steps with the steering flipped and the frame after 30 steps with the recorded
steering, in the real game (V's mean of the real frames, replayed) and in each dream (fidelity.flip_branches,
open loop on the likeliest component). A dream that answers the wheel as the real game does has a ratio near 1.
"""

import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from dreamers import load_dreamer

from gdl_studio.racing.fidelity import (
    FIDELITY_SEED_BASE,
    STEER_HORIZON,
    flip_branches,
    flipped_frames,
    steer_starts,
    teacher_forced_states,
)
from gdl_studio.racing.preprocess import to_tensor
from gdl_studio.racing.worlds import load_world_for

torch.set_num_threads(2)
cache = np.load(sys.argv[1])
vae = load_world_for("carracing-controller-dream").vae.eval()
seeds = [FIDELITY_SEED_BASE + 15_000 + i for i in range(4)]
episodes = [(cache[f"mu{i}"], cache[f"a{i}"]) for i in range(4)]
t0 = time.time()
real = []
for seed, (mu, a) in zip(seeds, episodes, strict=True):
    starts = steer_starts(len(a))
    last = np.stack([flipped_frames(seed, a, s)[-1] for s in starts])
    with torch.inference_mode():
        z_flip = vae.encode(to_tensor(last))[0].numpy()
    real.append(np.linalg.norm(z_flip - mu[[s + STEER_HORIZON for s in starts]], axis=1))
real = np.concatenate(real)
print(f"real: median gap {np.median(real):.2f}, mean {real.mean():.2f}, {real.size} branches ({time.time() - t0:.0f}s)")
for d in sys.argv[2:]:
    mdn = load_dreamer(d)
    gaps = []
    for mu, a in episodes:
        states = teacher_forced_states(mdn, mu, a)
        for s in steer_starts(len(a)):
            kept, flip = flip_branches(mdn, mu, states, a, s, STEER_HORIZON)
            gaps.append(float((kept[-1] - flip[-1]).norm()))
    gaps = np.asarray(gaps)
    print(f"{d}: median gap {np.median(gaps):.2f} (ratio to real {np.median(gaps / real):.2f}), mean {gaps.mean():.2f}")
