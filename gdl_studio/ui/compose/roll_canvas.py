"""The piano roll's note canvas: the grid, the piece, the generated notes and their attention,
recordings, the playhead; mouse editing is delegated to the roll's current edit mode
(:mod:`gdl_studio.ui.compose.modes`)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy

from gdl_studio.music.notes import Note
from gdl_studio.ui import theme
from gdl_studio.ui.compose import modes
from gdl_studio.ui.compose.roll_geometry import (
    BLACK_KEYS,
    CURSOR,
    LOOP_FILL,
    PLAYHEAD,
    ROW_BLACK,
    ROW_WHITE,
    pitch_name,
    track_colour,
    velocity_colour,
)
from gdl_studio.ui.compose.roll_parts import _Part


class Canvas(_Part):
    """The note grid; mouse input goes to the roll's current edit mode."""

    def __init__(self, roll) -> None:
        super().__init__(roll)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(200, 120)
        self._pending_cache: QPixmap | None = None
        self._pending_key: tuple = ()
        self._pending_drawn = 0

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
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
        # the gap a fill writes into
        if roll.gap is not None:
            a, b = roll.gap
            shade = QColor(theme.GENERATED)
            shade.setAlphaF(0.08)
            p.fillRect(QRectF(geo.x_of(a), 0, geo.x_of(b) - geo.x_of(a), h), shade)
            shade.setAlphaF(0.55)
            p.setPen(QPen(shade, 1, Qt.PenStyle.DashLine))
            for x in (geo.x_of(a), geo.x_of(b)):
                p.drawLine(QPointF(x, 0), QPointF(x, h))
        # vertical grid: subdivisions, beats, bars
        bpb = roll.doc.beats_per_bar
        sub = roll.snap if roll.snap > 0 else 0.25
        if sub * geo.px_per_beat >= 7 and sub < 1:
            p.setPen(theme.FIELD)
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
                self._paint_note(p, note, selected=False, names=show_names, colour=theme.RECORDING)
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
            cache = self._pending_cache
            assert cache is not None  # made above when missing
            if self._pending_drawn < len(roll.pending):  # streaming: draw only the new notes
                painter = QPainter(cache)
                painter.setRenderHint(QPainter.RenderHint.Antialiasing)
                painter.setFont(font)
                self._paint_pending(painter, lo, hi, show_names, first=self._pending_drawn)
                painter.end()
                self._pending_drawn = len(roll.pending)
            p.drawPixmap(0, 0, cache)
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
            p.drawText(
                self.rect().adjusted(20, 0, -20, 0),
                int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap),
                "Open a MIDI file (Ctrl+O or drop it here), or draw notes with the pencil (D)",
            )

    def _paint_pending(self, p: QPainter, lo: float, hi: float, show_names: bool, first: int = 0) -> None:
        roll = self.roll
        dashed = QPen(theme.GENERATED.lighter(140), 1.2, Qt.PenStyle.DashLine)
        chosen = QPen(theme.WHITE, 2)
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
                p.setPen(theme.NOTE_TEXT_DARK)
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
            p.setPen(theme.NOTE_TEXT)
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
