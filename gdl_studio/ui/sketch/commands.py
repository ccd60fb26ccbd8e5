"""Undo commands of the Sketch panel: every change to the drawing goes through one of these."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QUndoCommand

from gdl_studio.ui.sketch.drawing import SketchDocument, Stroke


class SetStrokesCommand(QUndoCommand):
    """Replace the document's strokes with ``strokes`` (undo puts the old ones back)."""

    def __init__(self, document: SketchDocument, strokes: Iterable[Stroke], text: str) -> None:
        super().__init__(text)
        self.document = document
        self.before = document.strokes
        self.after = tuple(strokes)

    def redo(self) -> None:
        self.document.set_strokes(self.after)

    def undo(self) -> None:
        self.document.set_strokes(self.before)


def add_strokes(document: SketchDocument, strokes: Iterable[Stroke], text: str) -> SetStrokesCommand:
    """A command appending ``strokes`` to the drawing."""
    return SetStrokesCommand(document, document.strokes + tuple(strokes), text)


def clear(document: SketchDocument) -> SetStrokesCommand:
    """A command removing every stroke."""
    return SetStrokesCommand(document, (), "Clear")
