"""Decoder-only Transformer over compound note events, with a KV cache.

Input at position i (one note event, see :mod:`gdl_studio.music.tokens`): the sum of the
embeddings of its shift, pitch (or GAP/BOS), duration and — if the model uses them — velocity,
plus an embedding of its onset's position in the bar, scaled by √d, plus the sinusoidal
positional encoding of "Attention is All You Need". Then ``layers`` blocks of masked multi-head
self-attention and a position-wise feed-forward network, each wrapped in a residual add and a
layer norm (pre-norm: the norm is applied to the sublayer's input, which trains stably without a
long warm-up), and a final norm. The softmax heads predict the next event attribute by
attribute — ``p(shift | h)``, ``p(pitch | h, shift, bar position)``,
``p(duration | h, shift, bar position, pitch)`` (and velocity) — the exact chain rule, so one
pass of the stack decides one note.

Why sinusoidal, not learned: the corpus is small (under a million notes), a learned table would
spend parameters on positions that are rarely seen, and — because training shifts every window
by a random offset in ``[0, pos_limit - max_len]`` — the model learns to use relative position,
so generation can keep a *sliding* KV cache (a ring buffer of the last ``max_len`` events) at
constant cost per note with no re-encoding until the absolute position reaches ``pos_limit``.
A learned table cannot represent offsets it was never trained on; the sinusoid is defined for
every position.

Onset time (``time_embedding``): event positions say nothing about *when* an event sounds —
its onset is only the running sum of the shifts. That is enough to continue, but filling a gap
means lining the middle up with the suffix (``prefix · HOLE · SUF · suffix · MID · middle``:
the middle's last bar must lead into the suffix's first notes). With ``time_embedding`` each
event also gets a learned linear map of the sinusoid of its onset tick, counted from the first
event given (training adds a random offset in ``[0, TIME_OFFSET_LIMIT]``, so only differences
carry meaning), which lets attention match a middle event with the suffix events at nearby
onsets directly. The map starts at zero, so a warm start begins exactly where its source was.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gdl_studio.music import tokens as T
from gdl_studio.music.views import (
    ViewRows,
    ViewSpec,
    cannot_move_back,
    mix_views,
    pitch_gather,
    transpose_pitches,
    untranspose_logits,
    view_log_weights,
    view_transpositions,
)

TIME_OFFSET_LIMIT = 16384  # training adds a random offset in [0, this] ticks to the onset times


@dataclass
class TransformerConfig:
    """Hyper-parameters of :class:`MusicTransformer` (stored in the model card)."""

    d_model: int = 256
    layers: int = 4
    heads: int = 4
    d_ff: int = 1024
    max_len: int = 512
    pos_limit: int = 4096
    head_hidden: int = 256
    attr_embedding: int = 64
    dropout: float = 0.1
    use_velocity: bool = False
    infill: bool = False  # fill-in-the-middle sentinels (HOLE/SUF/MID inputs, END output)
    n_styles: int = 0  # a style embedding added to every event (0: none; row 0 = unknown style)
    rope: bool = False  # rotary position embedding of queries and keys instead of added sinusoids
    time_embedding: bool = False  # add a learned projection of the sinusoid of each event's onset tick
    fim_order: str = "psm"  # infill layout: "psm" (prefix, suffix, middle) or "spm" (tokens.fim_arrange)
    # the transposition ensemble (see :func:`view_transpositions`): predictions average the model
    # over the history transposed by -R..R semitones (a radius R; 0: the model alone) or by the
    # listed transpositions (0 first, e.g. [0, 1, -1, 6, -6]). Training ignores it; scoring
    # (:meth:`MusicTransformer.mixture_nll`) and generation use it.
    transpose_views: int | list[int] = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> TransformerConfig:
        fields = TransformerConfig.__dataclass_fields__
        return TransformerConfig(**{k: v for k, v in d.items() if k in fields})


def sinusoid(positions: torch.Tensor, d_model: int) -> torch.Tensor:
    """Sinusoidal encodings of integer ``positions`` (any shape) → (..., d_model)."""
    half = d_model // 2
    freq = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    angle = positions.float().unsqueeze(-1) * freq
    return torch.cat([torch.sin(angle), torch.cos(angle)], dim=-1)


def rope_angles(positions: torch.Tensor, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin (..., head_dim/2) of rotary position embedding at integer ``positions``."""
    half = head_dim // 2
    inv = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device, dtype=torch.float32) / half)
    angle = positions.float().unsqueeze(-1) * inv
    return torch.cos(angle), torch.sin(angle)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate the two halves of the last dimension of ``x`` by the angles (broadcast)."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half].float(), x[..., half:].float()
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).to(x.dtype)


