"""Transposition views: the ensemble both music models can predict with.

Training transposes every piece by up to ±6 semitones, so a network already models the same
music a few semitones away. An ensemble predicts each event (a Transformer's note event, an
LSTM's voice step) as the mean of the network's predictions for the history moved by a few
transpositions (−R…R semitones for a radius R, or a chosen set such as 0, ±1, ±6, which
``scripts/music_views.py`` picks on validation pieces), each moved back; a view whose pitch
distribution cannot be moved back (pitches leaving 0..127) has probability 0 there and is
renormalised over what it can express, and a view that cannot move an input drops out from
that input on (in scoring and in generation).
These are the pieces the two models and their samplers share.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from gdl_studio.music import tokens as T

MAX_VIEW_SHIFT = 12  # the farthest transposition a view may take (an octave)

ViewSpec = int | Sequence[int]  # a radius R (the views -R..R), or the transpositions themselves


def view_transpositions(spec: ViewSpec) -> tuple[int, ...]:
    """The transpositions of an ensemble: a radius R gives 0 first, then ±1, ±2, … ±R; a list
    (e.g. ``[0, 1, -1, 6, -6]``, as a card stores a chosen set) is taken as it is, once checked:
    whole numbers of semitones within ±:data:`MAX_VIEW_SHIFT`, no repeats, 0 first (view 0 is
    the untransposed model, whose attention the panel shows). Raises ``ValueError``."""
    if isinstance(spec, bool):
        raise ValueError(f"views: a radius or a list of transpositions, not {spec!r}")
    if isinstance(spec, int | float):
        if spec != int(spec):
            raise ValueError(f"a view radius is a whole number, not {spec}")
        out = [0]
        for r in range(1, max(int(spec), 0) + 1):
            out.extend((r, -r))
        return tuple(out)
    items: list[object] = list(spec)
    if not items or any(isinstance(k, bool) or not isinstance(k, int | float) or k != int(k) for k in items):
        raise ValueError(f"views must be whole numbers of semitones, not {spec!r}")
    ks = [int(k) for k in items if isinstance(k, int | float)]  # all are, once checked
    if ks[0] != 0:
        raise ValueError(f"the first view must be 0 (the untransposed model), not {ks[0]}")
    if len(set(ks)) != len(ks):
        raise ValueError(f"views repeat a transposition: {ks}")
    if any(abs(k) > MAX_VIEW_SHIFT for k in ks):
        raise ValueError(f"views transpose by at most {MAX_VIEW_SHIFT} semitones each way: {ks}")
    return tuple(ks)


def describe_views(spec: ViewSpec) -> str:
    """A short label of an ensemble's transpositions: ``"0"``, ``"0 ±1 ±6"``, ``"0 +2"``."""
    ks = view_transpositions(spec)
    parts: list[str] = []
    seen: set[int] = set()
    for k in ks:
        if k in seen:
            continue
        if k and -k in ks:
            parts.append(f"±{abs(k)}")
            seen.update((k, -k))
        else:
            parts.append(f"{k:+d}" if k else "0")
            seen.add(k)
    return " ".join(parts)


