"""Notes in musical time: the one representation shared by MIDI I/O, models and the piano roll.

Times and durations are in quarter-note beats (floats), never in seconds or pixels; the tempo
turns beats into seconds only where sound is made.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Note:
    """One note: MIDI ``pitch`` 0–127, ``start`` and ``duration`` in beats, ``velocity`` 1–127."""

    pitch: int
    start: float
    duration: float
    velocity: int = 80
    track: int = 0

    @property
    def end(self) -> float:
        return self.start + self.duration

    def moved(self, d_start: float = 0.0, d_pitch: int = 0) -> Note:
        return replace(self, start=self.start + d_start, pitch=self.pitch + d_pitch)


@dataclass
class Score:
    """A piece: notes sorted by (start, pitch), a tempo and a time signature.

    ``tempo_changes`` are the tempo's later changes as ``(beat, bpm)`` (``tempo_bpm`` holds from
    beat 0 until the first), and ``programs`` the General MIDI program of each track that names
    one: a file read and written again keeps both, though playback in the app uses ``tempo_bpm``.
    """

    notes: list[Note] = field(default_factory=list)
    tempo_bpm: float = 120.0
    beats_per_bar: int = 4
    ticks_per_beat: int = 480
    title: str = ""
    tempo_changes: tuple[tuple[float, float], ...] = ()
    programs: dict[int, int] = field(default_factory=dict)

    def sorted(self) -> Score:
        return replace(self, notes=sorted(self.notes, key=lambda n: (n.start, n.pitch, n.track)))

    @property
    def length_beats(self) -> float:
        return max((n.end for n in self.notes), default=0.0)

    def seconds(self, beats: float) -> float:
        """Convert a time in beats to seconds at this score's tempo."""
        return beats * 60.0 / self.tempo_bpm


@dataclass
class GenerationStep:
    """What a music model yields for each decided note.

    ``note`` is the new note (absolute start in beats, in the same time line as the primer).
    ``attention`` holds the step's attention weights over earlier positions (1-D, most recent
    last; for the Transformer, averaged over heads of the last layer) and ``attention_notes``
    maps each weight position to an index into primer+generated notes where one exists
    (-1 otherwise), so the UI can draw the weights against notes.
    """

    note: Note
    index: int
    attention: np.ndarray | None = None
    attention_notes: np.ndarray | None = None
    seconds: float = 0.0  # wall time spent deciding this note
    constraint_nats: float = 0.0  # -log of the probability the steering masks left for this note (0: free)


def pitch_class_histogram(notes: Iterable[Note]) -> np.ndarray:
    """Duration-weighted pitch-class histogram (12 values summing to 1, or zeros)."""
    hist = np.zeros(12, dtype=np.float64)
    for n in notes:
        hist[n.pitch % 12] += max(n.duration, 1e-3)
    total = hist.sum()
    return hist / total if total > 0 else hist
