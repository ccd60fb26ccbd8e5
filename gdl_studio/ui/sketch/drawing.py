"""The drawing being made: strokes in KanjiVG units, and how they are painted.

A :class:`Stroke` is an ``(N, 2)`` array of absolute points in the 109 × 109 KanjiVG box
(x right, y down), with optional per-point relative widths (tablet pressure). The pen is lifted
after the last point of each stroke, so a drawing's points with pen-up marks are
:func:`gdl_studio.ink.svgio.strokes_to_points` of its strokes.

Painting happens in box units: :func:`box_transform` maps the box into a widget rectangle and
the painter draws smooth (midpoint quadratic) anti-aliased :class:`QPainterPath` strokes with
round caps and joins, so the canvas, the endings thumbnails and the PNG export look alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QTransform

from gdl_studio.ink.svgio import BOX, strokes_to_points
from gdl_studio.ui import theme

PEN_WIDTH = 3.0
"""Stroke width in KanjiVG units (KanjiVG's own width), at pressure 0.5 or with a mouse."""

VIEW_MARGIN = 8.0
"""Units of paper shown around the 109-unit guide box."""

DISPLAY_MAX_POINTS = 4000
"""Longer strokes are thinned (every k-th point) for painting; the data keep every point."""

PAPER = QColor(theme.PAPER)
INK = QColor(theme.INK)
GENERATED_INK = QColor(theme.GENERATED_INK)
"""The colour of model output that has not been accepted yet (also the SVG/PNG export's)."""
GUIDE = QColor(theme.PAPER_GUIDE)
GUIDE_FAINT = QColor(theme.PAPER_GUIDE_FAINT)
PRIMER_IN_THUMB = QColor(theme.PAPER_PRIMER)


def pressure_to_width(pressure: float) -> float:
    """Relative stroke width for a tablet pressure in [0, 1] (1.0 at half pressure)."""
    p = min(1.0, max(0.0, float(pressure)))
    return 0.35 + 1.3 * p


@dataclass(frozen=True, eq=False)
class Stroke:
    """One pen-down-to-pen-up stroke: ``points (N, 2)`` in box units, optional ``widths (N,)``."""

    points: np.ndarray
    widths: np.ndarray | None = None
    source: str = "pen"  # "pen" (drawn), "model" (accepted generation), "file" (opened SVG)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @staticmethod
    def make(points, widths=None, source: str = "pen") -> Stroke:
        """A stroke from any point sequence (copied to float64); ``widths`` must match in length."""
        pts = np.array(points, dtype=np.float64).reshape(-1, 2)
        w = None
        if widths is not None:
            w = np.array(widths, dtype=np.float64).reshape(-1)
            if len(w) != len(pts) or not np.isfinite(w).all() or np.allclose(w, 1.0):
                w = None
        pts.setflags(write=False)
        if w is not None:
            w.setflags(write=False)
        return Stroke(pts, w, source)

    def __len__(self) -> int:
        return len(self.points)

    def display(self) -> tuple[np.ndarray, np.ndarray | None]:
        """Points (and widths) to paint: thinned to at most :data:`DISPLAY_MAX_POINTS`."""
        if "display" not in self._cache:
            pts, w = self.points, self.widths
            if len(pts) > DISPLAY_MAX_POINTS:
                k = math.ceil(len(pts) / DISPLAY_MAX_POINTS)
                idx = np.r_[np.arange(0, len(pts) - 1, k), len(pts) - 1]
                pts = pts[idx]
                w = None if w is None else w[idx]
            self._cache["display"] = (pts, w)
        return self._cache["display"]

    def path(self) -> QPainterPath:
        """The smooth path through the (display) points, built once."""
        if "path" not in self._cache:
            self._cache["path"] = smooth_path(self.display()[0])
        return self._cache["path"]


class SketchDocument(QObject):
    """The strokes on the canvas. Only undo commands change it (through :meth:`set_strokes`)."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._strokes: tuple[Stroke, ...] = ()

    @property
    def strokes(self) -> tuple[Stroke, ...]:
        return self._strokes

    def set_strokes(self, strokes: Iterable[Stroke]) -> None:
        """Replace all strokes (emits ``changed``)."""
        self._strokes = tuple(strokes)
        self.changed.emit()

    def is_blank(self) -> bool:
        return not any(len(s) for s in self._strokes)

    def point_count(self) -> int:
        return sum(len(s) for s in self._strokes)

    def arrays(self) -> list[np.ndarray]:
        """The strokes as ``(N, 2)`` float arrays (the ink core's drawing format)."""
        return [np.asarray(s.points) for s in self._strokes if len(s)]

    def points(self) -> np.ndarray:
        """``(N, 3)`` rows ``x, y, pen_up`` (1 on the last point of every stroke)."""
        return strokes_to_points(self.arrays())


# --------------------------------------------------------------------------- painting


def view_rect() -> QRectF:
    """The part of box space shown: the guide box plus :data:`VIEW_MARGIN` all round."""
    return QRectF(-VIEW_MARGIN, -VIEW_MARGIN, BOX + 2 * VIEW_MARGIN, BOX + 2 * VIEW_MARGIN)


def box_transform(target: QRectF, source: QRectF | None = None) -> QTransform:
    """Map ``source`` (box units; default :func:`view_rect`) into the centre of ``target``
    uniformly (aspect kept)."""
    source = source or view_rect()
    k = min(target.width() / source.width(), target.height() / source.height())
    dx = target.x() + (target.width() - source.width() * k) / 2 - source.x() * k
    dy = target.y() + (target.height() - source.height() * k) / 2 - source.y() * k
    return QTransform(k, 0, 0, k, dx, dy)


def smooth_path(points: np.ndarray) -> QPainterPath:
    """A smooth path through ``points``: quadratic pieces between the midpoints of segments."""
    path = QPainterPath()
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(pts)
    if n == 0:
        return path
    path.moveTo(pts[0, 0], pts[0, 1])
    if n == 1:
        return path
    if n == 2:
        path.lineTo(pts[1, 0], pts[1, 1])
        return path
    mids = (pts[1:] + pts[:-1]) / 2
    path.lineTo(mids[0, 0], mids[0, 1])
    for i in range(1, n - 1):
        path.quadTo(pts[i, 0], pts[i, 1], mids[i, 0], mids[i, 1])
    path.lineTo(pts[-1, 0], pts[-1, 1])
    return path


def _pen(colour: QColor, width: float) -> QPen:
    pen = QPen(colour, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def paint_points(
    painter: QPainter,
    points: np.ndarray,
    colour: QColor,
    width: float = PEN_WIDTH,
    widths: np.ndarray | None = None,
    path: QPainterPath | None = None,
) -> None:
    """Paint one stroke (box units; the painter's transform maps them to the device)."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(pts) == 0:
        return
    painter.setBrush(Qt.BrushStyle.NoBrush)
    if len(pts) == 1:
        w = width * (float(widths[0]) if widths is not None else 1.0)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(QPointF(pts[0, 0], pts[0, 1]), w / 2, w / 2)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        return
    if widths is None:
        painter.setPen(_pen(colour, width))
        painter.drawPath(path if path is not None else smooth_path(pts))
        return
    # Variable width: quadratic pieces around each point, merged into runs of equal (quantised) width.
    n = len(pts)
    mids = (pts[1:] + pts[:-1]) / 2
    q = np.round(np.asarray(widths, dtype=np.float64) * 16) / 16
    i = 0
    while i < n:
        j = i
        while j + 1 < n and q[j + 1] == q[i]:
            j += 1
        piece = QPainterPath()
        start = pts[0] if i == 0 else mids[i - 1]
        piece.moveTo(start[0], start[1])
        for k in range(i, j + 1):
            end = pts[-1] if k == n - 1 else mids[k]
            if k == 0 or k == n - 1:
                piece.lineTo(end[0], end[1])
            else:
                piece.quadTo(pts[k, 0], pts[k, 1], end[0], end[1])
        painter.setPen(_pen(colour, width * max(0.05, float(q[i]))))
        painter.drawPath(piece)
        i = j + 1


def paint_strokes(painter: QPainter, strokes: Sequence[Stroke], colour: QColor, width: float = PEN_WIDTH) -> None:
    """Paint drawing strokes with their cached paths."""
    for s in strokes:
        pts, w = s.display()
        paint_points(painter, pts, colour, width, w, None if w is not None else s.path())


def paint_guide(painter: QPainter) -> None:
    """The faint 109 × 109 guide box with a dashed centre cross (cosmetic 1 px lines)."""
    painter.setBrush(Qt.BrushStyle.NoBrush)
    cross = QPen(GUIDE_FAINT, 1.0, Qt.PenStyle.DashLine)
    cross.setCosmetic(True)
    painter.setPen(cross)
    painter.drawLine(QPointF(BOX / 2, 0), QPointF(BOX / 2, BOX))
    painter.drawLine(QPointF(0, BOX / 2), QPointF(BOX, BOX / 2))
    box = QPen(GUIDE, 1.0)
    box.setCosmetic(True)
    painter.setPen(box)
    painter.drawRect(QRectF(0, 0, BOX, BOX))


def group_points(points: Sequence) -> list[np.ndarray]:
    """Generated points (objects with ``x, y, pen_up``) → strokes; an unfinished one is kept."""
    strokes, cur = [], []
    for p in points:
        cur.append((p.x, p.y))
        if p.pen_up:
            strokes.append(np.array(cur, dtype=np.float64))
            cur = []
    if cur:
        strokes.append(np.array(cur, dtype=np.float64))
    return strokes


_WHITE, _BLACK = QColor(theme.WHITE), QColor(theme.BLACK)  # render_image's default paper and ink


def render_image(
    strokes: Sequence[Stroke],
    generated: Sequence[np.ndarray] = (),
    size: int = 1024,
    background: QColor | None = _WHITE,
    ink: QColor = _BLACK,
) -> QImage:
    """The drawing as a ``size`` × ``size`` image of the 109-unit box (like the SVG export)."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(background if background is not None else theme.TRANSPARENT)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setTransform(box_transform(QRectF(0, 0, size, size), QRectF(0, 0, BOX, BOX)))
    paint_strokes(painter, strokes, ink)
    for g in generated:
        paint_points(painter, g, GENERATED_INK)
    painter.end()
    return image
