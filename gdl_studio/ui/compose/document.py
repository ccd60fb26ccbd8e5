"""The piece being edited: notes with stable ids, tempo and metre (changed only through undo
commands, see :mod:`gdl_studio.ui.compose.commands`)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, Signal

from gdl_studio.music.notes import Note, Score


class RollDocument(QObject):
    """Notes keyed by id. ``changed`` fires after every note edit, ``meta_changed`` after a
    tempo, metre or title change."""

    changed = Signal()
    meta_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.notes: dict[int, Note] = {}
        self._next_id = 1
        self.tempo_bpm = 100.0
        self.beats_per_bar = 4
        self.ticks_per_beat = 480
        self.title = ""
        self.path = ""
        # kept from the file opened and written back on save (the app plays at tempo_bpm)
        self.tempo_changes: tuple[tuple[float, float], ...] = ()
        self.programs: dict[int, int] = {}

    # ---------------------------------------------------------------- ids
    def new_ids(self, n: int) -> list[int]:
        first = self._next_id
        self._next_id += n
        return list(range(first, first + n))

    # ---------------------------------------------------------------- edits (undo commands call these)
    def insert(self, items: dict[int, Note]) -> None:
        self.notes.update(items)
        self.changed.emit()

    def remove(self, ids: Iterable[int]) -> None:
        for i in ids:
            self.notes.pop(i, None)
        self.changed.emit()

    def update(self, items: dict[int, Note]) -> None:
        for i, note in items.items():
            if i in self.notes:
                self.notes[i] = note
        self.changed.emit()

    def set_tempo(self, bpm: float) -> None:
        self.tempo_bpm = float(bpm)
        self.meta_changed.emit()

    # ---------------------------------------------------------------- whole piece
    def load(self, score: Score, path: str = "") -> None:
        """Replace everything by ``score`` (not undoable: opening starts a new history)."""
        self.notes = {}
        ids = self.new_ids(len(score.notes))
        self.notes = dict(zip(ids, score.notes))
        self.tempo_bpm = float(score.tempo_bpm)
        self.beats_per_bar = int(score.beats_per_bar)
        self.ticks_per_beat = int(score.ticks_per_beat)
        self.title = score.title
        self.path = path
        self.tempo_changes = tuple(score.tempo_changes)
        self.programs = dict(score.programs)
        self.meta_changed.emit()
        self.changed.emit()

    def sorted_items(self) -> list[tuple[int, Note]]:
        return sorted(self.notes.items(), key=lambda kv: (kv[1].start, kv[1].pitch, kv[1].track))

    def score(self, ids: Iterable[int] | None = None) -> Score:
        """The piece (or the notes ``ids``) as a :class:`Score`."""
        if ids is None:
            notes = [n for _i, n in self.sorted_items()]
        else:
            notes = sorted((self.notes[i] for i in ids if i in self.notes), key=lambda n: (n.start, n.pitch))
        return Score(
            notes=notes,
            tempo_bpm=self.tempo_bpm,
            beats_per_bar=self.beats_per_bar,
            ticks_per_beat=self.ticks_per_beat,
            title=self.title,
            tempo_changes=self.tempo_changes,
            programs=dict(self.programs),
        )

    @property
    def end_beat(self) -> float:
        return max((n.end for n in self.notes.values()), default=0.0)

    @property
    def tracks(self) -> list[int]:
        return sorted({n.track for n in self.notes.values()})
