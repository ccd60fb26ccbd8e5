"""The piano roll: notes in musical time on a pitch × beat grid.

:class:`PianoRoll` puts together a keyboard (left), a bar ruler (top), the note canvas, a
velocity lane (bottom) and scroll bars, all sharing one :class:`RollGeometry` (zoom and
scroll in beats and keys). Mouse editing is delegated to the state classes of
:mod:`gdl_studio.ui.compose.modes`; every change goes through the undo stack.

Notes are coloured by track with their velocity as shade; generated notes that are not yet
accepted are drawn in their own colour with a dashed outline; the notes the selected
generated note attended to glow in proportion to the attention weight.
"""

from __future__ import annotations

import math
from typing import Iterable

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen, QPixmap, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollBar, QSizePolicy, QWidget

from gdl_studio.music.notes import Note
from gdl_studio.ui import theme
from gdl_studio.ui.compose import modes
from gdl_studio.ui.compose.document import RollDocument

NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
BLACK_KEYS = {1, 3, 6, 8, 10}
KEYBOARD_W = 58
RULER_H = 26
VELOCITY_H = 70
ROW_BLACK = QColor("#1b1c23")
ROW_WHITE = QColor("#23242e")
LOOP_FILL = QColor(91, 75, 196, 38)
PLAYHEAD = QColor("#f6c453")
CURSOR = QColor("#7fd6a4")


def pitch_name(pitch: int) -> str:
    """``60`` → ``"C4"``."""
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


def velocity_colour(base: QColor, velocity: int) -> QColor:
    """The track colour shaded by velocity (soft notes darker and greyer)."""
    h, s, v, _a = base.getHsvF()
    k = max(0.0, min(1.0, velocity / 127.0))
    return QColor.fromHsvF(max(h, 0.0), s * (0.55 + 0.45 * k), v * (0.42 + 0.58 * k), 1.0)


def track_colour(track: int) -> QColor:
    return theme.TRACK_COLOURS[track % len(theme.TRACK_COLOURS)]


class RollGeometry:
    """Zoom and scroll: pixels per beat, key height, the beat at the left edge and the pixel
    offset of the top row (pitch 127)."""

    def __init__(self) -> None:
        self.px_per_beat = 36.0
        self.key_h = 11.0
        self.x0 = 0.0
        self.y0 = 0.0

    def x_of(self, beat: float) -> float:
        return (beat - self.x0) * self.px_per_beat

    def beat_at(self, x: float) -> float:
        return x / self.px_per_beat + self.x0

    def y_of(self, pitch: int) -> float:
        """Top of the row of ``pitch``."""
        return (127 - pitch) * self.key_h - self.y0

    def pitch_at(self, y: float) -> int:
        return 127 - int(math.floor((y + self.y0) / self.key_h))

    @property
    def total_height(self) -> float:
        return 128 * self.key_h


class _Part(QWidget):
    """A child of the roll that paints with the shared geometry."""

    def __init__(self, roll: "PianoRoll") -> None:
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

    def __init__(self, roll: "PianoRoll") -> None:
        super().__init__(roll)
        self.setFixedWidth(KEYBOARD_W)
        self._pressed: int | None = None

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        geo = self.roll.geo
        p.fillRect(self.rect(), QColor("#e9e9ef"))
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
                colour = theme.ACCENT_LIGHT if pitch in sounding or pitch == self._pressed else QColor("#1d1e26")
                p.fillRect(QRectF(0, y, black_w, h), colour)
                p.setPen(QColor("#9a9aa8"))
                p.drawLine(QPointF(black_w, y + h / 2), QPointF(self.width(), y + h / 2))
            else:
                if pitch in sounding or pitch == self._pressed:
                    p.fillRect(QRectF(0, y, self.width(), h), theme.ACCENT_LIGHT)
                if pc in (0, 5):  # boundary below C and F
                    p.setPen(QColor("#9a9aa8"))
                    p.drawLine(QPointF(0, y + h), QPointF(self.width(), y + h))
            if pc == 0 and h >= 7:
                p.setPen(QColor("#3a3b4a"))
                p.drawText(QRectF(black_w - 4, y, self.width() - black_w, h), Qt.AlignmentFlag.AlignRight |
                           Qt.AlignmentFlag.AlignVCenter, pitch_name(pitch) + " ")
        p.setPen(QColor("#2b2d38"))
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

    def __init__(self, roll: "PianoRoll") -> None:
        super().__init__(roll)
        self.setFixedHeight(RULER_H)
        self._drag_from: float | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        roll = self.roll
        geo = roll.geo
        p.fillRect(self.rect(), QColor("#17181e"))
        bpb = roll.doc.beats_per_bar
        if roll.loop is not None:
            a, b = roll.loop
            rect = QRectF(geo.x_of(a), 2, geo.x_of(b) - geo.x_of(a), 6)
            if roll.loop_enabled:
                p.fillRect(rect, theme.ACCENT_LIGHT)
            else:
                p.setPen(QPen(QColor("#4a4d66"), 1, Qt.PenStyle.DashLine))
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
                p.setPen(QColor("#4a4d66"))
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
        p.setPen(QColor("#2b2d38"))
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

    def __init__(self, roll: "PianoRoll") -> None:
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
        p.fillRect(self.rect(), QColor("#191a21"))
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
        p.setPen(QColor("#2b2d38"))
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


