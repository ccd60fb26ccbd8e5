"""The endings view: N candidate continuations side by side, as small canvases to pick from.

Each :class:`EndingThumb` shows the drawing (grey) and one candidate continuation (in the
generated colour) as it streams in. Clicking a thumbnail emits :attr:`EndingsView.picked`;
hovering emits :attr:`EndingsView.hovered` so the panel can preview it on the big canvas.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gdl_studio.ui import theme
from gdl_studio.ui.sketch.drawing import (
    GENERATED_INK,
    PAPER,
    PRIMER_IN_THUMB,
    Stroke,
    box_transform,
    group_points,
    paint_guide,
    paint_points,
    paint_strokes,
    view_rect,
)


class EndingThumb(QWidget):
    """One candidate: the primer in grey and the continuation in colour; click to pick."""

    clicked = Signal(int)
    hover = Signal(int, bool)

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.primer: Sequence[Stroke] = ()
        self.points: list = []
        self.done = False
        self._hover = False
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setAttribute(Qt.WidgetAttribute.WA_Hover)
        self.setToolTip(f"Ending {index + 1}: click to keep it")

    def strokes(self) -> list[np.ndarray]:
        """The candidate's strokes (absolute points in box units)."""
        return group_points(self.points)

    def enterEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self._hover = True
        self.hover.emit(self.index, True)
        self.update()

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self._hover = False
        self.hover.emit(self.index, False)
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.button() == Qt.MouseButton.LeftButton and self.rect().contains(event.position().toPoint()):
            self.clicked.emit(self.index)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(1.5, 1.5, -1.5, -1.5)
        p.setPen(QPen(theme.ACCENT_LIGHT if self._hover else theme.BORDER, 2.0 if self._hover else 1.0))
        p.setBrush(PAPER)
        p.drawRoundedRect(r, 6, 6)
        p.save()
        p.setTransform(box_transform(r.adjusted(4, 4, -4, -4)))
        p.setClipRect(view_rect())
        paint_guide(p)
        paint_strokes(p, self.primer, PRIMER_IN_THUMB)
        for s in self.strokes():
            paint_points(p, s, GENERATED_INK)
        p.restore()
        # number badge
        badge = QRectF(r.left() + 5, r.top() + 5, 20, 20)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.ACCENT if self._hover else theme.with_alpha(theme.CONTROL, 200))
        p.drawEllipse(badge)
        p.setPen(theme.WHITE)
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(8.5)
        p.setFont(font)
        p.drawText(badge, Qt.AlignmentFlag.AlignCenter, str(self.index + 1))
        if not self.done and not self.points:
            p.setPen(theme.TEXT_SOFT)
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, "…")
        p.end()


class EndingsView(QWidget):
    """A grid of :class:`EndingThumb` (2 columns up to 4 candidates, 3 beyond)."""

    picked = Signal(int)
    hovered = Signal(int)  # -1 when the pointer left all of them

    GAP = 8

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbs: list[EndingThumb] = []
        sp = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        sp.setHeightForWidth(True)
        self.setSizePolicy(sp)

    # ------------------------------------------------------------------ content
    def start(self, count: int, primer: Sequence[Stroke]) -> None:
        """Show ``count`` empty candidates over ``primer``."""
        self.clear()
        for i in range(count):
            t = EndingThumb(i, self)
            t.primer = tuple(primer)
            t.clicked.connect(self.picked)
            t.hover.connect(self._on_hover)
            t.show()
            self.thumbs.append(t)
        self._place()
        self.updateGeometry()

    def add_point(self, index: int, point) -> None:
        """Append a generated point (``x, y, pen_up``) to candidate ``index``."""
        if 0 <= index < len(self.thumbs):
            self.thumbs[index].points.append(point)
            self.thumbs[index].update()

    def finish(self) -> None:
        for t in self.thumbs:
            t.done = True
            t.update()

    def clear(self) -> None:
        for t in self.thumbs:
            t.hide()
            t.deleteLater()
        self.thumbs = []
        self.setMinimumHeight(0)
        self.updateGeometry()

    def count(self) -> int:
        return len(self.thumbs)

    def candidate(self, index: int) -> list[np.ndarray]:
        """Strokes of candidate ``index``."""
        return self.thumbs[index].strokes()

    def highlight(self, index: int) -> None:
        """Mark thumbnail ``index`` as the one previewed (-1: none)."""
        for t in self.thumbs:
            on = t.index == index
            if t._hover != on:
                t._hover = on
                t.update()

    def _on_hover(self, index: int, inside: bool) -> None:
        self.hovered.emit(index if inside else -1)

    # ------------------------------------------------------------------ layout
    def _columns(self) -> int:
        return 2 if len(self.thumbs) <= 4 else 3

    def _side(self, width: int) -> int:
        cols = self._columns()
        return max(40, (width - self.GAP * (cols - 1)) // cols)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt naming)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt naming)
        if not self.thumbs:
            return 0
        rows = math.ceil(len(self.thumbs) / self._columns())
        return rows * self._side(width) + (rows - 1) * self.GAP

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(280, self.heightForWidth(280))

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(120, self.heightForWidth(max(120, self.width())))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self._place()
        super().resizeEvent(event)

    def _place(self) -> None:
        cols = self._columns()
        side = self._side(self.width())
        for i, t in enumerate(self.thumbs):
            r, c = divmod(i, cols)
            t.setGeometry(c * (side + self.GAP), r * (side + self.GAP), side, side)
        h = self.heightForWidth(self.width())
        if self.minimumHeight() != h:
            self.setMinimumHeight(h)
