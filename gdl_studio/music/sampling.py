"""Sampling controls shared by the music models: temperature, top-k, top-p, seed, and a
model's transposition views for one draw."""

from __future__ import annotations

from dataclasses import dataclass

import torch

MAX_VIEWS = 6  # the widest transposition ensemble: training transposes by up to ±6 semitones


@dataclass(frozen=True)
class SamplingOptions:
    """How to turn a model's logits into one choice.

    ``temperature`` 0 means greedy (argmax); ``top_k`` 0 and ``top_p`` 1.0 mean no truncation.
    The same ``seed`` gives the same output (``None``: a fresh random seed).
    """

    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None
    # the model's transposition views for this draw (radius R: -R..R semitones; None: the model
    # card's; see gdl_studio.music.views). More is a little better and slower.
    views: int | None = None

    def validated(self) -> SamplingOptions:
        """Check the ranges; raises ``ValueError`` with a one-line message."""
        if not (self.temperature >= 0.0) or self.temperature > 10.0:
            raise ValueError(f"temperature must be between 0 and 10, not {self.temperature}")
        if self.top_k < 0:
            raise ValueError(f"top-k must be 0 (off) or positive, not {self.top_k}")
        if not (0.0 < self.top_p <= 1.0):
            raise ValueError(f"top-p must be in (0, 1], not {self.top_p}")
        if self.views is not None and not 0 <= self.views <= MAX_VIEWS:
            raise ValueError(f"views must be from 0 to {MAX_VIEWS} (semitones each way), not {self.views}")
        return self

    def generator(self) -> torch.Generator:
        """A CPU random generator seeded from ``seed``."""
        g = torch.Generator(device="cpu")
        if self.seed is None:
            g.seed()
        else:
            g.manual_seed(int(self.seed) & 0xFFFF_FFFF_FFFF)
        return g


def filter_logits(logits: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """Scaled and truncated logits (1-D); removed entries become ``-inf``."""
    logits = logits.float() / max(temperature, 1e-6)
    if top_k and top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        cum = torch.cumsum(probs, dim=-1)
        drop = cum - probs > top_p  # keep the smallest prefix whose mass reaches top_p
        drop[0] = False
        logits = logits.masked_fill(torch.zeros_like(drop).scatter(0, order, drop), float("-inf"))
    return logits


def sample(
    logits: torch.Tensor, options: SamplingOptions, generator: torch.Generator, mask: torch.Tensor | None = None
) -> int:
    """Pick one index from 1-D ``logits``; ``mask`` (bool, True = allowed) restricts the choice."""
    logits = logits.detach().float().cpu()
    if mask is not None:
        logits = logits.masked_fill(~mask, float("-inf"))
    if options.temperature <= 0.0:
        return int(torch.argmax(logits))
    logits = filter_logits(logits, options.temperature, options.top_k, options.top_p)
    probs = torch.softmax(logits, dim=-1)
    return int(torch.multinomial(probs, 1, generator=generator))
