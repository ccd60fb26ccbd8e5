"""Scoring whole pieces: NLL in nats per note and next-note accuracy, comparable across models.

*Nats per note* is the total negative log-likelihood of a piece's token sequence (everything
after the start token: time shifts, rests, pitches, durations) divided by its number of notes,
so the LSTM's steps and the Transformer's events are measured on the same footing.
*Next-note accuracy* is the share of notes whose pitch is the model's most likely pitch at the
moment that note is predicted (given the true history and that a note comes next; for the
Transformer: given the true shift, i.e. the onset, as the LSTM is given its step's onset).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from gdl_studio.music import tokens as T
from gdl_studio.music.corpus import CorpusPiece
from gdl_studio.music.lstm import AttentionLSTM, lstm_inputs
from gdl_studio.music.transformer import EVENT_KEYS, MusicTransformer, event_arrays
from gdl_studio.music.views import ViewSpec, view_transpositions


@dataclass
class Scores:
    """Sums over pieces; properties give the per-note figures."""

    nats: float = 0.0
    notes: int = 0
    tokens: int = 0
    correct: int = 0
    predicted: int = 0
    per_piece: list[float] = field(default_factory=list)

    def add(self, nats: float, notes: int, tokens: int, correct: int, predicted: int) -> None:
        self.nats += nats
        self.notes += notes
        self.tokens += tokens
        self.correct += correct
        self.predicted += predicted
        self.per_piece.append(nats / max(notes, 1))

    @property
    def nats_per_note(self) -> float:
        return self.nats / max(self.notes, 1)

    @property
    def nats_per_token(self) -> float:
        return self.nats / max(self.tokens, 1)

    @property
    def accuracy(self) -> float:
        return self.correct / max(self.predicted, 1)

    def summary(self) -> dict:
        return {
            "nats_per_note": self.nats_per_note,
            "nats_per_token": self.nats_per_token,
            "next_note_accuracy": self.accuracy,
            "notes": self.notes,
            "tokens": self.tokens,
            "pieces": len(self.per_piece),
        }


def _batched(pieces: Sequence[CorpusPiece], key, max_tokens: int):
    order = sorted(range(len(pieces)), key=lambda i: key(pieces[i]))
    batch: list[int] = []
    longest = 0
    for i in order:
        n = key(pieces[i])
        if batch and max(longest, n) * (len(batch) + 1) > max_tokens:
            yield [pieces[j] for j in batch]
            batch, longest = [], 0
        batch.append(i)
        longest = max(longest, n)
    if batch:
        yield [pieces[j] for j in batch]


@torch.no_grad()
def score_lstm(
    model: AttentionLSTM,
    pieces: Sequence[CorpusPiece],
    device: str = "cpu",
    max_tokens: int = 65536,
    use_style: bool = True,
    views: ViewSpec | None = None,
) -> Scores:
    """NLL and accuracy of the LSTM on whole pieces (each from its first step, state zero), under
    its transposition ensemble (:meth:`AttentionLSTM.mixture_nll`; ``views``, a radius or the
    transpositions, None: the config's ``transpose_views``; accuracy from the untransposed view);
    a model with styles is told each piece's style (unknown if not ``use_style``)."""
    model.eval()
    out = Scores()
    keys = ("note", "dur", "voice", "n_voices", "metric", "target_note", "target_dur")
    n_views = len(view_transpositions(model.config.transpose_views if views is None else views))
    for batch in _batched(pieces, lambda p: len(p.step_note) * n_views, max_tokens):
        inputs = [lstm_inputs(p.step_note, p.step_dur, p.n_voices, p.bar_ticks) for p in batch]
        t_max = max(len(p.step_note) for p in batch)
        arrs = {k: np.zeros((len(batch), t_max), np.int64) for k in keys}
        for b, inp in enumerate(inputs):
            for k in keys:
                arrs[k][b, : len(inp[k])] = inp[k]
        ten = {k: torch.from_numpy(v).to(device) for k, v in arrs.items()}
        style = torch.tensor([_style_of(p, model.config, use_style) for p in batch], device=device)
        nll, note_logits = model.mixture_nll(ten, style=style[:, None].expand(len(batch), t_max), views=views)
        best_pitch = note_logits[..., : T.N_PITCH].argmax(-1)
        for b, p in enumerate(batch):
            n = len(p.step_note)
            is_note = ten["target_note"][b, :n] < T.N_PITCH
            correct = int(((best_pitch[b, :n] == ten["target_note"][b, :n]) & is_note).sum())
            out.add(float(nll[b, :n].double().sum()), p.n_notes, n, correct, int(is_note.sum()))
    return out


def event_windows(n: int, max_len: int) -> list[tuple[int, int, int]]:
    """``(start, end, first_scored)`` windows over ``n`` targets: each target is scored once,
    with at least half a context of history once the piece is longer than the context."""
    if n <= max_len:
        return [(0, n, 0)]
    stride = max_len // 2
    out = [(0, max_len, 0)]
    start = stride
    while True:
        end = min(start + max_len, n)
        out.append((start, end, out[-1][1]))
        if end == n:
            return out
        start += stride


@torch.no_grad()
def score_transformer(
    model: MusicTransformer,
    pieces: Sequence[CorpusPiece],
    device: str = "cpu",
    batch_windows: int = 16,
    use_style: bool = True,
    views: ViewSpec | None = None,
) -> Scores:
    """NLL and accuracy of the Transformer on whole pieces (sliding windows for long ones),
    under the model's transposition ensemble (:meth:`MusicTransformer.mixture_nll`; ``views``,
    a radius or the transpositions, None: the config's ``transpose_views``; accuracy from the
    untransposed view).

    A model with a style embedding is told each piece's style (its source), or the unknown
    style if ``use_style`` is false."""
    model.eval()
    cfg = model.config
    out = Scores()
    jobs = []  # (piece index, arrays of one window, first scored position in the window)
    per_piece: list[list[float]] = []  # nats, correct, predicted, tokens
    for pi, p in enumerate(pieces):
        arr = event_arrays(p.note_events(cfg.use_velocity), p.bar_ticks)
        n = len(arr["tg_pitch"])
        per_piece.append([0.0, 0, 0, n])
        for s, e, first in event_windows(n, cfg.max_len):
            jobs.append((pi, {k: arr[k][s:e] for k in EVENT_KEYS}, first - s))
    for k in range(0, len(jobs), batch_windows):
        chunk = jobs[k : k + batch_windows]
        t_max = max(len(j[1]["tg_pitch"]) for j in chunk)
        batch = {key: np.zeros((len(chunk), t_max), np.int64) for key in EVENT_KEYS}
        for b, (_, arr, _) in enumerate(chunk):
            for key in EVENT_KEYS:
                batch[key][b, : len(arr[key])] = arr[key]
        ten = {key: torch.from_numpy(v).to(device) for key, v in batch.items()}
        style = torch.tensor([_style_of(pieces[pi], cfg, use_style) for pi, _, _ in chunk], device=device)
        nll, pitch_logits = model.mixture_nll(ten, style=style, views=views)
        best = pitch_logits[..., : T.N_PITCH].argmax(-1)
        for b, (pi, arr, first) in enumerate(chunk):
            n = len(arr["tg_pitch"])
            tgt = ten["tg_pitch"][b, first:n]
            is_note = tgt < T.N_PITCH
            acc = per_piece[pi]
            acc[0] += float(nll[b, first:n].double().sum())
            acc[1] += int(((best[b, first:n] == tgt) & is_note).sum())
            acc[2] += int(is_note.sum())
    for p, (nats, correct, predicted, tokens) in zip(pieces, per_piece):
        out.add(nats, p.n_notes, int(tokens), int(correct), int(predicted))
    return out


def _style_of(piece, cfg, use_style: bool = True) -> int:
    """The style id a model is told for ``piece`` (0 = unknown)."""
    return style_for_model(int(getattr(piece, "style", 0)) if use_style else 0, cfg)


def style_for_model(style: int, cfg) -> int:
    """``style`` if the model (config ``cfg``) knows it, else 0 (unknown)."""
    n = getattr(cfg, "n_styles", 0)
    return int(style) if 0 <= int(style) < n else 0


# ---------------------------------------------------------------------------------------------
# Infilling


MAX_PREFIX_EVENTS = 256  # context before the gap (events) for infilling and its L2R yardstick
MAX_SUFFIX_EVENTS = 128  # context after the gap


@dataclass
class Gap:
    """A held-out gap: bars ``[a_tick, b_tick)`` of piece ``piece`` (an index)."""

    piece: int
    a_tick: int
    b_tick: int


def heldout_gaps(pieces: Sequence[CorpusPiece], min_bars: int = 2, max_bars: int = 4, seed: int = 0) -> list[Gap]:
    """One gap of ``min_bars``–``max_bars`` bars per piece, fixed by the piece's id: a bar range
    with notes before it, inside it and after it (pieces with none are skipped)."""
    import zlib

    out = []
    for i, p in enumerate(pieces):
        rng = np.random.default_rng(zlib.crc32(p.piece_id.encode("utf-8")) ^ seed)
        bars = int(rng.integers(min_bars, max_bars + 1))
        bar = p.bar_ticks
        start = np.sort(p.start)
        first_bar = int(start[0]) // bar + 1
        last_a = int(start[-1]) // bar - bars
        cands = []
        for a_bar in range(first_bar, last_a + 1):
            a, b = a_bar * bar, (a_bar + bars) * bar
            lo, hi = np.searchsorted(start, [a, b])
            if 0 < lo < hi < start.size:
                cands.append((a, b))
        if cands:
            a, b = cands[int(rng.integers(len(cands)))]
            out.append(Gap(i, a, b))
    return out


def _notes_in(p: CorpusPiece, lo: int, hi: int | None) -> T.NoteArrays:
    """(pitch, start, dur, vel) of the piece's notes with onset in [lo, hi), in event order."""
    g = p.grid_notes()
    keep = (g.start >= lo) & (g.start < hi if hi is not None else True)
    idx = np.nonzero(keep)[0]
    return g.pitch[idx], g.start[idx], g.dur[idx], np.full(idx.size, T.VEL_NONE)


def prefix_events(ev: dict[str, np.ndarray], a_tick: int, max_events: int) -> dict[str, np.ndarray]:
    """The last ``max_events`` events (BOS first if it fits) of an event stream before tick A."""
    n = int(np.searchsorted(ev["time"], a_tick, side="left")) if len(ev["time"]) else 0
    # times are non-decreasing, so events [0, n) are those before A
    lo = max(0, n - max_events)
    return {k: np.asarray(ev[k][lo:n], np.int64) for k in T.EVENT_FIELDS}


def infill_case(
    p: CorpusPiece,
    a_tick: int,
    b_tick: int,
    max_len: int,
    max_prefix: int = MAX_PREFIX_EVENTS,
    max_suffix: int = MAX_SUFFIX_EVENTS,
    order: str = "psm",
) -> dict:
    """The two sequences that score one gap: the infilling one (prefix, suffix, then the middle)
    and the left-to-right one (prefix then the middle), with where their scored parts start
    (``order``: the model's fill-in-the-middle layout, see :func:`tokens.fim_arrange`)."""
    ev = {k: np.asarray(v, np.int64) for k, v in p.note_events(False).items()}
    suffix_notes = _notes_in(p, b_tick, None)
    suffix_ev = T.encode_segment(*suffix_notes, t0=b_tick)
    keep_s = min(len(suffix_ev["pitch"]), max_suffix)
    # the suffix's notes that fit (events beyond the cut dropped with their notes)
    n_suffix_notes = int((suffix_ev["pitch"][:keep_s] < T.N_PITCH).sum())
    pitch, start, dur, vel = suffix_notes
    n_s = n_suffix_notes
    suffix_notes = (pitch[:n_s], start[:n_s], dur[:n_s], vel[:n_s] if vel is not None else None)
    middle_notes = _notes_in(p, a_tick, b_tick)
    n_mid = len(middle_notes[0])
    prefix = prefix_events(ev, a_tick, max_prefix)
    while True:
        arranged = T.fim_arrange(prefix, suffix_notes, middle_notes, a_tick, b_tick, order=order)
        fim, mid_index = arranged["events"], arranged["mid_index"]
        if len(fim["pitch"]) <= max_len + 1 or len(prefix["pitch"]) <= 1:
            break
        cut = len(fim["pitch"]) - (max_len + 1)
        prefix = {k: v[min(cut, len(prefix["pitch"]) - 1) :] for k, v in prefix.items()}
    t_last = int(prefix["time"][-1]) if len(prefix["time"]) else 0
    l2r = T.concat_events([prefix, T.encode_segment(*middle_notes, t0=t_last)])
    # the middle's own events (its notes and the GAP events between them), without the END chain
    # that closes the gap: the left-to-right sequence has no such chain, so both score the same notes
    n_middle = len(T.encode_segment(*middle_notes, t0=a_tick)["pitch"]) if n_mid else 0
    return {
        "fim": fim,
        "fim_first": mid_index + 1,
        "fim_last": mid_index + 1 + n_middle,
        "l2r": l2r,
        "l2r_first": len(prefix["pitch"]),
        "notes": n_mid,
        "bar_ticks": p.bar_ticks,
        "style": p.style,
    }


def _event_nll(
    model: MusicTransformer, seqs: list[tuple[dict, int, int | None, int, int]], device: str, batch: int
) -> list[np.ndarray]:
    """NLL of each of the events ``[first, last)`` (``last`` None: to the end) of each ``(events,
    first, last, bar_ticks, style)``, teacher-forced in one pass per sequence (position 0 = the
    first event), under the model's transposition ensemble (as :func:`score_transformer`)."""
    cfg = model.config
    out = []
    for k in range(0, len(seqs), batch):
        chunk = seqs[k : k + batch]
        t_max = max(len(s[0]["pitch"]) - 1 for s in chunk)
        arr = {
            f"{a}_{f}": np.zeros((len(chunk), t_max), np.int64)
            for a in ("in", "tg")
            for f in ("shift", "pitch", "dur", "vel", "metric")
        }
        arr["in_time"] = np.zeros((len(chunk), t_max), np.int64)
        for b, (ev, _, _, bar, _) in enumerate(chunk):
            n = len(ev["pitch"]) - 1
            metric = T.metric_index(ev["time"], bar).astype(np.int64)
            for f in ("shift", "pitch", "dur", "vel"):
                arr[f"in_{f}"][b, :n] = ev[f][:-1]
                arr[f"tg_{f}"][b, :n] = ev[f][1:]
            arr["tg_pitch"][b, :n] = T.target_pitch(ev["pitch"][1:])
            arr["in_metric"][b, :n] = metric[:-1]
            arr["tg_metric"][b, :n] = metric[1:]
            arr["in_time"][b, :n] = ev["time"][:-1]
        ten = {key: torch.from_numpy(v).to(device) for key, v in arr.items()}
        style = torch.tensor([style_for_model(s[4], cfg) for s in chunk], device=device)
        nll, _ = model.mixture_nll(ten, style=style)
        for b, (ev, first, last, _, _) in enumerate(chunk):
            n = len(ev["pitch"]) - 1 if last is None else last - 1
            out.append(nll[b, first - 1 : n].detach().double().cpu().numpy())
    return out


def _sequence_nll(
    model: MusicTransformer, seqs: list[tuple[dict, int, int | None, int, int]], device: str, batch: int
) -> list[float]:
    """Summed NLL of the scored events of each sequence (see :func:`_event_nll`)."""
    return [float(x.sum()) for x in _event_nll(model, seqs, device, batch)]


GAP_PARTS = 5  # score_infill's by_part: the gap's events in fifths, first to last


def _by_part(per_event: list[np.ndarray], parts: int = GAP_PARTS) -> list[float]:
    """Mean NLL per event of each of ``parts`` equal shares of every gap's events (its first
    fifth, second fifth, …), pooled over the gaps."""
    tot, cnt = np.zeros(parts), np.zeros(parts)
    for x in per_event:
        part = np.minimum((np.arange(len(x)) * parts) // max(len(x), 1), parts - 1)
        np.add.at(tot, part, x)
        np.add.at(cnt, part, 1)
    return [float(t / c) if c else float("nan") for t, c in zip(tot, cnt)]


def fill_event_nll(case: dict, fim_nll: np.ndarray, l2r_nll: np.ndarray, fim_weight: float) -> np.ndarray:
    """Per-event NLL of a gap's events as the two-view fill generates them
    (:meth:`TransformerComposer.infill`): the infilling view alone up to and including the
    gap's first note, then for each later event the mixture ``w·p_fill + (1 − w)·p_l2r`` of the
    infilling view (``w`` = ``fim_weight``) and the left-to-right view (the same prefix without
    the suffix). After the first note both views' events are the same (only the shifts up to
    the first note count from different ticks: A after the HOLE chain, the prefix's last onset
    left to right). ``fim_weight`` 1: the infilling view alone."""
    if fim_weight >= 1.0:
        return fim_nll
    fim_mid = case["fim"]["pitch"][case["fim_first"] : case["fim_last"]]
    l2r_mid = case["l2r"]["pitch"][case["l2r_first"] :]
    kf = int(np.argmax(fim_mid < T.N_PITCH)) + 1  # events up to and including the first note
    kl = int(np.argmax(l2r_mid < T.N_PITCH)) + 1
    if len(fim_mid) - kf != len(l2r_mid) - kl or not np.array_equal(fim_mid[kf:], l2r_mid[kl:]):
        raise ValueError("the two views of a gap disagree after its first note")
    mixed = -np.logaddexp(np.log(fim_weight) - fim_nll[kf:], np.log1p(-fim_weight) - l2r_nll[kl:])
    return np.concatenate([fim_nll[:kf], mixed])


GapViews = tuple[list[dict], list[np.ndarray], list[np.ndarray]]  # :func:`gap_views`


def fill_nats_per_note(views: GapViews, fim_weight: float) -> float:
    """Nats per note of the gaps of ``views`` (:func:`gap_views`) filled as the app fills with
    ``fim_weight`` (:func:`fill_event_nll`)."""
    cases, fim_ev, l2r_ev = views
    total = sum(float(fill_event_nll(c, f, b, fim_weight).sum()) for c, f, b in zip(cases, fim_ev, l2r_ev))
    return total / max(sum(c["notes"] for c in cases), 1)


@torch.no_grad()
def gap_views(
    model: MusicTransformer,
    pieces: Sequence[CorpusPiece],
    gaps: Sequence[Gap],
    max_suffix: int = MAX_SUFFIX_EVENTS,
    device: str = "cpu",
    batch: int = 16,
) -> GapViews:
    """The gaps with notes (:func:`infill_case`, at most ``max_suffix`` events after the gap;
    0: none) and the per-event NLL of their middles in the infilling view and left to right."""
    model.eval()
    order = model.config.fim_order
    cases = [
        infill_case(pieces[g.piece], g.a_tick, g.b_tick, model.config.max_len, max_suffix=max_suffix, order=order)
        for g in gaps
    ]
    cases = [c for c in cases if c["notes"] > 0]
    fim_ev = _event_nll(
        model, [(c["fim"], c["fim_first"], c["fim_last"], c["bar_ticks"], c["style"]) for c in cases], device, batch
    )
    l2r_ev = _event_nll(
        model, [(c["l2r"], c["l2r_first"], None, c["bar_ticks"], c["style"]) for c in cases], device, batch
    )
    return cases, fim_ev, l2r_ev


@torch.no_grad()
def score_infill(
    model: MusicTransformer,
    pieces: Sequence[CorpusPiece],
    gaps: Sequence[Gap],
    device: str = "cpu",
    batch: int = 16,
    fim_weight: float = 1.0,
    control: bool = False,
) -> dict:
    """Nats per note of the notes of each held-out gap, filled given both sides and scored left
    to right given the same prefix only (``l2r_nats_per_note``: the same notes' events).

    ``infill_nats_per_note``: the fill as :meth:`TransformerComposer.infill` makes it with
    ``fim_weight`` (:func:`fill_event_nll`; 1: the infilling view alone), the middle's events
    without the END that closes it (``infill_end_nats_per_gap``); ``fim_nats_per_note``: the
    infilling view alone. ``control``: also ``no_suffix_nats_per_note``, the same fill with the
    music after the gap removed (what the suffix is worth). ``infill_by_part`` /
    ``l2r_by_part``: nats per event in each fifth of the gaps (first to last), which shows where
    the suffix helps (its last notes lead into it)."""
    model.eval()
    if not getattr(model.config, "infill", False):
        raise ValueError("this model was not trained to fill gaps")
    if not 0.0 < fim_weight <= 1.0:
        raise ValueError(f"fim_weight must be in (0, 1], not {fim_weight}")
    views = gap_views(model, pieces, gaps, device=device, batch=batch)
    cases, fim_ev, l2r_ev = views
    end = _sequence_nll(
        model, [(c["fim"], c["fim_last"], None, c["bar_ticks"], c["style"]) for c in cases], device, batch
    )
    fill_ev = [fill_event_nll(c, f, b, fim_weight) for c, f, b in zip(cases, fim_ev, l2r_ev)]
    notes = sum(c["notes"] for c in cases)
    out = {
        "infill_nats_per_note": fill_nats_per_note(views, fim_weight),
        "fim_nats_per_note": fill_nats_per_note(views, 1.0),
        "l2r_nats_per_note": sum(float(x.sum()) for x in l2r_ev) / max(notes, 1),
        "fim_weight": fim_weight,
        "infill_by_part": _by_part(fill_ev),
        "l2r_by_part": _by_part(l2r_ev),
        "infill_end_nats_per_gap": sum(end) / max(len(cases), 1),
        "gaps": len(cases),
        "notes": notes,
    }
    if control:
        bare = gap_views(model, pieces, gaps, max_suffix=0, device=device, batch=batch)
        out["no_suffix_nats_per_note"] = fill_nats_per_note(bare, fim_weight)
    return out
