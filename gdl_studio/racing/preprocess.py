"""Frame preprocessing: the 96×96 CarRacing observation → the 64×64 frame the VAE sees.

As in the paper's code and the public ports, the bottom 12 rows (the HUD bar) are cropped
away (rows 0..83 are kept) and the 84×96 picture is resized to 64×64. The resize is an exact
area average (box filter) done with two small matrices, so it needs only numpy and gives the
same bytes everywhere.

Two readings of the frames: :func:`hud_gauges` reads the HUD bar that the crop removes, and :func:`road_share` how
much of the patch around the car in the 64×64 frame is road (the dream's road check and the gated controller's
switch).
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


HUD_SCALE = 96 / 40.0  # pixels per unit of gymnasium's indicator drawing (W / 40 of the 96-wide state)


def hud_gauges(obs: np.ndarray) -> np.ndarray:
    """Three gauges of the HUD bar that :func:`preprocess` crops away, read from one 96×96 observation's pixels
    (anti-aliased edges count as fractions): the speed bar (white, columns 12–13, upwards; ``0.02 · speed`` units),
    the front wheels' angle (green, from column 48; ``−10 · angle``) and the gyroscope (red, from column 72;
    ``−0.8 · yaw rate``), as [speed, wheel, gyro] in those units, the last two signed (> 0: drawn to the right)."""
    hud = np.asarray(obs)[CROP_ROWS:].astype(np.float32) / 255.0
    r, g, b = hud[..., 0], hud[..., 1], hud[..., 2]
    red = np.where((g < 0.2) & (b < 0.2), r, 0.0)[3:7].mean(0)
    green = np.where((r < 0.2) & (b < 0.2), g, 0.0)[3:7].mean(0)
    white = np.minimum(np.minimum(r, g), b)[:, 12:14].mean(1)
    px = np.array([white.sum(), green[48:].sum() - green[:48].sum(), red[72:].sum() - red[:72].sum()])
    return (px / HUD_SCALE).astype(np.float32)


# Where the car sits in V's 64×64 frame (the 96×96 observation cropped to 84 rows and resized):
# around rows 54–60, columns 28–37. Road grey or grass green there tells whether it is on the road.
ROAD_ROWS = slice(54, 61)
ROAD_COLS = slice(28, 38)
ON_ROAD = 0.2  # the road share over which the car counts as on the road (dream_batch.on_road)
ZOOM_FRAMES = 50  # CarRacing's camera zooms in over an episode's first second (50 frames): the patch shows grass


def road_share(frames):
    """The share of road grey (R ≈ G ≈ B ≈ 0.4) among the non-red pixels of the patch around the car in V-space
    frames: (N, 3, 64, 64) float torch tensor in [0, 1] → (N,) float tensor. Grass is green, the car red; over
    :data:`ON_ROAD` the car is on the road (98 % agreement with the simulator's wheel–tile contacts on 1,800 real
    frames of tracks 500–502)."""
    patch = frames[:, :, ROAD_ROWS, ROAD_COLS]
    r, g, b = patch[:, 0], patch[:, 1], patch[:, 2]
    grey = ((g - r).abs() < 0.08) & ((g - b).abs() < 0.08) & (g > 0.25) & (g < 0.6)
    not_car = ~(r > g + 0.2)
    return grey.float().sum(dim=(1, 2)) / not_car.float().sum(dim=(1, 2)).clamp(min=1.0)


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
