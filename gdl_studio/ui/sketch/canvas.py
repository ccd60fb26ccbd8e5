"""The drawing canvas: mouse or tablet input, smooth strokes, the guide box, model output overlay.

The canvas shows the 109 × 109 KanjiVG box (plus a margin) as a sheet of paper, scaled to the
widget with its aspect kept. Input points are recorded in box units; a finished stroke is offered
through :attr:`SketchCanvas.stroke_drawn` (the panel turns it into an undo command — the canvas
never changes the document itself). Model output that has not been accepted is shown on top in
:data:`~gdl_studio.ui.sketch.drawing.GENERATED_INK` with a pen head at the newest point.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QCursor,
    QFont,
    QInputDevice,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QTabletEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from gdl_studio.ui import theme
from gdl_studio.ui.sketch.drawing import (
    GENERATED_INK,
    GUIDE,
    INK,
    PAPER,
    PEN_WIDTH,
    SketchDocument,
    Stroke,
    box_transform,
    paint_guide,
    paint_points,
    paint_strokes,
    pressure_to_width,
    view_rect,
)

MIN_STEP = 0.3
"""Input points closer than this (box units) to the previous one are skipped."""

DIMMED_OPACITY = 0.12


def _brush_cursor() -> QCursor:
    pix = QPixmap(17, 17)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(theme.with_alpha(theme.WHITE, 220), 3))
    p.drawEllipse(QPointF(8.5, 8.5), 5, 5)
    p.setPen(QPen(theme.BACKGROUND, 1.2))
    p.drawEllipse(QPointF(8.5, 8.5), 5, 5)
    p.end()
    return QCursor(pix, 8, 8)


class SketchCanvas(QWidget):
    """Draw strokes with the mouse or a tablet; see the module docstring."""

    stroke_started = Signal()
    stroke_drawn = Signal(object)  # Stroke

    def __init__(self, document: SketchDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.setObjectName("sketchCanvas")
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(False)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(_brush_cursor())
        self.setToolTip("")
        self.placeholder = "Draw here with the mouse or a pen\n— or open a KanjiVG SVG, or press Dream up"

        self._live: list[tuple[float, float]] = []
        self._live_widths: list[float] = []
        self._drawing = False
        self._has_pressure = False
        self._tablet_down = False
        self._cached_blank: bool | None = None

        self._overlay: list[np.ndarray] = []
        self._head: tuple[float, float] | None = None
        self._dim = False

        self._cache: QPixmap | None = None
        document.changed.connect(self.invalidate)

    # ------------------------------------------------------------------ geometry
    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(640, 640)

    def transform(self):
        """Box units → widget pixels."""
        return box_transform(QRectF(self.rect()).adjusted(10, 10, -10, -10))

    def to_box(self, pos: QPointF) -> tuple[float, float]:
        """Widget position → box units, clamped to the visible sheet."""
        inv, _ok = self.transform().inverted()
        p = inv.map(QPointF(pos))
        v = view_rect()
        return (min(max(p.x(), v.left()), v.right()), min(max(p.y(), v.top()), v.bottom()))

    def to_widget(self, x: float, y: float) -> QPointF:
        """Box units → widget position."""
        return self.transform().map(QPointF(x, y))

    def page_rect(self) -> QRectF:
        """The sheet of paper, in widget pixels."""
        return self.transform().mapRect(view_rect())

    # ------------------------------------------------------------------ overlay (model output)
    def set_overlay(
        self, strokes: list[np.ndarray], head: tuple[float, float] | None = None, dim_document: bool = False
    ) -> None:
        """Show ``strokes`` in the generated colour (``head``: the pen's newest point)."""
        self._overlay = [np.asarray(s, dtype=np.float64).reshape(-1, 2) for s in strokes]
        self._head = head
        if dim_document != self._dim:
            self._dim = dim_document
            self._cache = None
        self.update()

    def clear_overlay(self) -> None:
        self.set_overlay([], None, False)

    @property
    def overlay(self) -> list[np.ndarray]:
        return list(self._overlay)

    @property
    def drawing(self) -> bool:
        """Whether a stroke is being drawn right now."""
        return self._drawing

    def live_points(self) -> np.ndarray:
        return np.array(self._live, dtype=np.float64).reshape(-1, 2)

    # ------------------------------------------------------------------ input
    def _begin(self, pos: QPointF, width: float | None) -> None:
        self._drawing = True
        self._live = [self.to_box(pos)]
        self._live_widths = [width if width is not None else 1.0]
        self._has_pressure = width is not None
        self.stroke_started.emit()
        self._update_near(len(self._live) - 1)

    def _extend(self, pos: QPointF, width: float | None) -> None:
        if not self._drawing:
            return
        x, y = self.to_box(pos)
        lx, ly = self._live[-1]
        if (x - lx) ** 2 + (y - ly) ** 2 < MIN_STEP**2:
            if width is not None:  # pressing harder on the spot still counts
                self._live_widths[-1] = max(self._live_widths[-1], width)
            return
        self._live.append((x, y))
        self._live_widths.append(width if width is not None else 1.0)
        self._update_near(len(self._live) - 1)

    def _finish(self, pos: QPointF | None, width: float | None) -> None:
        if not self._drawing:
            return
        if pos is not None:
            self._extend(pos, width)
        self._drawing = False
        stroke = Stroke.make(self._live, self._live_widths if self._has_pressure else None, "pen")
        self._live, self._live_widths = [], []
        self.update()
        if len(stroke):
            self.stroke_drawn.emit(stroke)

    def cancel_stroke(self) -> None:
        """Drop the stroke being drawn (e.g. the widget lost the mouse)."""
        self._drawing = False
        self._live, self._live_widths = [], []
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt naming)
        if event.button() == Qt.MouseButton.LeftButton and not self._tablet_down:
            self._begin(event.position(), None)
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt naming)
        if self._drawing and not self._tablet_down and event.buttons() & Qt.MouseButton.LeftButton:
            self._extend(event.position(), None)
            event.accept()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt naming)
        if event.button() == Qt.MouseButton.LeftButton and self._drawing and not self._tablet_down:
            self._finish(event.position(), None)
            event.accept()

    def tabletEvent(self, event: QTabletEvent) -> None:  # noqa: N802 (Qt naming)
        device = event.device()
        has_pressure = bool(device is not None and device.capabilities() & QInputDevice.Capability.Pressure)
        width = pressure_to_width(event.pressure()) if has_pressure else None
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            self._tablet_down = True
            self._begin(event.position(), width)
        elif kind == QTabletEvent.Type.TabletMove:
            if self._tablet_down:
                self._extend(event.position(), width)
        elif kind == QTabletEvent.Type.TabletRelease:
            if self._tablet_down:
                self._finish(event.position(), None)
            self._tablet_down = False
        event.accept()  # no synthesised mouse events

    # ------------------------------------------------------------------ painting
    def invalidate(self) -> None:
        """Repaint the document (after it changed)."""
        self._cache = None
        self.update()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        self._cache = None
        super().resizeEvent(event)

    def _update_near(self, i: int) -> None:
        pts = self._live[max(0, i - 2) : i + 1]
        xf = self.transform()
        rect = QRectF()
        for x, y in pts:
            p = xf.map(QPointF(x, y))
            rect = rect.united(QRectF(p, p))
        pad = PEN_WIDTH * 2 * xf.m11() + 4
        self.update(rect.adjusted(-pad, -pad, pad, pad).toAlignedRect())

    def _build_cache(self) -> QPixmap:
        dpr = self.devicePixelRatioF()
        pix = QPixmap(QSize(self.width(), self.height()) * dpr)
        pix.setDevicePixelRatio(dpr)
        pix.fill(theme.SURFACE)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        page = self.page_rect()
        # a soft shadow under the sheet
        p.setPen(Qt.PenStyle.NoPen)
        for k, alpha in ((7, 18), (4, 30), (2, 45)):
            p.setBrush(theme.with_alpha(theme.BLACK, alpha))
            p.drawRoundedRect(page.adjusted(-k + 2, -k + 4, k + 2, k + 4), 6 + k, 6 + k)
        p.setBrush(PAPER)
        p.drawRoundedRect(page, 4, 4)
        p.setTransform(self.transform())
        p.setClipRect(view_rect())
        paint_guide(p)
        if self.document.is_blank() and not self._overlay and not self._drawing:
            p.resetTransform()
            p.setClipping(False)
            p.setPen(GUIDE.darker(125))
            font = QFont(self.font())
            font.setPointSizeF(max(9.0, page.width() / 48))
            p.setFont(font)
            p.drawText(
                page.adjusted(20, page.height() * 0.62, -20, -10),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                self.placeholder,
            )
        else:
            if self._dim:
                p.setOpacity(DIMMED_OPACITY)
            paint_strokes(p, self.document.strokes, INK)
        p.end()
        return pix

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt naming)
        blank_hint = self.document.is_blank() and not self._overlay and not self._drawing
        if (
            self._cache is None
            or self._cache.size() != self.size() * self.devicePixelRatioF()
            or self._cached_blank != blank_hint
        ):
            self._cache = self._build_cache()
            self._cached_blank = blank_hint
        p = QPainter(self)
        p.drawPixmap(0, 0, self._cache)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        xf = self.transform()
        p.setTransform(xf)
        p.setClipRect(view_rect())
        if self._live:
            live = Stroke.make(self._live, self._live_widths if self._has_pressure else None)
            pts, widths = live.display()
            paint_points(p, pts, INK, PEN_WIDTH, widths)
        for s in self._overlay:
            paint_points(p, s, GENERATED_INK)
        if self._head is not None:
            hx, hy = self._head
            p.setPen(QPen(theme.with_alpha(theme.WHITE, 230), 1.2))
            p.setBrush(GENERATED_INK.darker(115))
            p.drawEllipse(QPointF(hx, hy), PEN_WIDTH * 0.95, PEN_WIDTH * 0.95)
        p.end()
