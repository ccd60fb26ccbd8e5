"""Training of the two music models from the ``.npz`` cache (needs only torch, numpy, safetensors).

``train_music("lstm" | "transformer", …)`` trains on random crops of the training pieces with a
random transposition in ±6 semitones (training pieces only), evaluates the validation pieces
after every epoch, stops early when the validation loss stops improving (or at the time
budget), checkpoints after every evaluation so that rerunning the same command resumes, and
finally writes the best weights (fp16) and a model card with :func:`core.registry.save_model`.
Mixed precision (bf16 autocast) is used on CUDA; the LSTM recurrence itself runs in fp32/TF32.
"""

from __future__ import annotations

import math
import platform
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.nn.functional as F

from gdl_studio.core import paths
from gdl_studio.core.atomic import atomic_path
from gdl_studio.core.errors import UserError
from gdl_studio.music import tokens as T
from gdl_studio.music.corpus import ALL_STYLES, Corpus, CorpusPiece, load_corpus
from gdl_studio.music.evaluate import score_lstm, score_transformer
from gdl_studio.music.lstm import AttentionLSTM, LSTMConfig, lstm_inputs
from gdl_studio.music.transformer import (
    EVENT_KEYS,
    TIME_OFFSET_LIMIT,
    MusicTransformer,
    TransformerConfig,
    event_arrays,
    targets_of,
)

TRANSPOSE = 6
CHECKPOINT_SECONDS = 30.0  # resumable checkpoint at most this often (and when stopping)
MODEL_NAMES = {"lstm": "music-lstm", "transformer": "music-transformer"}


@dataclass
class TrainSettings:
    """Optimisation settings (recorded in the card)."""

    batch_size: int
    seq_len: int
    lr: float
    weight_decay: float
    warmup_steps: int
    max_epochs: int
    max_minutes: float
    patience: int
    seed: int
    grad_clip: float = 1.0
    fim_rate: float = 0.0  # share of Transformer training windows rearranged for filling a gap
    style_dropout: float = 0.0  # share of training windows told "unknown style"
    workers: int = 0  # batch-making processes (0: in the training process)
    eval_every: int = 1  # epochs between validation passes
    init_weights: str = ""  # warm start: a model directory whose weights start this run ("" = random)
    # distillation (Transformer): a model directory whose transposition ensemble teaches this run
    teacher: str = ""
    teacher_views: int = 0  # the teacher ensemble's radius (TransformerConfig.transpose_views)
    distill_weight: float = 0.0  # share of the loss that is cross-entropy with the teacher's distributions
    # "chorale=3,renaissance=2": crops per epoch of those styles' pieces, times that ("" = every piece once)
    style_weights: str = ""
    valid_styles: str = ""  # "chorale,renaissance": early stopping on those styles' validation pieces ("" = all)


def default_settings(kind: str, tiny: bool) -> TrainSettings:
    """Settings planned for ~7 minutes on one H200 (several runs share it), or a tiny CPU check."""
    if tiny:
        return TrainSettings(
            batch_size=8,
            seq_len=64,
            lr=3e-3,
            weight_decay=0.0,
            warmup_steps=5,
            max_epochs=2,
            max_minutes=1.0,
            patience=3,
            seed=0,
            fim_rate=0.5 if kind == "transformer" else 0.0,
            style_dropout=0.15,
        )
    if kind == "lstm":
        return TrainSettings(
            batch_size=64,
            seq_len=256,
            lr=2e-3,
            weight_decay=0.01,
            warmup_steps=100,
            max_epochs=200,
            max_minutes=7.0,
            patience=15,
            seed=0,
            style_dropout=0.15,
        )
    return TrainSettings(
        batch_size=96,
        seq_len=512,
        lr=7e-4,
        weight_decay=0.05,
        warmup_steps=300,
        max_epochs=500,
        max_minutes=7.0,
        patience=20,
        seed=0,
        fim_rate=0.5,
        style_dropout=0.15,
    )


def default_config(kind: str, n_styles: int = 0):
    """The shipped architecture of round 2 (styles if the corpus has them; the Transformer fills
    gaps and uses rotary positions)."""
    if kind == "lstm":
        return LSTMConfig(n_styles=n_styles)
    return TransformerConfig(
        d_model=288,
        layers=6,
        heads=6,
        d_ff=1152,
        max_len=512,
        pos_limit=4096,
        head_hidden=256,
        attr_embedding=64,
        dropout=0.15,
        infill=True,
        n_styles=n_styles,
        rope=True,
    )


def tiny_config(kind: str, n_styles: int = 0):
    if kind == "lstm":
        return LSTMConfig(
            hidden=32,
            layers=2,
            note_embedding=16,
            duration_embedding=8,
            voice_embedding=4,
            metric_embedding=4,
            window=16,
            duration_hidden=16,
            dropout=0.1,
            n_styles=n_styles,
            style_embedding=4,
        )
    return TransformerConfig(
        d_model=32,
        layers=2,
        heads=2,
        d_ff=64,
        max_len=64,
        pos_limit=256,
        head_hidden=32,
        attr_embedding=8,
        dropout=0.1,
        infill=True,
        n_styles=n_styles,
        rope=True,
    )


