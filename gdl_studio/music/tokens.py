"""Tokenisations of notes for the two music models (numpy only, no music21/mido/torch).

Both tokenisations start from the same *grid notes*: onsets quantised to
:data:`TICKS_PER_BEAT` = 12 ticks per quarter beat (so sixteenths, 3 ticks, and eighth/quarter
triplets, 4 and 8 ticks, are exact) and durations snapped *down* to one of the
:data:`DURATION_TICKS` classes (every tick up to 2 beats, coarser up to 16 beats; snapping down
never makes a note overlap its successor in the same voice). Rests are kept in both.

**LSTM steps** (:func:`encode_steps`): the notes are dealt into at most :data:`MAX_VOICES`
monophonic voices (parts where the source has them, see :func:`assign_voices`), silences in a
voice become REST steps, and the steps of all voices are interleaved in the order
``(onset, voice)``. Each step is a *note token* (pitch 0–127 or :data:`REST`) plus a *duration
token* (a class index). Because each voice is contiguous, the onset of a step is implied: it
is the current end of the voice with the earliest end (ties → lowest voice), so no time
tokens are needed and the encoding is lossless (:func:`decode_steps`). A chord is the run of
steps that share an onset (voice 0 is the highest voice, so the top note comes first).

**Transformer note events** (:func:`encode_note_events`): one event per note, all voices in
one stream ordered by ``(onset, -pitch)``, each a compound of attributes::

    shift     ticks from the previous event's onset, 0..48 (0 = same onset: a chord)
    pitch     0..127, or GAP (no note: the time just advances by 48 ticks; used for silences
              longer than 48 ticks, which are chains of GAP events)
    duration  a duration class (none for GAP)
    velocity  a bin of 8 (only where the source has velocities and the model uses them)

The Transformer embeds an event as the sum of its attribute embeddings and predicts the next
event attribute by attribute: ``p(shift) · p(pitch | shift) · p(duration | shift, pitch)``,
the exact chain rule, so one forward pass decides one note. (A flat stream — a SHIFT token,
then a NOTE token with a 5,248-way softmax — costs ~1.4 passes and 5 MB of head weights per
note on a CPU; it is kept as :func:`encode_events` for the n-gram baseline, which sees the same
information written out flat.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gdl_studio.music.notes import Note

# (pitch, start, dur, vel) arrays of some notes, as encode_segment takes them (vel None: none set)
NoteArrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]

TOKENISER_VERSION = 3  # 3: corpus caches carry styles and the held-out split
TICKS_PER_BEAT = 12
DURATION_TICKS = np.array(
    list(range(1, 25)) + [27, 30, 33, 36, 42, 48, 54, 60, 66, 72, 84, 96, 108, 120, 144, 168, 192],
    dtype=np.int32,
)
N_DUR = len(DURATION_TICKS)
MAX_DUR_TICKS = int(DURATION_TICKS[-1])
MAX_VOICES = 8
METRIC_SIZE = 192  # positions in a bar, in ticks (bars up to 16 beats)
DEFAULT_VELOCITY = 80
N_VEL_BINS = 8

# LSTM vocabularies
N_PITCH = 128
REST = 128
STEP_BOS = 129  # input only
N_STEP_NOTE_OUT = 129  # pitches + REST
N_STEP_NOTE_IN = 130
DUR_BOS = N_DUR  # input only
N_STEP_DUR_IN = N_DUR + 1

# Transformer note events
N_SHIFT = 49  # shift 0..48 ticks
GAP = 128  # event pitch: no note, time advances by MAX_SHIFT
EV_BOS = 129  # input only
N_EV_PITCH_OUT = 129  # pitches + GAP
N_EV_PITCH_IN = 130
DUR_NONE = N_DUR  # input: no duration (GAP, BOS)
N_EV_DUR_IN = N_DUR + 1
VEL_NONE = N_VEL_BINS  # input: unknown velocity
N_EV_VEL_IN = N_VEL_BINS + 1

# Flat event vocabulary (n-gram baseline)
PAD = 0
BOS = 1
MAX_SHIFT = 48
SHIFT0 = 2  # SHIFT_k = SHIFT0 + k - 1
VEL0 = SHIFT0 + MAX_SHIFT
NOTE0 = VEL0 + N_VEL_BINS
EVENT_VOCAB = NOTE0 + N_PITCH * N_DUR


def duration_class(ticks: np.ndarray | int) -> np.ndarray:
    """Index of the largest duration class not longer than ``ticks`` (at least class 0)."""
    ticks = np.maximum(np.asarray(ticks), 1)
    return np.clip(np.searchsorted(DURATION_TICKS, ticks, side="right") - 1, 0, N_DUR - 1)


def velocity_bin(vel: np.ndarray | int) -> np.ndarray:
    """Velocity 1–127 → bin 0–7."""
    return np.clip((np.asarray(vel) - 1) // 16, 0, N_VEL_BINS - 1)


def bin_velocity(b: int) -> int:
    """Bin 0–7 → a representative velocity."""
    return int(b) * 16 + 8


def metric_index(ticks: np.ndarray | int, bar_ticks: int) -> np.ndarray:
    """Position of ``ticks`` inside its bar, as an embedding index < :data:`METRIC_SIZE`."""
    bar = int(min(max(int(bar_ticks), 1), METRIC_SIZE))
    return np.asarray(ticks) % bar


def bar_ticks_for(beats_per_bar: float) -> int:
    """Ticks in a bar of ``beats_per_bar`` quarter beats."""
    return int(min(max(round(beats_per_bar * TICKS_PER_BEAT), 1), METRIC_SIZE))


@dataclass
class GridNotes:
    """Notes on the tick grid, as parallel arrays sorted by ``(start, -pitch)``.

    ``velocity`` 0 means "unknown" (the source has none). ``source`` is the index of each note
    in the list it came from (so the UI can map tokens back to the notes it shows).
    """

    pitch: np.ndarray
    start: np.ndarray  # ticks
    dur: np.ndarray  # duration class index
    velocity: np.ndarray
    track: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return int(self.pitch.size)

    @property
    def dur_ticks(self) -> np.ndarray:
        return DURATION_TICKS[self.dur]

    @property
    def end(self) -> np.ndarray:
        return self.start + self.dur_ticks

    def take(self, idx: np.ndarray) -> GridNotes:
        return GridNotes(*(a[idx] for a in (self.pitch, self.start, self.dur, self.velocity, self.track, self.source)))

    @staticmethod
    def from_arrays(pitch, start, dur, velocity=None, track=None, source=None) -> GridNotes:
        """Build sorted grid notes from arrays (``dur`` given as class indices)."""
        pitch = np.asarray(pitch, dtype=np.int32)
        n = pitch.size
        start = np.asarray(start, dtype=np.int64)
        dur = np.asarray(dur, dtype=np.int32)
        velocity = np.zeros(n, np.int32) if velocity is None else np.asarray(velocity, dtype=np.int32)
        track = np.zeros(n, np.int32) if track is None else np.asarray(track, dtype=np.int32)
        source = np.arange(n) if source is None else np.asarray(source, dtype=np.int64)
        order = np.lexsort((source, -pitch, start))
        return GridNotes(pitch[order], start[order], dur[order], velocity[order], track[order], source[order])

    def to_notes(self, origin_ticks: int = 0) -> list[Note]:
        """Back to :class:`Note` objects (unknown velocity → :data:`DEFAULT_VELOCITY`)."""
        ticks = self.dur_ticks
        return [
            Note(
                pitch=int(p),
                start=(int(s) + origin_ticks) / TICKS_PER_BEAT,
                duration=int(d) / TICKS_PER_BEAT,
                velocity=int(v) if v > 0 else DEFAULT_VELOCITY,
                track=int(t),
            )
            for p, s, d, v, t in zip(self.pitch, self.start, ticks, self.velocity, self.track)
        ]


def quantise(notes: Sequence[Note], origin_ticks: int = 0, keep_velocity: bool = True) -> GridNotes:
    """Snap notes to the grid: onset rounded to a tick (minus ``origin_ticks``), duration snapped
    down to a class (very short notes become one tick). Notes before the origin are dropped."""
    n = len(notes)
    pitch = np.fromiter((x.pitch for x in notes), dtype=np.int32, count=n)
    start = np.rint(np.fromiter((x.start for x in notes), dtype=np.float64, count=n) * TICKS_PER_BEAT).astype(np.int64)
    dur_t = np.rint(np.fromiter((x.duration for x in notes), dtype=np.float64, count=n) * TICKS_PER_BEAT).astype(
        np.int64
    )
    vel = np.fromiter((x.velocity for x in notes), dtype=np.int32, count=n) if keep_velocity else np.zeros(n, np.int32)
    track = np.fromiter((x.track for x in notes), dtype=np.int32, count=n)
    start = start - origin_ticks
    keep = (start >= 0) & (pitch >= 0) & (pitch < N_PITCH)
    idx = np.nonzero(keep)[0]
    return GridNotes.from_arrays(
        pitch[idx], start[idx], duration_class(dur_t[idx]), np.clip(vel[idx], 0, 127), track[idx], idx
    )


# ---------------------------------------------------------------------------------------------
# Voices and LSTM steps


def assign_voices(g: GridNotes, max_voices: int = MAX_VOICES) -> tuple[np.ndarray, int]:
    """Deal grid notes into monophonic voices; returns ``(voice per note, n_voices)``.

    A note goes, in order of preference, to a free voice that last carried its track (the
    closest in pitch), to a new voice if its track has none yet, to the free voice closest in
    pitch, or to a new voice. Voices are then numbered from the highest (mean pitch) down.
    Notes that find no voice (more than ``max_voices`` sounding at once) get voice -1.
    """
    n = len(g)
    voice = np.full(n, -1, dtype=np.int32)
    ends = g.end
    lane_end: list[int] = []
    lane_pitch: list[int] = []
    lane_track: list[int] = []
    tracks_seen: set[int] = set()
    for i in range(n):
        s, p, t = int(g.start[i]), int(g.pitch[i]), int(g.track[i])
        free = [v for v in range(len(lane_end)) if lane_end[v] <= s]
        same = [v for v in free if lane_track[v] == t]
        if same:
            v = min(same, key=lambda v: abs(lane_pitch[v] - p))
        elif t not in tracks_seen and len(lane_end) < max_voices:
            v = -1
        elif free:
            v = min(free, key=lambda v: abs(lane_pitch[v] - p))
        elif len(lane_end) < max_voices:
            v = -1
        else:
            continue
        if v == -1:
            v = len(lane_end)
            lane_end.append(0)
            lane_pitch.append(p)
            lane_track.append(t)
        lane_end[v] = int(ends[i])
        lane_pitch[v] = p
        lane_track[v] = t
        tracks_seen.add(t)
        voice[i] = v
    n_voices = len(lane_end)
    if n_voices == 0:
        return voice, 0
    means = np.array([g.pitch[voice == v].mean() for v in range(n_voices)])
    order = np.argsort(-means, kind="stable")  # order[k] = old lane that becomes voice k
    remap = np.empty(n_voices, dtype=np.int32)
    remap[order] = np.arange(n_voices, dtype=np.int32)
    voice = np.where(voice >= 0, remap[np.maximum(voice, 0)], -1).astype(np.int32)
    return voice, n_voices


def split_rest(ticks: int) -> list[int]:
    """A rest of ``ticks`` as duration classes (largest first; exact)."""
    out = []
    while ticks > 0:
        c = int(duration_class(ticks))
        out.append(c)
        ticks -= int(DURATION_TICKS[c])
    return out


@dataclass
class Steps:
    """An LSTM step sequence: ``note`` (pitch or REST), ``dur`` (class), ``voice`` and
    ``onset`` (ticks) per step, plus ``source`` (note index, -1 for rests) and ``n_voices``."""

    note: np.ndarray
    dur: np.ndarray
    voice: np.ndarray
    onset: np.ndarray
    source: np.ndarray
    n_voices: int

    def __len__(self) -> int:
        return int(self.note.size)


def encode_steps(g: GridNotes, voice: np.ndarray, n_voices: int, end_tick: int | None = None) -> Steps:
    """Interleave voices into LSTM steps (see the module docstring). Notes with voice -1 are
    left out; every voice is padded with rests up to ``end_tick`` (default: the last end)."""
    keep = voice >= 0
    ends = g.end
    if end_tick is None:
        end_tick = int(ends[keep].max()) if keep.any() else 0
    notes, durs, voices, onsets, sources = [], [], [], [], []
    for v in range(n_voices):
        idx = np.nonzero(voice == v)[0]
        t = 0
        for i in idx:
            s = int(g.start[i])
            if s > t:
                for c in split_rest(s - t):
                    notes.append(REST)
                    durs.append(c)
                    voices.append(v)
                    onsets.append(t)
                    sources.append(-1)
                    t += int(DURATION_TICKS[c])
            notes.append(int(g.pitch[i]))
            durs.append(int(g.dur[i]))
            voices.append(v)
            onsets.append(s)
            sources.append(int(g.source[i]))
            t = int(ends[i])
        if end_tick > t:
            for c in split_rest(end_tick - t):
                notes.append(REST)
                durs.append(c)
                voices.append(v)
                onsets.append(t)
                sources.append(-1)
                t += int(DURATION_TICKS[c])
    note = np.asarray(notes, dtype=np.int32)
    onset = np.asarray(onsets, dtype=np.int64)
    vo = np.asarray(voices, dtype=np.int32)
    order = np.lexsort((vo, onset))
    return Steps(
        note[order],
        np.asarray(durs, dtype=np.int32)[order],
        vo[order],
        onset[order],
        np.asarray(sources, dtype=np.int64)[order],
        n_voices,
    )


class VoiceClock:
    """Replays the LSTM step schedule: which voice moves next and at which tick."""

    def __init__(self, n_voices: int, start_ticks: np.ndarray | None = None) -> None:
        self.lane_end = (
            np.zeros(max(n_voices, 1), dtype=np.int64)
            if start_ticks is None
            else np.asarray(start_ticks, np.int64).copy()
        )

    def next(self) -> tuple[int, int]:
        """``(voice, onset)`` of the next step."""
        v = int(np.argmin(self.lane_end))  # argmin returns the first (lowest voice) on ties
        return v, int(self.lane_end[v])

    def advance(self, dur_class: int) -> tuple[int, int]:
        """Consume one step of ``dur_class`` in the next voice; returns its ``(voice, onset)``."""
        v, t = self.next()
        self.lane_end[v] = t + int(DURATION_TICKS[dur_class])
        return v, t


def step_inputs(note: np.ndarray, dur: np.ndarray, n_voices: int, bar_ticks: int) -> dict[str, np.ndarray]:
    """Inputs for predicting each step of a sequence that starts at the beginning of a piece.

    Position t holds the previous step's tokens (BOS at t = 0) and the voice and metric
    position of step t (known from the schedule before step t is decided).
    """
    n = note.size
    clock = VoiceClock(n_voices)
    nxt_voice = np.empty(n, np.int32)
    nxt_metric = np.empty(n, np.int64)
    for i in range(n):
        v, t = clock.advance(int(dur[i]))
        nxt_voice[i] = v
        nxt_metric[i] = t
    prev_note = np.concatenate([[STEP_BOS], note[:-1]]).astype(np.int32) if n else np.zeros(0, np.int32)
    prev_dur = np.concatenate([[DUR_BOS], dur[:-1]]).astype(np.int32) if n else np.zeros(0, np.int32)
    return {
        "note": prev_note,
        "dur": prev_dur,
        "voice": nxt_voice,
        "metric": metric_index(nxt_metric, bar_ticks).astype(np.int32),
    }


def decode_steps(
    note: Sequence[int], dur: Sequence[int], n_voices: int, velocity: int = DEFAULT_VELOCITY, origin_ticks: int = 0
) -> list[Note]:
    """LSTM steps back to notes (rests dropped); ``track`` is the voice."""
    clock = VoiceClock(n_voices)
    out = []
    for p, d in zip(note, dur):
        v, t = clock.advance(int(d))
        if int(p) < N_PITCH:
            out.append(
                Note(
                    int(p),
                    (t + origin_ticks) / TICKS_PER_BEAT,
                    int(DURATION_TICKS[int(d)]) / TICKS_PER_BEAT,
                    velocity,
                    v,
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# Transformer events


def note_token(pitch: int, dur_class: int) -> int:
    return NOTE0 + int(pitch) * N_DUR + int(dur_class)


def is_note_token(tok: np.ndarray | int) -> np.ndarray:
    return np.asarray(tok) >= NOTE0


def token_pitch(tok: np.ndarray | int) -> np.ndarray:
    return (np.asarray(tok) - NOTE0) // N_DUR


def token_dur(tok: np.ndarray | int) -> np.ndarray:
    return (np.asarray(tok) - NOTE0) % N_DUR


@dataclass
class Events:
    """A Transformer token sequence: ``tokens``, ``time`` (tick after each token) and
    ``source`` (note index of note tokens, -1 otherwise)."""

    tokens: np.ndarray
    time: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return int(self.tokens.size)


def encode_events(
    g: GridNotes, use_velocity: bool = False, bos: bool = True, time0: int = 0, velocity_state: int = -1
) -> Events:
    """Grid notes (sorted) → event tokens, starting at tick ``time0``."""
    toks, times, srcs = [], [], []
    t = time0
    vel = velocity_state
    if bos:
        toks.append(BOS)
        times.append(t)
        srcs.append(-1)
    for i in range(len(g)):
        s = int(g.start[i])
        while s > t:
            k = min(s - t, MAX_SHIFT)
            t += k
            toks.append(SHIFT0 + k - 1)
            times.append(t)
            srcs.append(-1)
        if use_velocity and g.velocity[i] > 0:
            b = int(velocity_bin(g.velocity[i]))
            if b != vel:
                vel = b
                toks.append(VEL0 + b)
                times.append(t)
                srcs.append(-1)
        toks.append(note_token(g.pitch[i], g.dur[i]))
        times.append(t)
        srcs.append(int(g.source[i]))
    return Events(np.asarray(toks, np.int32), np.asarray(times, np.int64), np.asarray(srcs, np.int64))


class EventClock:
    """Follows an event stream: current tick and velocity; turns note tokens into notes."""

    def __init__(self, time0: int = 0, velocity: int = DEFAULT_VELOCITY) -> None:
        self.time = time0
        self.velocity = velocity

    def feed(self, tok: int) -> tuple[int, int, int, int] | None:
        """Apply one token; for a note token return ``(pitch, start_tick, dur_ticks, velocity)``."""
        tok = int(tok)
        if SHIFT0 <= tok < VEL0:
            self.time += tok - SHIFT0 + 1
        elif VEL0 <= tok < NOTE0:
            self.velocity = bin_velocity(tok - VEL0)
        elif tok >= NOTE0:
            p, d = divmod(tok - NOTE0, N_DUR)
            return p, self.time, int(DURATION_TICKS[d]), self.velocity
        return None


def decode_events(tokens: Sequence[int], velocity: int = DEFAULT_VELOCITY, origin_ticks: int = 0) -> list[Note]:
    """Event tokens back to notes."""
    clock = EventClock(0, velocity)
    out = []
    for tok in tokens:
        r = clock.feed(tok)
        if r is not None:
            p, s, d, v = r
            out.append(Note(p, (s + origin_ticks) / TICKS_PER_BEAT, d / TICKS_PER_BEAT, v))
    return out


# ---------------------------------------------------------------------------------------------
# Transformer note events (compound)


@dataclass
class NoteEvents:
    """Compound note events (see the module docstring), BOS first: per event ``shift``,
    ``pitch`` (or GAP / EV_BOS), ``dur`` (or DUR_NONE), ``vel`` (bin or VEL_NONE), ``time``
    (its onset tick) and ``source`` (note index, -1 for BOS and GAP)."""

    shift: np.ndarray
    pitch: np.ndarray
    dur: np.ndarray
    vel: np.ndarray
    time: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return int(self.pitch.size)


def encode_note_events(g: GridNotes, use_velocity: bool = False, bos: bool = True, time0: int = 0) -> NoteEvents:
    """Grid notes (sorted) → compound note events starting at tick ``time0``."""
    cols: tuple[list, ...] = ([], [], [], [], [], [])
    shift, pitch, dur, vel, time, source = cols

    def emit(s, p, d, v, t, src):
        shift.append(s)
        pitch.append(p)
        dur.append(d)
        vel.append(v)
        time.append(t)
        source.append(src)

    t = time0
    if bos:
        emit(0, EV_BOS, DUR_NONE, VEL_NONE, t, -1)
    for i in range(len(g)):
        s = int(g.start[i])
        while s - t > MAX_SHIFT:
            t += MAX_SHIFT
            emit(MAX_SHIFT, GAP, DUR_NONE, VEL_NONE, t, -1)
        v = int(velocity_bin(g.velocity[i])) if (use_velocity and g.velocity[i] > 0) else VEL_NONE
        emit(s - t, int(g.pitch[i]), int(g.dur[i]), v, s, int(g.source[i]))
        t = s
    return NoteEvents(*(np.asarray(c, dtype=np.int64) for c in cols))


def decode_note_events(
    shift: Sequence[int],
    pitch: Sequence[int],
    dur: Sequence[int],
    vel: Sequence[int] | None = None,
    velocity: int = DEFAULT_VELOCITY,
    origin_ticks: int = 0,
) -> list[Note]:
    """Compound note events back to notes (BOS and GAP events give none)."""
    out = []
    t = 0
    vel = vel if vel is not None else [VEL_NONE] * len(pitch)
    for s, p, d, v in zip(shift, pitch, dur, vel):
        t += int(s)
        if int(p) < N_PITCH:
            out.append(
                Note(
                    int(p),
                    (t + origin_ticks) / TICKS_PER_BEAT,
                    int(DURATION_TICKS[int(d)]) / TICKS_PER_BEAT,
                    bin_velocity(v) if int(v) < N_VEL_BINS else velocity,
                )
            )
    return out


STEP_SIGNATURE_KEYS = ("ticks_per_beat", "duration_ticks", "max_voices")
EVENT_SIGNATURE_KEYS = ("ticks_per_beat", "duration_ticks", "max_shift", "velocity_bins", "transformer_events")


def vocab_signature() -> dict:
    """What a model or data cache must agree on with this code (a data cache: all of it; the
    LSTM: :data:`STEP_SIGNATURE_KEYS`; the Transformer: :data:`EVENT_SIGNATURE_KEYS`)."""
    return {
        "tokeniser_version": TOKENISER_VERSION,
        "transformer_events": "compound: shift 0..48, pitch|GAP, duration class, velocity bin",
        "ticks_per_beat": TICKS_PER_BEAT,
        "duration_ticks": DURATION_TICKS.tolist(),
        "max_voices": MAX_VOICES,
        "max_shift": MAX_SHIFT,
        "velocity_bins": N_VEL_BINS,
        "event_vocab": EVENT_VOCAB,
    }


def signature_matches(signature: dict | None, kind: str) -> bool:
    """Whether a model of ``kind`` ("lstm" or "transformer") trained with ``signature`` fits."""
    if not isinstance(signature, dict):
        return False
    keys = STEP_SIGNATURE_KEYS if kind == "lstm" else EVENT_SIGNATURE_KEYS
    mine = vocab_signature()
    return all(signature.get(k) == mine[k] for k in keys)


# ---------------------------------------------------------------------------------------------
# Fill-in-the-middle (models with ``infill``): the gap [A, B) of a piece (A, B bar lines) is
# encoded in one of two orders (Bavarian et al. 2022, "Efficient training of language models to
# fill in the middle"):
#   "psm"  prefix · HOLE@A · SUF@B · suffix · MID@A · middle · END@B
#   "spm"  SUF@B · suffix · MID@P · prefix · HOLE@A · middle · END@B   (P: the prefix's start)
# (GAP chains wherever a jump is longer than MAX_SHIFT). HOLE, SUF and MID are given (never
# predicted); the middle's events and the END that closes it at B are what the model fills.
# In "psm" the middle starts a whole suffix away from the prefix's last notes; in "spm" it
# continues the prefix directly (as a left-to-right continuation would) with the suffix read
# before both. Measured on the round-1 validation gaps with a "psm" model: the middle's first
# four events cost 1.1-1.3 nats more than the same events continued left to right, the rest
# about the same (2026-12-03) — the distance, not the task, was what cost.
FIM_LAYOUTS = {
    "psm": "prefix · HOLE@A · SUF@B · suffix · MID@A · middle · END@B",
    "spm": "SUF@B · suffix · MID@P · prefix · HOLE@A · middle · END@B",
}
FIM_ORDERS = tuple(FIM_LAYOUTS)

HOLE = 130  # input: the gap starts at this event's onset (bar A)
SUF = 131  # input: the gap ends at this event's onset (bar B); the suffix follows, relative to B
MID = 132  # input: time goes back (to bar A in "psm", the middle follows; to the prefix in "spm")
END_IN = 133  # END as stored in event arrays (and its input row; never fed: generation stops at END)
END = 129  # END as a pitch-head output: the middle is complete; its onset is B
N_EV_PITCH_IN_FIM = 134
N_EV_PITCH_OUT_FIM = 130
EVENT_FIELDS = ("shift", "pitch", "dur", "vel", "time")


def empty_events() -> dict[str, np.ndarray]:
    return {k: np.zeros(0, np.int64) for k in EVENT_FIELDS}


def concat_events(parts: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {
        k: np.concatenate([p[k] for p in parts]).astype(np.int64) if parts else np.zeros(0, np.int64)
        for k in EVENT_FIELDS
    }


def encode_segment(
    pitch: np.ndarray, start: np.ndarray, dur: np.ndarray, vel: np.ndarray | None, t0: int
) -> dict[str, np.ndarray]:
    """Notes (sorted by ``(start, -pitch)``, onsets ≥ ``t0``) → compound events whose shifts
    count from tick ``t0``, with GAP chains for jumps over MAX_SHIFT (vectorised
    :func:`encode_note_events` without the BOS; ``vel`` as velocity bins or VEL_NONE)."""
    pitch = np.asarray(pitch, np.int64)
    n = pitch.size
    if n == 0:
        return empty_events()
    start = np.asarray(start, np.int64)
    prev = np.concatenate([[int(t0)], start[:-1]])
    d = start - prev
    k = np.maximum(0, (d - 1) // MAX_SHIFT)
    total = n + int(k.sum())
    note_pos = np.arange(n) + np.cumsum(k)
    if total == n:  # no GAP needed (the common case)
        return {
            "shift": d,
            "pitch": pitch,
            "dur": np.asarray(dur, np.int64),
            "vel": np.asarray(vel, np.int64) if vel is not None else np.full(n, VEL_NONE, np.int64),
            "time": start,
        }
    out = {
        "shift": np.full(total, MAX_SHIFT, np.int64),
        "pitch": np.full(total, GAP, np.int64),
        "dur": np.full(total, DUR_NONE, np.int64),
        "vel": np.full(total, VEL_NONE, np.int64),
        "time": np.zeros(total, np.int64),
    }
    out["shift"][note_pos] = d - MAX_SHIFT * k
    out["pitch"][note_pos] = pitch
    out["dur"][note_pos] = np.asarray(dur, np.int64)
    if vel is not None:
        out["vel"][note_pos] = np.asarray(vel, np.int64)
    out["time"][note_pos] = start
    owner = np.repeat(np.arange(n), k)
    j = np.arange(total - n) - np.repeat(np.cumsum(k) - k, k) + 1
    is_gap = np.ones(total, bool)
    is_gap[note_pos] = False
    out["time"][is_gap] = prev[owner] + MAX_SHIFT * j
    return out


def chain_to(t_from: int, t_to: int, pitch_code: int) -> dict[str, np.ndarray]:
    """Events that move time from ``t_from`` to ``t_to`` (> ``t_from``, or equal: shift 0) and
    end in one event of ``pitch_code`` (HOLE, SUF, END_IN) at ``t_to``."""
    d = int(t_to) - int(t_from)
    if d < 0:
        raise ValueError("a chain cannot go back in time")
    k = max(0, (d - 1) // MAX_SHIFT)
    shift = [MAX_SHIFT] * k + [d - MAX_SHIFT * k]
    time = [int(t_from) + MAX_SHIFT * (j + 1) for j in range(k)] + [int(t_to)]
    n = k + 1
    return {
        "shift": np.asarray(shift, np.int64),
        "pitch": np.asarray([GAP] * k + [pitch_code], np.int64),
        "dur": np.full(n, DUR_NONE, np.int64),
        "vel": np.full(n, VEL_NONE, np.int64),
        "time": np.asarray(time, np.int64),
    }


def mid_event(a_tick: int) -> dict[str, np.ndarray]:
    """The MID event: time goes back to ``a_tick`` (bar A in "psm", the prefix's start in
    "spm"; its shift field is 0, its onset ``a_tick``)."""
    return {
        "shift": np.zeros(1, np.int64),
        "pitch": np.full(1, MID, np.int64),
        "dur": np.full(1, DUR_NONE, np.int64),
        "vel": np.full(1, VEL_NONE, np.int64),
        "time": np.full(1, int(a_tick), np.int64),
    }


def fim_arrange(
    prefix: dict[str, np.ndarray],
    suffix_notes: NoteArrays,
    middle_notes: NoteArrays | None,
    a_tick: int,
    b_tick: int,
    with_end: bool = True,
    order: str = "psm",
) -> dict:
    """The infilling sequence of ``order`` (:data:`FIM_LAYOUTS`).

    ``prefix``: events already encoded (ending before A); ``suffix_notes`` / ``middle_notes``:
    ``(pitch, start, dur, vel)`` arrays of the notes at/after B and in [A, B) (``middle_notes``
    None or empty: the sequence stops where the middle starts, as generation starts). Returns
    ``events``; ``given`` (True for the structural events — HOLE/SUF chains and MID — which are
    never scored); ``mid_index`` (the structural event the middle follows: MID in "psm", HOLE in
    "spm"); ``prefix_index`` and ``suffix_index`` (where the prefix's and the suffix's events
    start) and ``suffix_len`` (how many events the suffix has).
    """
    if order not in FIM_ORDERS:
        raise ValueError(f"unknown fill-in-the-middle order {order!r}")
    t_last = int(prefix["time"][-1]) if len(prefix["time"]) else int(a_tick)
    hole = chain_to(min(t_last, a_tick), a_tick, HOLE)
    suffix = encode_segment(*suffix_notes, t0=b_tick)
    # (part, events, given) in the order's layout; the middle follows the last of them
    if order == "psm":
        layout = [("prefix", prefix, False), ("hole", hole, True), ("suf", chain_to(a_tick, b_tick, SUF), True)]
        layout += [("suffix", suffix, False), ("mid", mid_event(a_tick), True)]
    else:
        # the prefix's time starts where its first event's shift counts from
        p0 = int(prefix["time"][0]) - int(prefix["shift"][0]) if len(prefix["pitch"]) else int(a_tick)
        layout = [("suf", chain_to(b_tick, b_tick, SUF), True), ("suffix", suffix, False)]
        layout += [("mid", mid_event(p0), True), ("prefix", prefix, False), ("hole", hole, True)]
    names = [name for name, _, _ in layout]
    starts = np.cumsum([0] + [len(ev["pitch"]) for _, ev, _ in layout])
    mid_index = int(starts[-1]) - 1
    last = int(a_tick)
    if middle_notes is not None and len(middle_notes[0]):
        middle = encode_segment(*middle_notes, t0=a_tick)
        layout.append(("middle", middle, False))
        last = int(middle["time"][-1])
    if with_end:
        layout.append(("end", chain_to(last, b_tick, END_IN), False))
    return {
        "events": concat_events([ev for _, ev, _ in layout]),
        "given": np.concatenate([np.full(len(ev["pitch"]), g, bool) for _, ev, g in layout]),
        "mid_index": mid_index,
        "prefix_index": int(starts[names.index("prefix")]),
        "suffix_index": int(starts[names.index("suffix")]),
        "suffix_len": len(suffix["pitch"]),
    }


def target_pitch(pitch: np.ndarray) -> np.ndarray:
    """Event pitch codes as targets of the pitch head: END_IN → END; the given sentinels (HOLE,
    SUF, MID, BOS — never scored) → GAP so that the index stays in range."""
    pitch = np.asarray(pitch, np.int64)
    given = (pitch == EV_BOS) | ((pitch > EV_BOS) & (pitch != END_IN))
    return np.where(pitch == END_IN, END, np.where(given, GAP, pitch))
