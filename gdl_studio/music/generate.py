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

import time
from dataclasses import dataclass, replace
from typing import Iterator, Sequence

import numpy as np
import torch

from gdl_studio.music import tokens as T
from gdl_studio.music.lstm import AttentionLSTM, lstm_inputs
from gdl_studio.music.notes import GenerationStep, Note, Score
from gdl_studio.music.sampling import SamplingOptions, sample
from gdl_studio.music.transformer import MusicTransformer

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


class Composer:
    """Common part of the two generators."""

    name = "music"
    kind = ""

    def __init__(self, model: torch.nn.Module, card: dict | None = None) -> None:
        self.model = model.eval()
        self.card = card or {}

    def generate(self, primer: Score | Sequence[Note] | None, n_notes: int = 64, temperature: float = 1.0,
                 top_k: int = 0, top_p: float = 1.0, seed: int | None = None, beats_per_bar: int | None = None,
                 bars: int | None = None) -> Iterator[GenerationStep]:
        """Continue ``primer`` by ``n_notes`` notes (and at most ``bars`` bars if given); a lazy
        iterator of :class:`GenerationStep`. Raises ``ValueError`` for bad options at once."""
        options = _check_options(n_notes, SamplingOptions(temperature, top_k, top_p, seed))
        pr = prepare_primer(primer, beats_per_bar)
        limit = None if bars is None else pr.end_tick + int(bars) * pr.bar_ticks
        return self._generate(pr, n_notes, options, limit)

    def _generate(self, pr: Primer, n_notes: int, options: SamplingOptions, limit_tick: int | None) -> Iterator[GenerationStep]:
        raise NotImplementedError

    def continued(self, score: Score, n_notes: int, **kwargs) -> Score:
        """The primer followed by its continuation (all of it, at once), as a new :class:`Score`;
        the continuation goes on a track of its own, after the primer's tracks."""
        track = max((n.track for n in score.notes), default=-1) + 1
        new = [replace(s.note, track=track) for s in self.generate(score, n_notes, **kwargs)]
        return Score(notes=list(score.notes) + new, tempo_bpm=score.tempo_bpm, beats_per_bar=score.beats_per_bar,
                     ticks_per_beat=score.ticks_per_beat, title=score.title).sorted()


def continue_score(composer: Composer, primer: Score | Sequence[Note] | None, n_notes: int = 64,
                   **kwargs) -> Iterator[GenerationStep]:
    """``composer.generate(primer, n_notes, **kwargs)``: the lazy continuation of a primer."""
    return composer.generate(primer, n_notes, **kwargs)


class LSTMComposer(Composer):
    """Generates with :class:`AttentionLSTM`, one step (note or rest of one voice) at a time.

    The number of voices is the primer's (notes are dealt into voices as in training; more
    than eight sounding at once are ignored for conditioning), or four without a primer.
    """

    name = "music-lstm"
    kind = "lstm"
    model: AttentionLSTM

    def _generate(self, pr: Primer, n_notes: int, options: SamplingOptions, limit_tick: int | None) -> Iterator[GenerationStep]:
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
            state = model.prefill(*(torch.as_tensor(inp[k][skip:], dtype=torch.long)
                                    for k in ("note", "dur", "voice", "n_voices", "metric")))
        clock = T.VoiceClock(n_voices, np.full(n_voices, pr.end_tick if len(steps) else 0))
        # the note fed at each input position (the previous step's note; -1 for BOS and rests)
        pos_src = ([-1] + [int(s) for s in steps.source[:-1]] if len(steps) else [])[skip:]
        if len(steps):
            prev_note, prev_dur, prev_src = int(steps.note[-1]), int(steps.dur[-1]), int(steps.source[-1])
        else:
            prev_note, prev_dur, prev_src = T.STEP_BOS, T.DUR_BOS, -1
        n_primer = len(pr.notes)
        made = 0
        guard = 16 * n_notes + 256
        t_last = t_start
        while made < n_notes and guard > 0:
            guard -= 1
            v, onset = clock.next()
            if limit_tick is not None and onset >= limit_tick:
                return
            pos_src.append(prev_src)
            metric = int(T.metric_index(onset, pr.bar_ticks))
            note_logits, feats, attn = model.step(prev_note, prev_dur, v, n_voices, metric, state)
            note = sample(note_logits, options, rng)
            dur = sample(model.duration_logits(feats, note), options, rng)
            clock.advance(dur)
            prev_note, prev_dur, prev_src = note, dur, -1
            if note < T.N_PITCH:
                prev_src = n_primer + made
                now = time.perf_counter()
                step = GenerationStep(
                    note=Note(note, (onset + pr.origin_ticks) / T.TICKS_PER_BEAT,
                              int(T.DURATION_TICKS[dur]) / T.TICKS_PER_BEAT, pr.velocity, v),
                    index=made, attention=attn, attention_notes=np.asarray(pos_src[-len(attn):], dtype=np.int64),
                    seconds=now - t_last,
                )
                made += 1
                yield step
                t_last = time.perf_counter()