def warm_start(model: torch.nn.Module, model_dir: str | Path) -> str:
    """Start ``model`` from the weights in ``model_dir`` (e.g. the shipped round-1 Transformer).

    Tensors with the same name and shape are copied. Tables that grew along their first axis
    (event codes appended for filling gaps: HOLE/SUF/MID inputs, the END output) keep the old rows
    and their random init for the new ones. A new style embedding starts at zero, so the warm
    model begins exactly where the old one was. Blocks beyond the old model's (a deeper
    ``--arch layers=``) keep their random init except the two projections back into the
    residual stream (attention output and the feed-forward's second layer), which start at
    zero: each new block starts as the identity, so the deeper model too begins where the old
    one was, and learns what to add. Any other mismatch is an error. Returns a line for the log
    (what was copied, the file's sha256)."""
    import hashlib

    from safetensors.torch import load_file

    files = sorted(Path(model_dir).glob("*.safetensors"))
    if len(files) != 1:
        raise UserError(f"--init-weights: {model_dir} must hold one .safetensors file")
    old = load_file(str(files[0]))
    own = model.state_dict()
    copied, grown = 0, []
    with torch.no_grad():
        for name, t in own.items():
            src = old.get(name)
            if src is None:
                if name.startswith(("style_emb", "time_proj")) or _new_block_output(name, old):
                    t.zero_()
                continue
            src = src.to(t.dtype)
            if src.shape == t.shape:
                t.copy_(src)
                copied += 1
            elif src.dim() == t.dim() and src.shape[1:] == t.shape[1:] and src.shape[0] < t.shape[0]:
                t[: src.shape[0]].copy_(src)
                grown.append(name)
            else:
                raise UserError(
                    f"--init-weights: {name} is {tuple(src.shape)} there, {tuple(t.shape)} here "
                    "(give --arch the same shape as that model)"
                )
    model.load_state_dict(own)
    sha = hashlib.sha256(files[0].read_bytes()).hexdigest()
    return (
        f"warm start from {files[0]} (sha256 {sha[:12]}…): {copied} tensors copied, "
        f"{len(grown)} grown ({', '.join(grown) or 'none'}), {len(own) - copied - len(grown)} new"
    )


def load_teacher(model_dir: str, config: TransformerConfig, device) -> MusicTransformer:
    """The teacher of a distillation run: the Transformer in ``model_dir`` (its card and one
    weights file), frozen, in eval mode. It must read and predict the same events as the
    student (tokenisation, fill-in-the-middle layout, styles)."""
    from gdl_studio.core.registry import ModelUnavailable, load_tensors, read_card
    from gdl_studio.music.models_io import build_composer

    try:
        card = read_card(Path(model_dir))
        tcfg = TransformerConfig.from_dict(card.architecture)
        same = ("infill", "fim_order", "n_styles", "use_velocity")
        if card.architecture.get("kind") != "transformer" or any(getattr(tcfg, k) != getattr(config, k) for k in same):
            raise UserError(f"--teacher: {model_dir} is not a Transformer of the same events ({', '.join(same)})")
        if config.use_velocity:
            raise UserError("--teacher: distilling models with velocity is not supported")
        net = cast(MusicTransformer, build_composer(card, load_tensors(card)).model)
    except ModelUnavailable as exc:
        raise UserError(f"--teacher: {exc}") from None
    for prm in net.parameters():
        prm.requires_grad_(False)
    return net.to(device).eval()


def _new_block_output(name: str, old: dict) -> bool:
    """Whether ``name`` is a residual output projection (``proj``, ``ff.2``) of a block that the
    warm-start source does not have (:func:`warm_start` starts those at zero)."""
    parts = name.split(".")
    if len(parts) < 4 or parts[0] != "blocks" or not parts[1].isdigit():
        return False
    new_block = not any(k.startswith(f"blocks.{parts[1]}.") for k in old)
    return new_block and (parts[2] == "proj" or (parts[2] == "ff" and parts[3] == "2"))


def apply_arch(config, spec: str | None):
    """Override config fields from ``"key=value,key=value"`` (``--arch``); raises UserError."""
    if not spec:
        return config
    fields = type(config).__dataclass_fields__
    for item in (x.strip() for x in spec.split(",")):
        if not item:
            continue
        key, _, value = item.partition("=")
        key = key.strip().replace("-", "_")
        if key not in fields:
            raise UserError(f"--arch: unknown field '{key}' (choose from {', '.join(fields)})")
        cur = getattr(config, key)
        try:
            if isinstance(cur, bool):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise ValueError(value)
                new = value.lower() in ("1", "true", "yes")
            else:
                new = type(cur)(value)
        except ValueError:
            raise UserError(f"--arch: bad value for {key}: '{value}'") from None
        setattr(config, key, new)
    return config


# -----------------------------------------------------------------------------------------
# batches


def parse_style_weights(spec: str) -> dict[str, float]:
    """``"chorale=3,renaissance=2"`` → ``{"chorale": 3.0, "renaissance": 2.0}`` (styles of
    :data:`corpus.ALL_STYLES`; finite weights ≥ 0)."""
    out: dict[str, float] = {}
    for part in filter(None, (x.strip() for x in spec.split(","))):
        name, sep, value = part.partition("=")
        try:
            weight = float(value) if sep else float("nan")
        except ValueError:
            weight = float("nan")
        if name not in ALL_STYLES or not 0 <= weight < math.inf:
            raise UserError(f"--style-weights: '{part}' is not STYLE=WEIGHT with a style of {', '.join(ALL_STYLES)}")
        out[name] = weight
    return out


def parse_style_names(spec: str) -> list[str]:
    """``"chorale,renaissance"`` → those style names (each one of :data:`corpus.ALL_STYLES`;
    not :func:`corpus.parse_styles`, which gives a style's music21 sources)."""
    names = [x.strip() for x in spec.split(",") if x.strip()]
    bad = [n for n in names if n not in ALL_STYLES]
    if bad:
        raise UserError(f"--valid-styles: unknown style '{bad[0]}' (choose from {', '.join(ALL_STYLES)})")
    return names


def style_repeats(pieces: list[CorpusPiece], weights: dict[str, float]) -> np.ndarray | None:
    """Each piece's crop multiplier under ``weights`` (styles not named keep 1); None if none."""
    if not weights:
        return None
    return np.array([weights.get(p.style_name, 1.0) for p in pieces], np.float64)


