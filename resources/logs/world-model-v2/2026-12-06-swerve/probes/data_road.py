"""How often the car is off the road in rollout data: python3 probes/data_road.py DIR ... (first 40 episodes each,
every 5th frame checked with dream_batch.on_road, the road check of the dream-road bench)."""

import glob
import sys

import numpy as np

from gdl_studio.racing.dream_batch import on_road
from gdl_studio.racing.preprocess import to_tensor

for d in sys.argv[1:]:
    share, off, rets = [], [], []
    for f in sorted(glob.glob(d + "/ep_0*.npz"))[:40]:
        ep = np.load(f)
        road = on_road(to_tensor(ep["frames"][::5]))
        share.append(road.mean())
        off.append((~road).sum())
        rets.append(ep["rewards"].sum())
    print(
        f"{d}: frames on the road {np.mean(share):.3f}; episodes with >= 10 checks off the road "
        f"{np.mean(np.asarray(off) >= 10):.2f}; mean return {np.mean(rets):.0f}"
    )
