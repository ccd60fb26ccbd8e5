"""Undo commands: every edit of the piece is one of these, pushed on the panel's QUndoStack."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QUndoCommand

from gdl_studio.music.notes import Note
from gdl_studio.ui.compose.document import RollDocument

TEMPO_ID = 1001


class AddNotes(QUndoCommand):
    """Add notes (drawn, recorded, pasted or an accepted continuation)."""

    def __init__(self, doc: RollDocument, notes: Iterable[Note], text: str = "Add note") -> None:
        super().__init__(text)
        self.doc = doc
        notes = list(notes)
        self.ids = doc.new_ids(len(notes))
        self.items = dict(zip(self.ids, notes))

    def redo(self) -> None:
        self.doc.insert(self.items)

    def undo(self) -> None:
        self.doc.remove(self.ids)


class RemoveNotes(QUndoCommand):
    """Delete notes."""

    def __init__(self, doc: RollDocument, ids: Iterable[int], text: str = "Delete notes") -> None:
        super().__init__(text)
        self.doc = doc
        self.items = {i: doc.notes[i] for i in ids if i in doc.notes}

    def redo(self) -> None:
        self.doc.remove(list(self.items))

    def undo(self) -> None:
        self.doc.insert(self.items)


class ChangeNotes(QUndoCommand):
    """Replace notes by changed versions of themselves (move, resize, velocity, quantise)."""

    def __init__(self, doc: RollDocument, after: dict[int, Note], text: str) -> None:
        super().__init__(text)
        self.doc = doc
        self.before = {i: doc.notes[i] for i in after if i in doc.notes}
        self.after = {i: n for i, n in after.items() if i in self.before}

    def redo(self) -> None:
        self.doc.update(self.after)

    def undo(self) -> None:
        self.doc.update(self.before)


class SetTempo(QUndoCommand):
    """Change the tempo; consecutive tempo edits merge into one undo step."""

    def __init__(self, doc: RollDocument, bpm: float) -> None:
        super().__init__(f"Tempo {bpm:g} BPM")
        self.doc = doc
        self.old = doc.tempo_bpm
        self.new = float(bpm)

    def id(self) -> int:
        return TEMPO_ID

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        if not isinstance(other, SetTempo) or other.doc is not self.doc:
            return False
        self.new = other.new
        self.setText(f"Tempo {self.new:g} BPM")
        return True

    def redo(self) -> None:
        self.doc.set_tempo(self.new)

    def undo(self) -> None:
        self.doc.set_tempo(self.old)
