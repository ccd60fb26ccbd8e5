"""Steering by constrained sampling: key/scale, a chord per bar, pitch range, density, voices.

A :class:`Constraints` object (headless; the Compose panel and the CLI build one) says what
generated notes must satisfy; a :class:`ConstraintTracker` follows one generation and gives the
samplers, before each decision, the mask of what is still allowed:

- **key** (``parse_key("A minor")``): pitch classes of a scale on a tonic;
- **chords** (``parse_chords("C G Am F")``): one chord per bar from the first generated bar on
  (the progression repeats if the music runs longer); a note must be a chord tone of its bar's
  chord. Where a bar has a chord it replaces the key for that bar;
- **pitch range** (``parse_range("C3:C6")`` or ``"48:84"``), inclusive;
- **density**: at most ``density`` note onsets per beat (``0.5``: at most one every two
  beats), counted over the generated notes in each beat of the bar grid;
- **voices**: at most ``voices`` notes sounding at any moment, counting the notes around the
  generated ones (the primer, the notes kept on either side of a filled gap) and the generated
  notes themselves.

Exactness: the model's logits are masked at every step (``-inf`` outside the allowed set) and
renormalised, so every generated note satisfies every constraint. Masking per attribute:
the onset (time shift) may only land where at least one note is allowed; the pitch must be
allowed at that onset; the duration may only be as long as the voice limit allows.

No dead ends (the fallback): a step that cannot place a note can always place *no* note —
the LSTM a REST for that voice, the Transformer a GAP event (time moves on by MAX_SHIFT ticks
with no note) or, when filling a gap, the END at the gap's last bar line. So when no pitch is
allowed at any reachable onset (all voices busy, the beat full), the sampler is forced to
advance time, and it always can. Constraints that can *never* be met (a range that holds no
note of the key or of a chord, a density or voice count below one) are refused up front with
a one-line ``ValueError``.

``nats_cost`` records, per generated note, ``-log`` of the probability mass the masks left
(at temperature 1): 0 when the model already obeyed the constraints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from gdl_studio.music import tokens as T
from gdl_studio.music.notes import Note

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),  # natural minor (aeolian)
    "harmonic-minor": (0, 2, 3, 5, 7, 8, 11),
    "melodic-minor": (0, 2, 3, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "locrian": (0, 1, 3, 5, 6, 8, 10),
    "pentatonic": (0, 2, 4, 7, 9),
    "minor-pentatonic": (0, 3, 5, 7, 10),
    "blues": (0, 3, 5, 6, 7, 10),
    "whole-tone": (0, 2, 4, 6, 8, 10),
    "chromatic": tuple(range(12)),
}
_SCALE_ALIASES = {
    "maj": "major",
    "ionian": "major",
    "min": "minor",
    "m": "minor",
    "aeolian": "minor",
    "natural-minor": "minor",
    "harmonic": "harmonic-minor",
    "melodic": "melodic-minor",
}

# chord qualities: intervals above the root
CHORD_QUALITIES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7),
    "maj": (0, 4, 7),
    "M": (0, 4, 7),
    "m": (0, 3, 7),
    "min": (0, 3, 7),
    "-": (0, 3, 7),
    "dim": (0, 3, 6),
    "o": (0, 3, 6),
    "°": (0, 3, 6),
    "aug": (0, 4, 8),
    "+": (0, 4, 8),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "sus": (0, 5, 7),
    "5": (0, 7),
    "6": (0, 4, 7, 9),
    "m6": (0, 3, 7, 9),
    "7": (0, 4, 7, 10),
    "dom7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "M7": (0, 4, 7, 11),
    "Δ": (0, 4, 7, 11),
    "Δ7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10),
    "min7": (0, 3, 7, 10),
    "-7": (0, 3, 7, 10),
    "mM7": (0, 3, 7, 11),
    "mmaj7": (0, 3, 7, 11),
    "m7b5": (0, 3, 6, 10),
    "ø": (0, 3, 6, 10),
    "ø7": (0, 3, 6, 10),
    "dim7": (0, 3, 6, 9),
    "o7": (0, 3, 6, 9),
    "°7": (0, 3, 6, 9),
    "aug7": (0, 4, 8, 10),
    "+7": (0, 4, 8, 10),
    "7#5": (0, 4, 8, 10),
    "7sus4": (0, 5, 7, 10),
    "9": (0, 4, 7, 10, 14),
    "maj9": (0, 4, 7, 11, 14),
    "m9": (0, 3, 7, 10, 14),
    "add9": (0, 4, 7, 14),
    "madd9": (0, 3, 7, 14),
    "6/9": (0, 4, 7, 9, 14),
    "69": (0, 4, 7, 9, 14),
    "7b9": (0, 4, 7, 10, 13),
    "7#9": (0, 4, 7, 10, 15),
    "11": (0, 4, 7, 10, 14, 17),
    "m11": (0, 3, 7, 10, 14, 17),
    "13": (0, 4, 7, 10, 14, 21),
}


def _pitch_class(name: str) -> int | None:
    """``"C"``, ``"F#"``, ``"Bb"``, ``"Ebb"`` → 0–11 (``None`` if not a note name)."""
    m = re.fullmatch(r"([A-Ga-g])([#b♯♭]*)", name.strip())
    if not m:
        return None
    pc = _LETTER[m.group(1).upper()]
    for ch in m.group(2):
        pc += 1 if ch in "#♯" else -1
    return pc % 12


@dataclass(frozen=True)
class Scale:
    """A key: ``tonic`` pitch class and ``mode`` (a :data:`SCALES` name)."""

    tonic: int
    mode: str

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.tonic + i) % 12 for i in SCALES[self.mode])

    def __str__(self) -> str:
        return f"{NOTE_NAMES[self.tonic]} {self.mode}"


def parse_key(text: str) -> Scale:
    """``"C"``, ``"Am"``, ``"F# minor"``, ``"Bb major"``, ``"D dorian"``, ``"e harmonic-minor"``.
    A bare lower-case tonic is minor (``"a"``); ``"m"`` after the tonic is minor. Raises
    ``ValueError`` with a one-line message."""
    s = text.strip()
    m = re.fullmatch(r"([A-Ga-g][#b♯♭]?)\s*(m(?![a-z])|[-A-Za-z ]*)?", s)
    if not m:
        raise ValueError(f"cannot read the key '{text}' (try C, Am, 'F# minor', 'D dorian')")
    tonic = _pitch_class(m.group(1))
    rest = (m.group(2) or "").strip().lower().replace(" ", "-")
    if rest == "":
        mode = "minor" if m.group(1)[0].islower() else "major"
    else:
        mode = _SCALE_ALIASES.get(rest, rest)
    if tonic is None or mode not in SCALES:
        raise ValueError(f"cannot read the key '{text}' (scales: {', '.join(SCALES)})")
    return Scale(tonic, mode)


@dataclass(frozen=True)
class Chord:
    """A chord symbol: ``root`` pitch class, ``intervals`` above it, optional ``bass``."""

    symbol: str
    root: int
    intervals: tuple[int, ...]
    bass: int | None = None

    @property
    def pitch_classes(self) -> frozenset[int]:
        pcs = {(self.root + i) % 12 for i in self.intervals}
        if self.bass is not None:
            pcs.add(self.bass)
        return frozenset(pcs)

    def __str__(self) -> str:
        return self.symbol


def parse_chord(symbol: str) -> Chord:
    """One chord symbol: root (``C``, ``F#``, ``Bb``), quality (``m``, ``7``, ``maj7``, ``m7b5``,
    ``dim``, ``sus4``, ``add9`` …, see :data:`CHORD_QUALITIES`) and an optional slash bass
    (``C/E``). Raises ``ValueError`` with a one-line message."""
    s = symbol.strip()
    m = re.fullmatch(r"([A-G][#b♯♭]?)([^/]*)(?:/([A-G][#b♯♭]?))?", s)
    if not m:
        raise ValueError(f"cannot read the chord symbol '{symbol}' (try C, Am, G7, Fmaj7, Bdim, C/E)")
    root = _pitch_class(m.group(1))
    quality = m.group(2).strip().replace("(", "").replace(")", "")
    if quality not in CHORD_QUALITIES:
        raise ValueError(f"cannot read the chord symbol '{symbol}' (unknown quality '{quality}')")
    bass = _pitch_class(m.group(3)) if m.group(3) else None
    assert root is not None  # the pattern matched a note name
    return Chord(s, root, CHORD_QUALITIES[quality], bass)


def parse_chords(text: str | Sequence[str]) -> tuple[Chord | None, ...]:
    """Chords per bar: ``"C G Am F"`` (spaces, commas or bars ``|``); ``"-"`` or ``"N.C."``
    means no chord for that bar (the key, if any, applies)."""
    items = re.split(r"[\s,|]+", text.strip()) if isinstance(text, str) else list(text)
    items = [i for i in items if i]
    if not items:
        raise ValueError("no chord symbols given")
    return tuple(None if i in ("-", "N.C.", "NC", "n.c.") else parse_chord(i) for i in items)


def parse_pitch(text: str) -> int:
    """``"60"`` or a note name with octave (``"C4"`` = 60, ``"F#3"``, ``"Bb5"``)."""
    s = text.strip()
    if re.fullmatch(r"-?\d+", s):
        return int(s)
    m = re.fullmatch(r"([A-Ga-g][#b♯♭]?)(-?\d+)", s)
    pc = _pitch_class(m.group(1)) if m else None
    if m is None or pc is None:
        raise ValueError(f"cannot read the pitch '{text}' (a MIDI number or a name like C4)")
    name = m.group(1)
    letter_pc = _LETTER[name[0].upper()]
    octave_shift = -1 if letter_pc + sum(1 if c in "#♯" else -1 for c in name[1:]) >= 12 else 0
    octave_shift = 1 if letter_pc + sum(1 if c in "#♯" else -1 for c in name[1:]) < 0 else octave_shift
    return (int(m.group(2)) + 1 - octave_shift) * 12 + pc


def parse_range(text: str) -> tuple[int, int]:
    """``"48:84"``, ``"C3:C6"`` (inclusive; ``-`` also separates)."""
    parts = re.split(r"\s*(?::|\.\.|–)\s*", text.strip())
    if len(parts) != 2:
        raise ValueError(f"cannot read the pitch range '{text}' (try 48:84 or C3:C6)")
    lo, hi = parse_pitch(parts[0]), parse_pitch(parts[1])
    if not (0 <= lo <= hi <= 127):
        raise ValueError(f"the pitch range {text} must go up within 0..127")
    return lo, hi


@dataclass(frozen=True)
class Constraints:
    """What every generated note must satisfy (all optional). ``chords`` apply one per bar from
    the first bar the generation writes into (repeating); ``None`` entries are bars without a
    chord. Build with the ``parse_*`` helpers or :func:`constraints_from_strings`; call
    :meth:`validated` (raises ``ValueError``) before use."""

    key: Scale | None = None
    chords: tuple[Chord | None, ...] | None = None
    pitch_range: tuple[int, int] | None = None
    density: float | None = None
    voices: int | None = None

    @property
    def active(self) -> bool:
        return any(x is not None for x in (self.key, self.chords, self.pitch_range, self.density, self.voices))

    def validated(self) -> Constraints:
        lo, hi = self.pitch_range or (0, 127)
        if not (0 <= lo <= hi <= 127):
            raise ValueError(f"the pitch range {lo}:{hi} must go up within 0..127")
        in_range = {p % 12 for p in range(lo, hi + 1)}
        if self.key is not None and not (self.key.pitch_classes & in_range):
            raise ValueError(f"impossible constraints: the range {lo}:{hi} holds no note of {self.key}")
        for c in self.chords or ():
            if c is not None and not (c.pitch_classes & in_range):
                raise ValueError(f"impossible constraints: the range {lo}:{hi} holds no note of the chord {c}")
        if self.chords is not None and not self.chords:
            raise ValueError("no chord symbols given")
        if self.density is not None and not (self.density > 0 and np.isfinite(self.density)):
            raise ValueError(f"the density must be a positive number of notes per beat, not {self.density}")
        if self.voices is not None and self.voices < 1:
            raise ValueError(f"the number of voices must be at least 1, not {self.voices}")
        return self

    def describe(self) -> str:
        parts = []
        if self.key is not None:
            parts.append(f"key {self.key}")
        if self.chords:
            parts.append("chords " + " ".join(str(c) if c else "-" for c in self.chords))
        if self.pitch_range is not None:
            parts.append(f"range {self.pitch_range[0]}:{self.pitch_range[1]}")
        if self.density is not None:
            parts.append(f"≤ {self.density:g} notes/beat")
        if self.voices is not None:
            parts.append(f"≤ {self.voices} voices")
        return ", ".join(parts) or "none"

    def pitch_class_set(self, bar_index: int) -> frozenset[int]:
        """Allowed pitch classes in the ``bar_index``-th bar of the generation (0 = first)."""
        if self.chords:
            c = self.chords[bar_index % len(self.chords)]
            if c is not None:
                return c.pitch_classes
        if self.key is not None:
            return self.key.pitch_classes
        return frozenset(range(12))


def constraints_from_strings(
    key: str | None = None,
    chords: str | Sequence[str] | None = None,
    pitch_range: str | None = None,
    density: float | str | None = None,
    voices: int | str | None = None,
) -> Constraints:
    """The CLI's flags → validated :class:`Constraints` (``ValueError`` with one line)."""
    dens = None
    if density is not None:
        try:
            dens = float(density)
        except ValueError:
            raise ValueError(f"the density must be a number of notes per beat, not '{density}'") from None
    nv = None
    if voices is not None:
        try:
            nv = int(voices)
        except ValueError:
            raise ValueError(f"the number of voices must be a whole number, not '{voices}'") from None
    return Constraints(
        key=parse_key(key) if key else None,
        chords=parse_chords(chords) if chords else None,
        pitch_range=parse_range(pitch_range) if pitch_range else None,
        density=dens,
        voices=nv,
    ).validated()


