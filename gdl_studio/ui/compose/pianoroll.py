"""The piano roll: notes in musical time on a pitch × beat grid.

:class:`PianoRoll` puts together a keyboard (left), a bar ruler (top), the note canvas, a
velocity lane (bottom) and scroll bars, all sharing one
:class:`~gdl_studio.ui.compose.roll_geometry.RollGeometry` (zoom and scroll in beats and keys).
Mouse editing is delegated to the state classes of :mod:`gdl_studio.ui.compose.modes`; every
change goes through the undo stack.

Notes are coloured by track with their velocity as shade; generated notes that are not yet
accepted are drawn in their own colour with a dashed outline; the notes the selected
generated note attended to glow in proportion to the attention weight.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollBar, QWidget

from gdl_studio.music.notes import Note
from gdl_studio.ui import theme
from gdl_studio.ui.compose import modes
from gdl_studio.ui.compose.document import RollDocument
from gdl_studio.ui.compose.roll_canvas import Canvas
from gdl_studio.ui.compose.roll_geometry import KEYBOARD_W, RULER_H, RollGeometry
from gdl_studio.ui.compose.roll_parts import Keyboard, Ruler, VelocityLane


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
        self.gap: tuple[float, float] | None = None  # a fill in progress: its bars (beats), shaded
        self.hidden: frozenset[int] = frozenset()  # notes a pending fill replaces (not drawn)
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
        corner.setStyleSheet(theme.qss("background: @BAR@;"))
        vlabel = QLabel("velocity", self)
        vlabel.setFixedWidth(KEYBOARD_W)
        vlabel.setAlignment(Qt.AlignmentFlag.AlignCenter)
        vlabel.setStyleSheet(theme.qss("background: @BAR@; color: @TEXT_PLACEHOLDER@; font-size: 8pt;"))
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
        return (
            self._version,
            g.px_per_beat,
            g.key_h,
            g.x0,
            g.y0,
            self.snap,
            self.doc.beats_per_bar,
            self.loop,
            self.loop_enabled,
            self.cursor_beat,
            self.gap,
            self.hidden,
        )

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
            self._items_cache = [(i, n) for i, n in self.doc.sorted_items() if i not in self.hidden]
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
        if notes[: len(self.pending)] != self.pending or len(notes) < len(self.pending):
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

    def set_gap(self, region: tuple[float, float] | None, hidden=()) -> None:
        """Shade the gap a fill writes into and hide the notes it replaces (None: no fill)."""
        hidden = frozenset(hidden)
        if region == self.gap and hidden == self.hidden:
            return
        self.gap, self.hidden = region, hidden
        self._items_cache = None
        if self.selected & hidden:
            self.set_selection(self.selected - hidden)
        self.invalidate()
        self.refresh_notes()

    # ---------------------------------------------------------------- view
    def content_beats(self) -> float:
        end = max(
            self.doc.end_beat,
            max((n.end for n in self.pending), default=0.0),
            max((n.end for n in self.recording), default=0.0),
            self.cursor_beat,
        )
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
            Qt.Key.Key_Left: (-step, 0),
            Qt.Key.Key_Right: (step, 0),
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
