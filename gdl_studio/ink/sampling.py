"""Drawing with an ink model, one point at a time.

:func:`generate` is a plain generator: each ``next()`` runs one model step and yields one
:class:`InkPoint` — an **absolute** point in KanjiVG units (109 × 109 box, y down) with
``pen_up`` true when the pen lifts after it (the end of a stroke). Nothing is computed ahead:
to cancel, stop pulling (and drop the generator). Priming happens lazily on the first ``next()``.

Randomness comes only from one ``numpy.random.Generator`` seeded by ``seed``, so the same model,
primer, temperature and seed always give the same drawing. Temperature rule: see
:mod:`gdl_studio.ink.gmm` (mixture logits / tau, sigma * sqrt(tau), pen logit / tau); for the
VRNN the prior's sigma is scaled by sqrt(tau) as well.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from gdl_studio.core.errors import UserError
from gdl_studio.ink import gmm
from gdl_studio.ink.fast_step import numpy_stepper
from gdl_studio.ink.strokes import ORIGIN, primer_stroke3

DEFAULT_MAX_POINTS = 250
TEMPERATURE_RANGE = (0.01, 3.0)


class InkPoint(NamedTuple):
    """One generated point: absolute ``x, y`` in KanjiVG units; ``pen_up`` ends a stroke."""

    x: float
    y: float
    pen_up: bool


class Stepper:
    """Runs a model one row at a time (no batching, no look-ahead), in numpy.

    ``observe(row)`` feeds a known row (priming); ``sample(tau)`` draws the next row and feeds
    it back. Rows are *normalised* stroke-3 (offsets divided by the model's scale). The numpy
    mirror of the module (:mod:`gdl_studio.ink.fast_step`) is built once per module and cached.
    """

    def __init__(self, module, rng: np.random.Generator) -> None:
        net = getattr(module, "_numpy_stepper", None)
        if net is None:
            net = numpy_stepper(module)
            module._numpy_stepper = net
        self.net = net
        self.rng = rng
        self.latent = net.latent
        self.n_mix = net.n_mix
        self.h = net.initial_state()

    def _eps(self):
        if not self.latent:
            return None
        return self.rng.standard_normal(self.latent).astype(np.float32)

    def observe(self, row: np.ndarray) -> None:
        """Feed a known normalised row."""
        self.h = self.net.observe(row, self.h, self._eps())

    def sample(self, tau: float) -> np.ndarray:
        """Draw the next normalised row and advance the state with it."""
        raw, aux = self.net.propose(self.h, self._eps(), tau)
        row = gmm.sample_row(raw, self.n_mix, tau, self.rng)
        self.h = self.net.commit(row, self.h, aux)
        return row


def check_temperature(temperature: float) -> float:
    """Validate a temperature; raises :class:`UserError` outside :data:`TEMPERATURE_RANGE`."""
    try:
        t = float(temperature)
    except (TypeError, ValueError):
        raise UserError(f"temperature must be a number, not {temperature!r}") from None
    lo, hi = TEMPERATURE_RANGE
    if not (lo <= t <= hi):
        raise UserError(f"temperature must be between {lo} and {hi} (got {t:g})")
    return t


def generate(
    model,
    primer: list[np.ndarray] | None = None,
    temperature: float = 1.0,
    seed: int | None = None,
    max_points: int = DEFAULT_MAX_POINTS,
    max_strokes: int | None = None,
) -> Iterator[InkPoint]:
    """Yield new points from ``model`` (an :class:`~gdl_studio.ink.models_io.InkModel`).

    ``primer``: the user's strokes (absolute points in KanjiVG units), or ``None`` to draw from
    scratch; they are RDP-simplified like the training data and fed through the model first
    (VRNN: latents inferred by its encoder). Generation starts where the primer ends (from scratch:
    at the centre of the box) and stops after ``max_points`` points or when ``max_strokes`` strokes
    have been finished. As this is a generator, bad arguments raise :class:`UserError` on the
    first ``next()``; call :func:`prepare` beforehand to validate eagerly.
    """
    rows, tau, max_points = prepare(primer, temperature, max_points, max_strokes)
    yield from _run(model, rows, tau, seed, max_points, max_strokes)


def prepare(primer, temperature: float, max_points: int, max_strokes: int | None):
    """Validate generation arguments eagerly; returns ``(primer rows in units, tau, max_points)``."""
    tau = check_temperature(temperature)
    if not isinstance(max_points, (int, np.integer)) or max_points < 1 or max_points > 100_000:
        raise UserError(f"max_points must be between 1 and 100000 (got {max_points})")
    if max_strokes is not None and max_strokes < 1:
        raise UserError(f"max_strokes must be at least 1 (got {max_strokes})")
    rows = primer_stroke3(primer) if primer is not None else np.zeros((0, 3))
    return rows, tau, int(max_points)


def _run(model, rows, tau, seed, max_points, max_strokes) -> Iterator[InkPoint]:
    rng = np.random.default_rng(seed)
    stepper = Stepper(model.module, rng)
    scale = model.scale
    pos = np.asarray(ORIGIN, dtype=np.float64).copy()
    for r in rows:
        stepper.observe(np.array([r[0] / scale, r[1] / scale, r[2]], dtype=np.float32))
        pos += r[:2]
    finished = 0
    for _ in range(max_points):
        row = stepper.sample(tau)
        pos = pos + row[:2].astype(np.float64) * scale
        pen_up = bool(row[2] > 0.5)
        yield InkPoint(float(pos[0]), float(pos[1]), pen_up)
        if pen_up:
            finished += 1
            if max_strokes is not None and finished >= max_strokes:
                return


def points_to_strokes(points: list[InkPoint]) -> list[np.ndarray]:
    """Group generated points into strokes (a trailing unfinished stroke is kept)."""
    strokes, cur = [], []
    for p in points:
        cur.append((p.x, p.y))
        if p.pen_up:
            strokes.append(np.array(cur))
            cur = []
    if cur:
        strokes.append(np.array(cur))
    return strokes
