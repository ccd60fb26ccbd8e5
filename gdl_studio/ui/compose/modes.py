"""Mouse edit modes of the piano roll, as small state classes.

The canvas forwards press/move/release to its current mode; a mode returns the next mode
(or itself). :class:`IdleMode` decides what a press starts: moving or resizing notes,
drawing a new one, a rubber band, panning. Drags only *preview* their change; the release
pushes one undo command, so every edit is one step on the undo stack.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QUndoCommand

from gdl_studio.music.notes import Note
from gdl_studio.ui.compose.commands import AddNotes, ChangeNotes, RemoveNotes
from gdl_studio.ui.compose.document import RollDocument

EDGE_PX = 6
DRAG_START_PX = 3
MIN_DURATION = 1.0 / 32


class Geometry(Protocol):
    """The roll's zoom and scroll, as the modes use it (see ``pianoroll.RollGeometry``)."""

    px_per_beat: float
    key_h: float

    def x_of(self, beat: float) -> float: ...
    def beat_at(self, x: float) -> float: ...
    def y_of(self, pitch: int) -> float: ...
    def pitch_at(self, y: float) -> int: ...


class RollView(Protocol):
    """What an edit mode needs of the piano roll (``pianoroll.PianoRoll`` is one): the document,
    the editing state, hit tests, previews and the undo stack. A protocol, so that the modes do
    not import the roll that imports them."""

    doc: RollDocument
    snap: float
    tool: str
    selected: set[int]
    last_duration: float
    default_velocity: int
    draw_track: int

    @property
    def geo(self) -> Geometry: ...  # read-only here, so that the roll's RollGeometry fits
    def push(self, command: QUndoCommand) -> None: ...
    def note_at(self, pos: QPointF) -> int | None: ...
    def pending_at(self, pos: QPointF) -> int | None: ...
    def on_right_edge(self, note_id: int, pos: QPointF) -> bool: ...
    def notes_in_rect(self, rect: QRectF) -> list[int]: ...
    def snap_beat(self, beat: float, fallback: float = 0.0) -> float: ...
    def set_preview(self, items: dict[int, Note]) -> None: ...
    def set_new_preview(self, note: Note) -> None: ...
    def clear_preview(self) -> None: ...
    def set_rubber_band(self, rect: QRectF | None) -> None: ...
    def set_canvas_cursor(self, shape: Qt.CursorShape) -> None: ...
    def preview_sound(self, note: Note) -> None: ...
    def set_selection(self, ids: Iterable[int]) -> None: ...
    def select_pending(self, index: int | None) -> None: ...
    def set_cursor_beat(self, beat: float) -> None: ...
    def scroll_by(self, dx_px: float, dy_px: float) -> None: ...


def _mods(event) -> Qt.KeyboardModifier:
    return event.modifiers()


class EditMode:
    """Base class: does nothing; subclasses override what they handle."""

    cursor = Qt.CursorShape.ArrowCursor

    def press(self, roll: RollView, pos: QPointF, event) -> EditMode:
        return self

    def move(self, roll: RollView, pos: QPointF, event) -> EditMode:
        return self

    def release(self, roll: RollView, pos: QPointF, event) -> EditMode:
        return IdleMode()

    def cancel(self, roll: RollView) -> EditMode:
        roll.clear_preview()
        return IdleMode()


