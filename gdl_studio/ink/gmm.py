"""The mixture-density output shared by both ink models: a mixture of ``K`` bivariate Gaussians
over ``(dx, dy)`` with correlations, plus a Bernoulli pen bit.

A decoder emits ``6 K + 1`` numbers per point, laid out as
``[logit_pi (K) | mu_x (K) | mu_y (K) | raw_sigma_x (K) | raw_sigma_y (K) | raw_rho (K) | pen_logit]``.

Numerical safety (all in float32, whatever the autocast state):

* ``sigma = SIGMA_MIN + softplus(raw)`` — a floor so densities stay bounded;
* ``rho = RHO_MAX * tanh(raw)`` — keeps ``1 - rho**2 >= 1 - RHO_MAX**2``;
* mixture weights through ``log_softmax`` and the mixture through ``logsumexp``;
* the pen through ``binary_cross_entropy_with_logits``;
* targets ``dx, dy`` are clamped to ``±INPUT_CLAMP`` (normalised units; the data stay within ±8).

**Temperature rule** used for sampling (:func:`sample_row`), with ``tau > 0``:
mixture weights ``softmax(logit_pi / tau)``, standard deviations ``sigma * sqrt(tau)`` (so each
component's covariance is multiplied by ``tau``; ``rho`` is unchanged), pen probability
``sigmoid(pen_logit / tau)``. ``tau = 1`` samples the model as trained; smaller is tidier and
more predictable, larger is wilder.
"""

from __future__ import annotations

import math

import numpy as np

SIGMA_MIN = 1e-3
RHO_MAX = 0.995
INPUT_CLAMP = 50.0
TAU_MIN = 1e-3
LOG_2PI = math.log(2.0 * math.pi)


def out_dim(n_mix: int) -> int:
    """Size of the decoder output for ``n_mix`` components."""
    return 6 * n_mix + 1


def split_params(out, n_mix: int) -> dict:
    """Decoder output ``(..., 6K+1)`` → dict of float32 torch tensors (constrained)."""
    import torch
    import torch.nn.functional as F

    out = out.float()
    k = n_mix
    logit_pi, mu_x, mu_y, sx, sy, r = (out[..., i * k : (i + 1) * k] for i in range(6))
    return {
        "log_pi": F.log_softmax(logit_pi, dim=-1),
        "logit_pi": logit_pi,
        "mu": (mu_x, mu_y),
        "sigma": (SIGMA_MIN + F.softplus(sx), SIGMA_MIN + F.softplus(sy)),
        "rho": RHO_MAX * torch.tanh(r),
        "pen_logit": out[..., 6 * k],
    }


def clamp_rows(x):
    """Clamp the offsets of stroke-3 rows to ±INPUT_CLAMP and the pen to [0, 1] (torch)."""
    import torch

    return torch.cat([x[..., :2].clamp(-INPUT_CLAMP, INPUT_CLAMP), x[..., 2:3].clamp(0.0, 1.0)], dim=-1)


def bivariate_log_prob(params: dict, dx, dy):
    """``log N(dx, dy)`` per component, shape ``(..., K)`` (torch)."""
    import torch

    mx, my = params["mu"]
    sx, sy = params["sigma"]
    rho = params["rho"]
    zx = (dx.unsqueeze(-1) - mx) / sx
    zy = (dy.unsqueeze(-1) - my) / sy
    one_m_r2 = 1.0 - rho * rho
    quad = (zx * zx + zy * zy - 2.0 * rho * zx * zy) / one_m_r2
    return -LOG_2PI - torch.log(sx) - torch.log(sy) - 0.5 * torch.log(one_m_r2) - 0.5 * quad


def log_prob(params: dict, x):
    """Log-likelihood of stroke-3 rows ``x (..., 3)`` under the decoder output, shape ``(...)``:
    ``logsumexp_k(log pi_k + log N_k(dx, dy)) + log Bernoulli(pen)`` (torch, float32)."""
    import torch
    import torch.nn.functional as F

    x = clamp_rows(x.float())
    comp = params["log_pi"] + bivariate_log_prob(params, x[..., 0], x[..., 1])
    ll_xy = torch.logsumexp(comp, dim=-1)
    ll_pen = -F.binary_cross_entropy_with_logits(params["pen_logit"], x[..., 2], reduction="none")
    return ll_xy + ll_pen


def sample_row(raw: np.ndarray, n_mix: int, tau: float, rng: np.random.Generator) -> np.ndarray:
    """Draw one stroke-3 row ``(dx, dy, pen)`` from one *raw* decoder output (numpy, 6K+1).

    Applies the temperature rule of this module. Random draws, in order: the component (one
    uniform), two standard normals, the pen (one uniform) — so a seeded generator gives the
    same drawing every time.
    """
    tau = max(float(tau), TAU_MIN)
    k = n_mix
    raw = np.asarray(raw, dtype=np.float64)
    logits = raw[:k] / tau
    logits = logits - logits.max()
    w = np.exp(logits)
    cdf = np.cumsum(w)
    j = int(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"))
    j = min(j, k - 1)
    mx, my = raw[k + j], raw[2 * k + j]
    sx = (SIGMA_MIN + np.logaddexp(0.0, raw[3 * k + j])) * math.sqrt(tau)
    sy = (SIGMA_MIN + np.logaddexp(0.0, raw[4 * k + j])) * math.sqrt(tau)
    rho = RHO_MAX * math.tanh(raw[5 * k + j])
    z1, z2 = rng.standard_normal(2)
    dx = mx + sx * z1
    dy = my + sy * (rho * z1 + math.sqrt(1.0 - rho * rho) * z2)
    pen_logit = raw[6 * k] / tau
    p = 0.5 * (1.0 + math.tanh(0.5 * pen_logit))  # a sigmoid that cannot overflow
    pen = 1.0 if rng.random() < p else 0.0
    return np.array(
        [np.clip(dx, -INPUT_CLAMP, INPUT_CLAMP), np.clip(dy, -INPUT_CLAMP, INPUT_CLAMP), pen], dtype=np.float32
    )