def targets_of(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``tg_*`` targets of a batch of :func:`event_arrays` tensors, by attribute name."""
    return {k: batch[f"tg_{k}"] for k in ("shift", "pitch", "dur", "vel", "metric")}


class Block(nn.Module):
    """Pre-norm Transformer decoder block (self-attention only)."""

    def __init__(self, c: TransformerConfig) -> None:
        super().__init__()
        self.heads = c.heads
        self.norm1 = nn.LayerNorm(c.d_model)
        self.qkv = nn.Linear(c.d_model, 3 * c.d_model)
        self.proj = nn.Linear(c.d_model, c.d_model)
        self.norm2 = nn.LayerNorm(c.d_model)
        self.ff = nn.Sequential(nn.Linear(c.d_model, c.d_ff), nn.GELU(), nn.Linear(c.d_ff, c.d_model))
        self.drop = nn.Dropout(c.dropout)
        self.attn_dropout = c.dropout

    @property
    def ff_linears(self) -> tuple[nn.Linear, nn.Linear]:
        """The feed-forward's two linear layers (``ff`` is Linear, GELU, Linear)."""
        first, second = self.ff[0], self.ff[2]
        assert isinstance(first, nn.Linear) and isinstance(second, nn.Linear)
        return first, second

    def split(
        self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, T, D) → q, k, v each (B, heads, T, D/heads); ``rope``: cos, sin (B, 1, T, hd/2)."""
        b, t, d = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, d // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        if rope is not None:
            q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        return q, k, v

    def finish(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Residual add of attention output ``y`` (B, heads, T, hd) and the feed-forward."""
        b, h, t, hd = y.shape
        x = x + self.drop(self.proj(y.transpose(1, 2).reshape(b, t, h * hd)))
        return x + self.drop(self.ff(self.norm2(x)))

    def forward(self, x: torch.Tensor, rope: tuple[torch.Tensor, torch.Tensor] | None = None) -> torch.Tensor:
        """Causal self-attention over the whole sequence."""
        q, k, v = self.split(x, rope)
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, dropout_p=self.attn_dropout if self.training else 0.0
        )
        return self.finish(x, y)


@dataclass
class KVCache(ViewRows):
    """Keys and values of the last ``max_len`` events (a ring buffer), per layer."""

    k: torch.Tensor  # (layers, views, heads, max_len, hd)
    v: torch.Tensor
    transpositions: tuple[int, ...] = (0,)  # each view's transposition (semitones; view 0 is the music as given)
    alive: torch.Tensor | None = None  # (views,) bool: whether each view could transpose every event so far
    count: int = 0  # events pushed since the cache was (re)filled
    next_pos: int = 0  # absolute position of the next event
    time_origin: int = 0  # onset tick that the cached events' time embeddings count from
    shifts: torch.Tensor = field(init=False, repr=False)  # ``transpositions`` as a tensor (views,)

    def __post_init__(self) -> None:
        self._init_views()

    @property
    def filled(self) -> int:
        return min(self.count, self.k.shape[3])


