"""The values of the Compose panel's steering group, without widgets: what every generated note
must obey (key/scale lock, a chord per bar, pitch range, notes per beat, maximum voices), and
the :class:`gdl_studio.music.steering.Constraints` they make.

The group (:mod:`gdl_studio.ui.compose.steering_box`) shows and edits a :class:`SteeringModel`;
continue, fill and jam ask it for :meth:`SteeringModel.constraints` before they start (a
``ValueError`` with one line: the panel shows it and starts nothing). Tested without a GUI
(``tests/compose/test_fill_session.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gdl_studio.music.notes import Note
from gdl_studio.music.steering import (
    NOTE_NAMES,
    SCALES,
    Constraints,
    chords_of,
    constraints_from_strings,
)

#: the tonics and scales the key lock offers
TONICS = NOTE_NAMES
MODES = tuple(SCALES)
#: how many bars before the continuation point "From primer" reads chords from
PRIMER_CHORD_BARS = 4


@dataclass
class SteeringModel:
    """Steering values; an empty text or a zero means "no constraint"."""

    enabled: bool = False
    tonic: str = ""  # "" = no key lock; else one of TONICS
    mode: str = "major"  # one of MODES
    chords: str = ""  # chord symbols, one per bar ("C G Am F"; "-" = no chord for that bar)
    pitch_range: str = ""  # "C3:C6" or "48:84"
    density: float = 0.0  # at most this many note onsets per beat
    voices: int = 0  # at most this many notes sounding at once

    @property
    def key_text(self) -> str:
        return f"{self.tonic} {self.mode}" if self.tonic else ""

    def constraints(self) -> Constraints | None:
        """The constraints to generate with (None: steering off or nothing set). Raises
        ``ValueError`` with one line for a chord symbol, key or range that does not parse, and
        for an impossible set (a range that holds no note of the key or of a chord)."""
        if not self.enabled:
            return None
        c = constraints_from_strings(
            key=self.key_text or None,
            chords=self.chords.strip() or None,
            pitch_range=self.pitch_range.strip() or None,
            density=self.density if self.density > 0 else None,
            voices=self.voices if self.voices > 0 else None,
        )
        return c if c.active else None

    def summary(self) -> str:
        """One line for the progress text: what steers ("" when nothing)."""
        try:
            c = self.constraints()
        except ValueError:
            return ""
        return f"steered: {c.describe()}" if c is not None else ""


def chords_text(notes: Sequence[Note], beats_per_bar: float, first_bar: int, n_bars: int) -> str:
    """The chords estimated from ``notes`` in bars ``first_bar …`` (0-based), as symbols for the
    chords field ("-" for a bar without notes). Raises ``ValueError`` when no bar has notes."""
    n_bars = max(0, int(n_bars))
    found = chords_of(list(notes), beats_per_bar, max(0, int(first_bar)), n_bars) if n_bars else ()
    if not any(c is not None for c in found):
        raise ValueError("no notes in those bars to take chords from")
    return " ".join(str(c) if c is not None else "-" for c in found)


def primer_chord_bars(cut_beat: float, beats_per_bar: float, bars: int = PRIMER_CHORD_BARS) -> tuple[int, int]:
    """``(first_bar, n_bars)`` (0-based): the last ``bars`` bars before a continuation starting at
    ``cut_beat`` (the bar it starts in counts when it starts mid-bar)."""
    bpb = max(float(beats_per_bar), 1e-9)
    end_bar = int(-(-cut_beat // bpb))  # bars that have started before the cut
    first = max(0, end_bar - bars)
    return first, end_bar - first