class IdleMode(EditMode):
    """Nothing in progress: hovering sets the cursor, a press picks the next mode."""

    def hover_cursor(self, roll: RollView, pos: QPointF) -> Qt.CursorShape:
        hit = roll.note_at(pos)
        if hit is not None:
            return Qt.CursorShape.SizeHorCursor if roll.on_right_edge(hit, pos) else Qt.CursorShape.SizeAllCursor
        if roll.pending_at(pos) is not None:
            return Qt.CursorShape.PointingHandCursor
        return Qt.CursorShape.CrossCursor if roll.tool == "draw" else Qt.CursorShape.ArrowCursor

    def move(self, roll, pos, event) -> EditMode:
        roll.set_canvas_cursor(self.hover_cursor(roll, pos))
        return self

    def press(self, roll, pos, event) -> EditMode:
        button = event.button()
        mods = _mods(event)
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and mods & Qt.KeyboardModifier.AltModifier and roll.note_at(pos) is None
        ):
            return PanMode(pos, roll)
        hit = roll.note_at(pos)
        if button == Qt.MouseButton.RightButton:
            if hit is not None:
                roll.push(RemoveNotes(roll.doc, [hit], "Delete note"))
                roll.set_selection(roll.selected - {hit})
            return self
        if button != Qt.MouseButton.LeftButton:
            return self
        if hit is None:
            pending = roll.pending_at(pos)
            if pending is not None:
                roll.select_pending(pending)
                return self
        if hit is not None:
            if mods & Qt.KeyboardModifier.ControlModifier:
                roll.set_selection(roll.selected ^ {hit})
                return self
            if hit not in roll.selected:
                roll.set_selection((roll.selected | {hit}) if mods & Qt.KeyboardModifier.ShiftModifier else {hit})
            roll.preview_sound(roll.doc.notes[hit])
            if roll.on_right_edge(hit, pos):
                return ResizeMode(roll, hit, pos)
            return MoveMode(roll, hit, pos)
        if roll.tool == "draw":
            return AddMode(roll, pos)
        additive = bool(mods & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier))
        return RubberBandMode(roll, pos, additive)

    def release(self, roll, pos, event) -> EditMode:
        return self


class MoveMode(EditMode):
    """Drag the selected notes in time (snapped) and pitch; Alt at release copies instead."""

    cursor = Qt.CursorShape.SizeAllCursor

    def __init__(self, roll: RollView, anchor: int, pos: QPointF) -> None:
        self.anchor = anchor
        self.origin = pos
        self.start_beat = roll.geo.beat_at(pos.x())
        self.start_pitch = roll.geo.pitch_at(pos.y())
        self.ids = [i for i in roll.selected if i in roll.doc.notes]
        self.moved = False
        self.delta = (0.0, 0)

    def move(self, roll, pos, event) -> EditMode:
        if not self.moved and (pos - self.origin).manhattanLength() < DRAG_START_PX:
            return self
        self.moved = True
        anchor = roll.doc.notes[self.anchor]
        raw = anchor.start + roll.geo.beat_at(pos.x()) - self.start_beat
        d_beat = roll.snap_beat(raw) - anchor.start
        d_pitch = roll.geo.pitch_at(pos.y()) - self.start_pitch
        notes = [roll.doc.notes[i] for i in self.ids]
        d_beat = max(d_beat, -min(n.start for n in notes))
        d_pitch = max(min(d_pitch, 127 - max(n.pitch for n in notes)), -min(n.pitch for n in notes))
        if (d_beat, d_pitch) != self.delta:
            if d_pitch != self.delta[1]:
                roll.preview_sound(roll.doc.notes[self.anchor].moved(0, d_pitch))
            self.delta = (d_beat, d_pitch)
            roll.set_preview({i: roll.doc.notes[i].moved(d_beat, d_pitch) for i in self.ids})
        return self

    def release(self, roll, pos, event) -> EditMode:
        d_beat, d_pitch = self.delta
        roll.clear_preview()
        if self.moved and (abs(d_beat) > 1e-9 or d_pitch):
            moved = {i: roll.doc.notes[i].moved(d_beat, d_pitch) for i in self.ids}
            if _mods(event) & Qt.KeyboardModifier.AltModifier:
                cmd = AddNotes(roll.doc, list(moved.values()), "Copy notes")
                roll.push(cmd)
                roll.set_selection(set(cmd.ids))
            else:
                roll.push(ChangeNotes(roll.doc, moved, "Move notes" if len(moved) > 1 else "Move note"))
        return IdleMode()


class ResizeMode(EditMode):
    """Drag the right edge: change the duration of the selected notes."""

    cursor = Qt.CursorShape.SizeHorCursor

    def __init__(self, roll: RollView, anchor: int, pos: QPointF) -> None:
        self.anchor = anchor
        self.ids = [i for i in roll.selected if i in roll.doc.notes]
        self.delta = 0.0

    def move(self, roll, pos, event) -> EditMode:
        anchor = roll.doc.notes[self.anchor]
        new_end = roll.snap_beat(roll.geo.beat_at(pos.x()))
        step = roll.snap if roll.snap > 0 else MIN_DURATION
        new_end = max(new_end, anchor.start + step)
        delta = new_end - anchor.end
        if delta != self.delta:
            self.delta = delta
            roll.set_preview({i: self._resized(roll.doc.notes[i], step) for i in self.ids})
        return self

    def _resized(self, note: Note, step: float) -> Note:
        return replace(note, duration=max(step, note.duration + self.delta))

    def release(self, roll, pos, event) -> EditMode:
        roll.clear_preview()
        if abs(self.delta) > 1e-9:
            step = roll.snap if roll.snap > 0 else MIN_DURATION
            changed = {i: self._resized(roll.doc.notes[i], step) for i in self.ids}
            roll.push(ChangeNotes(roll.doc, changed, "Resize notes" if len(changed) > 1 else "Resize note"))
            roll.last_duration = changed[self.anchor].duration
        return IdleMode()


