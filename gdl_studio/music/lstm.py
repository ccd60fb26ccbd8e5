"""The attention LSTM of *Generative Deep Learning*'s "Compose" model, done right.

Per step the inputs are the embedded note token (pitch / REST) and embedded duration token of
the previous step, plus what the voice schedule already fixes about the step to predict: its
voice, the number of voices and its position in the bar (see :mod:`gdl_studio.music.tokens`).
A stacked LSTM runs over them; the attention is the book's: an alignment score
``e_j = tanh(w·h_j + b)`` (a dense layer with one output and tanh) for every top-layer hidden
state, a softmax over the last ``window`` time steps, and a context vector that is the weighted
sum of those hidden states. Two heads predict the next note and then its duration.

Done right means: rests are kept; the heads see ``[context; h_t]`` (the book's heads saw only
the context, in which the current state can get at most e²/(e²+W-1) of the weight); the
duration head also sees the note it is the duration of (``p(note) · p(duration | note)``),
and attention is causal over a sliding window, so training runs over whole sequences at once.

Because the alignment score of a state does not depend on the query, the softmax over a window
is a ratio of windowed sums of ``exp(e_j)·h_j`` and ``exp(e_j)`` (and ``exp(e_j)`` is within
[1/e, e], so no max-subtraction is needed). Training uses cumulative sums; inference keeps a
ring buffer of the last ``window`` states and steps one note at a time, carrying state.

With ``transpose_views`` = R the model predicts as the ensemble of :mod:`gdl_studio.music.views`:
the state carries one row per view (the music moved by −R…R semitones) and each step's note and
duration are the views' mixture (:meth:`AttentionLSTM.mixture_nll` scores exactly that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

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
    transpose_pitches,
    view_transpositions,
)


@dataclass
class LSTMConfig:
    """Hyper-parameters of :class:`AttentionLSTM` (stored in the model card)."""

    hidden: int = 320
    layers: int = 3
    note_embedding: int = 128
    duration_embedding: int = 64
    voice_embedding: int = 16
    metric_embedding: int = 32
    window: int = 64
    duration_hidden: int = 256
    dropout: float = 0.3
    n_styles: int = 0  # a style embedding concatenated to every step's inputs (0: none; 0 = unknown)
    style_embedding: int = 16
    # transposition views (:mod:`gdl_studio.music.views`): each step predicted as the mean of the
    # network's predictions for the history moved by -R..R semitones (0: the network alone), or by
    # the listed transpositions (0 first)
    transpose_views: int | list[int] = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> LSTMConfig:
        fields = LSTMConfig.__dataclass_fields__
        return LSTMConfig(**{k: v for k, v in d.items() if k in fields})


@dataclass
class LSTMState(ViewRows):
    """Everything carried from one step to the next during inference, one row per view (each
    view is fed the music moved by its transposition; view 0 is the music as given)."""

    h: list[torch.Tensor]  # per layer (views, hidden)
    c: list[torch.Tensor]
    ring_h: torch.Tensor  # (views, window, hidden)
    ring_a: torch.Tensor  # (views, window) exp(alignment score); 0 where empty
    steps: int = 0  # how many states have been pushed
    cell: list[tuple[torch.Tensor, torch.Tensor]] | None = None  # fused [W_ih W_hh]ᵀ, bias per layer
    transpositions: tuple[int, ...] = (0,)  # each view's transposition (semitones)
    alive: torch.Tensor | None = None  # (views,) bool: whether each view could transpose every input so far
    shifts: torch.Tensor = field(init=False, repr=False)  # ``transpositions`` as a tensor (views,)

    def __post_init__(self) -> None:
        self._init_views()


class AttentionLSTM(nn.Module):
    """Stacked LSTM with the book's attention and two heads (note, then duration)."""

    def __init__(self, config: LSTMConfig | None = None) -> None:
        super().__init__()
        c = self.config = config or LSTMConfig()
        self.note_emb = nn.Embedding(T.N_STEP_NOTE_IN, c.note_embedding)
        self.dur_emb = nn.Embedding(T.N_STEP_DUR_IN, c.duration_embedding)
        self.voice_emb = nn.Embedding(T.MAX_VOICES, c.voice_embedding)
        self.n_voices_emb = nn.Embedding(T.MAX_VOICES + 1, c.voice_embedding)
        self.metric_emb = nn.Embedding(T.METRIC_SIZE, c.metric_embedding)
        in_dim = c.note_embedding + c.duration_embedding + 2 * c.voice_embedding + c.metric_embedding
        self.style_emb = nn.Embedding(c.n_styles, c.style_embedding) if c.n_styles > 0 else None
        if self.style_emb is not None:
            in_dim += c.style_embedding
        self.lstm = nn.LSTM(in_dim, c.hidden, c.layers, batch_first=True, dropout=c.dropout if c.layers > 1 else 0.0)
        self.align = nn.Linear(c.hidden, 1)
        self.drop = nn.Dropout(c.dropout)
        self.note_head = nn.Linear(2 * c.hidden, T.N_STEP_NOTE_OUT)
        self.chosen_note_emb = nn.Embedding(T.N_STEP_NOTE_OUT, c.note_embedding)
        self.dur_head = nn.Sequential(
            nn.Linear(2 * c.hidden + c.note_embedding, c.duration_hidden),
            nn.GELU(),
            nn.Linear(c.duration_hidden, T.N_DUR),
        )

    # -- inputs ---------------------------------------------------------------------------
    def embed(self, note, dur, voice, n_voices, metric, style=None) -> torch.Tensor:
        """Concatenated input embeddings; all arguments are integer tensors of one shape
        (``style``: style ids of that shape, or None = unknown, for a model with styles)."""
        parts = [
            self.note_emb(note),
            self.dur_emb(dur),
            self.voice_emb(voice),
            self.n_voices_emb(n_voices),
            self.metric_emb(metric),
        ]
        if self.style_emb is not None:
            parts.append(self.style_emb(style if style is not None else torch.zeros_like(note)))
        return torch.cat(parts, dim=-1)

    # -- training / scoring ---------------------------------------------------------------
    def forward(
        self, note, dur, voice, n_voices, metric, target_note, hc=None, style=None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Whole sequences (B, T) → ``(note_logits (B,T,129), duration_logits (B,T,N_DUR))``.

        The duration head is fed ``target_note`` (teacher forcing: the true next note).
        """
        x = self.drop(self.embed(note, dur, voice, n_voices, metric, style))
        with torch.autocast(device_type=x.device.type, enabled=False):
            h, _ = self.lstm(x.float(), hc)
        ctx = self.windowed_context(h)
        feats = self.drop(torch.cat([ctx.to(h.dtype), h], dim=-1))
        note_logits = self.note_head(feats)
        dur_logits = self.dur_head(torch.cat([feats, self.chosen_note_emb(target_note)], dim=-1))
        return note_logits, dur_logits

    @property
    def transpositions(self) -> tuple[int, ...]:
        """The views of this model's transposition ensemble (``config.transpose_views``)."""
        return view_transpositions(getattr(self.config, "transpose_views", 0))

    @torch.no_grad()
    def mixture_nll(
        self, batch: dict[str, torch.Tensor], style: torch.Tensor | None = None, views: ViewSpec | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-step NLL (B, T) of the note and duration of whole step sequences (:func:`lstm_inputs`
        tensors (B, T): ``note``, ``dur``, ``voice``, ``n_voices``, ``metric``, ``target_note``,
        ``target_dur``) under the transposition ensemble ``views`` (a radius or the transpositions;
        None: the config's), and view 0's note logits (B, T, 129).

        Each view is the network on the steps moved by ``k`` semitones (targets too), its note
        distribution renormalised over the pitches it can move back; each step's probability
        (note and duration together) is the mean over the views still alive, as in generation."""
        ks = view_transpositions(self.config.transpose_views if views is None else views)
        nv, b = len(ks), batch["note"].shape[0]

        def rows(a: torch.Tensor) -> torch.Tensor:
            return a.repeat_interleave(nv, 0)

        shifts = torch.tensor(ks, device=batch["note"].device).repeat(b)  # (B·V,) the view of each row
        note, ok_in = transpose_pitches(rows(batch["note"]), shifts[:, None])
        target, ok_tg = transpose_pitches(rows(batch["target_note"]), shifts[:, None])
        note_logits, dur_logits = self(
            note, rows(batch["dur"]), rows(batch["voice"]), rows(batch["n_voices"]), rows(batch["metric"]), target,
            style=None if style is None else rows(style),
        )  # fmt: skip
        note_logits = note_logits.float()
        if nv > 1:  # the pitches a view cannot move back into 0..127 leave its softmax
            note_logits = note_logits.masked_fill(cannot_move_back(shifts, note_logits.shape[-1])[:, None], -torch.inf)
        lp = F.log_softmax(note_logits, -1).gather(-1, target[..., None])[..., 0]
        lp = lp + F.log_softmax(dur_logits.float(), -1).gather(-1, rows(batch["target_dur"])[..., None])[..., 0]
        t = lp.shape[1]
        nll = mix_views(-lp.view(b, nv, t), ok_in.view(b, nv, t), ok_tg.view(b, nv, t)) if nv > 1 else -lp
        return nll, note_logits.view(b, nv, t, -1)[:, 0]

    def alignment(self, h: torch.Tensor) -> torch.Tensor:
        """``exp(tanh(w·h + b))`` for every hidden state (last dimension dropped)."""
        return torch.exp(torch.tanh(self.align(h).squeeze(-1).float()))

    def windowed_context(self, h: torch.Tensor) -> torch.Tensor:
        """Attention context at every step: softmax of the alignment over the last ``window``
        states (the current one included), as a ratio of windowed cumulative sums."""
        w = self.config.window
        a = self.alignment(h).double()  # (B, T)
        num = torch.cumsum(a.unsqueeze(-1) * h.double(), dim=1)
        den = torch.cumsum(a, dim=1)
        if h.shape[1] > w:
            num = num - F.pad(num, (0, 0, w, 0))[:, : h.shape[1]]
            den = den - F.pad(den, (w, 0))[:, : h.shape[1]]
        return (num / den.unsqueeze(-1)).float()

    def attention_weights(self, h: torch.Tensor) -> torch.Tensor:
        """Full (T, T) attention matrix of one sequence ``h`` (T, H), for tests and plots."""
        a = self.alignment(h)
        t = h.shape[0]
        i = torch.arange(t)
        allowed = (i[None, :] <= i[:, None]) & (i[None, :] > i[:, None] - self.config.window)
        m = a[None, :].expand(t, t) * allowed
        return m / m.sum(dim=1, keepdim=True)

    # -- inference --------------------------------------------------------------------------
    def initial_state(self, transpositions: Sequence[int] | None = None) -> LSTMState:
        """An empty state (no step taken) for the views ``transpositions`` (None: the model's
        ensemble); also snapshots the fused weights of one step."""
        c = self.config
        ks = tuple(self.transpositions if transpositions is None else transpositions)
        nv = len(ks)
        zeros = [torch.zeros(nv, c.hidden) for _ in range(c.layers)]
        return LSTMState(
            zeros,
            [z.clone() for z in zeros],
            torch.zeros(nv, c.window, c.hidden),
            torch.zeros(nv, c.window),
            0,
            self._fused_cell(),
            ks,
        )

    @torch.inference_mode()
    def _fused_cell(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer ``([W_ih W_hh]ᵀ, b_ih + b_hh)``: one matrix product per layer and step
        (nn.LSTM's per-call overhead is three times the arithmetic at batch 1, length 1)."""
        out = []
        for k in range(self.config.layers):
            w = torch.cat([getattr(self.lstm, f"weight_ih_l{k}"), getattr(self.lstm, f"weight_hh_l{k}")], dim=1)
            b = getattr(self.lstm, f"bias_ih_l{k}") + getattr(self.lstm, f"bias_hh_l{k}")
            out.append((w.float().t().contiguous(), b.float()))
        return out

    @torch.inference_mode()
    def prefill(
        self, note, dur, voice, n_voices, metric, style: int = 0, transpositions: Sequence[int] | None = None
    ) -> LSTMState:
        """Run a primer (1-D integer tensors, step inputs) through the network in one call, once
        per view of ``transpositions`` (None: the model's ensemble), and return the state after
        it (the cheap way to start generating after a primer)."""
        state = self.initial_state(transpositions)
        if note.numel() == 0:
            return state
        nv, t = state.views, note.shape[0]
        notes = state.start(note)

        def rows(a: torch.Tensor) -> torch.Tensor:
            return a[None].expand(nv, t)

        x = self.embed(notes, rows(dur), rows(voice), rows(n_voices), rows(metric), torch.full((nv, t), int(style)))
        h, (h_n, c_n) = self.lstm(x)
        state.h = [h_n[k].clone() for k in range(self.config.layers)]
        state.c = [c_n[k].clone() for k in range(self.config.layers)]
        n = min(t, self.config.window)
        state.steps = t - n
        self._push(state, h[:, -n:], self.alignment(h[:, -n:]))
        return state

    def _push(self, state: LSTMState, h: torch.Tensor, a: torch.Tensor) -> None:
        """Append states ``h`` (views, n, hidden) and their alignments ``a`` (views, n)."""
        w = self.config.window
        for k in range(h.shape[1]):
            slot = state.steps % w
            state.ring_h[:, slot] = h[:, k]
            state.ring_a[:, slot] = a[:, k]
            state.steps += 1

    @torch.inference_mode()
    def step(
        self, note: int, dur: int, voice: int, n_voices: int, metric: int, state: LSTMState, style: int = 0
    ) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
        """Advance one step, every view fed ``note`` moved by its transposition. Returns
        ``(note_logits, features, attention)``: logits of the note to predict (views, 129), in
        each view's own transposition, the features the duration head needs (views, ·; see
        :meth:`duration_logits`) and view 0's attention weights over the window, oldest first
        (length ≤ window)."""
        nv, hid = state.views, self.config.hidden
        p = int(note)
        notes = torch.tensor([p]) if nv == 1 else state.push(p)  # REST, BOS: always movable
        rest = [self.dur_emb.weight[dur], self.voice_emb.weight[voice], self.n_voices_emb.weight[n_voices]]
        rest.append(self.metric_emb.weight[metric])
        if self.style_emb is not None:
            rest.append(self.style_emb.weight[style])
        inp = torch.cat([self.note_emb.weight[notes], torch.cat(rest).expand(nv, -1)], dim=1)
        for k, (wt, b) in enumerate(state.cell or self._fused_cell()):
            gates = torch.addmm(b, torch.cat([inp, state.h[k]], dim=1), wt)
            sig = torch.sigmoid(gates)
            c = sig[:, hid : 2 * hid] * state.c[k] + sig[:, :hid] * torch.tanh(gates[:, 2 * hid : 3 * hid])
            inp = sig[:, 3 * hid :] * torch.tanh(c)
            state.h[k], state.c[k] = inp, c
        h = inp
        window = self.config.window
        slot = state.steps % window
        state.ring_h[:, slot] = h
        state.ring_a[:, slot] = self.alignment(h)
        state.steps += 1
        weights = state.ring_a / state.ring_a.sum(dim=1, keepdim=True)
        ctx = torch.bmm(weights.unsqueeze(1), state.ring_h).squeeze(1)
        feats = torch.cat([ctx, h], dim=1)
        n = min(state.steps, window)
        order = torch.arange(state.steps - n, state.steps) % window
        return self.note_head(feats), feats, weights[0, order].numpy().copy()

    @torch.inference_mode()
    def duration_logits(self, feats: torch.Tensor, chosen_note: int | torch.Tensor) -> torch.Tensor:
        """Logits of the duration (views, N_DUR) given the step features (views, ·) and the
        chosen note: one for every view, or each view's own (a tensor (views,))."""
        emb = self.chosen_note_emb.weight[chosen_note]
        return self.dur_head(torch.cat([feats, emb.expand(feats.shape[0], -1)], dim=1))


def lstm_inputs(note: np.ndarray, dur: np.ndarray, n_voices: int, bar_ticks: int) -> dict[str, np.ndarray]:
    """Step inputs plus targets for one whole piece (see :func:`tokens.step_inputs`)."""
    inp = T.step_inputs(np.asarray(note), np.asarray(dur), n_voices, bar_ticks)
    inp["n_voices"] = np.full(len(note), n_voices, dtype=np.int64)
    inp["target_note"] = np.asarray(note, dtype=np.int64)
    inp["target_dur"] = np.asarray(dur, dtype=np.int64)
    return inp
