"""Strokes ↔ stroke-3 offsets.

A *drawing* is a list of strokes, each an ``(N, 2)`` array of absolute points in KanjiVG units
(see :mod:`gdl_studio.ink.svgio`). The models read and write **stroke-3** rows
``(dx, dy, pen)``: the offset of each point from the previous one (the first point's offset is
taken from :data:`ORIGIN`, the centre of the box) and ``pen = 1`` when the pen is lifted *after*
this point, i.e. on the last point of each stroke. Model inputs divide ``dx, dy`` by the
training-set ``scale`` (stored in the data cache and in each model card).
"""

from __future__ import annotations

import numpy as np

from gdl_studio.core.errors import UserError
from gdl_studio.ink.rdp import rdp_mask
from gdl_studio.ink.svgio import BOX

ORIGIN = (BOX / 2, BOX / 2)
"""Where the pen starts: the first point's offset is measured from the centre of the box."""

RDP_EPSILON = 1.0
"""Simplification tolerance in KanjiVG units used for the training data and for primers."""

MAX_PRIMER_POINTS = 2000
"""Most points a primer may have after simplification."""

MAX_RAW_POINTS = 2_000_000


def simplify_strokes(strokes: list[np.ndarray], epsilon: float = RDP_EPSILON) -> list[np.ndarray]:
    """RDP-simplify every stroke (one vectorised pass over all of them)."""
    strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
    strokes = [s for s in strokes if len(s)]
    if not strokes:
        return []
    lengths = np.array([len(s) for s in strokes])
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    pts = np.concatenate(strokes)
    keep = rdp_mask(pts, bounds, epsilon)
    return [pts[a:b][keep[a:b]] for a, b in zip(bounds[:-1], bounds[1:])]


def strokes_to_stroke3(strokes: list[np.ndarray], origin=ORIGIN) -> np.ndarray:
    """Absolute strokes → ``(N, 3)`` stroke-3 rows in *units* (not yet divided by the scale)."""
    strokes = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes if len(s)]
    if not strokes:
        return np.zeros((0, 3), dtype=np.float64)
    pts = np.concatenate(strokes)
    pen = np.zeros(len(pts))
    pen[np.cumsum([len(s) for s in strokes]) - 1] = 1.0
    prev = np.vstack([np.asarray(origin, dtype=np.float64)[None], pts[:-1]])
    return np.hstack([pts - prev, pen[:, None]])


def stroke3_to_strokes(rows: np.ndarray, origin=ORIGIN) -> list[np.ndarray]:
    """Inverse of :func:`strokes_to_stroke3`: stroke-3 rows in units → absolute strokes.

    A trailing run of points without a pen-up forms the last (unfinished) stroke.
    """
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 3)
    if len(rows) == 0:
        return []
    pts = np.cumsum(rows[:, :2], axis=0) + np.asarray(origin, dtype=np.float64)
    ends = np.flatnonzero(rows[:, 2] > 0.5) + 1
    return [s for s in np.split(pts, ends) if len(s)]


def validate_strokes(strokes: list[np.ndarray]) -> list[np.ndarray]:
    """Check user strokes: at least one point, finite, not absurdly many; returns float arrays.

    Raises :class:`UserError` with a one-line message otherwise.
    """
    if strokes is None:
        raise UserError("nothing drawn")
    out = []
    total = 0
    for s in strokes:
        a = np.asarray(s, dtype=np.float64)
        if a.size == 0:
            continue
        if a.ndim != 2 or a.shape[1] < 2:
            raise UserError("a stroke must be a list of (x, y) points")
        a = a[:, :2]
        if not np.isfinite(a).all():
            raise UserError("a stroke has non-finite coordinates")
        total += len(a)
        if total > MAX_RAW_POINTS:
            raise UserError(f"too many points drawn (more than {MAX_RAW_POINTS:,})")
        out.append(a)
    if not out:
        raise UserError("nothing drawn: the canvas is blank")
    # Far-away coordinates would blow up the network's inputs: keep everything within a wide margin.
    return [np.clip(a, -10 * BOX, 11 * BOX) for a in out]


def primer_stroke3(strokes: list[np.ndarray], epsilon: float = RDP_EPSILON) -> np.ndarray:
    """User strokes → simplified stroke-3 rows in units, ready to prime a model.

    Dense canvas or SVG strokes are RDP-simplified with the training tolerance so that the point
    density matches what the models saw; a stroke of 100 000 points is fine. Raises
    :class:`UserError` for blank, non-finite or overly long input.
    """
    strokes = simplify_strokes(validate_strokes(strokes), epsilon)
    rows = strokes_to_stroke3(strokes)
    if len(rows) > MAX_PRIMER_POINTS:
        raise UserError(
            f"the primer is too long ({len(rows):,} points after simplification; at most {MAX_PRIMER_POINTS:,})"
        )
    return rows
