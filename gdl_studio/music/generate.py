"""Ready-to-use music generators: a trained network plus its tokenisation and sampling.

:class:`LSTMComposer` and :class:`TransformerComposer` share one interface::

    steps = composer.generate(primer, n_notes=64, temperature=1.0, top_k=0, top_p=1.0, seed=7)
    for step in steps:          # one GenerationStep per decided note, computed lazily
        piano_roll.add(step.note)

``primer`` is a :class:`~gdl_studio.music.notes.Score` or a list of notes. Generated notes are
in the primer's time line (beats) and start at or after the end of the primer. To cancel,
stop pulling (or ``close()`` the iterator): nothing runs between steps. The same ``seed`` gives
the same notes. ``GenerationStep.index`` counts generated notes from 0; its note's index in
``primer + generated`` (the numbering ``attention_notes`` uses) is ``len(primer) + index``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from gdl_studio.music import tokens as T
from gdl_studio.music.lstm import AttentionLSTM, lstm_inputs
from gdl_studio.music.notes import GenerationStep, Note, Score
from gdl_studio.music.sampling import SamplingOptions, sample
from gdl_studio.music.steering import Constraints, ConstraintTracker, masked_mass_nats
from gdl_studio.music.transformer import KVCache, MusicTransformer
from gdl_studio.music.views import in_each_view, pitch_gather, untranspose_logits, view_transpositions

DEFAULT_VOICES = 4
MAX_LSTM_PRIMER_STEPS = 2048  # eight training windows; the LSTM's memory is far shorter


@dataclass
class Primer:
    """A primer on the model grid: ticks are relative to ``origin_ticks`` (a bar line)."""

    notes: list[Note]
    grid: T.GridNotes
    origin_ticks: int
    bar_ticks: int
    end_tick: int
    velocity: int


def prepare_primer(primer: Score | Sequence[Note] | None, beats_per_bar: int | None = None) -> Primer:
    """Quantise a primer onto the grid, starting from the bar line before its first note."""
    if isinstance(primer, Score):
        notes = list(primer.notes)
        beats_per_bar = beats_per_bar or primer.beats_per_bar
    else:
        notes = list(primer or [])
    bar_ticks = T.bar_ticks_for(beats_per_bar or 4)
    if notes:
        first = min(int(round(n.start * T.TICKS_PER_BEAT)) for n in notes)
        origin = max(first, 0) // bar_ticks * bar_ticks
    else:
        origin = 0
    grid = T.quantise(notes, origin_ticks=origin)
    end = int(grid.end.max()) if len(grid) else 0
    vel = int(np.median([n.velocity for n in notes])) if notes else T.DEFAULT_VELOCITY
    return Primer(notes, grid, origin, bar_ticks, end, max(1, min(127, vel)))


def _check_options(n_notes: int, options: SamplingOptions) -> SamplingOptions:
    if n_notes < 0:
        raise ValueError(f"number of notes must be positive, not {n_notes}")
    return options.validated()


def _tracker(
    constraints: Constraints | None, bar_ticks: int, first_bar_tick: int, context: Sequence[tuple[int, int]]
) -> ConstraintTracker | None:
    if constraints is None or not constraints.active:
        return None
    return ConstraintTracker(constraints.validated(), bar_ticks, first_bar_tick, context)


def _masked_sample(
    logits: torch.Tensor,
    mask: np.ndarray | torch.Tensor | None,
    options: SamplingOptions,
    rng: torch.Generator,
    tracker: ConstraintTracker | None,
) -> int:
    """Sample with ``mask`` (True = allowed) and charge the removed mass to the tracker."""
    if mask is None:
        return sample(logits, options, rng)
    m = torch.as_tensor(mask, dtype=torch.bool)
    if tracker is not None:
        tracker.add_cost(masked_mass_nats(logits, m))
    return sample(logits, options, rng, m)


def _mixture_sample(
    logits: torch.Tensor,
    logw: torch.Tensor,
    mask: np.ndarray | torch.Tensor | None,
    options: SamplingOptions,
    rng: torch.Generator,
    tracker: ConstraintTracker | None,
) -> int:
    """Draw one attribute from the mixture of ``logits`` (rows, n) under the rows' log weights
    ``logw`` (rows,), masks included, then turn ``logw`` into the rows' posterior after the value
    drawn (in place), so that drawing attribute after attribute samples the compound event
    exactly from the mixture. One row: a plain draw."""
    if logits.shape[0] == 1:
        return _masked_sample(logits[0], mask, options, rng, tracker)
    lp = torch.log_softmax(logits, -1)
    x = _masked_sample(torch.logsumexp(lp + logw[:, None], 0), mask, options, rng, tracker)
    post = logw + lp[:, x]
    logw.copy_(post - torch.logsumexp(post, 0))
    return x


def resolve_style(style: str | int | None, card: dict, n_styles: int) -> int:
    """A style name or id → the model's style id (0, "unknown", when the model has no styles
    or ``style`` is None/"auto"); raises ``ValueError`` for a style the model does not know."""
    if style is None or style in ("", "auto", "unknown", 0) or n_styles == 0:
        return 0
    names = list(card.get("architecture", {}).get("styles", []))
    if isinstance(style, int):
        if 0 <= style < n_styles:
            return style
    elif style in names:
        return names.index(style)
    known = ", ".join(names[1:]) if names else "none"
    raise ValueError(f"unknown style '{style}' for this model (choose {known} or auto)")


class Composer:
    """Common part of the two generators."""

    name = "music"
    kind = ""
    can_infill = False

    def __init__(self, model: torch.nn.Module, card: dict | None = None) -> None:
        self.model = model.eval()
        self.card = card or {}

    @property
    def styles(self) -> list[str]:
        """Style names the model knows (index = id; empty without styles)."""
        n = getattr(self.model.config, "n_styles", 0)
        return list(self.card.get("architecture", {}).get("styles", []))[:n] if n else []

    def generate(
        self,
        primer: Score | Sequence[Note] | None,
        n_notes: int = 64,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
        beats_per_bar: int | None = None,
        bars: int | None = None,
        constraints: Constraints | None = None,
        style: str | int | None = None,
        views: int | None = None,
    ) -> Iterator[GenerationStep]:
        """Continue ``primer`` by ``n_notes`` notes (and at most ``bars`` bars if given); a lazy
        iterator of :class:`GenerationStep`. ``constraints`` steer every generated note (see
        :mod:`gdl_studio.music.steering`; chords apply from the bar the continuation starts in);
        ``style`` is a style the model knows (default: unknown); ``views``: the model's
        transposition views for this draw (None: its card's). Raises ``ValueError`` for bad
        options at once."""
        options = _check_options(n_notes, SamplingOptions(temperature, top_k, top_p, seed, views))
        if constraints is not None:
            constraints.validated()
        style_id = resolve_style(style, self.card, getattr(self.model.config, "n_styles", 0))
        pr = prepare_primer(primer, beats_per_bar)
        limit = None if bars is None else pr.end_tick + int(bars) * pr.bar_ticks
        first_bar = pr.end_tick // pr.bar_ticks * pr.bar_ticks
        tracker = _tracker(constraints, pr.bar_ticks, first_bar, list(zip(pr.grid.start, pr.grid.end)))
        return self._generate(pr, n_notes, options, limit, tracker, style_id)

    def _generate(
        self,
        pr: Primer,
        n_notes: int,
        options: SamplingOptions,
        limit_tick: int | None,
        tracker: ConstraintTracker | None = None,
        style: int = 0,
    ) -> Iterator[GenerationStep]:
        raise NotImplementedError

    @staticmethod
    def _transpositions(options: SamplingOptions) -> tuple[int, ...] | None:
        """The views of a draw: ``options.views`` if given, else (None) the model's own."""
        return None if options.views is None else view_transpositions(options.views)

    def infill(
        self,
        score: Score | Sequence[Note],
        start_bar: int,
        end_bar: int,
        max_notes: int = 512,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
        beats_per_bar: int | None = None,
        constraints: Constraints | None = None,
        style: str | int | None = None,
        views: int | None = None,
    ) -> Iterator[GenerationStep]:
        raise ValueError(
            f"{self.name} cannot fill gaps (it was trained left to right only); use a Transformer trained for infilling"
        )

    def filled(self, score: Score, start_bar: int, end_bar: int, **kwargs) -> Score:
        """``score`` with bars ``[start_bar, end_bar)`` filled anew (all at once): every note
        outside the gap exactly as given, the new notes on a track of their own."""
        steps = self.infill(score, start_bar, end_bar, **kwargs)
        kept = prepare_fill(score, start_bar, end_bar, kwargs.get("beats_per_bar")).kept
        track = max((n.track for n in score.notes), default=-1) + 1
        new = [replace(s.note, track=track) for s in steps]
        return replace(score, notes=kept + new).sorted()

    def continued(self, score: Score, n_notes: int, **kwargs) -> Score:
        """The primer followed by its continuation (all of it, at once), as a new :class:`Score`;
        the continuation goes on a track of its own, after the primer's tracks."""
        track = max((n.track for n in score.notes), default=-1) + 1
        new = [replace(s.note, track=track) for s in self.generate(score, n_notes, **kwargs)]
        return replace(score, notes=list(score.notes) + new).sorted()


def continue_score(
    composer: Composer, primer: Score | Sequence[Note] | None, n_notes: int = 64, **kwargs
) -> Iterator[GenerationStep]:
    """``composer.generate(primer, n_notes, **kwargs)``: the lazy continuation of a primer."""
    return composer.generate(primer, n_notes, **kwargs)


class LSTMComposer(Composer):
    """Generates with :class:`AttentionLSTM`, one step (note or rest of one voice) at a time.

    With transposition views (``config.transpose_views`` or a draw's ``views``) each step is
    drawn from the views' mixture, note then duration, as the Transformer draws its events.

    The number of voices is the primer's (notes are dealt into voices as in training; more
    than eight sounding at once are ignored for conditioning), or four without a primer.
    With constraints, a step whose voice may not start an allowed note at its onset takes a
    REST (the fallback that never dead-ends).
    """

    name = "music-lstm"
    kind = "lstm"
    model: AttentionLSTM

    def _generate(
        self,
        pr: Primer,
        n_notes: int,
        options: SamplingOptions,
        limit_tick: int | None,
        tracker: ConstraintTracker | None = None,
        style: int = 0,
    ) -> Iterator[GenerationStep]:
        t_start = time.perf_counter()
        model = self.model
        rng = options.generator()
        voice, n_voices = T.assign_voices(pr.grid)
        if n_voices == 0:
            n_voices = DEFAULT_VOICES
        steps = T.encode_steps(pr.grid, voice, n_voices, end_tick=pr.end_tick)
        inp = lstm_inputs(steps.note, steps.dur, n_voices, pr.bar_ticks)
        skip = max(0, len(steps) - MAX_LSTM_PRIMER_STEPS)  # a long primer: its last steps suffice
        with torch.inference_mode():
            x = {
                k: torch.as_tensor(inp[k][skip:], dtype=torch.long)
                for k in ("note", "dur", "voice", "n_voices", "metric")
            }
            state = model.prefill(
                x["note"], x["dur"], x["voice"], x["n_voices"], x["metric"], style=style,
                transpositions=self._transpositions(options),
            )  # fmt: skip
        shifts, index, impossible = _gathers(state.transpositions, T.N_STEP_NOTE_OUT)
        moved = any(state.transpositions)
        clock = T.VoiceClock(n_voices, np.full(n_voices, pr.end_tick if len(steps) else 0))
        # the note fed at each input position (the previous step's note; -1 for BOS and rests)
        pos_src = ([-1] + [int(s) for s in steps.source[:-1]] if len(steps) else [])[skip:]
        if len(steps):
            prev_note, prev_dur, prev_src = int(steps.note[-1]), int(steps.dur[-1]), int(steps.source[-1])
        else:
            prev_note, prev_dur, prev_src = T.STEP_BOS, T.DUR_BOS, -1
        n_primer = len(pr.notes)
        made = 0
        guard = 16 * n_notes + 256 if tracker is None else 64 * n_notes + 1024
        t_last = t_start
        while made < n_notes and guard > 0:
            guard -= 1
            v, onset = clock.next()
            if limit_tick is not None and onset >= limit_tick:
                return
            pos_src.append(prev_src)
            metric = int(T.metric_index(onset, pr.bar_ticks))
            note_logits, feats, attn = model.step(prev_note, prev_dur, v, n_voices, metric, state, style=style)
            if moved:
                note_logits = untranspose_logits(note_logits, index, impossible)
            logw = state.log_weights()
            note_mask = dur_mask = None
            if tracker is not None:
                note_mask = np.zeros(T.N_STEP_NOTE_OUT, bool)
                note_mask[T.REST] = True
                if tracker.note_allowed_at(onset):
                    note_mask[: T.N_PITCH] = tracker.pitch_mask(onset)
            note = _mixture_sample(note_logits, logw, note_mask, options, rng, tracker)
            if tracker is not None and note < T.N_PITCH:
                dur_mask = tracker.duration_mask(onset)
            # each view's duration head is told the note in that view's own transposition
            chosen = in_each_view(note, shifts) if moved else note
            dur = _mixture_sample(model.duration_logits(feats, chosen), logw, dur_mask, options, rng, tracker)
            clock.advance(dur)
            prev_note, prev_dur, prev_src = note, dur, -1
            if note < T.N_PITCH:
                prev_src = n_primer + made
                if tracker is not None:
                    tracker.add(onset, int(T.DURATION_TICKS[dur]), note)
                now = time.perf_counter()
                step = GenerationStep(
                    note=Note(
                        note,
                        (onset + pr.origin_ticks) / T.TICKS_PER_BEAT,
                        int(T.DURATION_TICKS[dur]) / T.TICKS_PER_BEAT,
                        pr.velocity,
                        v,
                    ),
                    index=made,
                    attention=attn,
                    attention_notes=np.asarray(pos_src[-len(attn) :], dtype=np.int64),
                    seconds=now - t_last,
                    constraint_nats=tracker.nats[-1] if tracker is not None else 0.0,
                )
                made += 1
                yield step
                t_last = time.perf_counter()


@dataclass
class FillContext:
    """A gap to fill, on the model grid (ticks from the score's beat 0; bar lines at multiples
    of ``bar_ticks``): the kept notes before ``a_tick`` and from ``b_tick`` on."""

    kept: list[Note]  # the notes outside the gap, as given (what the output keeps)
    kept_index: list[int]  # their indices in the input
    prefix: T.GridNotes
    suffix: T.GridNotes
    a_tick: int
    b_tick: int
    bar_ticks: int
    velocity: int


def prepare_fill(
    score: Score | Sequence[Note], start_bar: int, end_bar: int, beats_per_bar: int | None = None
) -> FillContext:
    """Split notes around bars ``[start_bar, end_bar)`` (0-based): a note belongs to the gap if
    its onset falls in it. Raises ``ValueError`` (one line) for a gap that cannot be filled."""
    if isinstance(score, Score):
        notes = list(score.notes)
        beats_per_bar = beats_per_bar or score.beats_per_bar
    else:
        notes = list(score)
    bar_ticks = T.bar_ticks_for(beats_per_bar or 4)
    a, b = int(start_bar), int(end_bar)
    if a < 0 or b <= a:
        raise ValueError(f"bad bar range {a + 1}:{b + 1} (the first bar must come before the end, bars count from 1)")
    if not notes:
        raise ValueError("nothing to fill from: the piece has no notes")
    a_tick, b_tick = a * bar_ticks, b * bar_ticks
    starts = [int(round(n.start * T.TICKS_PER_BEAT)) for n in notes]
    n_bars = (max(starts) // bar_ticks) + 1
    if a >= n_bars:
        raise ValueError(f"bars {a + 1}:{b + 1} are outside the piece (it has {n_bars} bars)")
    before = [i for i, s in enumerate(starts) if s < a_tick]
    after = [i for i, s in enumerate(starts) if s >= b_tick]
    if not before:
        raise ValueError(f"nothing before bar {a + 1} to fill from (a gap needs notes before and after it)")
    if not after:
        raise ValueError(
            f"nothing after bar {b} to fill towards (a gap needs notes after it; use continue to add music at the end)"
        )
    kept_index = before + after
    kept = [notes[i] for i in kept_index]
    prefix = T.quantise([notes[i] for i in before], origin_ticks=0)
    suffix = T.quantise([notes[i] for i in after], origin_ticks=0)
    vel = int(np.median([n.velocity for n in kept])) if kept else T.DEFAULT_VELOCITY
    return FillContext(kept, kept_index, prefix, suffix, a_tick, b_tick, bar_ticks, max(1, min(127, vel)))


@dataclass
class _LeftToRight:
    """The left-to-right view of a fill (:meth:`TransformerComposer.infill`): the same prefix
    without the suffix, in its own cache. It joins the mixture from the gap's first note on
    (fed that note with the shifts counted from ``t``, its last onset); before, the infilling
    view decides alone (it knows where the gap starts)."""

    cache: KVCache
    h: torch.Tensor
    t: int
    weight: float  # 1 − the card's fill.fim_weight
    active: bool = False

    def feed(self, model: MusicTransformer, s: int, p: int, d: int, v: int, t: int, bar_ticks: int, style: int) -> None:
        """One event of the fill (onset ``t``, ``s`` after the previous one); until the first
        note, nothing (the first note comes with the GAP events its longer shift needs here)."""
        if not self.active:
            if p >= T.N_PITCH:
                return
            chain = T.chain_to(self.t, t, p)
            events = zip(chain["shift"][:-1], chain["pitch"][:-1], chain["time"][:-1])
            for cs, cp, ct in events:
                m = int(T.metric_index(int(ct), bar_ticks))
                model.step(int(cs), int(cp), T.DUR_NONE, T.VEL_NONE, m, self.cache, style=style, time=int(ct))
            s, self.active = int(chain["shift"][-1]), True
        m = int(T.metric_index(t, bar_ticks))
        self.h, _ = model.step(s, p, d, v, m, self.cache, style=style, time=t)
        self.t = t


@dataclass
class _Rows:
    """What one event is decided from (:meth:`TransformerComposer._decide`): hidden states
    (rows, d_model), each row's log weight in the mixture and its transposition, and the pitch
    gathers that move each row's pitch distribution back (:func:`transformer.pitch_gather`)."""

    h: torch.Tensor
    logw: torch.Tensor
    transpositions: torch.Tensor
    index: torch.Tensor
    impossible: torch.Tensor
    moved: bool  # whether any row is transposed

    @staticmethod
    def of(n_out: int, *views: tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]) -> _Rows:
        """Rows of ``views``: ``(h, log weights, transpositions)`` each (weights may be −inf)."""
        h = torch.cat([v[0] for v in views])
        logw = torch.cat([v[1] for v in views]).float()
        ks = tuple(k for v in views for k in v[2])
        shifts, index, impossible = _gathers(ks, n_out)
        return _Rows(h, logw, shifts, index, impossible, any(ks))


_GATHERS: dict[tuple[tuple[int, ...], int], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}


def _gathers(ks: tuple[int, ...], n_out: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``ks`` as a tensor and :func:`views.pitch_gather`, built once per set of transpositions
    (every note of a draw asks for the same)."""
    key = (ks, n_out)
    if key not in _GATHERS:
        _GATHERS[key] = (torch.tensor(ks), *pitch_gather(ks, n_out))
    return _GATHERS[key]


class TransformerComposer(Composer):
    """Generates with :class:`MusicTransformer`, one note event per pass, with a KV cache.

    Each event is decided attribute by attribute (shift, then pitch, then duration), each
    sampled with the same temperature / top-k / top-p. The first generated note starts at or
    after the end of the primer (earlier shifts are masked out). A model trained for infilling
    (``config.infill``) also fills gaps (:meth:`infill`).

    With constraints, the shift may only reach onsets where some note is allowed, or the
    longest shift (48 ticks), which can always carry a GAP event (no note): the fallback that
    never dead-ends. When filling, time may not pass the gap's end B, and reaching B is the END.
    """

    name = "music-transformer"
    kind = "transformer"
    model: MusicTransformer

    @property
    def can_infill(self) -> bool:  # type: ignore[override]
        return bool(getattr(self.model.config, "infill", False))

    @property
    def fill_fim_weight(self) -> float:
        """The infilling view's weight ``w`` in a fill's two-view mixture (the card's
        ``fill.fim_weight``, chosen on validation gaps; 1 without one: that view alone)."""
        w = float(self.card.get("fill", {}).get("fim_weight", 1.0))
        return w if 0.0 < w < 1.0 else 1.0

    @torch.inference_mode()
    def _decide(
        self,
        rows: _Rows,
        t: int,
        min_shift: int,
        bar_ticks: int,
        options: SamplingOptions,
        rng: torch.Generator,
        tracker: ConstraintTracker | None = None,
        end_tick: int | None = None,
    ) -> tuple[int, int, int, int, int]:
        """Sample the next event after the hidden states of ``rows`` at onset ``t``:
        ``(shift, pitch, duration, velocity bin, bar position)``; ``end_tick``: filling a gap
        that ends there (pitch END at the end).

        With more than one row (the views of the transposition ensemble, and while filling, the
        left-to-right view too) the event is drawn from the rows' mixture under their weights,
        attribute by attribute: each attribute from the mixture under the weights so far, after
        which each row's weight is multiplied by the probability it gave the drawn value (its
        posterior), which samples the compound event exactly from the mixture, masks included.
        Each row's pitch distribution is first moved back by its transposition."""
        model = self.model
        h, n_rows = rows.h, rows.h.shape[0]
        logw = rows.logw.clone()

        def pick(head, mask, pitch: bool = False) -> int:
            logits = head(h).float()
            if pitch and rows.moved:
                logits = untranspose_logits(logits, rows.index, rows.impossible)
            return _mixture_sample(logits, logw, mask, options, rng, tracker)

        shifts = np.arange(T.N_SHIFT)
        shift_mask = shifts >= min_shift
        if end_tick is not None:
            shift_mask &= t + shifts <= end_tick
        if tracker is not None:
            ticks = t + shifts
            ok = tracker.onsets_allowed(ticks)  # where a note may start
            if end_tick is None:
                ok[T.MAX_SHIFT] = True  # a GAP (no note) is always possible there…
            else:
                ok[T.MAX_SHIFT] |= t + T.MAX_SHIFT < end_tick
                ok |= ticks == end_tick  # …and, filling a gap, the END at its end
            shift_mask &= ok
        s = pick(model.shift_logits, shift_mask)
        m = int(T.metric_index(t + s, bar_ticks))
        s_t, m_t = torch.full((n_rows,), s), torch.full((n_rows,), m)
        n_out = model.n_pitch_out
        pitch_mask = np.zeros(n_out, bool)
        at_end = end_tick is not None and t + s == end_tick
        if at_end:
            pitch_mask[T.END] = True
        else:
            if tracker is None:
                pitch_mask[: T.N_PITCH] = True
            elif tracker.note_allowed_at(t + s):
                pitch_mask[: T.N_PITCH] = tracker.pitch_mask(t + s)
            # a GAP event always advances by the longest shift (and not onto a gap's end)
            pitch_mask[T.GAP] = s == T.MAX_SHIFT and (end_tick is None or t + s < end_tick)
        p = pick(lambda x: model.pitch_logits(x, s_t, m_t), pitch_mask, pitch=True)
        if p == T.GAP or (at_end and p == T.END):
            return s, p, T.DUR_NONE, T.VEL_NONE, m
        dur_mask = tracker.duration_mask(t + s) if tracker is not None else None
        p_t = in_each_view(p, rows.transpositions)  # each row's own pitch
        d = pick(lambda x: model.dur_logits(x, s_t, m_t, p_t), dur_mask)
        v = T.VEL_NONE
        if model.config.use_velocity:
            d_t = torch.full((n_rows,), d)
            v = pick(lambda x: model.vel_logits(x, s_t, m_t, p_t, d_t), None)
        return s, p, d, v, m

    def _generate(
        self,
        pr: Primer,
        n_notes: int,
        options: SamplingOptions,
        limit_tick: int | None,
        tracker: ConstraintTracker | None = None,
        style: int = 0,
    ) -> Iterator[GenerationStep]:
        t_start = time.perf_counter()
        model = self.model
        cfg = model.config
        rng = options.generator()
        ev = T.encode_note_events(pr.grid, use_velocity=cfg.use_velocity, bos=True)
        cols = {k: [int(x) for x in getattr(ev, k)] for k in ("shift", "pitch", "dur", "vel", "time", "source")}
        t = cols["time"][-1]
        while pr.end_tick - t > T.MAX_SHIFT:  # long silence at the end of the primer: GAP events
            t += T.MAX_SHIFT
            for k, v in zip(cols, (T.MAX_SHIFT, T.GAP, T.DUR_NONE, T.VEL_NONE, t, -1)):
                cols[k].append(v)
        min_shift = max(0, pr.end_tick - t)  # the continuation starts after the primer
        cols["metric"] = [int(T.metric_index(x, pr.bar_ticks)) for x in cols["time"]]
        yield from self._run(
            cols,
            t,
            min_shift,
            pr.bar_ticks,
            pr.origin_ticks,
            len(pr.notes),
            pr.velocity,
            n_notes,
            options,
            rng,
            limit_tick,
            None,
            tracker,
            style,
            t_start,
        )

    def _run(
        self,
        cols: dict[str, list[int]],
        t: int,
        min_shift: int,
        bar_ticks: int,
        origin_ticks: int,
        n_primer: int,
        velocity: int,
        n_notes: int,
        options: SamplingOptions,
        rng: torch.Generator,
        limit_tick: int | None,
        end_tick: int | None,
        tracker: ConstraintTracker | None,
        style: int,
        t_start: float,
        l2r: _LeftToRight | None = None,
    ) -> Iterator[GenerationStep]:
        """The sampling loop over a prepared event history ``cols`` (ending at onset ``t``);
        ``l2r``: a fill's left-to-right view, mixed in from the gap's first note on."""
        model = self.model
        cfg = model.config
        keys = ("shift", "pitch", "dur", "vel", "metric")

        def prefill(count: int):
            cache = model.new_cache(self._transpositions(options))
            x = {k: torch.tensor(cols[k][-count:]) for k in (*keys, "time")}
            h, attn = model.prefill(
                x["shift"], x["pitch"], x["dur"], x["vel"], x["metric"], cache, style=style, time=x["time"]
            )
            return cache, h, attn

        cache, h, attn = prefill(min(len(cols["pitch"]), cfg.max_len))
        made = 0
        guard = 4 * n_notes + 256 if end_tick is None else 4 * n_notes + 256 + (end_tick - t) // T.MAX_SHIFT
        t_last = t_start
        n_out = model.n_pitch_out
        while made < n_notes and guard > 0:
            guard -= 1
            if l2r is not None and l2r.active:
                w = math.log1p(-l2r.weight)
                rows = _Rows.of(
                    n_out,
                    (h, cache.log_weights() + w, cache.transpositions),
                    (l2r.h, l2r.cache.log_weights() + math.log(l2r.weight), l2r.cache.transpositions),
                )
            else:
                rows = _Rows.of(n_out, (h, cache.log_weights(), cache.transpositions))
            s, p, d, v, m = self._decide(rows, t, min_shift, bar_ticks, options, rng, tracker, end_tick)
            if limit_tick is not None and t + s >= limit_tick:
                return
            t += s
            min_shift = 0
            if end_tick is not None and p == T.END:
                return
            src = -1
            if p < T.N_PITCH:
                src = n_primer + made
                if tracker is not None:
                    tracker.add(t, int(T.DURATION_TICKS[d]), p)
                vel = T.bin_velocity(v) if v < T.N_VEL_BINS else velocity
                step = GenerationStep(
                    note=Note(
                        p, (t + origin_ticks) / T.TICKS_PER_BEAT, int(T.DURATION_TICKS[d]) / T.TICKS_PER_BEAT, vel
                    ),
                    index=made,
                    attention=attn,
                    attention_notes=np.asarray(cols["source"][-len(attn) :], dtype=np.int64),
                    seconds=time.perf_counter() - t_last,
                    constraint_nats=tracker.nats[-1] if tracker is not None else 0.0,
                )
                made += 1
                yield step
                t_last = time.perf_counter()
                if made >= n_notes:
                    return
            for k, val in zip(("shift", "pitch", "dur", "vel", "time", "source", "metric"), (s, p, d, v, t, src, m)):
                cols[k].append(val)
            if cache.next_pos >= cfg.pos_limit:  # rare: re-encode the recent past from position 0
                cache, h, attn = prefill(cfg.max_len // 2)
            else:
                h, attn = model.step(s, p, d, v, m, cache, style=style, time=t)
            if l2r is not None:
                if l2r.cache.next_pos + T.MAX_SHIFT >= cfg.pos_limit:  # rarer still: the fill goes on alone
                    l2r = None
                else:
                    l2r.feed(model, s, p, d, v, t, bar_ticks, style)
            if len(cols["pitch"]) > 4 * cfg.max_len:  # bound the bookkeeping lists
                for k in cols:
                    del cols[k][: cfg.max_len]

    def infill(
        self,
        score: Score | Sequence[Note],
        start_bar: int,
        end_bar: int,
        max_notes: int = 512,
        temperature: float = 1.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int | None = None,
        beats_per_bar: int | None = None,
        constraints: Constraints | None = None,
        style: str | int | None = None,
        views: int | None = None,
    ) -> Iterator[GenerationStep]:
        """Fill bars ``[start_bar, end_bar)`` (0-based) given the notes before and after them:
        a lazy iterator of :class:`GenerationStep` (notes in the score's time line, onsets in the
        gap), like :meth:`generate`. Notes of the input whose onsets fall in the gap are what
        is replaced (they are not shown to the model). Chords apply from ``start_bar`` on.
        Raises ``ValueError`` with one line at once for a gap that cannot be filled."""
        if not self.can_infill:
            raise ValueError(
                f"{self.card.get('name', self.name)} cannot fill gaps (it was trained left to right "
                "only); retrain it with fill-in-the-middle (gdl-studio train music-transformer)"
            )
        options = _check_options(max_notes, SamplingOptions(temperature, top_k, top_p, seed, views))
        if constraints is not None:
            constraints.validated()
        style_id = resolve_style(style, self.card, getattr(self.model.config, "n_styles", 0))
        fc = prepare_fill(score, start_bar, end_bar, beats_per_bar)
        context = list(zip(fc.prefix.start, fc.prefix.end)) + list(zip(fc.suffix.start, fc.suffix.end))
        tracker = _tracker(constraints, fc.bar_ticks, fc.a_tick, context)
        return self._infill(fc, max_notes, options, tracker, style_id)

    def _infill(
        self, fc: FillContext, max_notes: int, options: SamplingOptions, tracker: ConstraintTracker | None, style: int
    ) -> Iterator[GenerationStep]:
        from gdl_studio.music.evaluate import MAX_PREFIX_EVENTS, MAX_SUFFIX_EVENTS

        t_start = time.perf_counter()
        cfg = self.model.config
        rng = options.generator()
        # source numbering: kept notes in the order of fc.kept (prefix then suffix), then generated
        n_prefix = len(fc.prefix)
        pre = T.encode_note_events(fc.prefix, use_velocity=cfg.use_velocity, bos=True)
        pre_src = np.where(pre.source >= 0, pre.source, -1)
        keep_p = min(len(pre), MAX_PREFIX_EVENTS, max(cfg.max_len // 2, 1))
        prefix = {k: np.asarray(getattr(pre, k)[-keep_p:], np.int64) for k in T.EVENT_FIELDS}
        vel_none = np.full(len(fc.suffix), T.VEL_NONE)
        suf_ev = T.encode_segment(fc.suffix.pitch, fc.suffix.start, fc.suffix.dur, vel_none, t0=fc.b_tick)
        keep_s = min(len(suf_ev["pitch"]), MAX_SUFFIX_EVENTS, max(cfg.max_len // 4, 1))
        n = int((suf_ev["pitch"][:keep_s] < T.N_PITCH).sum())
        suf_notes = (fc.suffix.pitch[:n], fc.suffix.start[:n], fc.suffix.dur[:n], vel_none[:n])
        order = cfg.fim_order
        # room for the middle before the ring-buffer cache slides (in "spm" it would slide the
        # suffix out first): the prefix's event rate over the gap, at most half the context
        span = max(int(prefix["time"][-1]) - int(prefix["time"][0]), T.TICKS_PER_BEAT) if keep_p else 1
        expected = int(1.25 * keep_p * (fc.b_tick - fc.a_tick) / span) + 8
        budget = cfg.max_len - min(max(expected, 8), cfg.max_len // 2)
        arranged = T.fim_arrange(prefix, suf_notes, None, fc.a_tick, fc.b_tick, with_end=False, order=order)
        over = len(arranged["events"]["pitch"]) - budget
        if over > 0:  # drop the oldest prefix events (the suffix and the structural events stay)
            keep_p = max(1, keep_p - over)
            prefix = {k: v[-keep_p:] for k, v in prefix.items()}
            arranged = T.fim_arrange(prefix, suf_notes, None, fc.a_tick, fc.b_tick, with_end=False, order=order)
        seq = arranged["events"]
        # sources: prefix notes by index, suffix notes after them, sentinels -1
        src = np.full(len(seq["pitch"]), -1, np.int64)
        p0, s0 = arranged["prefix_index"], arranged["suffix_index"]
        src[p0 : p0 + keep_p] = pre_src[-keep_p:]
        suf_pos = s0 + np.nonzero(seq["pitch"][s0 : s0 + arranged["suffix_len"]] < T.N_PITCH)[0]
        src[suf_pos] = n_prefix + fc.suffix.source[: suf_pos.size]
        cols = {k: [int(x) for x in seq[k]] for k in T.EVENT_FIELDS}
        cols["source"] = [int(x) for x in src]
        cols["metric"] = [int(T.metric_index(x, fc.bar_ticks)) for x in cols["time"]]
        l2r = None
        w = self.fill_fim_weight
        if w < 1.0:  # the left-to-right view: the same prefix, no suffix
            cache = self.model.new_cache(self._transpositions(options))
            x = {k: torch.from_numpy(np.asarray(prefix[k], np.int64)) for k in T.EVENT_FIELDS}
            metric = torch.from_numpy(T.metric_index(prefix["time"], fc.bar_ticks).astype(np.int64))
            h, _ = self.model.prefill(
                x["shift"], x["pitch"], x["dur"], x["vel"], metric, cache, style=style, time=x["time"]
            )
            l2r = _LeftToRight(cache, h, int(prefix["time"][-1]), 1.0 - w)
        yield from self._run(
            cols,
            fc.a_tick,
            0,
            fc.bar_ticks,
            0,
            len(fc.kept),
            fc.velocity,
            max_notes,
            options,
            rng,
            None,
            fc.b_tick,
            tracker,
            style,
            t_start,
            l2r,
        )
