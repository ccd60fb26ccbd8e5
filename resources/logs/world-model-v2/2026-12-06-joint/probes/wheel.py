"""Does the dream answer the wheel? From 32 real first frames, 60 dream steps holding steer -1 / 0 / +1 (gas 0.3),
then the road's horizontal centre in the decoded frame's lower half, and the car patch's road check."""

import sys

import numpy as np
import torch

sys.path.insert(0, ".")
from gdl_studio.racing.dream_batch import _sample, on_road
from gdl_studio.racing.fidelity import DREAM_ROAD_SEED_BASE, first_frame_latents
from gdl_studio.racing.models_io import load_dir
from gdl_studio.racing.worlds import load_world_for

torch.set_num_threads(2)
w = load_world_for("carracing-controller-dream")
vae = w.vae.eval()
worlds = {"v4": load_dir("models/carracing-mdnrnn-v4"), "v5": w.mdn}
seeds = [DREAM_ROAD_SEED_BASE + 2000 + i for i in range(32)]
z0 = torch.from_numpy(first_frame_latents(vae, seeds).astype(np.float32))
for name, mdn in worlds.items():
    for steer in (-1.0, 0.0, 1.0):
        gen = torch.Generator().manual_seed(0)
        z = z0.clone()
        state = mdn.initial_state(32)
        a = torch.tensor([[0.0, 0.3, 0.0]]).repeat(32, 1)
        with torch.inference_mode():
            for t in range(110):
                a[:, 0] = 0.0 if t < 50 else steer  # 50 straight steps past the zoom, then the wheel
                out, state = mdn.step(z, a, state)
                z = _sample(out, 1.0, gen)
            f = vae.decode(z).float()
        r, g, b = f[:, 0], f[:, 1], f[:, 2]
        grey = (((g - r).abs() < 0.08) & ((g - b).abs() < 0.08) & (g > 0.25) & (g < 0.6))[:, 32:60].float()
        cols = torch.arange(64).float()
        centre = (grey.sum(1) * cols).sum(1) / grey.sum(dim=(1, 2)).clamp(min=1)
        print(
            name,
            f"steer {steer:+.0f}: road centre x {centre.mean():.1f} ± {centre.std():.1f} (car at 32); "
            f"car on road {on_road(f).mean():.2f}",
        )