def transpose_pitches(pitch: torch.Tensor, k: int | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pitch tokens moved by ``k`` semitones (a number, or a tensor broadcast against ``pitch``;
    specials such as GAP/BOS/REST unchanged) and whether each could be (a pitch moved out of
    0..127 is clamped and reported False)."""
    is_pitch = pitch < T.N_PITCH
    moved = torch.where(is_pitch, pitch + k, pitch)
    ok = ~is_pitch | ((moved >= 0) & (moved < T.N_PITCH))
    return torch.where(is_pitch, moved.clamp(0, T.N_PITCH - 1), pitch), ok


def in_each_view(pitch: int, shifts: torch.Tensor) -> torch.Tensor:
    """One pitch token as each view (transposition ``shifts`` (views,)) sees it: (views,) tokens
    (specials unchanged; a pitch a view cannot reach clamped, see :func:`transpose_pitches`)."""
    return transpose_pitches(torch.full((len(shifts),), int(pitch)), shifts)[0]


def pitch_gather(transpositions: Sequence[int], n_out: int) -> tuple[torch.Tensor, torch.Tensor]:
    """For each view (transposition ``k``), the index into its pitch logits of each output token
    (pitch ``p`` is that view's ``p + k``; specials are themselves) and which outputs the view
    cannot express (``p + k`` outside 0..127): ``(index (V, n_out), impossible (V, n_out))``."""
    base = torch.arange(n_out)
    idx, bad = [], []
    for k in transpositions:
        i = base.clone()
        moved = base[: T.N_PITCH] + int(k)
        i[: T.N_PITCH] = moved.clamp(0, T.N_PITCH - 1)
        b = torch.zeros(n_out, dtype=torch.bool)
        b[: T.N_PITCH] = (moved < 0) | (moved >= T.N_PITCH)
        idx.append(i)
        bad.append(b)
    return torch.stack(idx), torch.stack(bad)


def untranspose_logits(logits: torch.Tensor, index: torch.Tensor, impossible: torch.Tensor) -> torch.Tensor:
    """Pitch logits (R, n_out) of views in their own transposition → the same outputs in the
    untransposed pitch space (``index``/``impossible`` (R, n_out) from :func:`pitch_gather`;
    what a view cannot express gets −inf, so its softmax stays normalised)."""
    return torch.gather(logits, -1, index).masked_fill(impossible, float("-inf"))


def cannot_move_back(shifts: torch.Tensor, n_out: int) -> torch.Tensor:
    """(rows, n_out) the pitch outputs that rows transposed by ``shifts`` (rows,) cannot move
    back into 0..127 (removed from their softmax; specials never are)."""
    moved_back = torch.arange(T.N_PITCH, device=shifts.device)[None, :] - shifts[:, None]
    cannot = (moved_back < 0) | (moved_back >= T.N_PITCH)
    return torch.nn.functional.pad(cannot, (0, n_out - T.N_PITCH))


def view_log_weights(ok_in: torch.Tensor) -> torch.Tensor:
    """(B, V, T) log weights of the views at each position (float64), from whether each view
    could transpose each input (B, V, T): uniform over the views alive there (a view dies at its
    first input it cannot transpose, as in generation; :meth:`ViewRows.log_weights`)."""
    alive = torch.cumprod(ok_in.long(), dim=-1).bool()
    count = alive.sum(dim=1, keepdim=True).clamp(min=1).double()
    return torch.where(alive, 0.0, float("-inf")).double() - torch.log(count)


def mix_views(nll: torch.Tensor, ok_in: torch.Tensor, ok_tg: torch.Tensor) -> torch.Tensor:
    """The ensemble's NLL (B, T) from each view's NLL of the same targets (B, V, T): the mean of
    the views' probabilities over the views alive (``ok_in``), a view that cannot express a
    target (``ok_tg`` False) giving it probability 0."""
    nll = torch.where(ok_tg, nll, float("inf"))
    return (-torch.logsumexp(view_log_weights(ok_in) - nll.double(), dim=1)).float()


class ViewRows:
    """What an inference state with one row per view keeps and does (the Transformer's KV cache,
    the LSTM's state): the dataclasses it is mixed into declare ``transpositions``, ``alive``
    (views,) bool, whether each view could move every pitch fed so far, and ``shifts``
    (``transpositions`` as a tensor), and call :meth:`_init_views` after init."""

    transpositions: tuple[int, ...]
    alive: torch.Tensor | None
    shifts: torch.Tensor

    def _init_views(self) -> None:
        if self.alive is None:
            self.alive = torch.ones(len(self.transpositions), dtype=torch.bool)
        self.shifts = torch.tensor(self.transpositions)

    @property
    def views(self) -> int:
        return len(self.transpositions)

    def log_weights(self) -> torch.Tensor:
        """(views,) the ensemble's log weights: uniform over the views still alive."""
        alive = self.alive if self.alive is not None else torch.ones(self.views, dtype=torch.bool)
        return torch.where(alive, -math.log(max(int(alive.sum()), 1)), float("-inf"))

    def start(self, pitch: torch.Tensor) -> torch.Tensor:
        """A history of pitch tokens (t,) moved into every view (views, t); a view stays alive
        only if it could move all of it."""
        moved, ok = transpose_pitches(pitch[None].expand(self.views, -1), self.shifts[:, None])
        self.alive = ok.all(dim=1)
        return moved

    def push(self, pitch: int) -> torch.Tensor:
        """One pitch token moved into every view (views,); a view that cannot move it dies."""
        moved, ok = transpose_pitches(torch.full((self.views,), int(pitch)), self.shifts)
        self.alive = ok if self.alive is None else self.alive & ok
        return moved