def crop_windows(
    lengths: np.ndarray, L: int, rng: np.random.Generator | None, repeats: np.ndarray | None = None
) -> list[tuple[int, int, int]]:
    """One epoch of ``(piece, start, first scored)`` crops of ``L`` events over pieces of
    ``lengths``: random starts if ``rng``, else a fixed tiling that scores every target once.
    ``repeats`` (random crops only) multiplies each piece's number of crops; a fractional
    part is one more crop with that probability."""
    out: list[tuple[int, int, int]] = []
    for i, n in enumerate(lengths):
        k = max(1, math.ceil(n / L))
        if rng is None:
            starts = [min(j * L, max(n - L, 0)) for j in range(k)] if n > L else [0]
            out.extend((i, s, j * L) for j, s in enumerate(starts))
        else:
            if repeats is not None:
                want = k * float(repeats[i])
                k = int(want) + int(rng.random() < want - int(want))
            out.extend((i, int(rng.integers(0, max(n - L, 0) + 1)), -1) for _ in range(k))
    if rng is not None:
        rng.shuffle(out)
    return out


class SequenceData:
    """Whole-piece input/target arrays; one epoch is a random crop per ``seq_len`` of every
    piece, each transposed by a random interval in ±6 semitones where it stays in range."""

    def __init__(
        self, items: list[dict[str, np.ndarray]], seq_len: int, pitch_keys: tuple[str, ...], pos_limit: int = 0
    ) -> None:
        self.items = items
        self.keys = tuple(items[0].keys()) if items else ()
        self.seq_len = seq_len
        self.pitch_keys = pitch_keys
        self.pos_limit = pos_limit
        self.lengths = np.array([len(i[pitch_keys[-1]]) for i in items])
        self.repeats: np.ndarray | None = None  # crops per piece and epoch, times this (style_repeats)

    @property
    def targets(self) -> int:
        return int(self.lengths.sum())

    def windows(self, rng: np.random.Generator | None) -> list[tuple[int, int, int]]:
        """One epoch of ``(piece, start, first scored)`` crops (see :func:`crop_windows`)."""
        return crop_windows(self.lengths, self.seq_len, rng, self.repeats)

    def batch(self, windows, rng: np.random.Generator | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        L = self.seq_len
        arrs: dict[str, np.ndarray] = {k: np.zeros((len(windows), L), np.int64) for k in self.keys}
        mask = np.zeros((len(windows), L), bool)
        offset = np.zeros(len(windows), np.int64)
        for b, (i, s, first) in enumerate(windows):
            item = self.items[i]
            e = min(s + L, len(item[self.pitch_keys[-1]]))
            for k in self.keys:
                arrs[k][b, : e - s] = item[k][s:e]
            lo = max(first - s, 0) if first >= 0 else 0
            mask[b, lo : e - s] = True
            if rng is None:
                continue
            if self.pos_limit:
                offset[b] = rng.integers(0, max(self.pos_limit - L, 0) + 1)
            semi = int(rng.integers(-TRANSPOSE, TRANSPOSE + 1))
            rows = [arrs[key][b, : e - s] for key in self.pitch_keys]
            pitched = [r[r < T.N_PITCH] for r in rows]
            lo_p = min((p.min() for p in pitched if p.size), default=0)
            hi_p = max((p.max() for p in pitched if p.size), default=0)
            if semi and lo_p + semi >= 0 and hi_p + semi < T.N_PITCH:
                for r in rows:
                    r[r < T.N_PITCH] += semi
        if self.pos_limit:
            arrs["offset"] = offset
            if rng is not None and "in_time" in arrs:
                arrs["time_offset"] = rng.integers(0, TIME_OFFSET_LIMIT + 1, size=len(windows))
        return arrs, mask


def lstm_data(pieces: list[CorpusPiece], seq_len: int, n_styles: int = 0) -> SequenceData:
    """The LSTM's step inputs and targets (pitch tokens: the previous and the next note); with
    ``n_styles``, each step also carries its piece's style."""
    items = []
    for p in pieces:
        item = lstm_inputs(p.step_note, p.step_dur, p.n_voices, p.bar_ticks)
        if n_styles:
            item["style"] = np.full(len(p.step_note), p.style if p.style < n_styles else 0, np.int64)
        items.append(item)
    return SequenceData(items, seq_len, ("note", "target_note"))


def event_data(pieces: list[CorpusPiece], seq_len: int, use_velocity: bool, pos_limit: int) -> SequenceData:
    """The Transformer's event inputs and targets, with random position offsets for training."""
    items = [event_arrays(p.note_events(use_velocity), p.bar_ticks) for p in pieces]
    return SequenceData(items, seq_len, ("in_pitch", "tg_pitch"), pos_limit)


FIM_BARS = (1, 2, 3, 4, 5, 6, 8)
FIM_BAR_WEIGHTS = np.array([0.2, 0.25, 0.2, 0.15, 0.07, 0.07, 0.06])
FIM_CUM = np.cumsum(FIM_BAR_WEIGHTS)


class EventData:
    """Transformer training windows over whole pieces: left-to-right crops (as
    :class:`SequenceData`) and, with probability ``fim_rate`` per training window, the same
    crop rearranged for filling a gap of 1–8 bars in the model's ``fim_order`` (``prefix · HOLE@A ·
    SUF@B · suffix · MID@A · middle · END@B`` or ``SUF@B · suffix · MID@P · prefix · HOLE@A ·
    middle · END@B``; see :func:`tokens.fim_arrange`; the structural events are not scored).
    Each window carries its piece's style (replaced by "unknown" with probability
    ``style_dropout`` in training, so the model also serves music of no known style)."""

    def __init__(
        self,
        pieces: list[CorpusPiece],
        seq_len: int,
        use_velocity: bool,
        pos_limit: int,
        fim_rate: float = 0.0,
        n_styles: int = 0,
        style_dropout: float = 0.0,
        fim_order: str = "psm",
    ) -> None:
        self.seq_len = seq_len
        self.fim_order = fim_order
        self.pos_limit = pos_limit
        self.fim_rate = fim_rate
        self.n_styles = n_styles
        self.style_dropout = style_dropout
        self.ev = [{k: np.asarray(v, np.int64) for k, v in p.note_events(use_velocity).items()} for p in pieces]
        self.bar = [p.bar_ticks for p in pieces]
        self.style = [p.style if p.style < max(n_styles, 1) else 0 for p in pieces]
        self.lengths = np.array([len(e["pitch"]) - 1 for e in self.ev])
        self.pitch_keys = ("in_pitch", "tg_pitch")
        self.repeats: np.ndarray | None = None  # crops per piece and epoch, times this (style_repeats)

    @property
    def targets(self) -> int:
        return int(self.lengths.sum())

    def windows(self, rng: np.random.Generator | None) -> list[tuple[int, int, int]]:
        """One epoch of ``(piece, start, first scored)`` crops (see :func:`crop_windows`)."""
        return crop_windows(self.lengths, self.seq_len, rng, self.repeats)

    def _l2r(self, i: int, s: int, first: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        ev = self.ev[i]
        e = min(s + self.seq_len, int(self.lengths[i]))
        metric = T.metric_index(ev["time"][s : e + 1], self.bar[i]).astype(np.int64)
        out = {}
        for k in ("shift", "pitch", "dur", "vel"):
            out[f"in_{k}"] = ev[k][s:e]
            out[f"tg_{k}"] = ev[k][s + 1 : e + 1]
        out["in_metric"], out["tg_metric"] = metric[:-1], metric[1:]
        out["in_time"] = ev["time"][s:e]
        mask = np.zeros(e - s, bool)
        mask[max(first - s, 0) if first >= 0 else 0 :] = True
        return out, mask

    def _fim(self, i: int, s: int, rng: np.random.Generator) -> tuple[dict[str, np.ndarray], np.ndarray] | None:
        """A fill-in-the-middle window from the crop of events ``[s, s + seq_len]`` (None when
        the crop has no room for a gap with notes on both sides)."""
        ev, bar, L = self.ev[i], self.bar[i], self.seq_len
        bars = FIM_BARS[int(np.searchsorted(FIM_CUM, rng.random() * FIM_CUM[-1], side="right"))]
        # room for the structural events: HOLE and SUF chains, MID, the END chain
        extra = 4 + 2 * ((bars * bar - 1) // T.MAX_SHIFT + 1)
        crop = {k: v[s : s + L + 1 - extra] for k, v in ev.items()}
        is_note = crop["pitch"] < T.N_PITCH
        if is_note.sum() < 4:
            return None
        t_note = crop["time"][is_note]
        t_first, t_end = int(t_note[0]), int(t_note[-1])
        lo_bar = t_first // bar + 1
        hi_bar = t_end // bar - bars  # B = (a + bars) * bar <= t_end: a suffix note at or after B
        if hi_bar < lo_bar:
            bars = 1
            hi_bar = t_end // bar - 1
            if hi_bar < lo_bar:
                return None
        a_tick = int(rng.integers(lo_bar, hi_bar + 1)) * bar
        b_tick = a_tick + bars * bar
        n_prefix = int(np.searchsorted(crop["time"], a_tick, side="left"))
        prefix = {k: v[:n_prefix] for k, v in crop.items()}
        notes = (crop["pitch"][is_note], crop["time"][is_note], crop["dur"][is_note], crop["vel"][is_note])
        in_mid = (notes[1] >= a_tick) & (notes[1] < b_tick)
        after = notes[1] >= b_tick
        middle: T.NoteArrays = (notes[0][in_mid], notes[1][in_mid], notes[2][in_mid], notes[3][in_mid])
        suffix: T.NoteArrays = (notes[0][after], notes[1][after], notes[2][after], notes[3][after])
        arranged = T.fim_arrange(prefix, suffix, middle, a_tick, b_tick, order=self.fim_order)
        seq, given = arranged["events"], arranged["given"]
        excess = len(seq["pitch"]) - (L + 1)
        if excess > 0:  # the sentinels and chains made it longer than the context: trim the sides
            cut = min(excess, max(n_prefix - 1, 0))
            prefix = {k: v[cut:] for k, v in prefix.items()}
            excess -= cut
            if excess > 0:
                keep = max(0, len(suffix[0]) - excess)
                vel = suffix[3]
                suffix = (suffix[0][:keep], suffix[1][:keep], suffix[2][:keep], vel[:keep] if vel is not None else None)
            arranged = T.fim_arrange(prefix, suffix, middle, a_tick, b_tick, order=self.fim_order)
            seq, given = arranged["events"], arranged["given"]
            if len(seq["pitch"]) > L + 1:
                return None
        metric = T.metric_index(seq["time"], bar).astype(np.int64)
        out = {}
        for k in ("shift", "pitch", "dur", "vel"):
            out[f"in_{k}"] = seq[k][:-1]
            out[f"tg_{k}"] = seq[k][1:]
        out["tg_pitch"] = T.target_pitch(seq["pitch"][1:])
        out["in_metric"], out["tg_metric"] = metric[:-1], metric[1:]
        out["in_time"] = seq["time"][:-1]
        return out, ~given[1:]

    def epoch_batches(self, windows: list, batch_size: int, rng: np.random.Generator) -> list[list]:
        """Training batches of one epoch under a token budget (``batch_size`` × ``seq_len``):
        windows of similar length go together, so a batch of short tunes holds many of them
        and the steps of an epoch follow its tokens, not its number of pieces."""
        budget = batch_size * self.seq_len
        out = []
        chunk = 64 * batch_size
        for c in range(0, len(windows), chunk):
            part = sorted(windows[c : c + chunk], key=lambda w: min(self.seq_len, int(self.lengths[w[0]]) - w[1]))
            cur: list = []
            longest = 0
            for w in part:
                n = min(self.seq_len, int(self.lengths[w[0]]) - w[1])
                if cur and (len(cur) + 1) * max(longest, n) > budget:
                    out.append(cur)
                    cur, longest = [], 0
                cur.append(w)
                longest = max(longest, n)
            if cur:
                out.append(cur)
        rng.shuffle(out)
        return out

    def batch(self, windows, rng: np.random.Generator | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        made = []
        for i, s, first in windows:
            got = None
            if rng is not None and self.fim_rate > 0 and rng.random() < self.fim_rate:
                got = self._fim(i, s, rng)
            if got is None:
                got = self._l2r(i, s, first)
            made.append(got)
        L = max((m.size for _, m in made), default=1)  # padded to the longest window of the batch
        arrs: dict[str, np.ndarray] = {k: np.zeros((len(windows), L), np.int64) for k in EVENT_KEYS}
        mask = np.zeros((len(windows), L), bool)
        style = np.zeros(len(windows), np.int64)
        offset = np.zeros(len(windows), np.int64)
        for b, ((i, _s, _first), (win, m)) in enumerate(zip(windows, made)):
            n = m.size
            for k in EVENT_KEYS:
                arrs[k][b, :n] = win[k]
            mask[b, :n] = m
            style[b] = self.style[i]
            if rng is None:
                continue
            if self.style_dropout and rng.random() < self.style_dropout:
                style[b] = 0
            if self.pos_limit:
                offset[b] = rng.integers(0, max(self.pos_limit - self.seq_len, 0) + 1)
            semi = int(rng.integers(-TRANSPOSE, TRANSPOSE + 1))
            rows = [arrs["in_pitch"][b, :n], arrs["tg_pitch"][b, :n]]
            pitched = np.concatenate([r[r < T.N_PITCH] for r in rows])
            if semi and pitched.size and pitched.min() + semi >= 0 and pitched.max() + semi < T.N_PITCH:
                for r in rows:
                    r[r < T.N_PITCH] += semi
        if self.n_styles:
            arrs["style"] = style
        if self.pos_limit and rng is not None:
            arrs["offset"] = offset
            arrs["time_offset"] = rng.integers(0, TIME_OFFSET_LIMIT + 1, size=len(windows))
        return arrs, mask


class _Batches:
    """Endless training batches, epoch after epoch (``(epoch, arrays, mask)``), made by
    ``workers`` processes (a torch DataLoader) or in this process; every worker draws the same
    epoch's window list and makes every ``workers``-th batch of it with its own random state."""

    def __init__(self, data, batch_size: int, seed: int, start_epoch: int, workers: int) -> None:
        self.data, self.batch_size, self.seed, self.start_epoch, self.workers = (
            data,
            batch_size,
            seed,
            start_epoch,
            workers,
        )

    def _gen(self, wid: int, nw: int):
        epoch = self.start_epoch
        while True:
            shared = np.random.default_rng(self.seed + 1000 * epoch)  # the same in every worker
            windows = self.data.windows(shared)
            if hasattr(self.data, "epoch_batches"):
                batches = self.data.epoch_batches(windows, self.batch_size, shared)
            else:
                batches = [windows[k : k + self.batch_size] for k in range(0, len(windows), self.batch_size)]
            rng = np.random.default_rng([self.seed, epoch, wid])
            for j, b in enumerate(batches):
                if j % nw == wid:
                    arrs, mask = self.data.batch(b, rng)
                    yield epoch, arrs, mask
            epoch += 1

    def __iter__(self):
        if self.workers <= 0:
            return self._gen(0, 1)
        import torch.utils.data as tud

        outer = self

        class _DS(tud.IterableDataset):
            def __iter__(self):
                info = tud.get_worker_info()
                return outer._gen(info.id, info.num_workers)

        loader = tud.DataLoader(
            _DS(), batch_size=None, num_workers=self.workers, prefetch_factor=8, persistent_workers=False
        )
        return iter(loader)


# -----------------------------------------------------------------------------------------
# loop


def _loss(
    kind: str,
    model,
    arrs: dict,
    mask: np.ndarray,
    device: torch.device,
    amp: bool,
    teacher: tuple[MusicTransformer, int, float] | None = None,
) -> tuple[torch.Tensor, int]:
    """Mean NLL per target token of one batch, and the number of targets; with ``teacher``
    (model, ensemble radius, weight a): (1 − a)·NLL + a·the cross-entropy of each attribute with
    the teacher ensemble's distribution (:func:`distill_loss`)."""
    ten = {k: torch.as_tensor(v).to(device, non_blocking=True) for k, v in arrs.items()}
    mask_cpu = torch.as_tensor(mask)
    n = int(mask_cpu.sum())  # counted on the host: no device sync per step
    m = mask_cpu.to(device)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
        if kind == "lstm":
            note_logits, dur_logits = model(
                ten["note"],
                ten["dur"],
                ten["voice"],
                ten["n_voices"],
                ten["metric"],
                ten["target_note"],
                style=ten.get("style"),
            )
            nll = F.cross_entropy(
                note_logits.float().transpose(1, 2), ten["target_note"], reduction="none"
            ) + F.cross_entropy(dur_logits.float().transpose(1, 2), ten["target_dur"], reduction="none")
        elif teacher is not None:
            nll = distill_loss(model, teacher, ten)
        else:
            nll, _ = model.batch_nll(ten)
    return (nll * m).sum() / max(n, 1), n


def distill_loss(model: MusicTransformer, teacher: tuple[MusicTransformer, int, float], ten: dict) -> torch.Tensor:
    """Per-position loss of a student ``model`` taught by ``teacher`` = (model, radius, a):
    (1 − a)·its NLL of the true event + a·Σ over attributes of the cross-entropy of its
    distribution with the teacher ensemble's (:meth:`MusicTransformer.ensemble_targets`; the
    pitch given the true shift, the duration given both, only for notes, as in the NLL)."""
    net, radius, a = teacher
    target = targets_of(ten)
    own = model.attribute_log_probs(model.hidden(ten), target)
    q = net.ensemble_targets(ten, radius)
    is_note = (target["pitch"] < T.N_PITCH).float()
    dur = target["dur"].clamp(max=T.N_DUR - 1)
    nll = (
        -own["shift"].gather(-1, target["shift"][..., None]).squeeze(-1)
        - own["pitch"].gather(-1, target["pitch"][..., None]).squeeze(-1)
        - own["dur"].gather(-1, dur[..., None]).squeeze(-1) * is_note
    )
    soft = (
        -(q["shift"].exp() * own["shift"]).sum(-1)
        - (q["pitch"].exp() * own["pitch"]).sum(-1)
        - (q["dur"].exp() * own["dur"]).sum(-1) * is_note
    )
    return (1.0 - a) * nll + a * soft


def _evaluate(kind, model, data, device, amp, batch_size) -> float:
    model.eval()
    total, count = 0.0, 0
    windows = data.windows(None)
    with torch.no_grad():
        for k in range(0, len(windows), batch_size):
            arrs, mask = data.batch(windows[k : k + batch_size], None)
            loss, n = _loss(kind, model, arrs, mask, device, amp)
            total += float(loss) * n
            count += n
    model.train()
    return total / max(count, 1)


def _fmt_time(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _lr_at(settings: TrainSettings, step: int, progress: float) -> float:
    if step < settings.warmup_steps:
        return settings.lr * (step + 1) / settings.warmup_steps
    return settings.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def final_metrics(kind: str, model, corpus: Corpus, device: str, log: Callable[[str], None] = print) -> dict:
    """Scores of a trained model: validation (all, round-1 styles, per style), the round-1 test
    split, each newer style's held-out split, and — for a model that fills gaps — the held-out
    gaps of the validation and test pieces (infilling vs left to right)."""
    from gdl_studio.music.corpus import ROUND1_STYLES
    from gdl_studio.music.evaluate import heldout_gaps, score_infill

    scorer = score_lstm if kind == "lstm" else score_transformer
    metrics: dict = {}
    for split in ("valid", "test"):
        pieces = corpus.split(split)
        if pieces:
            metrics[split] = scorer(model, pieces, device=device).summary()
            log(
                f"{split}: {metrics[split]['nats_per_note']:.4f} nats/note, "
                f"next-note accuracy {metrics[split]['next_note_accuracy']:.3f} ({len(pieces)} pieces)"
            )
    r1 = corpus.split("valid", ROUND1_STYLES)
    if r1:
        metrics["valid_round1"] = scorer(model, r1, device=device).summary()
        log(f"valid (round-1 styles): {metrics['valid_round1']['nats_per_note']:.4f} nats/note")
    for split in ("valid", "heldout"):
        by_style = {}
        for style in corpus.styles():
            pieces = corpus.split(split, style)
            if pieces:
                by_style[style] = scorer(model, pieces, device=device).summary()
        if by_style:
            metrics[f"{split}_by_style"] = by_style
            log(f"{split} by style: " + ", ".join(f"{k} {v['nats_per_note']:.3f}" for k, v in by_style.items()))
    if kind == "transformer" and getattr(model.config, "infill", False):
        for split in ("valid", "test"):
            pieces = corpus.split(split)
            if pieces:
                r = score_infill(model, pieces, heldout_gaps(pieces), device=device)
                metrics[f"infill_{split}"] = r
                log(
                    f"infill ({split}, {r['gaps']} gaps of 2-4 bars, {r['notes']} notes): "
                    f"{r['infill_nats_per_note']:.4f} nats/note given both sides vs "
                    f"{r['l2r_nats_per_note']:.4f} left to right"
                )
    return metrics


def train_music(
    kind: str,
    data_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    device: str | None = None,
    settings: TrainSettings | None = None,
    tiny: bool = False,
    config=None,
    checkpoint_dir: str | Path | None = None,
    restart: bool = False,
    command: str | None = None,
    max_steps: int | None = None,
    log: Callable[[str], None] = print,
    arch: str | None = None,
    styles: bool = True,
) -> dict:
    """Train ``kind`` ("lstm" or "transformer"); returns the written model card (a dict).

    ``arch`` overrides fields of the default architecture (``"d_model=256,layers=4"``);
    ``styles`` false trains without the style embedding."""
    if kind not in MODEL_NAMES:
        raise UserError(f"unknown music model '{kind}' (choose lstm or transformer)")
    name = MODEL_NAMES[kind]
    settings = settings or default_settings(kind, tiny)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but CUDA is not available")
    dev = torch.device(device)
    amp = dev.type == "cuda"
    if amp:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    corpus: Corpus = load_corpus(data_path)
    weights = parse_style_weights(settings.style_weights)
    valid_styles = parse_style_names(settings.valid_styles) or None
    train_pieces, valid_pieces = corpus.split("train"), corpus.split("valid", valid_styles)
    if not train_pieces or not valid_pieces:
        raise UserError(f"{corpus.path} has no training or validation pieces (of the styles asked for)")
    # velocities only where most notes have them (a few scores with dynamics do not make a velocity model)
    use_velocity = bool(corpus.meta.get("has_velocity", False)) and corpus.meta.get("velocity_share", 1.0) > 0.5
    n_styles = len(corpus.meta.get("styles", [])) if styles else 0
    torch.manual_seed(settings.seed)

    if config is None:
        config = tiny_config(kind, n_styles) if tiny else default_config(kind, n_styles)
        config = apply_arch(config, arch)
    model: AttentionLSTM | MusicTransformer
    train_data: SequenceData | EventData
    valid_data: SequenceData | EventData
    if kind == "lstm":
        model = AttentionLSTM(config)
        train_data = lstm_data(train_pieces, settings.seq_len, config.n_styles)
        valid_data = lstm_data(valid_pieces, settings.seq_len, config.n_styles)
        settings.fim_rate = 0.0
    else:
        config.use_velocity = use_velocity
        settings.seq_len = config.max_len
        if not config.infill:
            settings.fim_rate = 0.0
        if config.fim_order not in T.FIM_ORDERS:
            raise UserError(f"--arch: fim_order must be one of {', '.join(T.FIM_ORDERS)}")
        model = MusicTransformer(config)
        if settings.init_weights:
            log(warm_start(model, settings.init_weights))
        train_data = EventData(
            train_pieces,
            config.max_len,
            use_velocity,
            config.pos_limit,
            settings.fim_rate,
            config.n_styles,
            settings.style_dropout,
            config.fim_order,
        )
        valid_data = EventData(valid_pieces, config.max_len, use_velocity, 0, 0.0, config.n_styles)
    if not config.n_styles:
        settings.style_dropout = 0.0
    train_data.repeats = style_repeats(train_pieces, weights)
    model.to(dev)
    teacher = None
    if settings.teacher:
        teacher = (load_teacher(settings.teacher, config, dev), settings.teacher_views, settings.distill_weight)
        log(
            f"distilling from {settings.teacher} (transposition views ±{settings.teacher_views}, "
            f"weight {settings.distill_weight:g})"
        )
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "emb" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "emb" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=settings.lr,
        betas=(0.9, 0.98),
        fused=amp or None,
    )
    first_windows = train_data.windows(np.random.default_rng(0))
    if hasattr(train_data, "epoch_batches"):
        steps_per_epoch = max(
            1, len(train_data.epoch_batches(first_windows, settings.batch_size, np.random.default_rng(0)))
        )
    else:
        steps_per_epoch = max(1, math.ceil(len(first_windows) / settings.batch_size))
    total_steps = settings.max_epochs * steps_per_epoch
    if max_steps:
        total_steps = min(total_steps, max_steps)
    budget = settings.max_minutes * 60.0

    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else paths.ROOT_DIR / "runs" / name
    ckpt_path = ckpt_dir / "checkpoint.pt"
    state: dict[str, Any] = {
        "step": 0,
        "epoch": 0,
        "elapsed": 0.0,
        "best": float("inf"),
        "best_state": None,
        "bad": 0,
        "history": [],
    }
    if ckpt_path.is_file() and not restart:
        ck = torch.load(ckpt_path, map_location=dev, weights_only=False)
        if ck.get("config") == config.to_dict() and ck.get("kind") == kind:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            state = ck["state"]
            log(f"resuming {name} from {ckpt_path} at epoch {state['epoch']}, step {state['step']}")
        else:
            log(f"ignoring {ckpt_path}: it is for another configuration")

    log(
        f"{name}: {n_params / 1e6:.2f}M parameters on {device}{' (bf16 autocast)' if amp else ''}; "
        f"{len(train_pieces)} train / {len(valid_pieces)} valid pieces; {train_data.targets:,} train targets; "
        f"{steps_per_epoch} steps per epoch; budget {settings.max_minutes:g} min"
        + (f"; fill-in-the-middle rate {settings.fim_rate:g}" if settings.fim_rate else "")
        + (f"; {config.n_styles} styles" if config.n_styles else "")
    )

    model.train()
    t0 = time.perf_counter() - state["elapsed"]
    reserve = 0.0 if tiny else 60.0  # time kept for the final evaluation
    stop_reason = "max epochs"
    last_print = 0.0
    last_ckpt = state["elapsed"]
    finished = str(state.get("stop_reason", "")).startswith(("early stop", "max epochs"))
    if finished:  # rerunning a finished run only writes the model again; a time-limited one goes on
        stop_reason = state["stop_reason"]
    batches = (
        iter(_Batches(train_data, settings.batch_size, settings.seed, state["epoch"], settings.workers))
        if not finished
        else iter(())
    )
    pending = None
    while state["epoch"] < settings.max_epochs and not finished:
        tokens_seen, t_epoch = 0, time.perf_counter()
        loss_sum = torch.zeros((), device=dev)  # summed on the device: no sync per step
        loss_count = 0
        epoch_now = state["epoch"]
        out_of_time = False
        while True:
            item = pending if pending is not None else next(batches)
            pending = None
            if item[0] > epoch_now:  # the next epoch's first batch: validate first
                pending = item
                break
            _, arrs, mask = item
            elapsed = time.perf_counter() - t0
            progress = max(state["step"] / total_steps, elapsed / budget)
            for group in opt.param_groups:
                group["lr"] = _lr_at(settings, state["step"], progress)
            loss, n = _loss(kind, model, arrs, mask, dev, amp, teacher)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            opt.step()
            state["step"] += 1
            tokens_seen += n
            loss_sum += loss.detach()
            loss_count += 1
            if elapsed - last_print > 15:
                last_print = elapsed
                eta = min(budget - elapsed, (total_steps - state["step"]) * elapsed / max(state["step"], 1))
                log(
                    f"  epoch {state['epoch'] + 1} step {state['step']}/{total_steps} "
                    f"train {float(loss_sum) / max(loss_count, 1):.3f} "
                    f"{tokens_seen / max(time.perf_counter() - t_epoch, 1e-9):,.0f} tok/s "
                    f"elapsed {_fmt_time(elapsed)} ETA {_fmt_time(eta)}"
                )
            if elapsed > budget - reserve or (max_steps and state["step"] >= max_steps):
                out_of_time = True
                break
        state["epoch"] += 1
        if state["epoch"] % max(1, settings.eval_every) and not out_of_time and state["epoch"] < settings.max_epochs:
            continue
        valid = _evaluate(kind, model, valid_data, dev, amp, settings.batch_size)
        train_loss = float(loss_sum) / max(loss_count, 1)
        improved = valid < state["best"] - 1e-4
        if improved:
            state["best"] = valid
            state["best_state"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            state["bad"] = 0
        else:
            state["bad"] += 1
        elapsed = time.perf_counter() - t0
        state["elapsed"] = elapsed
        state["history"].append(
            {
                "epoch": state["epoch"],
                "step": state["step"],
                "train": train_loss,
                "valid": valid,
                "seconds": round(elapsed, 1),
            }
        )
        eta = min(budget - elapsed, (settings.max_epochs - state["epoch"]) * elapsed / state["epoch"])
        note = ", improved" if improved else f", {state['bad']} without improvement"
        log(
            f"epoch {state['epoch']}: train {train_loss:.4f} valid {valid:.4f} nats/token "
            f"(best {state['best']:.4f}{note}) "
            f"elapsed {_fmt_time(elapsed)} ETA ≤ {_fmt_time(eta)}"
        )
        stop_reason = ""
        if state["bad"] >= settings.patience:
            stop_reason = f"early stop: no validation improvement in {settings.patience} evaluations"
        elif elapsed > budget - reserve:
            stop_reason = "time budget"
        elif max_steps and state["step"] >= max_steps:
            stop_reason = "max steps"
        elif state["epoch"] >= settings.max_epochs:
            stop_reason = "max epochs"
        state["stop_reason"] = stop_reason
        if stop_reason or elapsed - last_ckpt > CHECKPOINT_SECONDS:
            last_ckpt = elapsed
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            with atomic_path(ckpt_path) as tmp:
                torch.save(
                    {
                        "kind": kind,
                        "config": config.to_dict(),
                        "model": model.state_dict(),
                        "optimizer": opt.state_dict(),
                        "state": state,
                    },
                    tmp,
                )
        if stop_reason:
            break
    del batches  # ends the batch workers
    log(
        f"stopped ({stop_reason}) after {state['epoch']} epochs, {state['step']} steps, "
        f"{_fmt_time(time.perf_counter() - t0)}"
    )

    model.load_state_dict(state["best_state"])
    model.eval()
    metrics = {
        "best_valid_nats_per_token": state["best"],
        "stop_reason": stop_reason,
        "epochs": state["epoch"],
        "steps": state["step"],
        "train_seconds": round(state["elapsed"], 1),
        "parameters": n_params,
    }
    metrics.update(final_metrics(kind, model, corpus, device, log))
    model.cpu()
    card = build_card(kind, name, config, settings, corpus, metrics, state["history"], device, command)
    out_dir = Path(out_dir) if out_dir else paths.models_dir() / name
    from gdl_studio.core.registry import save_model

    tensors = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    written = save_model(out_dir, tensors, card)
    log(f"wrote {written.weights_path} ({written.data['size_bytes'] / 1e6:.1f} MB) and its card")
    return written.data


def build_card(kind, name, config, settings: TrainSettings, corpus: Corpus, metrics, history, device, command) -> dict:
    """The model card of a trained music model."""
    counts = corpus.meta.get("counts", {})
    arch = {"kind": kind, **config.to_dict(), "tokenisation": T.vocab_signature()}
    styles = list(corpus.meta.get("styles", []))[: getattr(config, "n_styles", 0)]
    if styles:
        arch["styles"] = styles
    if kind == "lstm":
        arch["notes"] = (
            "Inputs: previous step's note/rest and duration embeddings + next step's voice, voice count and "
            "bar position" + (" and the piece's style" if styles else "") + ". Stacked LSTM; attention: "
            "e_j = tanh(Dense1(h_j)), softmax over the last `window` steps, context = sum a_j h_j; note "
            "head on [context; h_t]; duration head on [context; h_t; chosen note]."
        )
    else:
        pos = (
            "Rotary positions (RoPE) on queries and keys: attention depends on relative position only, so a "
            "ring-buffer KV cache slides with no re-encoding."
            if config.rope
            else "Sinusoidal positions (not learned): training adds a random offset in [0, pos_limit - max_len] "
            "to every window, so generation can slide a ring-buffer KV cache with no re-encoding and no "
            "untrained position rows; a small corpus would also leave a learned table under-trained."
        )
        arch["notes"] = (
            "Compound note events (shift, pitch|GAP, duration): input = sum of attribute embeddings"
            + (" + the piece's style" if styles else "")
            + "; "
            "heads p(shift) p(pitch|shift, bar position) p(duration|shift, bar position, pitch). "
            "Decoder-only, pre-norm blocks (masked MHA + GELU FFN, residual add & LayerNorm). "
            + pos
            + (
                f" Fill-in-the-middle: a gap [A, B) is encoded {T.FIM_LAYOUTS[config.fim_order]}"
                + (" (suffix first, so the middle continues the prefix directly)" if config.fim_order == "spm" else "")
                + "; one model continues and fills."
                if config.infill
                else ""
            )
        )
    style_counts = corpus.meta.get("style_counts", {})
    lists = ["resources/splits/music/{train,valid,test}.txt (round 1: chorale, renaissance; test unchanged)"]
    lists += [
        f"resources/splits/music/{s}/{{train,valid,heldout}}.txt"
        for s in style_counts
        if s not in ("chorale", "renaissance")
    ]
    tasks = "continue a MIDI primer (Compose panel, gdl-studio continue)"
    if kind == "transformer" and config.infill:
        tasks += "; fill a bar range given the notes before and after it (gdl-studio infill)"
    return {
        "name": name,
        "family": "music",
        "task": tasks,
        "architecture": arch,
        "data": {
            "sources": [
                f"music21 {corpus.meta.get('music21_version', '?')} corpus: {c}" for c in corpus.meta.get("corpora", [])
            ],
            "why": (
                "Bach chorales (four-part, homophonic) and Palestrina's masses (4-8 part vocal polyphony) from round "
                "1, plus music21's other bundled styles: Classical/Romantic string quartets and piano pieces (Haydn, "
                "Mozart, Beethoven, Schubert, the Schumanns, Chopin, Joplin), Monteverdi's madrigals, the Essen folk "
                "songs and Irish/Scottish fiddle tunes (O'Neill, Ryan, Aird); each piece is tagged with its style."
            ),
            "counts": counts,
            "style_counts": style_counts,
            "velocity": (
                "not modelled (almost none in these sources; the tokeniser keeps velocities where a source has them)"
            ),
            "rests": "kept (LSTM: REST steps per voice; Transformer: time shifts)",
            "augmentation": f"random transposition in ±{TRANSPOSE} semitones, training pieces only",
            "cache": str(corpus.path.name),
        },
        "split": {
            "by": "piece",
            "grouped_by": "mass, chorale (BWV), opus, tune title",
            "lists": lists,
            "pieces": {s: counts.get(s, {}).get("pieces") for s in ("train", "valid", "test", "heldout")},
            "selection": "validation pieces only (early stopping on the validation loss)",
        },
        "training": {
            **settings.__dict__,
            "device": device,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "history": history[-60:],
        },
        "metrics": metrics,
        "training_command": command or shlex.join(["gdl-studio", *sys.argv[1:]]),
    }
