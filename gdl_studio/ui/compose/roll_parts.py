"""The parts around the piano roll's canvas: the keyboard (left), the bar ruler (top) and the
velocity lane (bottom). Each paints with the roll's shared geometry and caches what changes only
with the view or the piece."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QWidget

from gdl_studio.ui import theme
from gdl_studio.ui.compose import modes
from gdl_studio.ui.compose.roll_geometry import (
    BLACK_KEYS,
    CURSOR,
    KEYBOARD_W,
    PLAYHEAD,
    RULER_H,
    VELOCITY_H,
    pitch_name,
    track_colour,
    velocity_colour,
)


class _Part(QWidget):
    """A child of the roll (``roll``: the :class:`~gdl_studio.ui.compose.pianoroll.PianoRoll`) that
    paints with the shared geometry."""

    def __init__(self, roll) -> None:
        super().__init__(roll)
        self.roll = roll
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._cache: QPixmap | None = None
        self._cache_key: tuple = ()

    def _paint_static(self, p: QPainter) -> None:
        """Paint what changes only with the view or the piece (cached by ``_begin_cached_paint``)."""

    def _begin_cached_paint(self) -> QPainter:
        """A painter on this widget with the cached static layer already drawn; the cache is
        repainted when the roll's static key, the size or the pixel ratio changes."""
        key = self.roll.static_key() + (self.width(), self.height(), self.devicePixelRatioF())
        if self._cache is None or key != self._cache_key:
            dpr = self.devicePixelRatioF()
            pixmap = QPixmap(int(self.width() * dpr), int(self.height() * dpr))
            pixmap.setDevicePixelRatio(dpr)
            painter = QPainter(pixmap)
            self._paint_static(painter)
            painter.end()
            self._cache, self._cache_key = pixmap, key
        p = QPainter(self)
        p.drawPixmap(0, 0, self._cache)
        return p


class Keyboard(_Part):
    """Piano keys; clicking one plays it."""

    def __init__(self, roll) -> None:
        super().__init__(roll)
        self.setFixedWidth(KEYBOARD_W)
        self._pressed: int | None = None

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        geo = self.roll.geo
        p.fillRect(self.rect(), theme.KEY_WHITE)
        font = QFont(self.font())
        font.setPointSizeF(7.0)
        p.setFont(font)
        top = max(0, geo.pitch_at(0) + 1)
        bottom = max(0, geo.pitch_at(self.height()) - 1)
        black_w = int(self.width() * 0.6)
        sounding = self.roll.sounding_pitches
        for pitch in range(min(127, top), bottom - 1, -1):
            y = geo.y_of(pitch)
            h = geo.key_h
            pc = pitch % 12
            if pc in BLACK_KEYS:
                colour = theme.ACCENT_LIGHT if pitch in sounding or pitch == self._pressed else theme.KEY_BLACK
                p.fillRect(QRectF(0, y, black_w, h), colour)
                p.setPen(theme.TEXT_SOFT)
                p.drawLine(QPointF(black_w, y + h / 2), QPointF(self.width(), y + h / 2))
            else:
                if pitch in sounding or pitch == self._pressed:
                    p.fillRect(QRectF(0, y, self.width(), h), theme.ACCENT_LIGHT)
                if pc in (0, 5):  # boundary below C and F
                    p.setPen(theme.TEXT_SOFT)
                    p.drawLine(QPointF(0, y + h), QPointF(self.width(), y + h))
            if pc == 0 and h >= 7:
                p.setPen(theme.KEY_LINE)
                p.drawText(
                    QRectF(black_w - 4, y, self.width() - black_w, h),
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                    pitch_name(pitch) + " ",
                )
        p.setPen(theme.CONTROL)
        p.drawLine(self.width() - 1, 0, self.width() - 1, self.height())
        p.end()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        pitch = self.roll.geo.pitch_at(event.position().y())
        if 0 <= pitch <= 127:
            self._pressed = pitch
            self.roll.note_preview.emit(pitch, 100)
            self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._pressed = None
        self.update()

    def wheelEvent(self, event) -> None:  # noqa: N802
        self.roll.canvas.wheelEvent(event)


