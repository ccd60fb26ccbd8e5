"""Log-likelihood of ink sequences under the models (training validation, model cards, bench).

All figures are **per sequence, in nats, in normalised units** (offsets divided by the data
scale): a continuous density depends on the units, and in KanjiVG units each point's
log-density would be lower by ``2 * log(scale)``. Higher is better.

* RNN-GMM: exact ``log p(x) = sum_t log p(x_t | x_<t)``.
* VRNN: the ELBO ``mean_k sum_t [log p(x_t | z_t^k, h_{t-1}) - KL(q_t || p_t)]`` (analytic KL) and
  the importance-sampled estimate ``log (1/K) sum_k w_k`` with
  ``log w_k = sum_t [log p(x_t | z_t^k, h) + log p(z_t^k | h) - log q(z_t^k | x_t, h)]`` and
  ``z^k`` drawn from the encoder (the filtering posterior). For ``K = 1`` its expectation is the
  ELBO; it rises towards ``log p(x)`` as ``K`` grows.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch


def pad(seqs: list[np.ndarray], device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad sequences of rows ``(T_i, 3)`` into ``x (B, T, 3)`` and a ``(B, T)`` mask."""
    t_max = max(len(s) for s in seqs)
    x = np.zeros((len(seqs), t_max, 3), dtype=np.float32)
    m = np.zeros((len(seqs), t_max), dtype=np.float32)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = s
        m[i, : len(s)] = 1.0
    return torch.from_numpy(x).to(device), torch.from_numpy(m).to(device)


@torch.no_grad()
def rnn_log_likelihood(module, seqs: list[np.ndarray], device="cpu", batch: int = 256) -> np.ndarray:
    """Exact log-likelihood of each sequence under an RNN-GMM (nats, normalised units)."""
    module.eval()
    order = np.argsort([len(s) for s in seqs])
    res = np.zeros(len(seqs))
    for i in range(0, len(seqs), batch):
        idx = order[i : i + batch]
        x, m = pad([seqs[j] for j in idx], device)
        ll = (module.log_prob_steps(x) * m).sum(1)
        res[idx] = ll.double().cpu().numpy()
    return res


@torch.no_grad()
def vrnn_estimates(
    module,
    seqs: list[np.ndarray],
    k: int = 100,
    device="cpu",
    max_rows: int = 2048,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sequence ``(elbo, ll_is)`` of a VRNN with ``k`` posterior samples each (see module doc).

    Sequences are processed ``max_rows // k`` at a time, each repeated ``k`` times in the batch;
    the noise comes from a generator seeded with ``seed`` (reproducible figures).
    """
    module.eval()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    per = max(1, max_rows // k)
    order = np.argsort([len(s) for s in seqs])
    elbo = np.zeros(len(seqs))
    ll_is = np.zeros(len(seqs))
    for i in range(0, len(seqs), per):
        idx = order[i : i + per]
        x, m = pad([seqs[j] for j in idx], device)
        b, t_len, _ = x.shape
        xr = x.repeat_interleave(k, 0)
        mr = m.repeat_interleave(k, 0)
        eps = torch.randn(b * k, t_len, module.cfg.latent, generator=gen).to(device)
        tr = module.terms(xr, eps=eps)
        rec = (tr["rec"] * mr).sum(1).double().view(b, k)
        kl = (tr["kl"] * mr).sum(1).double().view(b, k)
        logw = rec + ((tr["log_pz"] - tr["log_qz"]) * mr).sum(1).double().view(b, k)
        elbo[idx] = (rec - kl).mean(1).cpu().numpy()
        ll_is[idx] = (torch.logsumexp(logw, 1) - math.log(k)).cpu().numpy()
        if progress:
            progress(min(i + per, len(seqs)), len(seqs))
    return elbo, ll_is


@torch.no_grad()
def validation_loss(module, seqs: list[np.ndarray], device="cpu", batch: int = 256, seed: int = 0) -> float:
    """Mean per-sequence loss for early stopping: RNN-GMM −log p(x); VRNN −ELBO (one sample)."""
    if module.cfg.kind == "vrnn":
        elbo, _ = vrnn_estimates(module, seqs, k=1, device=device, max_rows=batch, seed=seed)
        return float(-elbo.mean())
    return float(-rnn_log_likelihood(module, seqs, device, batch).mean())
