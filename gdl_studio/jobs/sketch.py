"""Engine jobs of the Sketch panel (plain Python, no Qt): load an ink model, then stream points.

A job is ``job(ctx) -> iterator`` (see :mod:`gdl_studio.engine.core`). The engine pulls one item
at a time, so a job does one model step per item and is cancelled by not being pulled again.
Items are small frozen dataclasses: :class:`~gdl_studio.jobs.common.ModelReady` once the model
is loaded, :class:`~gdl_studio.jobs.common.ModelProblem` when it cannot be (missing or corrupt
weights: the panel then disables generation), both naming the model ``kind`` they are about,
and :class:`GenPoint` for every generated point, tagged with its candidate index
(0 for Extend and Dream up, ``0..N-1`` for Endings). Candidates are advanced round-robin so that
all endings grow together; :class:`~gdl_studio.engine.core.Sleep` paces the animation without
blocking the engine.

This is the thin adapter between the panel and :mod:`gdl_studio.ink` (``load_ink_model`` and
``InkModel.generate``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from gdl_studio.core.registry import ModelUnavailable
from gdl_studio.engine.core import Sleep
from gdl_studio.jobs.common import ModelProblem, ModelReady

Loader = Callable[[str], object]


@dataclass(frozen=True)
class GenPoint:
    """One generated point of candidate ``candidate``, absolute in KanjiVG units."""

    candidate: int
    x: float
    y: float
    pen_up: bool


def default_loader(kind: str):
    """Load the shipped ``"vrnn"`` / ``"rnn-gmm"`` model through the registry (cached)."""
    from gdl_studio.ink.models_io import load_ink_model

    return load_ink_model(kind)


def _load(loader: Loader, kind: str):
    try:
        return loader(kind), None
    except ModelUnavailable as exc:
        return None, ModelProblem(kind, str(exc))


def warmup_job(loader: Loader, kind: str):
    """A job that loads the model and runs one step (so that the first Extend answers at once)."""

    def job(ctx):
        model, problem = _load(loader, kind)
        if problem is not None:
            yield problem
            return
        yield ModelReady(kind)
        try:  # one throw-away step builds the sampler's caches
            next(iter(model.generate(primer=None, temperature=1.0, seed=0, max_points=1)), None)
        except Exception:  # a real problem shows up again, with a message, on the first request
            pass

    return job


def generation_job(
    loader: Loader,
    kind: str,
    primer: Sequence[np.ndarray] | None,
    temperature: float,
    seeds: Sequence[int],
    max_points: int,
    max_strokes: int | None,
    pace_s: float = 0.0,
):
    """A job drawing ``len(seeds)`` candidates continuing ``primer`` (``None``: from scratch).

    ``max_strokes=None`` with no primer picks a plausible stroke count per candidate from the
    model's training data. ``pace_s`` > 0 spaces the rounds of points by that many seconds.
    """
    primer = None if primer is None else [np.array(s, dtype=np.float64) for s in primer]

    def job(ctx):
        model, problem = _load(loader, kind)
        if problem is not None:
            yield problem
            return
        yield ModelReady(kind)
        gens = []
        for seed in seeds:
            strokes = max_strokes
            if strokes is None and primer is None and hasattr(model, "sample_stroke_count"):
                strokes = model.sample_stroke_count(np.random.default_rng(seed))
            gens.append(
                iter(
                    model.generate(
                        primer=primer, temperature=temperature, seed=seed, max_points=max_points, max_strokes=strokes
                    )
                )
            )
        live = list(range(len(gens)))
        start = time.perf_counter()
        rounds = 0
        while live:
            for i in list(live):
                try:
                    p = next(gens[i])
                except StopIteration:
                    live.remove(i)
                    continue
                yield GenPoint(i, float(p.x), float(p.y), bool(p.pen_up))
            rounds += 1
            if pace_s > 0 and live:
                yield Sleep(start + rounds * pace_s)

    return job
