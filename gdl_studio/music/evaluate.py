"""Scoring whole pieces: NLL in nats per note and next-note accuracy, comparable across models.

*Nats per note* is the total negative log-likelihood of a piece's token sequence (everything
after the start token: time shifts, rests, pitches, durations) divided by its number of notes,
so the LSTM's steps and the Transformer's events are measured on the same footing.
*Next-note accuracy* is the share of notes whose pitch is the model's most likely pitch at the
moment that note is predicted (given the true history and that a note comes next; for the
Transformer: given the true shift, i.e. the onset, as the LSTM is given its step's onset).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from gdl_studio.music import tokens as T
from gdl_studio.music.corpus import CorpusPiece
from gdl_studio.music.lstm import AttentionLSTM, lstm_inputs
from gdl_studio.music.transformer import MusicTransformer, event_arrays


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
    batch, longest = [], 0
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
def score_lstm(model: AttentionLSTM, pieces: Sequence[CorpusPiece], device: str = "cpu",
               max_tokens: int = 65536) -> Scores:
    """NLL and accuracy of the LSTM on whole pieces (each from its first step, state zero)."""
    model.eval()
    out = Scores()
    keys = ("note", "dur", "voice", "n_voices", "metric", "target_note", "target_dur")
    for batch in _batched(pieces, lambda p: len(p.step_note), max_tokens):
        inputs = [lstm_inputs(p.step_note, p.step_dur, p.n_voices, p.bar_ticks) for p in batch]
        t_max = max(len(p.step_note) for p in batch)
        arrs = {k: np.zeros((len(batch), t_max), np.int64) for k in keys}
        for b, inp in enumerate(inputs):
            for k in keys:
                arrs[k][b, : len(inp[k])] = inp[k]
        ten = {k: torch.from_numpy(v).to(device) for k, v in arrs.items()}
        note_logits, dur_logits = model(ten["note"], ten["dur"], ten["voice"], ten["n_voices"], ten["metric"], ten["target_note"])
        lp_note = F.log_softmax(note_logits.float(), -1).gather(-1, ten["target_note"][..., None])[..., 0]
        lp_dur = F.log_softmax(dur_logits.float(), -1).gather(-1, ten["target_dur"][..., None])[..., 0]
        best_pitch = note_logits[..., : T.N_PITCH].argmax(-1)
        nll = -(lp_note + lp_dur)
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
def score_transformer(model: MusicTransformer, pieces: Sequence[CorpusPiece], device: str = "cpu",
                      batch_windows: int = 16) -> Scores:
    """NLL and accuracy of the Transformer on whole pieces (sliding windows for long ones)."""
    model.eval()
    cfg = model.config
    out = Scores()
    keys = [f"{a}_{k}" for a in ("in", "tg") for k in ("shift", "pitch", "dur", "vel", "metric")]
    jobs = []  # (piece index, arrays of one window, first scored position in the window)
    per_piece = []
    for pi, p in enumerate(pieces):
        arr = event_arrays(p.note_events(cfg.use_velocity), p.bar_ticks)
        n = len(arr["tg_pitch"])
        per_piece.append([0.0, 0, 0, n])
        for s, e, first in event_windows(n, cfg.max_len):
            jobs.append((pi, {k: arr[k][s:e] for k in keys}, first - s))
    for k in range(0, len(jobs), batch_windows):
        chunk = jobs[k: k + batch_windows]
        t_max = max(len(j[1]["tg_pitch"]) for j in chunk)
        batch = {key: np.zeros((len(chunk), t_max), np.int64) for key in keys}
        for b, (_, arr, _) in enumerate(chunk):
            for key in keys:
                batch[key][b, : len(arr[key])] = arr[key]
        ten = {key: torch.from_numpy(v).to(device) for key, v in batch.items()}
        h = model(ten["in_shift"], ten["in_pitch"], ten["in_dur"], ten["in_vel"], ten["in_metric"])
        target = {key: ten[f"tg_{key}"] for key in ("shift", "pitch", "dur", "vel", "metric")}
        nll, pitch_logits = model.event_nll(h, target)
        best = pitch_logits[..., : T.N_PITCH].argmax(-1)
        for b, (pi, arr, first) in enumerate(chunk):
            n = len(arr["tg_pitch"])
            tgt = target["pitch"][b, first:n]
            is_note = tgt < T.N_PITCH
            acc = per_piece[pi]
            acc[0] += float(nll[b, first:n].double().sum())
            acc[1] += int(((best[b, first:n] == tgt) & is_note).sum())
            acc[2] += int(is_note.sum())
    for p, (nats, correct, predicted, tokens) in zip(pieces, per_piece):
        out.add(nats, p.n_notes, tokens, correct, predicted)
    return out
