"""The Compose panel's state, without widgets: the continuation or fill in progress (its primer
or the notes around the gap, the steps streamed so far, accepted or not), recording and jam mode,
what the buttons allow, and the view-models of the instrument and tempo sync
(:mod:`gdl_studio.live.controls_model`).

The panel (:mod:`gdl_studio.ui.compose.panel`) renders this state and forwards the musician's
intents; the engine's results come in through :meth:`ComposeSession.add_step` /
:meth:`ComposeSession.finish`. Nothing here imports Qt, so it is tested without a GUI
(``tests/compose/test_session.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from gdl_studio.live.controls_model import InstrumentModel, SyncModel
from gdl_studio.music.notes import GenerationStep, Note

MAX_PRIMER_NOTES = 400
#: the most notes one fill may write (the model normally ends the gap long before)
MAX_FILL_NOTES = 256


@dataclass(frozen=True)
class FillPlan:
    """A gap to fill: bars ``[start_bar, end_bar)`` (0-based, the end bar kept) of the piece.

    ``notes``: the piece in time order (what the model is given); ``kept_ids`` / ``kept_notes``:
    the notes outside the gap in the model's numbering (those before the gap, then those after);
    ``replaced_ids``: the notes whose onsets fall in the gap (what Accept replaces)."""

    start_bar: int
    end_bar: int
    beats_per_bar: int
    notes: list[Note]
    kept_ids: list[int]
    kept_notes: list[Note]
    replaced_ids: list[int]

    @property
    def beats(self) -> tuple[float, float]:
        """The gap in beats."""
        return float(self.start_bar * self.beats_per_bar), float(self.end_bar * self.beats_per_bar)

    @property
    def label(self) -> str:
        """ "bars 3–4" (counted from 1, as the panel shows them)."""
        a, b = self.start_bar + 1, self.end_bar
        return f"bar {a}" if a == b else f"bars {a}–{b}"


def plan_fill(items: Iterable[tuple[int, Note]], start_bar: int, end_bar: int, beats_per_bar: int) -> FillPlan:
    """The fill of bars ``start_bar`` up to ``end_bar`` as the panel shows them (counted from 1,
    ``end_bar`` not included, like ``gdl-studio infill --bars A:B``) over the piece's ``(id, note)``
    in time order. Raises ``ValueError`` with one line for a gap that cannot be filled: A ≥ B,
    outside the piece, nothing before or nothing after it."""
    from gdl_studio.music.generate import prepare_fill

    a, b = int(start_bar), int(end_bar)
    if a < 1 or b <= a:
        raise ValueError(f"bars {a} to {b}: the gap must start at bar 1 or later and end after it starts")
    items = list(items)
    ids, notes = [i for i, _n in items], [n for _i, n in items]
    fc = prepare_fill(notes, a - 1, b - 1, beats_per_bar)
    kept = set(fc.kept_index)
    return FillPlan(
        a - 1,
        b - 1,
        int(beats_per_bar),
        notes,
        [ids[k] for k in fc.kept_index],
        list(fc.kept),
        [ids[k] for k in range(len(ids)) if k not in kept],
    )


def ruler_bars(region: tuple[float, float], beats_per_bar: int) -> tuple[int, int]:
    """A beat range picked in the ruler → the bars it covers, as the Fill row shows them
    (``(A, B)``: from bar A up to bar B, not included; counted from 1)."""
    bpb = max(int(beats_per_bar), 1)
    lo, hi = sorted(region)
    a = int(lo // bpb + 1e-9)
    b = max(a + 1, int(-(-(hi - 1e-9) // bpb)))
    return a + 1, b + 1


@dataclass
class Generation:
    """One continuation or fill: its primer (document ids and notes; for a fill, the notes kept
    around the gap) and the steps generated so far."""

    model: str
    request_id: int
    primer_ids: list[int]
    primer_notes: list[Note]
    cut: float
    seed: int
    steps: list[GenerationStep] = field(default_factory=list)
    accepted_ids: list[int] | None = None
    running: bool = True
    started: float = field(default_factory=time.perf_counter)
    fill: FillPlan | None = None  # a fill: the gap (None: a continuation)

    @property
    def pending(self) -> bool:
        """Generated notes wait for Accept or Reject."""
        return self.accepted_ids is None and bool(self.steps)

    def key_for(self, index: int) -> tuple[str, int] | None:
        """Roll key of note ``index`` of primer + generated."""
        n = len(self.primer_ids)
        if index < n:
            return ("doc", self.primer_ids[index])
        k = index - n
        if self.accepted_ids is not None:
            return ("doc", self.accepted_ids[k]) if k < len(self.accepted_ids) else None
        return ("pending", k) if k < len(self.steps) else None


@dataclass(frozen=True)
class Buttons:
    """Which of the continuation's buttons are enabled."""

    continue_: bool
    regenerate: bool
    accept: bool
    reject: bool
    drag: bool
    fill: bool = False