class AddMode(EditMode):
    """Draw a note: press places it (snapped), dragging sets its length."""

    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, roll: RollView, pos: QPointF) -> None:
        beat = roll.geo.beat_at(pos.x())
        step = roll.snap if roll.snap > 0 else MIN_DURATION
        self.start = max(0.0, math.floor(beat / step + 1e-9) * step) if roll.snap > 0 else max(0.0, beat)
        self.pitch = max(0, min(127, roll.geo.pitch_at(pos.y())))
        self.duration = roll.last_duration
        self.velocity = roll.default_velocity
        self.track = roll.draw_track
        roll.set_new_preview(self._note())
        roll.preview_sound(self._note())

    def _note(self) -> Note:
        return Note(self.pitch, self.start, self.duration, self.velocity, self.track)

    def move(self, roll, pos, event) -> EditMode:
        step = roll.snap if roll.snap > 0 else MIN_DURATION
        end = roll.snap_beat(roll.geo.beat_at(pos.x()))
        if end > self.start + 1e-9:
            self.duration = max(step, end - self.start)
            roll.set_new_preview(self._note())
        return self

    def release(self, roll, pos, event) -> EditMode:
        roll.clear_preview()
        cmd = AddNotes(roll.doc, [self._note()], "Add note")
        roll.push(cmd)
        roll.set_selection(set(cmd.ids))
        roll.last_duration = self.duration
        return IdleMode()


class RubberBandMode(EditMode):
    """Drag a rectangle: select the notes it touches (Ctrl/Shift: add to the selection)."""

    def __init__(self, roll: RollView, pos: QPointF, additive: bool) -> None:
        self.origin = pos
        self.base = set(roll.selected) if additive else set()
        if not additive:
            roll.set_selection(set())
        roll.set_cursor_beat(max(0.0, roll.snap_beat(roll.geo.beat_at(pos.x()))))

    def move(self, roll, pos, event) -> EditMode:
        rect = QRectF(self.origin, pos).normalized()
        roll.set_rubber_band(rect)
        roll.set_selection(self.base | set(roll.notes_in_rect(rect)))
        return self

    def release(self, roll, pos, event) -> EditMode:
        roll.set_rubber_band(None)
        return IdleMode()


class PanMode(EditMode):
    """Middle (or Alt) drag: move the view."""

    cursor = Qt.CursorShape.ClosedHandCursor

    def __init__(self, pos: QPointF, roll: RollView) -> None:
        self.last = pos
        roll.set_canvas_cursor(self.cursor)

    def move(self, roll, pos, event) -> EditMode:
        d = pos - self.last
        self.last = pos
        roll.scroll_by(-d.x(), -d.y())
        return self


class VelocityMode(EditMode):
    """In the velocity lane: drag a stem up or down to set the velocity of that note (and
    of the other selected notes, by the same amount)."""

    def __init__(self, roll: RollView, anchor: int) -> None:
        self.anchor = anchor
        if anchor not in roll.selected:
            roll.set_selection({anchor})
        self.ids = [i for i in roll.selected if i in roll.doc.notes]
        self.delta = 0

    def drag_to(self, roll: RollView, velocity: int) -> None:
        base = roll.doc.notes[self.anchor].velocity
        self.delta = velocity - base
        roll.set_preview({i: self._changed(roll.doc.notes[i]) for i in self.ids})

    def _changed(self, note: Note) -> Note:
        return replace(note, velocity=max(1, min(127, note.velocity + self.delta)))

    def finish(self, roll: RollView) -> None:
        roll.clear_preview()
        if self.delta:
            changed = {i: self._changed(roll.doc.notes[i]) for i in self.ids}
            roll.push(ChangeNotes(roll.doc, changed, "Change velocity"))
