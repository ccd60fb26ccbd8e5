"""ctypes binding of ``_fastraster.c``: the exact, sparse CarRacing frame rasteriser.

The shared library is built by ``pip install`` (``setup.py`` declares it as an optional extension;
no Python API is used, so it is loaded with ctypes rather than imported). When it is missing (no
compiler at install time, or the source tree used without installing), :func:`load` returns
``None`` and :class:`~gdl_studio.racing.fast_env.FastCarRacing` draws with pygame instead; both
give the stock environment's pixels.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import os
from pathlib import Path

import numpy as np

MODE_SSE = 0
MODE_GENERIC = 1
KIND_GFX = 0  # gfxdraw.aapolygon + gfxdraw.filled_polygon
KIND_DRAW = 1  # pygame.draw.polygon (filled)
STATE = 96
HUD_ROWS = 100

DISABLE_ENV = "GDL_STUDIO_NATIVE_RASTER"  # "0": never use the native path (pygame draws the same pixels)

_LIB: ctypes.CDLL | None = None
_TRIED = False


def disabled() -> bool:
    """True when ``GDL_STUDIO_NATIVE_RASTER=0`` turns the native path off."""
    return os.environ.get(DISABLE_ENV, "").strip() == "0"


def library_path() -> Path | None:
    """The built ``_fastraster`` shared library next to this module, if there is one."""
    here = Path(__file__).resolve().parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = here / f"_fastraster{suffix}"
        if path.is_file():
            return path
    return None


def load(path: Path | None = None) -> ctypes.CDLL | None:
    """The loaded library with its signatures set, or ``None`` when it is not built.

    ``path``: a library built elsewhere (a Ray worker node builds its own, see
    :mod:`gdl_studio.racing.backends`), tried when none is loaded yet.
    """
    global _LIB, _TRIED
    if disabled():
        return None
    if _LIB is not None or (_TRIED and path is None):
        return _LIB
    _TRIED = True
    path = path or library_path()
    if path is None:
        return None
    try:
        lib = ctypes.CDLL(str(path))
    except OSError:
        return None
    lib.raster_new.restype = ctypes.c_void_p
    lib.raster_new.argtypes = [ctypes.c_int]
    lib.raster_free.restype = None
    lib.raster_free.argtypes = [ctypes.c_void_p]
    lib.raster_frame.restype = ctypes.c_int
    ptr = ctypes.c_void_p
    lib.raster_frame.argtypes = [ptr, ctypes.c_uint32, ctypes.c_int, ptr, ptr, ptr, ptr, ptr, ptr, ptr]
    lib.raster_pixels.restype = None
    lib.raster_pixels.argtypes = [ptr, ptr]
    _LIB = lib
    return lib


class NativeRaster:
    """One rasteriser (about 3.5 MB of tile and pixel state); one per environment."""

    def __init__(self, lib: ctypes.CDLL, mode: int) -> None:
        self._lib = lib
        self._handle = lib.raster_new(mode)
        if not self._handle:
            raise MemoryError("could not allocate the frame rasteriser")

    def frame(
        self,
        bg: int,
        counts: np.ndarray,
        xs: np.ndarray,
        ys: np.ndarray,
        colors: np.ndarray,
        kinds: np.ndarray,
        hud: np.ndarray,
    ) -> np.ndarray:
        """Draw the polygons over ``bg``, add the HUD rows and return the 96×96×3 observation.

        ``counts`` (int32) gives each polygon's vertex count; ``xs``/``ys`` (int32) the vertices as
        pygame converts them; ``colors`` (uint32, 0x00RRGGBB) and ``kinds`` (uint8) one per
        polygon; ``hud`` (uint32, 100×96) the HUD rows after their horizontal smooth-scale pass.
        """
        out = np.empty((STATE, STATE, 3), dtype=np.uint8)
        c = ctypes.c_void_p
        rc = self._lib.raster_frame(
            self._handle,
            int(bg),
            int(counts.size),
            c(counts.ctypes.data),
            c(xs.ctypes.data),
            c(ys.ctypes.data),
            c(colors.ctypes.data),
            c(kinds.ctypes.data),
            c(hud.ctypes.data),
            c(out.ctypes.data),
        )
        if rc != 0:
            raise ValueError("polygon with more than 64 vertices")
        return out

    def pixels(self) -> np.ndarray:
        """The drawn surface rows 100..799 (before the flip) of the last frame, 700×1000 uint32."""
        out = np.empty((700, 1000), dtype=np.uint32)
        self._lib.raster_pixels(self._handle, ctypes.c_void_p(out.ctypes.data))
        return out

    def close(self) -> None:
        """Free the native state (also done when the object is collected)."""
        if self._handle:
            self._lib.raster_free(self._handle)
            self._handle = None

    def __del__(self) -> None:  # pragma: no cover - interpreter shutdown order varies
        try:
            self.close()
        except Exception:
            pass