def primer_from(
    items: Iterable[tuple[int, Note]], selected: Iterable[int], end_beat: float, limit: int = MAX_PRIMER_NOTES
) -> tuple[list[int], list[Note], float]:
    """``(ids, notes, cut)``: the notes a continuation starts from.

    ``items``: the piece's ``(id, note)`` in time order. With a selection the primer ends with the
    end of the selection (notes starting after it are left out); without one it is the whole
    piece. At most the last ``limit`` notes.
    """
    items = list(items)
    notes = dict(items)
    chosen = [i for i in selected if i in notes]
    if chosen:
        cut = max(notes[i].end for i in chosen)
        items = [(i, n) for i, n in items if n.start < cut - 1e-9]
    else:
        cut = end_beat
    items = items[-limit:]
    return [i for i, _n in items], [n for _i, n in items], cut


class ComposeSession:
    """The state behind the Compose panel (see the module docstring)."""

    def __init__(self) -> None:
        self.generation: Generation | None = None
        self.recording = False
        self.jamming = False
        self.jam_track = 0
        self.user_picked = False  # the musician chose which generated note's attention to show
        self._incoming: list[GenerationStep] = []
        self._attention_backlog: list[GenerationStep] = []
        # the built-in output's instrument and the tempo sync (loaded from the settings by the panel)
        self.instrument = InstrumentModel()
        self.sync = SyncModel()

    # ------------------------------------------------------------------ continuation
    def start(
        self, model: str, request_id: int, ids: list[int], notes: list[Note], cut: float, seed: int
    ) -> Generation:
        """A new continuation replaces the old one (whose results are ignored from now on)."""
        self.generation = Generation(model, request_id, list(ids), list(notes), cut, seed)
        self.user_picked = False
        self._incoming = []
        self._attention_backlog = []
        return self.generation

    def start_fill(self, model: str, request_id: int, plan: FillPlan, seed: int) -> Generation:
        """A new fill replaces the continuation or fill in progress."""
        gen = self.start(model, request_id, plan.kept_ids, plan.kept_notes, plan.beats[1], seed)
        gen.fill = plan
        return gen

    def regenerate_fill(self) -> tuple[int, int] | None:
        """The bars (as shown, from 1) of the pending fill, to fill again; None without one."""
        gen = self.generation
        if gen is None or gen.accepted_ids is not None or gen.fill is None:
            return None
        return gen.fill.start_bar + 1, gen.fill.end_bar + 1

    def replaced_ids(self) -> list[int]:
        """The notes the pending fill replaces when accepted ([] for a continuation)."""
        gen = self.generation
        if gen is None or gen.fill is None or gen.accepted_ids is not None:
            return []
        return list(gen.fill.replaced_ids)

    def regenerate_primer(self, notes: Mapping[int, Note]) -> tuple[list[int], list[Note], float] | None:
        """The primer of the pending continuation, for another variation (None: continue anew)."""
        gen = self.generation
        if gen is None or gen.accepted_ids is not None or gen.fill is not None:
            return None
        ids = [i for i in gen.primer_ids if i in notes]
        return ids, [notes[i] for i in ids], gen.cut

    def is_current(self, request_id: int) -> bool:
        return self.generation is not None and request_id == self.generation.request_id

    def add_step(self, request_id: int, step: GenerationStep) -> bool:
        """A streamed step; False (and ignored) unless it belongs to the current continuation."""
        if not self.is_current(request_id):
            return False
        self.generation.steps.append(step)  # type: ignore[union-attr]
        self._incoming.append(step)
        return True

    def take_incoming(self) -> list[GenerationStep]:
        """The steps that arrived since the last call, while they can still be shown."""
        steps, self._incoming = self._incoming, []
        gen = self.generation
        if gen is None or gen.accepted_ids is not None:
            return []
        self._attention_backlog.extend(steps)
        return steps

    def take_attention_backlog(self) -> list[GenerationStep]:
        """The steps whose attention is not drawn yet."""
        steps, self._attention_backlog = self._attention_backlog, []
        gen = self.generation
        return steps if gen is not None and gen.accepted_ids is None else []

    def finish(self, request_id: int) -> bool:
        """The current continuation's job ended (done, cancelled or failed)."""
        if not self.is_current(request_id):
            return False
        self.generation.running = False  # type: ignore[union-attr]
        return True

    @property
    def running(self) -> bool:
        return self.generation is not None and self.generation.running

    def accept(self) -> list[Note] | None:
        """The notes to keep (then :meth:`accepted`), or None when there is nothing to accept."""
        gen = self.generation
        if gen is None or not gen.steps or gen.accepted_ids is not None:
            return None
        gen.running = False
        self._incoming = []
        return [s.note for s in gen.steps]

    def accepted(self, ids: list[int]) -> None:
        """The accepted notes are in the document with ``ids`` (in step order)."""
        if self.generation is not None:
            self.generation.accepted_ids = list(ids)

    def drop(self) -> Generation | None:
        """Forget the continuation (Reject, a new file); returns it (the caller cancels its job)."""
        gen, self.generation = self.generation, None
        self._incoming = []
        self._attention_backlog = []
        return gen

    def buttons(self, model_usable: bool, piece_has_notes: bool, model_fills: bool = False) -> Buttons:
        gen = self.generation
        open_ = gen is not None and gen.accepted_ids is None
        pending = gen is not None and gen.pending
        refillable = gen is not None and (gen.fill is None or model_fills)
        return Buttons(
            continue_=model_usable,
            regenerate=model_usable and open_ and refillable,
            accept=pending,
            reject=open_,
            drag=piece_has_notes or pending,
            fill=model_usable and model_fills and piece_has_notes,
        )

    @staticmethod
    def fill_tooltip(why_not: str) -> str:
        """The Fill button's tooltip: what it does, or why the model cannot."""
        if why_not:
            return why_not
        return (
            "Fill the bars from A up to B (bar B is kept) given the music before and after them; "
            "the notes now in the gap are replaced when you accept (Ctrl+Shift+Enter)"
        )

    def progress_text(self, length: int) -> str:
        gen = self.generation
        if gen is None or not gen.running:
            return ""
        if gen.fill is not None:
            return f"Filling {gen.fill.label}: {len(gen.steps)} notes…"
        return f"{len(gen.steps)}/{length} notes…"

    def start_text(self, n_notes: int, steering: str = "") -> str:
        """The progress line when a continuation or fill starts."""
        gen = self.generation
        if gen is None:
            return ""
        steer = f" ({steering})" if steering else ""
        if gen.fill is not None:
            return (
                f"Filling {gen.fill.label} from {len(gen.primer_notes)} notes around the gap "
                f"({len(gen.fill.replaced_ids)} to replace){steer}…"
            )
        return f"Generating {n_notes} notes from {len(gen.primer_notes)} primer notes{steer}…"

    def done_text(self, seconds: float) -> str:
        """The progress line when the job ended."""
        gen = self.generation
        if gen is None:
            return ""
        n = len(gen.steps)
        if gen.fill is not None:
            return (
                f"{n} notes fill {gen.fill.label} in {seconds:.1f} s — Accept replaces the "
                f"{len(gen.fill.replaced_ids)} notes there, Regenerate tries another variation."
            )
        return f"{n} notes in {seconds:.1f} s — Accept keeps them, Regenerate tries another variation."

    # ------------------------------------------------------------------ recording and jam
    @staticmethod
    def next_track(tracks: Iterable[int]) -> int:
        """The track a take goes to: one after the last used."""
        tracks = list(tracks)
        return (max(tracks) + 1) if tracks else 0

    @staticmethod
    def jam_start_beat(end_beat: float, cursor_beat: float, beats_per_bar: int) -> float:
        """Jam takes start at the bar after the piece (or the cursor, if later)."""
        beat = max(end_beat, cursor_beat)
        bar = float(beats_per_bar)
        return (int(beat / bar) + (1 if beat % bar else 0)) * bar

    def answers_track(self, notes: Iterable[Note]) -> list[Note]:
        """The model's jam answers, moved to the track after the musician's take."""
        return [Note(n.pitch, n.start, n.duration, n.velocity, self.jam_track + 1) for n in notes]