# ---------------------------------------------------------------------------------------------
# chords of existing music ("taken from the primer")

_TEMPLATES = [(q, CHORD_QUALITIES[q]) for q in ("", "m", "7", "m7", "dim", "maj7")]


def estimate_chord(notes: Iterable[Note]) -> Chord | None:
    """The triad or seventh chord that best explains some notes (duration-weighted pitch
    classes: chord tones count, other notes count against), or None without notes."""
    hist = np.zeros(12)
    for n in notes:
        hist[n.pitch % 12] += max(n.duration, 1e-3)
    if hist.sum() <= 0:
        return None
    best, best_score = (0, ""), -np.inf  # every score beats -inf: best is always set
    for root in range(12):
        for q, iv in _TEMPLATES:
            pcs = [(root + i) % 12 for i in iv]
            inside = hist[pcs].sum()
            score = inside - (hist.sum() - inside) - 0.15 * hist.sum() * (len(iv) - 3) + 0.01 * hist[root]
            if score > best_score:
                best, best_score = (root, q), score
    root, q = best
    return Chord(f"{NOTE_NAMES[root]}{q}", root, CHORD_QUALITIES[q])


def estimate_key(notes: Iterable[Note]) -> Scale | None:
    """The major or harmonic-minor scale that covers most of the notes (duration-weighted);
    ties go to major. None without notes."""
    hist = np.zeros(12)
    for n in notes:
        hist[n.pitch % 12] += max(n.duration, 1e-3)
    if hist.sum() <= 0:
        return None
    best, best_cov = None, -1.0
    for mode in ("major", "harmonic-minor"):
        for tonic in range(12):
            cov = hist[[(tonic + i) % 12 for i in SCALES[mode]]].sum() + 0.01 * hist[tonic]
            if cov > best_cov + 1e-9:
                best, best_cov = Scale(tonic, mode), cov
    return best


