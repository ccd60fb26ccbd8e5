"""dream-road (M v4 world, 200 validation starts, τ 1.0) of session 22's trust-region snapshots (c5tr).

python resources/logs/world-model-v2/2026-12-06-driver-world/road_snapshots.py  (from the repository root)
"""

import sys

sys.path.insert(0, ".")
import numpy as np

from gdl_studio.racing.fidelity import DREAM_ROAD_SEED_BASE, dream_returns, first_frame_latents, road_figures
from gdl_studio.racing.models_io import controller_params
from gdl_studio.racing.worlds import load_world_for

world = load_world_for("carracing-controller-dream")
base, _ = controller_params("carracing-controller-dream")
snaps = np.load("resources/logs/world-model-v2/2026-12-05-trust-region/cma-c5tr/snapshots.npz")
z0 = first_frame_latents(world.vae, [DREAM_ROAD_SEED_BASE + 1000 + i for i in range(200)])
for name, p in [("base", base)] + [(k, snaps[k]) for k in sorted(snaps.files)]:
    ret, road, _ = dream_returns(
        world.mdn, [p], z0, 1.0, 1000, 11, "cpu", decoder=world.vae.decode, road_every=10, done_threshold=2.0
    )
    print(name, road_figures(road[0]), "return", round(float(ret.mean()), 1), flush=True)