class TransformerComposer(Composer):
    """Generates with :class:`MusicTransformer`, one note event per pass, with a KV cache.

    Each event is decided attribute by attribute (shift, then pitch, then duration), each
    sampled with the same temperature / top-k / top-p. The first generated note starts at or
    after the end of the primer (earlier shifts are masked out).
    """

    name = "music-transformer"
    kind = "transformer"
    model: MusicTransformer

    @torch.inference_mode()
    def _decide(self, h: torch.Tensor, t: int, min_shift: int, bar_ticks: int, options: SamplingOptions,
                rng: torch.Generator) -> tuple[int, int, int, int, int]:
        """Sample the next event after hidden state ``h`` at onset ``t``:
        ``(shift, pitch, duration, velocity bin, bar position)``."""
        model = self.model
        shift_mask = torch.arange(T.N_SHIFT) >= min_shift
        s = sample(model.shift_logits(h), options, rng, shift_mask)
        m = int(T.metric_index(t + s, bar_ticks))
        s_t, m_t = torch.tensor(s), torch.tensor(m)
        pitch_mask = torch.ones(T.N_EV_PITCH_OUT, dtype=torch.bool)
        pitch_mask[T.GAP] = s == T.MAX_SHIFT  # a GAP event always advances by the longest shift
        p = sample(model.pitch_logits(h, s_t, m_t), options, rng, pitch_mask)
        if p == T.GAP:
            return s, p, T.DUR_NONE, T.VEL_NONE, m
        d = sample(model.dur_logits(h, s_t, m_t, torch.tensor(p)), options, rng)
        v = T.VEL_NONE
        if model.config.use_velocity:
            v = sample(model.vel_logits(h, s_t, m_t, torch.tensor(p), torch.tensor(d)), options, rng)
        return s, p, d, v, m

    def _generate(self, pr: Primer, n_notes: int, options: SamplingOptions, limit_tick: int | None) -> Iterator[GenerationStep]:
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
        keys = ("shift", "pitch", "dur", "vel", "metric")

        def prefill(count: int):
            cache = model.new_cache()
            h, attn = model.prefill(*(torch.tensor(cols[k][-count:]) for k in keys), cache)
            return cache, h, attn

        cache, h, attn = prefill(min(len(cols["pitch"]), cfg.max_len))
        n_primer = len(pr.notes)
        made = 0
        guard = 4 * n_notes + 256
        t_last = t_start
        while made < n_notes and guard > 0:
            guard -= 1
            s, p, d, v, m = self._decide(h, t, min_shift, pr.bar_ticks, options, rng)
            if limit_tick is not None and t + s >= limit_tick:
                return
            t += s
            min_shift = 0
            src = -1
            if p < T.N_PITCH:
                src = n_primer + made
                vel = T.bin_velocity(v) if v < T.N_VEL_BINS else pr.velocity
                step = GenerationStep(
                    note=Note(p, (t + pr.origin_ticks) / T.TICKS_PER_BEAT, int(T.DURATION_TICKS[d]) / T.TICKS_PER_BEAT, vel),
                    index=made, attention=attn, attention_notes=np.asarray(cols["source"][-len(attn):], dtype=np.int64),
                    seconds=time.perf_counter() - t_last,
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
                h, attn = model.step(s, p, d, v, m, cache)
            if len(cols["pitch"]) > 4 * cfg.max_len:  # bound the bookkeeping lists
                for k in cols:
                    del cols[k][: cfg.max_len]