class MusicTransformer(nn.Module):
    """Decoder-only Transformer language model over compound note events."""

    sin_freq: torch.Tensor  # a buffer (registered in __init__)

    def __init__(self, config: TransformerConfig | None = None) -> None:
        super().__init__()
        c = self.config = config or TransformerConfig()
        d, e = c.d_model, c.attr_embedding
        self.n_pitch_in = T.N_EV_PITCH_IN_FIM if c.infill else T.N_EV_PITCH_IN
        self.n_pitch_out = T.N_EV_PITCH_OUT_FIM if c.infill else T.N_EV_PITCH_OUT
        self.shift_emb = nn.Embedding(T.N_SHIFT, d)
        self.pitch_emb = nn.Embedding(self.n_pitch_in, d)
        self.dur_emb = nn.Embedding(T.N_EV_DUR_IN, d)
        self.metric_emb = nn.Embedding(T.METRIC_SIZE, d)
        self.vel_emb = nn.Embedding(T.N_EV_VEL_IN, d) if c.use_velocity else None
        self.style_emb = nn.Embedding(c.n_styles, d) if c.n_styles > 0 else None
        # onset time: the sinusoid of the onset tick (relative to the first event given), through
        # a learned map that starts at zero (a warm start begins where its source model was)
        self.time_proj = nn.Linear(d, d, bias=False) if c.time_embedding else None
        if self.time_proj is not None:
            nn.init.zeros_(self.time_proj.weight)
        for emb in (self.shift_emb, self.pitch_emb, self.dur_emb, self.metric_emb, self.vel_emb, self.style_emb):
            if emb is not None:
                nn.init.normal_(emb.weight, std=d**-0.5)
        half = d // 2  # sinusoid frequencies, kept for the one-event path (not saved with the weights)
        self.register_buffer(
            "sin_freq", torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half), persistent=False
        )
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.layers))
        self.norm = nn.LayerNorm(d)
        # heads, each conditioned on the attributes already chosen for the next event
        self.shift_head = nn.Linear(d, T.N_SHIFT)
        self.out_shift_emb = nn.Embedding(T.N_SHIFT, e)
        self.out_metric_emb = nn.Embedding(T.METRIC_SIZE, e)
        self.out_pitch_emb = nn.Embedding(self.n_pitch_out, e)
        self.pitch_head = nn.Sequential(
            nn.Linear(d + 2 * e, c.head_hidden), nn.GELU(), nn.Linear(c.head_hidden, self.n_pitch_out)
        )
        self.dur_head = nn.Sequential(nn.Linear(d + 3 * e, c.head_hidden), nn.GELU(), nn.Linear(c.head_hidden, T.N_DUR))
        if c.use_velocity:
            self.out_dur_emb = nn.Embedding(T.N_DUR, e)
            self.vel_head = nn.Sequential(
                nn.Linear(d + 4 * e, c.head_hidden), nn.GELU(), nn.Linear(c.head_hidden, T.N_VEL_BINS)
            )

    # -- the stack ----------------------------------------------------------------------------

    @property
    def block_list(self) -> Sequence[Block]:
        """``blocks``, typed (a ModuleList yields plain Modules to a type checker)."""
        return cast(Sequence[Block], self.blocks)

    def embed(self, shift, pitch, dur, vel, metric, positions, style=None, time=None) -> torch.Tensor:
        """Input vectors of events (integer tensors of one shape) at absolute ``positions``;
        ``style``: style ids broadcastable to the events' shape (None: unknown; ignored without styles);
        ``time``: onset ticks relative to an origin (models with ``time_embedding``; None: 0)."""
        x = self.shift_emb(shift) + self.pitch_emb(pitch) + self.dur_emb(dur) + self.metric_emb(metric)
        if self.vel_emb is not None:
            x = x + self.vel_emb(vel)
        if self.style_emb is not None:  # no style given: the "unknown" style (row 0)
            x = x + (self.style_emb(style) if style is not None else self.style_emb.weight[0])
        d = self.config.d_model
        if self.time_proj is not None:
            x = x + self.time_proj(sinusoid(time if time is not None else torch.zeros_like(pitch), d))
        if self.config.rope:
            return x * math.sqrt(d)
        return x * math.sqrt(d) + sinusoid(positions, d)

    def rope_tables(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
        """cos, sin (B, 1, T, hd/2) for absolute ``positions`` (B, T), or None without rope."""
        if not self.config.rope:
            return None
        cos, sin = rope_angles(positions, self.config.d_model // self.config.heads)
        return cos.unsqueeze(1), sin.unsqueeze(1)

    def forward(
        self,
        shift,
        pitch,
        dur,
        vel,
        metric,
        pos_offset: torch.Tensor | None = None,
        style: torch.Tensor | None = None,
        time: torch.Tensor | None = None,
        time_offset: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Hidden states (B, T, d) after the final norm for event sequences (B, T);
        ``pos_offset`` (B,) shifts the absolute positions (training uses random offsets);
        ``style`` (B,) style ids (models with ``n_styles``); ``time`` (B, T) the events' onset
        ticks (models with ``time_embedding``), counted from each row's first event and shifted
        by ``time_offset`` (B,) (training uses random offsets, as for positions)."""
        b, t = pitch.shape
        positions = torch.arange(t, device=pitch.device).unsqueeze(0).expand(b, t)
        if pos_offset is not None:
            positions = positions + pos_offset.view(b, 1)
        st = style.view(b, 1) if style is not None else None
        rel = None
        if self.time_proj is not None and time is not None:
            rel = time - time[:, :1]
            if time_offset is not None:
                rel = rel + time_offset.view(b, 1)
        x = self.drop(self.embed(shift, pitch, dur, vel, metric, positions, st, rel))
        rope = self.rope_tables(positions)
        for block in self.blocks:
            x = block(x, rope)
        return self.norm(x)

    # -- the heads ----------------------------------------------------------------------------
    def shift_logits(self, h: torch.Tensor) -> torch.Tensor:
        return self.shift_head(h)

    def pitch_logits(self, h, shift, metric) -> torch.Tensor:
        """``shift`` and ``metric`` (bar position of the new onset) of the event predicted."""
        return self.pitch_head(torch.cat([h, self.out_shift_emb(shift), self.out_metric_emb(metric)], dim=-1))

    def dur_logits(self, h, shift, metric, pitch) -> torch.Tensor:
        """``pitch`` must be a pitch, GAP or END (their rows are meaningless and masked in the loss)."""
        return self.dur_head(
            torch.cat([h, self.out_shift_emb(shift), self.out_metric_emb(metric), self.out_pitch_emb(pitch)], dim=-1)
        )

    def vel_logits(self, h, shift, metric, pitch, dur) -> torch.Tensor:
        return self.vel_head(
            torch.cat(
                [
                    h,
                    self.out_shift_emb(shift),
                    self.out_metric_emb(metric),
                    self.out_pitch_emb(pitch),
                    self.out_dur_emb(dur),
                ],
                dim=-1,
            )
        )

    def event_nll(
        self, h: torch.Tensor, target: dict[str, torch.Tensor], impossible: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-position NLL of the next events (teacher forcing) and the pitch logits.

        ``target`` holds ``shift``, ``pitch``, ``dur``, ``vel`` and ``metric`` of the events to
        predict, each shaped like ``h`` without its last dimension; ``impossible`` (B, 128): pitch
        outputs removed from each row's softmax (a transposed view's, :meth:`mixture_nll`).
        """
        s, p, d, m = target["shift"], target["pitch"], target["dur"], target["metric"]
        pitch_logits = _without(self.pitch_logits(h, s, m), impossible)
        nll = _ce(self.shift_logits(h), s) + _ce(pitch_logits, p)
        is_note = p < T.N_PITCH
        nll = nll + _ce(self.dur_logits(h, s, m, p), d.clamp(max=T.N_DUR - 1)) * is_note
        if self.config.use_velocity:
            v = target["vel"]
            known = is_note & (v < T.N_VEL_BINS)
            nll = (
                nll + _ce(self.vel_logits(h, s, m, p, d.clamp(max=T.N_DUR - 1)), v.clamp(max=T.N_VEL_BINS - 1)) * known
            )
        return nll, pitch_logits

    def hidden(self, batch: dict[str, torch.Tensor], style: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`forward` over a batch of :func:`event_arrays` (B, T) tensors: ``in_*`` inputs
        and, when present, ``offset`` and ``time_offset`` (training's random offsets) and
        ``style`` (unless ``style`` is given)."""
        return self(
            batch["in_shift"], batch["in_pitch"], batch["in_dur"], batch["in_vel"], batch["in_metric"],
            batch.get("offset"), style=style if style is not None else batch.get("style"),
            time=batch.get("in_time"), time_offset=batch.get("time_offset"),
        )  # fmt: skip

    def batch_nll(
        self, batch: dict[str, torch.Tensor], style: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`hidden` then :meth:`event_nll` (``tg_*`` targets) over a batch."""
        return self.event_nll(self.hidden(batch, style), targets_of(batch))

    def _views_pass(
        self, batch: dict[str, torch.Tensor], ks: Sequence[int], style: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
        """The network on ``batch`` repeated once per view (row ``i·V + v`` is row ``i`` moved by
        ``ks[v]``, inputs and targets): hidden states, targets, the pitch outputs each row cannot
        move back into 0..127 (B·V, 128), and whether each input and each target could be moved
        (B, V, T)."""
        nv, b = len(ks), batch["in_pitch"].shape[0]
        big = {key: val.repeat_interleave(nv, 0) if val.dim() >= 1 else val for key, val in batch.items()}
        shifts = torch.tensor(ks, device=batch["in_pitch"].device).repeat(b)  # (B·V,) the view of each row
        big["in_pitch"], ok_in = transpose_pitches(big["in_pitch"], shifts[:, None])
        big["tg_pitch"], ok_tg = transpose_pitches(big["tg_pitch"], shifts[:, None])
        h = self.hidden(big, style.repeat_interleave(nv, 0) if style is not None else None)
        cannot = cannot_move_back(shifts, T.N_PITCH)
        return h, targets_of(big), cannot, ok_in.view(b, nv, -1), ok_tg.view(b, nv, -1)

    @property
    def transpositions(self) -> tuple[int, ...]:
        """The views of this model's transposition ensemble (``config.transpose_views``)."""
        return view_transpositions(getattr(self.config, "transpose_views", 0))

    @torch.no_grad()
    def mixture_nll(
        self, batch: dict[str, torch.Tensor], style: torch.Tensor | None = None, views: ViewSpec | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-event NLL (B, T) under the transposition ensemble ``views`` (a radius or the
        transpositions; None: the config's ``transpose_views``), and view 0's pitch logits.

        Each view is the model run on the history transposed by ``k`` semitones (the targets too),
        its pitch distribution moved back by ``k`` (what it cannot express has probability 0) and
        renormalised; each event's probability is the mean over the views still alive (a view
        dies at the first input it cannot transpose, as in generation)."""
        ks = view_transpositions(self.config.transpose_views if views is None else views)
        if len(ks) == 1:
            return self.batch_nll(batch, style=style)
        b = batch["in_pitch"].shape[0]
        h, target, cannot, ok_in, ok_tg = self._views_pass(batch, ks, style)
        # the pitch outputs a view cannot move back into 0..127 are removed from its softmax
        nll, pitch_logits = self.event_nll(h, target, cannot)
        mixed = mix_views(nll.view(b, len(ks), -1), ok_in, ok_tg)
        return mixed, pitch_logits.view(b, len(ks), *pitch_logits.shape[1:])[:, 0]

    def attribute_log_probs(
        self, h: torch.Tensor, target: dict[str, torch.Tensor], impossible: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Teacher-forced log-probabilities of each attribute of the next events: ``shift``
        (…, N_SHIFT), ``pitch`` given the true shift (…, n_pitch_out) and ``dur`` given the true
        shift and pitch (…, N_DUR) (``impossible``: as in :meth:`event_nll`). Models with
        velocity are not covered (distillation, its one user, does not support them)."""
        s, p, m = target["shift"], target["pitch"], target["metric"]
        pitch_logits = _without(self.pitch_logits(h, s, m).float(), impossible)
        return {
            "shift": torch.log_softmax(self.shift_logits(h).float(), -1),
            "pitch": torch.log_softmax(pitch_logits, -1),
            "dur": torch.log_softmax(self.dur_logits(h, s, m, p).float(), -1),
        }

    @torch.no_grad()
    def ensemble_targets(self, batch: dict[str, torch.Tensor], radius: int) -> dict[str, torch.Tensor]:
        """The transposition ensemble's teacher-forced distributions of each attribute (log,
        untransposed): ``shift`` the views' mean; ``pitch`` and ``dur`` the compound mixture's
        conditionals given the true shift (and pitch), i.e. each view weighted by its posterior
        after the attributes already given, its pitch distribution moved back. What a student is
        distilled towards (``train --teacher``); the same mixture as :meth:`mixture_nll`."""
        ks = view_transpositions(radius)
        nv, b = len(ks), batch["in_pitch"].shape[0]
        h, target, cannot, ok_in, _ = self._views_pass(batch, ks)
        lp = self.attribute_log_probs(h, target, cannot)
        t = h.shape[1]
        view = {k: v.view(b, nv, t, -1) for k, v in lp.items()}
        index, bad = (
            x.to(h.device)[None, :, None, :].expand_as(view["pitch"]) for x in pitch_gather(ks, lp["pitch"].shape[-1])
        )
        back = torch.log_softmax(untranspose_logits(view["pitch"], index, bad), -1)
        logw = view_log_weights(ok_in).float()
        shift_q = torch.logsumexp(logw[..., None] + view["shift"], 1)
        s = batch["tg_shift"][:, None, :, None].expand(b, nv, t, 1)
        post = logw + view["shift"].gather(-1, s).squeeze(-1)
        post = post - torch.logsumexp(post, 1, keepdim=True)
        pitch_q = torch.logsumexp(post[..., None] + back, 1)
        p = batch["tg_pitch"][:, None, :, None].expand(b, nv, t, 1).clamp(max=back.shape[-1] - 1)
        post = post + back.gather(-1, p).squeeze(-1)
        post = torch.nan_to_num(post - torch.logsumexp(post, 1, keepdim=True), nan=float("-inf"))
        dur_q = torch.logsumexp(post[..., None] + view["dur"], 1)
        return {"shift": shift_q, "pitch": pitch_q, "dur": dur_q}

    # -- incremental inference ----------------------------------------------------------------
    def new_cache(self, transpositions: Sequence[int] | None = None) -> KVCache:
        """An empty cache for the views ``transpositions`` (None: the model's ensemble)."""
        c = self.config
        ks = tuple(self.transpositions if transpositions is None else transpositions)
        shape = (c.layers, len(ks), c.heads, c.max_len, c.d_model // c.heads)
        return KVCache(torch.zeros(shape), torch.zeros(shape), ks)

    @torch.inference_mode()
    def prefill(
        self, shift, pitch, dur, vel, metric, cache: KVCache, start_pos: int = 0, style: int = 0, time=None
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Encode up to ``max_len`` events (1-D tensors) into an empty ``cache`` in one pass;
        ``time``: their onset ticks (models with ``time_embedding``; the first becomes the cache's
        time origin, which :meth:`step` counts from).

        Returns the hidden states after the last event, one row per view of the cache (views,
        d_model), and that event's attention over the cached events in view 0 (last layer, mean
        over heads, oldest first).
        """
        t = pitch.shape[0]
        if t > self.config.max_len:
            raise ValueError("prefill longer than the context")
        nv = cache.views
        positions = torch.arange(start_pos, start_pos + t)[None].expand(nv, t)
        rel = None
        if time is not None:
            cache.time_origin = int(time[0])
            rel = (time - cache.time_origin)[None].expand(nv, t)
        pitches = cache.start(pitch)

        def rows(a: torch.Tensor) -> torch.Tensor:
            return a[None].expand(nv, t)

        x = self.embed(
            rows(shift), pitches, rows(dur), rows(vel), rows(metric), positions, torch.full((nv, 1), int(style)), rel
        )
        rope = self.rope_tables(positions)
        weights = torch.zeros(0)  # set by the last block
        for i, block in enumerate(self.block_list):
            q, k, v = block.split(x, rope)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            if i == len(self.blocks) - 1:
                s = (q[0, :, -1:] @ k[0].transpose(-1, -2)) / math.sqrt(q.shape[-1])
                weights = torch.softmax(s, dim=-1).mean(dim=0)[0]
            cache.k[i, :, :, :t] = k
            cache.v[i, :, :, :t] = v
            x = block.finish(x, y)
        cache.count = t
        cache.next_pos = start_pos + t
        return self.norm(x[:, -1]), weights.numpy().copy()

    def _embed_one(
        self,
        shift: int,
        pitch: int | torch.Tensor,
        dur: int,
        vel: int,
        metric: int,
        position: int,
        style: int = 0,
        time: int = 0,
    ) -> torch.Tensor:
        """:meth:`embed` of a single event, without building index tensors; ``pitch``: one
        token, or one per view (a tensor (views,), giving (views, d_model))."""
        d = self.config.d_model
        vec = (
            self.shift_emb.weight[shift]
            + self.pitch_emb.weight[pitch]
            + self.dur_emb.weight[dur]
            + self.metric_emb.weight[metric]
        )
        if self.vel_emb is not None:
            vec = vec + self.vel_emb.weight[vel]
        if self.style_emb is not None:
            vec = vec + self.style_emb.weight[style]
        if self.time_proj is not None:
            vec = vec + F.linear(self._sinusoid_one(time), self.time_proj.weight)
        if self.config.rope:
            return vec * math.sqrt(d)
        return vec * math.sqrt(d) + self._sinusoid_one(position)

    def _sinusoid_one(self, value: int) -> torch.Tensor:
        """:func:`sinusoid` of one integer, from the precomputed frequencies."""
        angle = self.sin_freq * float(value)
        return torch.cat([torch.sin(angle), torch.cos(angle)])

    @torch.inference_mode()
    def step(
        self, shift: int, pitch: int, dur: int, vel: int, metric: int, cache: KVCache, style: int = 0, time: int = 0
    ) -> tuple[torch.Tensor, np.ndarray]:
        """Feed one event (``time``: its onset tick, for models with ``time_embedding``); returns
        the hidden states for predicting the next one, one row per view of the cache (views,
        d_model; each view is fed ``pitch`` moved by its transposition), and this event's
        attention over the cached events in view 0 (last layer, mean over heads, oldest first).

        The same arithmetic as :meth:`forward`, written with functional calls on the views' rows:
        at length 1 the module-call overhead would otherwise cost as much as the maths.
        """
        c = self.config
        d, heads = c.d_model, c.heads
        hd = d // heads
        nv = cache.views
        pos = cache.next_pos
        p = int(pitch)
        pitches: int | torch.Tensor = p if nv == 1 else cache.push(p)  # specials: always movable
        x = self._embed_one(
            int(shift), pitches, int(dur), int(vel), int(metric), pos, int(style), int(time) - cache.time_origin
        ).view(nv, d)
        rope = rope_angles(torch.tensor(pos), hd) if c.rope else None
        slot = cache.count % c.max_len
        cache.count += 1
        cache.next_pos += 1
        n = cache.filled
        scale = 1.0 / math.sqrt(hd)
        weights = torch.zeros(0)  # set by the last block
        params = self._step_params()
        last = len(params) - 1
        for i, (n1w, n1b, n1e, qkv_t, qkv_b, p_t, pb, n2w, n2b, n2e, f1_t, f1b, f2_t, f2b) in enumerate(params):
            y = F.layer_norm(x, (d,), n1w, n1b, n1e)
            q, k, v = torch.addmm(qkv_b, y, qkv_t).view(nv, 3, heads, hd).unbind(1)  # each (views, heads, hd)
            if rope is not None:
                q, k = apply_rope(q, *rope), apply_rope(k, *rope)
            keys, values = cache.k[i], cache.v[i]  # (views, heads, max_len, hd)
            keys[:, :, slot] = k
            values[:, :, slot] = v
            # one fused call for every view (the order of the cached keys does not matter)
            att = F.scaled_dot_product_attention(q.unsqueeze(2), keys[:, :, :n], values[:, :, :n])
            if i == last:  # the last layer's attention weights in view 0, returned for display
                scores = torch.bmm(keys[0, :, :n], (q[0] * scale).unsqueeze(-1)).squeeze(-1)  # (heads, n)
                weights = torch.softmax(scores, dim=-1).mean(dim=0)
            x = x + torch.addmm(pb, att.reshape(nv, d), p_t)
            y = F.layer_norm(x, (d,), n2w, n2b, n2e)
            x = x + torch.addmm(f2b, F.gelu(torch.addmm(f1b, y, f1_t)), f2_t)
        h = F.layer_norm(x, (d,), self.norm.weight, self.norm.bias, self.norm.eps)
        if n == c.max_len:  # ring buffer: reorder slots oldest → newest
            order = (torch.arange(cache.count - n, cache.count)) % c.max_len
            weights = weights[order]
        return h, weights.numpy().copy()

    def _step_params(self) -> list[tuple]:
        """Per block, the tensors :meth:`step` uses, looked up once: each lookup through the
        modules costs about a microsecond, some 140 of them per event. The weight matrices are
        kept transposed and contiguous (``addmm`` on a few rows runs about a fifth faster than
        ``linear``'s transposed view); norms and biases are the Parameters themselves. Rebuilt
        when the weights are replaced (the first one is looked up per event) or a matrix is
        changed in place (fine-tuning: the kept matrices' version counters are read per event)."""
        first = self.block_list[0].qkv.weight
        cached = self.__dict__.get("_step_tensors")
        if cached is not None and cached[0] is first and cached[2] == tuple(m._version for m in cached[1]):
            return cached[3]
        blocks = self.block_list
        mats = tuple(w for b in blocks for w in (b.qkv.weight, b.proj.weight, *(f.weight for f in b.ff_linears)))

        def t(w: torch.Tensor) -> torch.Tensor:
            return w.detach().t().contiguous()

        rows = []
        with torch.no_grad():
            for blk in blocks:
                ff1, ff2 = blk.ff_linears
                rows.append(
                    (
                        *(blk.norm1.weight, blk.norm1.bias, blk.norm1.eps, t(blk.qkv.weight), blk.qkv.bias),
                        *(t(blk.proj.weight), blk.proj.bias, blk.norm2.weight, blk.norm2.bias, blk.norm2.eps),
                        *(t(ff1.weight), ff1.bias, t(ff2.weight), ff2.bias),
                    )
                )
        self.__dict__["_step_tensors"] = (first, mats, tuple(m._version for m in mats), rows)
        return rows


def _without(pitch_logits: torch.Tensor, impossible: torch.Tensor | None) -> torch.Tensor:
    """Pitch logits (B, T, n_out) with the outputs ``impossible`` (B, ≤ n_out; padded with False)
    removed from each row's softmax (−inf); unchanged without ``impossible``."""
    if impossible is None:
        return pitch_logits
    cut = F.pad(impossible, (0, pitch_logits.shape[-1] - impossible.shape[-1]))
    return pitch_logits.masked_fill(cut[:, None, :], float("-inf"))


def _ce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy per position for logits (..., C) and targets (...)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), target.reshape(-1), reduction="none").view(
        target.shape
    )


# the arrays :func:`event_arrays` returns: inputs and targets of each attribute, and the input onset ticks
EVENT_KEYS = tuple(f"{a}_{k}" for a in ("in", "tg") for k in ("shift", "pitch", "dur", "vel", "metric")) + ("in_time",)


def event_arrays(ev: dict[str, np.ndarray], bar_ticks: int) -> dict[str, np.ndarray]:
    """Inputs and targets of a whole event sequence (BOS first): ``in_*`` for positions 0..n-2,
    ``tg_*`` for the events 1..n-1 they predict (``tg_metric``: the new onset's bar position)."""
    metric = T.metric_index(ev["time"], bar_ticks).astype(np.int64)
    out = {}
    for key in ("shift", "pitch", "dur", "vel"):
        out[f"in_{key}"] = np.asarray(ev[key][:-1], dtype=np.int64)
        out[f"tg_{key}"] = np.asarray(ev[key][1:], dtype=np.int64)
    out["in_metric"] = metric[:-1]
    out["tg_metric"] = metric[1:]
    out["in_time"] = np.asarray(ev["time"][:-1], dtype=np.int64)
    return out