class Ruler(_Part):
    """Bar numbers and beats. Click: set the play position. Drag: set the loop region."""

    def __init__(self, roll) -> None:
        super().__init__(roll)
        self.setFixedHeight(RULER_H)
        self._drag_from: float | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        roll = self.roll
        geo = roll.geo
        p.fillRect(self.rect(), theme.BAR)
        bpb = roll.doc.beats_per_bar
        if roll.loop is not None:
            a, b = roll.loop
            rect = QRectF(geo.x_of(a), 2, geo.x_of(b) - geo.x_of(a), 6)
            if roll.loop_enabled:
                p.fillRect(rect, theme.ACCENT_LIGHT)
            else:
                p.setPen(QPen(theme.ROLL_GUIDE, 1, Qt.PenStyle.DashLine))
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawRect(rect)
        first = max(0, int(geo.beat_at(0)))
        last = int(geo.beat_at(self.width())) + 1
        font = QFont(self.font())
        font.setPointSizeF(8.0)
        p.setFont(font)
        bar_px = geo.px_per_beat * bpb
        label_every = max(1, int(math.ceil(42 / max(bar_px, 1))))
        for beat in range(first, last + 1):
            x = geo.x_of(beat)
            if beat % bpb == 0:
                bar = beat // bpb
                p.setPen(theme.TEXT_DIM)
                p.drawLine(QPointF(x, 11), QPointF(x, self.height()))
                if bar % label_every == 0:
                    p.setPen(theme.TEXT)
                    p.drawText(QPointF(x + 6, 20), str(bar + 1))
            elif geo.px_per_beat >= 10:
                p.setPen(theme.ROLL_GUIDE)
                p.drawLine(QPointF(x, self.height() - 6), QPointF(x, self.height()))
        # play position marker and playhead
        x = geo.x_of(roll.cursor_beat)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(CURSOR)
        path = QPainterPath()
        path.moveTo(x - 5, self.height() - 8)
        path.lineTo(x + 5, self.height() - 8)
        path.lineTo(x, self.height())
        path.closeSubpath()
        p.drawPath(path)
        if roll.playhead is not None:
            x = geo.x_of(roll.playhead)
            p.setPen(QPen(PLAYHEAD, 2))
            p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setPen(theme.CONTROL)
        p.drawLine(0, self.height() - 1, self.width(), self.height() - 1)
        p.end()

    def _beat(self, x: float) -> float:
        return max(0.0, self.roll.snap_beat(self.roll.geo.beat_at(x), fallback=1.0))

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._drag_from = event.position().x()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag_from is None:
            return
        x = event.position().x()
        if abs(x - self._drag_from) >= 4:
            a, b = sorted((self._beat(self._drag_from), self._beat(x)))
            if b > a:
                self.roll.set_loop((a, b), enabled=True)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag_from is not None and abs(event.position().x() - self._drag_from) < 4:
            self.roll.set_cursor_beat(self._beat(event.position().x()))
        self._drag_from = None

    def wheelEvent(self, event) -> None:  # noqa: N802
        self.roll.canvas.wheelEvent(event)


class VelocityLane(_Part):
    """Velocity stems under the notes; drag a stem to change velocities."""

    def __init__(self, roll) -> None:
        super().__init__(roll)
        self.setFixedHeight(VELOCITY_H)
        self._mode: modes.VelocityMode | None = None

    def _vel_y(self, velocity: int) -> float:
        return self.height() - 4 - (self.height() - 10) * velocity / 127.0

    def _velocity_at(self, y: float) -> int:
        return int(round(max(1, min(127, (self.height() - 4 - y) * 127.0 / (self.height() - 10)))))

    def paintEvent(self, event) -> None:  # noqa: N802
        roll = self.roll
        p = self._begin_cached_paint()
        geo = roll.geo
        lo, hi = geo.beat_at(-8), geo.beat_at(self.width() + 8)
        pen = QPen(theme.GENERATED, 1.5)
        p.setPen(pen)
        for note in roll.pending + roll.recording:
            if lo <= note.start <= hi:
                x = geo.x_of(note.start)
                p.drawLine(QPointF(x + 1, self.height() - 3), QPointF(x + 1, self._vel_y(note.velocity)))
        p.end()

    def _paint_static(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        roll = self.roll
        geo = roll.geo
        p.fillRect(self.rect(), theme.ROLL_LANE)
        p.setPen(QPen(theme.GRID, 1, Qt.PenStyle.DotLine))
        for v in (32, 64, 96, 127):
            y = self._vel_y(v)
            p.drawLine(QPointF(0, y), QPointF(self.width(), y))
        lo, hi = geo.beat_at(-8), geo.beat_at(self.width() + 8)
        for i, note in roll.effective_items():
            if note.start < lo or note.start > hi:
                continue
            x = geo.x_of(note.start)
            y = self._vel_y(note.velocity)
            colour = theme.HIGHLIGHT if i in roll.selected else velocity_colour(track_colour(note.track), note.velocity)
            p.setPen(QPen(colour, 2))
            p.drawLine(QPointF(x + 1, self.height() - 3), QPointF(x + 1, y))
            p.setBrush(colour)
            p.drawEllipse(QPointF(x + 1, y), 3, 3)
        p.setPen(theme.CONTROL)
        p.drawLine(0, 0, self.width(), 0)

    def stem_at(self, x: float) -> int | None:
        best, best_d = None, 7.0
        for i, note in self.roll.effective_items():
            d = abs(self.roll.geo.x_of(note.start) + 1 - x)
            if d < best_d or (d == best_d and best is not None and i in self.roll.selected):
                best, best_d = i, d
        return best

    def mousePressEvent(self, event) -> None:  # noqa: N802
        hit = self.stem_at(event.position().x())
        if hit is None:
            return
        self._mode = modes.VelocityMode(self.roll, hit)
        self._mode.drag_to(self.roll, self._velocity_at(event.position().y()))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._mode is not None:
            self._mode.drag_to(self.roll, self._velocity_at(event.position().y()))

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._mode is not None:
            self._mode.finish(self.roll)
            self._mode = None
