"""Ramer–Douglas–Peucker polyline simplification, vectorised with numpy.

Instead of recursing stroke by stroke, :func:`rdp_mask` processes *all* strokes at once: each
pass takes every segment that is still open, finds its farthest interior point with one set of
array operations (``np.maximum.reduceat``) and splits the segments whose farthest point lies
more than ``epsilon`` from the chord. The number of passes is the depth of the recursion (about
log2 of the points per stroke for real strokes), so a whole data set of millions of points is
simplified in well under a second.
"""

from __future__ import annotations

import numpy as np


def rdp_mask(points: np.ndarray, bounds: np.ndarray, epsilon: float) -> np.ndarray:
    """Boolean mask of the points RDP keeps.

    ``points`` is an ``(N, 2)`` array holding several polylines back to back; ``bounds`` holds
    their start indices plus ``N`` at the end (``bounds[i]:bounds[i+1]`` is polyline ``i``).
    The first and last point of every polyline are always kept. The distance of a point to a
    segment is the perpendicular distance to the chord's line, or the distance to the chord's
    start when the chord has zero length (a closed stroke).
    """
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    bounds = np.asarray(bounds, dtype=np.int64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError("points must be an (N, 2) array")
    if n == 0:
        return np.zeros(0, dtype=bool)
    if bounds[0] != 0 or bounds[-1] != n or np.any(np.diff(bounds) < 0):
        raise ValueError("bounds must rise from 0 to len(points)")
    keep = np.zeros(n, dtype=bool)
    starts = bounds[:-1][np.diff(bounds) > 0]
    ends = bounds[1:][np.diff(bounds) > 0] - 1
    keep[starts] = True
    keep[ends] = True
    lo, hi = starts, ends
    eps = float(epsilon)
    while True:
        inner = hi - lo - 1
        live = inner > 0
        lo, hi, inner = lo[live], hi[live], inner[live]
        if lo.size == 0:
            break
        # Indices of every interior point of every live segment, segment after segment.
        seg = np.repeat(np.arange(lo.size), inner)
        first = np.cumsum(inner) - inner
        idx = np.arange(seg.size) - first[seg] + lo[seg] + 1
        a = pts[lo][seg]
        b = pts[hi][seg]
        p = pts[idx]
        chord = b - a
        length = np.hypot(chord[:, 0], chord[:, 1])
        rel = p - a
        cross = np.abs(chord[:, 0] * rel[:, 1] - chord[:, 1] * rel[:, 0])
        dist = np.where(length > 0, cross / np.where(length > 0, length, 1.0), np.hypot(rel[:, 0], rel[:, 1]))
        seg_max = np.maximum.reduceat(dist, first)
        # First position in each segment that reaches the segment's maximum.
        at_max = np.flatnonzero(dist == seg_max[seg])
        first_at_max = at_max[np.r_[True, seg[at_max][1:] != seg[at_max][:-1]]]
        split = seg_max > eps
        mid = idx[first_at_max][split]
        keep[mid] = True
        lo = np.concatenate([lo[split], mid])
        hi = np.concatenate([mid, hi[split]])
    return keep


def rdp(points: np.ndarray, epsilon: float) -> np.ndarray:
    """Simplify one polyline ``(N, 2)``; returns the kept points (first and last always kept)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts[rdp_mask(pts, np.array([0, len(pts)]), epsilon)]