class Canvas(_Part):
    """The note grid; mouse input goes to the roll's current edit mode."""

    def __init__(self, roll: "PianoRoll") -> None:
        super().__init__(roll)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 120)
        self._pending_cache: QPixmap | None = None
        self._pending_key: tuple = ()
        self._pending_drawn = 0

    def sizeHint(self) -> QSize:
        return QSize(900, 420)

    # ---------------------------------------------------------------- painting
    def paintEvent(self, event) -> None:  # noqa: N802
        """Blit the cached grid + piece, then draw what changes often on top (pending notes,
        attention, recording, rubber band, playhead), so streaming and playback stay cheap."""
        p = self._begin_cached_paint()
        self._paint_dynamic(p)
        p.end()

    def _paint_static(self, p: QPainter) -> None:
        roll = self.roll
        geo = roll.geo
        w, h = self.width(), self.height()
        # rows
        top = min(127, geo.pitch_at(0))
        bottom = max(0, geo.pitch_at(h))
        for pitch in range(top, bottom - 1, -1):
            y = geo.y_of(pitch)
            p.fillRect(QRectF(0, y, w, geo.key_h), ROW_BLACK if pitch % 12 in BLACK_KEYS else ROW_WHITE)
        p.setPen(theme.GRID_STRONG)
        for pitch in range(top, bottom - 1, -1):
            if pitch % 12 == 0:
                y = geo.y_of(pitch) + geo.key_h
                p.drawLine(QPointF(0, y), QPointF(w, y))
        # loop region
        if roll.loop is not None and roll.loop_enabled:
            a, b = roll.loop
            p.fillRect(QRectF(geo.x_of(a), 0, geo.x_of(b) - geo.x_of(a), h), LOOP_FILL)
        # vertical grid: subdivisions, beats, bars
        bpb = roll.doc.beats_per_bar
        sub = roll.snap if roll.snap > 0 else 0.25
        if sub * geo.px_per_beat >= 7 and sub < 1:
            p.setPen(QColor("#262733"))
            k0 = int(geo.beat_at(0) / sub)
            k1 = int(geo.beat_at(w) / sub) + 1
            for k in range(k0, k1 + 1):
                beat = k * sub
                if abs(beat - round(beat)) > 1e-6:
                    x = geo.x_of(beat)
                    p.drawLine(QPointF(x, 0), QPointF(x, h))
        first = max(0, int(geo.beat_at(0)))
        last = int(geo.beat_at(w)) + 1
        beat_pen, bar_pen = QPen(theme.GRID, 1), QPen(theme.GRID_STRONG, 1)
        for beat in range(first, last + 1):
            if beat % bpb == 0:
                p.setPen(bar_pen)
            elif geo.px_per_beat >= 8:
                p.setPen(beat_pen)
            else:
                continue
            x = geo.x_of(beat)
            p.drawLine(QPointF(x, 0), QPointF(x, h))
        # the piece
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        lo, hi = geo.beat_at(0), geo.beat_at(w)
        font = QFont(self.font())
        font.setPointSizeF(7.0)
        p.setFont(font)
        show_names = geo.key_h >= 10
        for i, note in roll.effective_items():
            if note.end < lo or note.start > hi or note.pitch > top + 1 or note.pitch < bottom - 1:
                continue
            self._paint_note(p, note, selected=i in roll.selected, names=show_names)
        # play position
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        x = geo.x_of(roll.cursor_beat)
        p.setPen(QPen(CURSOR, 1, Qt.PenStyle.DashLine))
        p.drawLine(QPointF(x, 0), QPointF(x, h))

    def _paint_dynamic(self, p: QPainter) -> None:
        roll = self.roll
        geo = roll.geo
        w, h = self.width(), self.height()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        lo, hi = geo.beat_at(0), geo.beat_at(w)
        font = QFont(self.font())
        font.setPointSizeF(7.0)
        p.setFont(font)
        show_names = geo.key_h >= 10
        # attention: a halo around the notes the selected generated note attended to
        if roll.attention:
            ranked = sorted(roll.attention.items(), key=lambda kv: -kv[1])
            peak = ranked[0][1] or 1.0
            floor = ranked[12][1] if len(ranked) > 12 else 0.0
            target = roll.attention_target
            p.setBrush(Qt.BrushStyle.NoBrush)
            for rank, (key, weight) in reversed(list(enumerate(ranked[:12]))):
                note = roll.note_for_key(key)
                if note is None or weight <= floor:
                    continue
                k = (weight - floor) / max(peak - floor, 1e-9)
                if target is not None and rank < 5:
                    line = QColor(theme.HIGHLIGHT)
                    line.setAlphaF(0.3 + 0.55 * k)
                    p.setPen(QPen(line, 1 + 2 * k))
                    p.drawLine(self.note_rect(note).center(), self.note_rect(target).center())
                glow = QColor(theme.HIGHLIGHT)
                glow.setAlphaF(0.25 + 0.75 * k)
                p.setPen(QPen(glow, 2 + 3 * k))
                fill = QColor(theme.HIGHLIGHT)
                fill.setAlphaF(0.10 + 0.35 * k)
                p.setBrush(fill)
                p.drawRoundedRect(self.note_rect(note).adjusted(-2, -2, 2, 2), 4, 4)
            p.setBrush(Qt.BrushStyle.NoBrush)
        for note in roll.new_preview:
            self._paint_note(p, note, selected=True, names=show_names)
        for note in roll.recording:
            if note.end >= lo and note.start <= hi:
                self._paint_note(p, note, selected=False, names=show_names, colour=QColor("#ff9f5a"))
        for note in roll.recording_answers:
            if note.end >= lo and note.start <= hi:
                self._paint_note(p, note, selected=False, names=show_names, colour=theme.GENERATED)
        # generated, not yet accepted (cached: they change only when notes arrive)
        pkey = self._cache_key + (roll.pending_epoch, roll.pending_index)
        if roll.pending:
            fresh = self._pending_cache is None or pkey != self._pending_key
            if fresh:
                dpr = self.devicePixelRatioF()
                self._pending_cache = QPixmap(int(w * dpr), int(h * dpr))
                self._pending_cache.setDevicePixelRatio(dpr)
                self._pending_cache.fill(Qt.GlobalColor.transparent)
                self._pending_key = pkey
                self._pending_drawn = 0
            if self._pending_drawn < len(roll.pending):  # streaming: draw only the new notes
                painter = QPainter(self._pending_cache)
                painter.setRenderHint(QPainter.RenderHint.Antialiasing)
                painter.setFont(font)
                self._paint_pending(painter, lo, hi, show_names, first=self._pending_drawn)
                painter.end()
                self._pending_drawn = len(roll.pending)
            p.drawPixmap(0, 0, self._pending_cache)
        # rubber band
        if roll.rubber is not None:
            band = QColor(theme.ACCENT_LIGHT)
            band.setAlpha(50)
            p.setBrush(band)
            p.setPen(QPen(theme.ACCENT_LIGHT, 1))
            p.drawRect(roll.rubber)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        if roll.playhead is not None:
            x = geo.x_of(roll.playhead)
            p.setPen(QPen(PLAYHEAD, 2))
            p.drawLine(QPointF(x, 0), QPointF(x, h))
        if not roll.doc.notes and not roll.pending and not roll.recording:
            p.setPen(theme.TEXT_DIM)
            big = QFont(self.font())
            big.setPointSizeF(11)
            p.setFont(big)
            p.drawText(self.rect().adjusted(20, 0, -20, 0),
                       int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap),
                       "Open a MIDI file (Ctrl+O or drop it here), or draw notes with the pencil (D)")

    def _paint_pending(self, p: QPainter, lo: float, hi: float, show_names: bool, first: int = 0) -> None:
        roll = self.roll
        dashed = QPen(theme.GENERATED.lighter(140), 1.2, Qt.PenStyle.DashLine)
        chosen = QPen(QColor("#ffffff"), 2)
        for k in range(first, len(roll.pending)):
            note = roll.pending[k]
            if note.end < lo or note.start > hi:
                continue
            rect = self.note_rect(note)
            fill = QColor(theme.GENERATED)
            fill.setAlphaF(0.45 + 0.45 * note.velocity / 127.0)
            selected = k == roll.pending_index
            p.setBrush(fill.lighter(125) if selected else fill)
            p.setPen(chosen if selected else dashed)
            p.drawRoundedRect(rect, 3, 3)
            if show_names and rect.width() > 26:
                p.setPen(QColor("#2a0f15"))
                p.drawText(rect.adjusted(3, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, pitch_name(note.pitch))

    def note_rect(self, note: Note) -> QRectF:
        geo = self.roll.geo
        x = geo.x_of(note.start)
        w = max(3.0, note.duration * geo.px_per_beat - 1)
        return QRectF(x, geo.y_of(note.pitch) + 1, w, max(2.0, geo.key_h - 2))

    def _paint_note(self, p: QPainter, note: Note, selected: bool, names: bool, colour: QColor | None = None) -> None:
        rect = self.note_rect(note)
        base = colour or track_colour(note.track)
        fill = velocity_colour(base, note.velocity)
        if selected:
            fill = fill.lighter(135)
        p.setBrush(fill)
        p.setPen(QPen(theme.HIGHLIGHT, 2) if selected else QPen(fill.darker(170), 1))
        p.drawRoundedRect(rect, 3, 3)
        if names and rect.width() > 26:
            p.setPen(QColor(20, 20, 28, 200))
            p.drawText(rect.adjusted(3, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, pitch_name(note.pitch))

    # ---------------------------------------------------------------- input
    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.setFocus()
        self.roll.mode = self.roll.mode.press(self.roll, event.position(), event)
        self.setCursor(self.roll.mode.cursor) if not isinstance(self.roll.mode, modes.IdleMode) else None

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        self.roll.mode = self.roll.mode.move(self.roll, event.position(), event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self.roll.mode = self.roll.mode.release(self.roll, event.position(), event)
        if isinstance(self.roll.mode, modes.IdleMode):
            self.setCursor(self.roll.mode.hover_cursor(self.roll, event.position()))

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        roll = self.roll
        pos = event.position()
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = roll.note_at(pos)
        if hit is None and roll.tool == "select" and roll.pending_at(pos) is None:
            roll.mode = modes.AddMode(roll, pos)
            roll.mode = roll.mode.release(roll, pos, event)

    def wheelEvent(self, event) -> None:  # noqa: N802
        roll = self.roll
        mods = event.modifiers()
        delta = event.angleDelta()
        dy = delta.y() or delta.x()
        x = event.position().x() if hasattr(event, "position") else self.width() / 2
        if mods & Qt.KeyboardModifier.ControlModifier:
            roll.zoom_x(1.15 ** (dy / 120), anchor_x=x)
        elif mods & Qt.KeyboardModifier.AltModifier:
            roll.zoom_y(1.1 ** (dy / 120))
        elif mods & Qt.KeyboardModifier.ShiftModifier or delta.x():
            roll.scroll_by(-(delta.x() or dy) * 0.5, 0)
        else:
            roll.scroll_by(0, -dy * 0.5)
        event.accept()

    def leaveEvent(self, event) -> None:  # noqa: N802
        self.unsetCursor()

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if not self.roll.handle_key(event):
            super().keyPressEvent(event)


class PianoRoll(QWidget):
    """Keyboard + ruler + canvas + velocity lane + scroll bars over one :class:`RollDocument`."""

    selection_changed = Signal()
    pending_selected = Signal(int)
    note_preview = Signal(int, int)  # pitch, velocity: play it briefly
    cursor_moved = Signal(float)
    loop_changed = Signal()
    view_changed = Signal()

    def __init__(self, doc: RollDocument, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pianoRoll")
        self.doc = doc
        self.undo_stack = undo_stack
        self.geo = RollGeometry()
        self.snap = 0.25
        self.tool = "select"
        self.selected: set[int] = set()
        self.preview: dict[int, Note] = {}
        self.new_preview: list[Note] = []
        self.rubber: QRectF | None = None
        self.pending: list[Note] = []
        self.pending_index: int | None = None
        self.attention: dict[tuple[str, int], float] = {}
        self.attention_target: Note | None = None
        self.recording: list[Note] = []
        self.recording_answers: list[Note] = []
        self.sounding_pitches: set[int] = set()
        self.playhead: float | None = None
        self.cursor_beat = 0.0
        self.loop: tuple[float, float] | None = None
        self.loop_enabled = False
        self.follow = True
        self.last_duration = 1.0
        self.default_velocity = 90
        self.draw_track = 0
        self.mode: modes.EditMode = modes.IdleMode()
        self._items_cache: list[tuple[int, Note]] | None = None
        self._version = 0  # bumped whenever the cached layer (grid + piece) must be redrawn
        self.pending_epoch = 0  # bumped whenever generated notes change other than by appending

        self.keyboard = Keyboard(self)
        self.ruler = Ruler(self)
        self.canvas = Canvas(self)
        self.velocity = VelocityLane(self)
        self.hbar = QScrollBar(Qt.Orientation.Horizontal, self)
        self.vbar = QScrollBar(Qt.Orientation.Vertical, self)
        corner = QWidget(self)
        corner.setFixedSize(KEYBOARD_W, RULER_H)
        corner.setStyleSheet("background: #17181e;")
        vlabel = QLabel("velocity", self)
        vlabel.setFixedWidth(KEYBOARD_W)
        vlabel.setAlignment(Qt.AlignmentFlag.AlignCenter)
        vlabel.setStyleSheet("background: #17181e; color: #6f7290; font-size: 8pt;")
        vlabel.setToolTip("Velocity: drag a stem up or down")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(0)
        grid.addWidget(corner, 0, 0)
        grid.addWidget(self.ruler, 0, 1)
        grid.addWidget(self.keyboard, 1, 0)
        grid.addWidget(self.canvas, 1, 1)
        grid.addWidget(self.vbar, 1, 2)
        grid.addWidget(vlabel, 2, 0)
        grid.addWidget(self.velocity, 2, 1)
        grid.addWidget(self.hbar, 3, 1)
        grid.setRowStretch(1, 1)
        grid.setColumnStretch(1, 1)
        self.hbar.valueChanged.connect(self._on_hbar)
        self.vbar.valueChanged.connect(self._on_vbar)
        doc.changed.connect(self._on_doc_changed)
        doc.meta_changed.connect(self.refresh)
        self.center_on_pitch(64)

    # ---------------------------------------------------------------- data
    def static_key(self) -> tuple:
        """What the canvas' cached layer depends on."""
        g = self.geo
        return (self._version, g.px_per_beat, g.key_h, g.x0, g.y0, self.snap, self.doc.beats_per_bar,
                self.loop, self.loop_enabled, self.cursor_beat)

    def invalidate(self) -> None:
        """The piece, selection or preview changed: redraw the cached layer."""
        self._version += 1

    def _on_doc_changed(self) -> None:
        self._items_cache = None
        self.invalidate()
        gone = {i for i in self.selected if i not in self.doc.notes}
        if gone:
            self.selected = self.selected - gone
            self.selection_changed.emit()
        self.refresh()

    def effective_items(self) -> list[tuple[int, Note]]:
        """Document notes with the drag preview applied, sorted by start."""
        if self._items_cache is None:
            self._items_cache = self.doc.sorted_items()
        if not self.preview:
            return self._items_cache
        return [(i, self.preview.get(i, n)) for i, n in self._items_cache]

    def note_for_key(self, key: tuple[str, int]) -> Note | None:
        """A note by ``("doc", id)`` or ``("pending", index)``."""
        kind, idx = key
        if kind == "doc":
            return self.preview.get(idx) or self.doc.notes.get(idx)
        if 0 <= idx < len(self.pending):
            return self.pending[idx]
        return None

    # ---------------------------------------------------------------- for the modes
    def push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    def note_at(self, pos: QPointF) -> int | None:
        for i, note in reversed(self.effective_items()):
            if self.canvas.note_rect(note).adjusted(0, 0, 1, 0).contains(pos):
                return i
        return None

    def pending_at(self, pos: QPointF) -> int | None:
        for k in range(len(self.pending) - 1, -1, -1):
            if self.canvas.note_rect(self.pending[k]).contains(pos):
                return k
        return None

    def on_right_edge(self, note_id: int, pos: QPointF) -> bool:
        rect = self.canvas.note_rect(self.preview.get(note_id) or self.doc.notes[note_id])
        return pos.x() >= rect.right() - min(modes.EDGE_PX, rect.width() * 0.3)

    def notes_in_rect(self, rect: QRectF) -> list[int]:
        return [i for i, n in self.effective_items() if self.canvas.note_rect(n).intersects(rect)]

    def snap_beat(self, beat: float, fallback: float = 0.0) -> float:
        step = self.snap if self.snap > 0 else fallback
        if step <= 0:
            return beat
        return round(beat / step) * step

    def set_preview(self, items: dict[int, Note]) -> None:
        self.preview = items
        self.invalidate()
        self.refresh_notes()

    def set_new_preview(self, note: Note) -> None:
        self.new_preview = [note]
        self.refresh_notes()

    def clear_preview(self) -> None:
        if self.preview:
            self.invalidate()
        self.preview = {}
        self.new_preview = []
        self.refresh_notes()

    def set_rubber_band(self, rect: QRectF | None) -> None:
        self.rubber = rect
        self.canvas.update()

    def set_canvas_cursor(self, shape: Qt.CursorShape) -> None:
        self.canvas.setCursor(shape)

    def preview_sound(self, note: Note) -> None:
        self.note_preview.emit(note.pitch, note.velocity)

    # ---------------------------------------------------------------- selection
    def set_selection(self, ids: Iterable[int]) -> None:
        ids = {i for i in ids if i in self.doc.notes}
        if ids != self.selected:
            self.selected = ids
            self.invalidate()
            self.selection_changed.emit()
            self.refresh_notes()

    def select_all(self) -> None:
        self.set_selection(self.doc.notes.keys())

    def select_pending(self, index: int | None) -> None:
        """Select a generated (not yet accepted) note; the panel shows its attention."""
        self.pending_index = index
        self.refresh_notes()
        if index is not None:
            self.pending_selected.emit(index)

    # ---------------------------------------------------------------- overlays
    def set_pending(self, notes: list[Note]) -> None:
        notes = list(notes)
        if notes[:len(self.pending)] != self.pending or len(notes) < len(self.pending):
            self.pending_epoch += 1
        self.pending = notes
        if self.pending_index is not None and self.pending_index >= len(self.pending):
            self.pending_index = None
        self.update_extent()
        self.refresh_notes()

    def add_pending(self, note: Note) -> None:
        self.pending.append(note)
        self.update_extent()
        self.refresh_notes()

    def set_attention(self, weights: dict[tuple[str, int], float], target: Note | None = None) -> None:
        """Glow the notes ``("doc", id)`` / ``("pending", index)`` by weight; lines to ``target``."""
        self.attention = weights
        self.attention_target = target
        self.canvas.update()

    def set_recording(self, notes: list[Note], answers: list[Note] | None = None) -> None:
        """Notes being recorded (or played in jam mode) and the model's answers, drawn live."""
        self.recording = notes
        self.recording_answers = list(answers or [])
        self.update_extent()
        self.refresh_notes()

    def set_playhead(self, beat: float | None) -> None:
        self.playhead = beat
        if beat is not None and self.follow:
            x = self.geo.x_of(beat)
            w = self.canvas.width()
            if x > w * 0.88 or x < 0:
                self.scroll_to_beat(beat - (w * 0.12) / self.geo.px_per_beat)
        self.canvas.update()
        self.ruler.update()

    def set_cursor_beat(self, beat: float) -> None:
        self.cursor_beat = max(0.0, beat)
        self.cursor_moved.emit(self.cursor_beat)
        self.canvas.update()
        self.ruler.update()

    def set_loop(self, region: tuple[float, float] | None, enabled: bool | None = None) -> None:
        self.loop = region
        if enabled is not None:
            self.loop_enabled = enabled
        self.loop_changed.emit()
        self.canvas.update()
        self.ruler.update()

    # ---------------------------------------------------------------- view
    def content_beats(self) -> float:
        end = max(self.doc.end_beat, max((n.end for n in self.pending), default=0.0),
                  max((n.end for n in self.recording), default=0.0), self.cursor_beat)
        bpb = self.doc.beats_per_bar
        return max(16 * bpb, math.ceil(end / bpb) * bpb + 8 * bpb)

    def update_extent(self) -> None:
        visible = self.canvas.width() / self.geo.px_per_beat
        self.hbar.blockSignals(True)
        self.hbar.setRange(0, max(0, int((self.content_beats() - visible) * self.geo.px_per_beat)))
        self.hbar.setPageStep(max(1, self.canvas.width()))
        self.hbar.setSingleStep(max(1, int(self.geo.px_per_beat)))
        self.hbar.setValue(int(self.geo.x0 * self.geo.px_per_beat))
        self.hbar.blockSignals(False)
        self.vbar.blockSignals(True)
        self.vbar.setRange(0, max(0, int(self.geo.total_height - self.canvas.height())))
        self.vbar.setPageStep(max(1, self.canvas.height()))
        self.vbar.setSingleStep(max(1, int(self.geo.key_h)))
        self.vbar.setValue(int(self.geo.y0))
        self.vbar.blockSignals(False)

    def _on_hbar(self, value: int) -> None:
        self.geo.x0 = value / self.geo.px_per_beat
        self.refresh(extent=False)

    def _on_vbar(self, value: int) -> None:
        self.geo.y0 = float(value)
        self.refresh(extent=False)

    def _clamp(self) -> None:
        self.geo.x0 = max(0.0, self.geo.x0)
        self.geo.y0 = max(0.0, min(self.geo.y0, self.geo.total_height - max(self.canvas.height(), 1)))

    def scroll_by(self, dx_px: float, dy_px: float) -> None:
        self.geo.x0 += dx_px / self.geo.px_per_beat
        self.geo.y0 += dy_px
        self._clamp()
        self.refresh()

    def scroll_to_beat(self, beat: float) -> None:
        self.geo.x0 = max(0.0, beat)
        self.refresh()

    def center_on_pitch(self, pitch: float) -> None:
        self.geo.y0 = (127 - pitch) * self.geo.key_h - max(self.canvas.height(), 300) / 2
        self._clamp()
        self.refresh()

    def zoom_x(self, factor: float, anchor_x: float | None = None) -> None:
        anchor_x = self.canvas.width() / 2 if anchor_x is None else anchor_x
        beat = self.geo.beat_at(anchor_x)
        self.geo.px_per_beat = max(4.0, min(400.0, self.geo.px_per_beat * factor))
        self.geo.x0 = beat - anchor_x / self.geo.px_per_beat
        self._clamp()
        self.refresh()

    def zoom_y(self, factor: float) -> None:
        middle = self.geo.pitch_at(self.canvas.height() / 2)
        self.geo.key_h = max(5.0, min(30.0, self.geo.key_h * factor))
        self.center_on_pitch(middle)

    def fit(self) -> None:
        """Show the whole piece (and pending notes) with a little margin."""
        notes = [n for _i, n in self.doc.sorted_items()] + self.pending
        if not notes:
            self.geo.x0 = 0
            self.center_on_pitch(64)
            return
        end = max(n.end for n in notes)
        width = max(self.canvas.width(), 300)
        self.geo.px_per_beat = max(4.0, min(120.0, (width - 20) / max(end, 4.0)))
        self.geo.x0 = 0.0
        lo, hi = min(n.pitch for n in notes), max(n.pitch for n in notes)
        height = max(self.canvas.height(), 200)
        self.geo.key_h = max(5.0, min(18.0, (height - 20) / max(hi - lo + 5, 12)))
        self.center_on_pitch((lo + hi) / 2)

    def refresh(self, extent: bool = True) -> None:
        if extent:
            self.update_extent()
        for part in (self.canvas, self.keyboard, self.ruler, self.velocity):
            part.update()
        self.view_changed.emit()

    def refresh_notes(self) -> None:
        self.canvas.update()
        self.velocity.update()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._clamp()
        self.update_extent()

    def set_sounding(self, pitches: set[int]) -> None:
        if pitches != self.sounding_pitches:
            self.sounding_pitches = pitches
            self.keyboard.update()

    # ---------------------------------------------------------------- keys
    def handle_key(self, event) -> bool:
        """Editing keys of the canvas; returns whether the key was used."""
        from gdl_studio.ui.compose.commands import ChangeNotes, RemoveNotes

        key = event.key()
        mods = event.modifiers()
        ids = [i for i in self.selected if i in self.doc.notes]
        if key == Qt.Key.Key_Escape:
            if not isinstance(self.mode, modes.IdleMode):
                self.mode = self.mode.cancel(self)
            else:
                self.set_selection(set())
            return True
        if not ids:
            return False
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.push(RemoveNotes(self.doc, ids, "Delete notes" if len(ids) > 1 else "Delete note"))
            return True
        step = self.snap if self.snap > 0 else 0.25
        moves = {
            Qt.Key.Key_Left: (-step, 0), Qt.Key.Key_Right: (step, 0),
            Qt.Key.Key_Up: (0, 12 if mods & Qt.KeyboardModifier.ShiftModifier else 1),
            Qt.Key.Key_Down: (0, -12 if mods & Qt.KeyboardModifier.ShiftModifier else -1),
        }
        if key in moves:
            d_beat, d_pitch = moves[key]
            notes = [self.doc.notes[i] for i in ids]
            if min(n.start for n in notes) + d_beat < 0 or not all(0 <= n.pitch + d_pitch <= 127 for n in notes):
                return True
            changed = {i: self.doc.notes[i].moved(d_beat, d_pitch) for i in ids}
            self.push(ChangeNotes(self.doc, changed, "Transpose notes" if d_pitch else "Move notes"))
            if d_pitch and len(ids) == 1:
                self.preview_sound(changed[ids[0]])
            return True
        return False

    def quantise_selection(self) -> None:
        """Snap the selected notes' starts and lengths to the grid (one undo step)."""
        from gdl_studio.live.recorder import quantise_notes
        from gdl_studio.ui.compose.commands import ChangeNotes

        ids = [i for i in self.selected if i in self.doc.notes] or list(self.doc.notes)
        if not ids or self.snap <= 0:
            return
        q = quantise_notes([self.doc.notes[i] for i in ids], self.snap)
        changed = {i: n for i, n in zip(ids, q) if n != self.doc.notes[i]}
        if changed:
            self.push(ChangeNotes(self.doc, changed, "Quantise"))

    def duplicate_selection(self) -> None:
        """Copy the selected notes to right after themselves."""
        from gdl_studio.ui.compose.commands import AddNotes

        ids = [i for i in self.selected if i in self.doc.notes]
        if not ids:
            return
        notes = [self.doc.notes[i] for i in ids]
        span = max(n.end for n in notes) - min(n.start for n in notes)
        bpb = self.doc.beats_per_bar
        shift = math.ceil(span / bpb - 1e-9) * bpb if span > 0 else bpb
        cmd = AddNotes(self.doc, [n.moved(shift, 0) for n in notes], "Duplicate notes")
        self.push(cmd)
        self.set_selection(set(cmd.ids))
