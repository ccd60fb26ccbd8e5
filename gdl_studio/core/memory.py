"""Giving freed memory back to the operating system (glibc's ``malloc_trim``).

A long-running app that allocates and frees many megabyte-sized buffers (a game's frame
surfaces, a rasteriser's tiles) ends up with freed holes inside glibc's heaps that stay
resident: glibc raises its mmap threshold after the first such buffer is freed, so the next
ones come from the heap and are never unmapped. ``malloc_trim(0)`` hands every free page of
every arena back (it does not move anything, so it is safe at any time); it takes about a
millisecond, so call it after freeing big buffers, not per frame.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

_TRIM: Callable[[int], int] | bool | None = None  # the C function, False where there is none


def release_free_memory() -> bool:
    """Return the C allocator's free pages to the OS; False where that is not possible (not glibc)."""
    global _TRIM
    if _TRIM is None:
        _TRIM = False
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                fn = libc.malloc_trim  # glibc only (musl has none)
                fn.argtypes = [ctypes.c_size_t]
                fn.restype = ctypes.c_int
                _TRIM = fn
            except (OSError, AttributeError):
                _TRIM = False
    if _TRIM is None or isinstance(_TRIM, bool):
        return False
    _TRIM(0)
    return True
