"""Frame preprocessing: the 96×96 CarRacing observation → the 64×64 frame the VAE sees.

As in the paper's code and the public ports, the bottom 12 rows (the HUD bar) are cropped
away (rows 0..83 are kept) and the 84×96 picture is resized to 64×64. The resize is an exact
area average (box filter) done with two small matrices, so it needs only numpy and gives the
same bytes everywhere.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

CROP_ROWS = 84  # 96 * 700 / 800: the rows above the HUD bar
FRAME_SIZE = 64


@lru_cache(maxsize=8)
def area_matrix(src: int, dst: int) -> np.ndarray:
    """(dst, src) float32 matrix averaging ``src`` samples into ``dst`` equal-width bins."""
    mat = np.zeros((dst, src), dtype=np.float64)
    scale = src / dst
    for i in range(dst):
        lo, hi = i * scale, (i + 1) * scale
        for j in range(int(np.floor(lo)), min(src, int(np.ceil(hi)))):
            overlap = min(hi, j + 1) - max(lo, j)
            if overlap > 0:
                mat[i, j] = overlap / scale
    return mat.astype(np.float32)


def preprocess(obs: np.ndarray) -> np.ndarray:
    """Crop and resize observations: (..., 96, 96, 3) uint8 → (..., 64, 64, 3) uint8."""
    obs = np.asarray(obs)
    chw = np.moveaxis(obs[..., :CROP_ROWS, :, :], -1, -3).astype(np.float32)  # (..., 3, 84, 96)
    ry = area_matrix(CROP_ROWS, FRAME_SIZE)
    rx = area_matrix(obs.shape[-2], FRAME_SIZE)
    out = np.matmul(np.matmul(ry, chw), rx.T)  # (..., 3, 64, 64)
    return np.clip(np.rint(np.moveaxis(out, -3, -1)), 0, 255).astype(np.uint8)


def to_tensor(frames: np.ndarray):
    """uint8 frames (N, 64, 64, 3) → float32 torch tensor (N, 3, 64, 64) in [0, 1]."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(frames))
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def to_uint8(images) -> np.ndarray:
    """float torch images (N, 3, 64, 64) in [0, 1] → uint8 numpy (N, 64, 64, 3)."""
    import torch

    arr = images.detach().float().clamp(0, 1).mul(255).round().to(dtype=torch.uint8)
    return arr.permute(0, 2, 3, 1).cpu().numpy()