def chords_of(notes: Sequence[Note], beats_per_bar: float, first_bar: int, n_bars: int) -> tuple[Chord | None, ...]:
    """One estimated chord per bar for bars ``first_bar … first_bar + n_bars - 1`` (0-based;
    a note counts in the bars it sounds in, clipped to them)."""
    out = []
    for b in range(first_bar, first_bar + n_bars):
        lo, hi = b * beats_per_bar, (b + 1) * beats_per_bar
        clipped = [
            Note(n.pitch, max(n.start, lo), min(n.end, hi) - max(n.start, lo))
            for n in notes
            if n.start < hi and n.end > lo
        ]
        out.append(estimate_chord(clipped))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# following one generation


class ConstraintTracker:
    """The state of one constrained generation on the model grid (ticks).

    ``context``: ``(start, end)`` ticks of the notes around the generated ones (they count for
    the voice limit: the primer, the notes kept on both sides of a filled gap);
    ``first_bar_tick``: the bar line at which chord 0 applies; ``bar_ticks``: ticks per bar.
    Generation moves forward in time: queries are for ticks at or after the last generated
    onset, and generated notes are recorded with :meth:`add`.
    """

    def __init__(
        self, constraints: Constraints, bar_ticks: int, first_bar_tick: int, context: Sequence[tuple[int, int]] = ()
    ) -> None:
        self.constraints = constraints
        self.bar_ticks = max(int(bar_ticks), 1)
        self.first_bar_tick = int(first_bar_tick)
        ctx = sorted((int(s), int(e)) for s, e in context)
        self._cs = np.array([s for s, _ in ctx], np.int64)
        self._ce = np.array([e for _, e in ctx], np.int64)
        self.generated: list[tuple[int, int, int]] = []  # (start, end, pitch), all of them
        self._live_s: list[int] = []  # generated notes that may still sound
        self._live_e: list[int] = []
        self.nats: list[float] = []  # cost per generated note
        self._pending_cost = 0.0
        c = constraints
        lo, hi = c.pitch_range or (0, T.N_PITCH - 1)
        self._range = np.zeros(T.N_PITCH, bool)
        self._range[lo : hi + 1] = True
        self._pc_cache: dict[int, np.ndarray] = {}
        self._onsets: dict[int, int] = {}  # density window index → generated onsets in it
        if c.density is not None:
            self._window = T.TICKS_PER_BEAT * (1 if c.density >= 1 else max(1, round(1 / c.density)))
            self._max_in_window = int(np.floor(c.density + 1e-9)) if c.density >= 1 else 1
        else:
            self._window, self._max_in_window = T.TICKS_PER_BEAT, 1 << 30

    # -- queries --------------------------------------------------------------------------
    def chord_index(self, tick: int) -> int:
        """Index into the chord list (or 0) for a note starting at ``tick``."""
        if not self.constraints.chords:
            return 0
        bar = (int(tick) - self.first_bar_tick) // self.bar_ticks
        return bar % len(self.constraints.chords)

    def pitch_mask(self, tick: int) -> np.ndarray:
        """Pitches (128 bools) the key/chord/range allow for a note starting at ``tick``."""
        k = self.chord_index(tick)
        m = self._pc_cache.get(k)
        if m is None:
            pcs = self.constraints.pitch_class_set(k)
            m = self._range & np.isin(np.arange(T.N_PITCH) % 12, sorted(pcs))
            self._pc_cache[k] = m
        return m

    def _spans(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.concatenate([self._cs, np.asarray(self._live_s, np.int64)]),
            np.concatenate([self._ce, np.asarray(self._live_e, np.int64)]),
        )

    def sounding(self, ticks) -> np.ndarray:
        """Notes (context and generated) sounding at each of ``ticks``."""
        t = np.atleast_1d(np.asarray(ticks, np.int64))
        s, e = self._spans()
        if s.size == 0:
            return np.zeros(t.size, np.int64)
        return ((s[:, None] <= t[None, :]) & (e[:, None] > t[None, :])).sum(axis=0)

    def onsets_allowed(self, ticks) -> np.ndarray:
        """For each of ``ticks``: may a new note start there (voices, density and at least one
        allowed pitch)?"""
        t = np.atleast_1d(np.asarray(ticks, np.int64))
        ok = np.ones(t.size, bool)
        c = self.constraints
        if c.voices is not None:
            ok &= self.sounding(t) < c.voices
        if c.density is not None:
            ok &= np.array([self._onsets.get(int(x) // self._window, 0) < self._max_in_window for x in t])
        if c.key is not None or c.chords or c.pitch_range is not None:
            ok &= np.array([bool(self.pitch_mask(int(x)).any()) for x in t])
        return ok

    def note_allowed_at(self, tick: int) -> bool:
        return bool(self.onsets_allowed([tick])[0])

    def max_duration_ticks(self, tick: int) -> int:
        """The longest a note starting at ``tick`` may last under the voice limit (≥ 1)."""
        v = self.constraints.voices
        if v is None:
            return T.MAX_DUR_TICKS
        t0 = int(tick)
        s, _ = self._spans()
        later = np.unique(s[(s > t0) & (s < t0 + T.MAX_DUR_TICKS)])
        if later.size == 0:
            return T.MAX_DUR_TICKS
        counts = self.sounding(later)  # the count only rises where a note starts
        full = np.nonzero(counts >= v)[0]
        return max(int(later[full[0]]) - t0, 1) if full.size else T.MAX_DUR_TICKS

    def duration_mask(self, tick: int) -> np.ndarray:
        """Duration classes (bools) a note starting at ``tick`` may take (class 0 always)."""
        m = T.DURATION_TICKS <= self.max_duration_ticks(tick)
        m[0] = True
        return m

    # -- bookkeeping ------------------------------------------------------------------------
    def add_cost(self, nats: float) -> None:
        self._pending_cost += float(nats)

    def add(self, start: int, dur_ticks: int, pitch: int) -> None:
        """Record a generated note (and close its cost)."""
        start, end = int(start), int(start) + int(dur_ticks)
        self.generated.append((start, end, int(pitch)))
        keep = [i for i, e in enumerate(self._live_e) if e > start]
        self._live_s = [self._live_s[i] for i in keep] + [start]
        self._live_e = [self._live_e[i] for i in keep] + [end]
        if self._cs.size and self._ce.min() <= start:  # context notes over before now never count again
            live = self._ce > start
            self._cs, self._ce = self._cs[live], self._ce[live]
        w = start // self._window
        self._onsets[w] = self._onsets.get(w, 0) + 1
        self.nats.append(self._pending_cost)
        self._pending_cost = 0.0

    @property
    def mean_nats(self) -> float:
        return float(np.mean(self.nats)) if self.nats else 0.0


def check_notes(
    constraints: Constraints,
    notes: Sequence[tuple[int, int, int]],
    bar_ticks: int,
    first_bar_tick: int,
    context: Sequence[tuple[int, int]] = (),
) -> list[str]:
    """Check generated notes ``(start, end, pitch)`` (ticks) against ``constraints`` from
    scratch, independently of the sampler: one entry per note, ``""`` when it satisfies every
    constraint, else what it breaks. A note breaks the voice limit if more than ``voices``
    notes (context and generated) sound at some moment while it sounds."""
    c = constraints
    probe = ConstraintTracker(c, bar_ticks, first_bar_tick)
    out = [""] * len(notes)
    counts: dict[int, int] = {}
    for i, (s, _e, p) in enumerate(notes):
        if not probe.pitch_mask(s)[p]:
            out[i] += f"pitch {p} at tick {s} outside the key/chord/range; "
    order = sorted(range(len(notes)), key=lambda j: notes[j][0])
    for i in order:
        w = int(notes[i][0]) // probe._window
        counts[w] = counts.get(w, 0) + 1
        if c.density is not None and counts[w] > probe._max_in_window:
            out[i] += f"more than {c.density:g} notes in a beat; "
    if c.voices is not None and notes:
        spans = [(int(a), int(b)) for a, b in context] + [(int(a), int(b)) for a, b, _ in notes]
        starts = np.array([a for a, _ in spans])
        ends = np.array([b for _, b in spans])
        for i, (s, e, _) in enumerate(notes):
            probes = np.unique(np.concatenate([[s], starts[(starts > s) & (starts < e)]]))
            n = ((starts[:, None] <= probes[None, :]) & (ends[:, None] > probes[None, :])).sum(axis=0)
            if (n > c.voices).any():
                out[i] += f"{int(n.max())} notes sound at once (limit {c.voices}); "
    return [x.rstrip("; ") for x in out]


def violations(
    constraints: Constraints,
    notes: Sequence[tuple[int, int, int]],
    bar_ticks: int,
    first_bar_tick: int,
    context: Sequence[tuple[int, int]] = (),
) -> list[str]:
    """The broken constraints among generated notes (see :func:`check_notes`): empty if none."""
    return [
        f"note {i}: {m}" for i, m in enumerate(check_notes(constraints, notes, bar_ticks, first_bar_tick, context)) if m
    ]


def masked_mass_nats(logits, mask) -> float:
    """``-log`` of the probability (softmax of ``logits`` at temperature 1) left by ``mask``."""
    import torch

    lp = torch.log_softmax(logits.detach().float().cpu(), dim=-1)
    m = torch.as_tensor(mask, dtype=torch.bool)
    if m.all():
        return 0.0
    kept = torch.logsumexp(lp.masked_fill(~m, float("-inf")), dim=-1)
    return float(-kept)
