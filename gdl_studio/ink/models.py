"""The two ink models: a VRNN with a mixture-density decoder and an RNN-GMM baseline.

Both read and predict normalised stroke-3 rows ``x_t = (dx, dy, pen)`` (see
:mod:`gdl_studio.ink.strokes`) and use the same output distribution (:mod:`gdl_studio.ink.gmm`).

**VRNN-GMM** (Chung et al. 2015), with a GRU recurrence:

* feature extractors ``phi_x(x_t)`` and ``phi_z(z_t)`` (MLPs);
* prior ``p(z_t | h_{t-1}) = N(mu_p, sigma_p)`` from an MLP of ``h_{t-1}``;
* encoder ``q(z_t | x_t, h_{t-1}) = N(mu_q, sigma_q)`` from an MLP of ``[phi_x(x_t), h_{t-1}]``;
* decoder ``p(x_t | z_t, h_{t-1})``: an MLP of ``[phi_z(z_t), h_{t-1}]`` giving the GMM + pen;
* recurrence ``h_t = GRU([phi_x(x_t), phi_z(z_t)], h_{t-1})``, ``h_0 = 0``.

Training maximises the ELBO ``sum_t E_q[log p(x_t | z_t, h_{t-1})] - beta KL(q_t || p_t)`` with
``beta`` annealed from 0 to 1; the reported ELBO uses ``beta = 1``.

**RNN-GMM**: ``h_t = GRU(phi_x(x_t), h_{t-1})`` and ``p(x_t | h_{t-1})`` from the same decoder
shape; its log-likelihood is exact.

Only the recurrence is sequential: ``phi_x``, the prior and the decoder run over all time steps
at once. Under CUDA autocast (bf16) the hidden MLP layers run in low precision while the
recurrence, the output heads and every log-density stay in float32.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from gdl_studio.ink import gmm

LATENT_SIGMA_MIN = 1e-3


@dataclass
class InkConfig:
    """Hyper-parameters of either ink model (everything needed to rebuild it)."""

    kind: str = "vrnn"  # "vrnn" or "rnn-gmm"
    hidden: int = 256  # GRU state size
    phi: int = 128  # feature size of phi_x / phi_z and the encoder / prior hidden layer
    latent: int = 32  # VRNN latent size
    dec_hidden: int = 256  # decoder hidden layer
    n_mix: int = 20  # GMM components

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> InkConfig:
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)


def _no_autocast(x: torch.Tensor):
    """A context with autocast off on ``x``'s device type."""
    return torch.autocast(device_type=x.device.type, enabled=False)


def _gaussian(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mu, raw = out.float().chunk(2, dim=-1)
    return mu, LATENT_SIGMA_MIN + F.softplus(raw)


def gaussian_kl(mu_q, s_q, mu_p, s_p) -> torch.Tensor:
    """``KL(N(mu_q, s_q) || N(mu_p, s_p))`` summed over the last axis (diagonal Gaussians)."""
    var_ratio = (s_q / s_p) ** 2
    t = ((mu_q - mu_p) / s_p) ** 2
    return 0.5 * (var_ratio + t - 1.0 - torch.log(var_ratio)).sum(-1)


def gaussian_log_prob(z, mu, s) -> torch.Tensor:
    """``log N(z; mu, diag(s^2))`` summed over the last axis."""
    return (-0.5 * ((z - mu) / s) ** 2 - torch.log(s) - 0.5 * math.log(2 * math.pi)).sum(-1)


class _Decoder(nn.Module):
    def __init__(self, d_in: int, d_hidden: int, n_mix: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(d_in, d_hidden)
        self.out = nn.Linear(d_hidden, gmm.out_dim(n_mix))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hid = F.relu(self.hidden(x))
        with _no_autocast(hid):
            return self.out(hid.float())


def _mlp2(d_in: int, d: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU())


class VRNN(nn.Module):
    """VRNN-GMM; see the module docstring."""

    def __init__(self, cfg: InkConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h, p, z = cfg.hidden, cfg.phi, cfg.latent
        self.phi_x = _mlp2(3, p)
        self.phi_z = nn.Sequential(nn.Linear(z, p), nn.ReLU())
        self.prior = nn.Sequential(nn.Linear(h, p), nn.ReLU(), nn.Linear(p, 2 * z))
        self.enc_x = nn.Linear(p, p)  # encoder hidden layer, split into its x and h parts
        self.enc_h = nn.Linear(h, p, bias=False)
        self.enc_out = nn.Linear(p, 2 * z)
        self.decoder = _Decoder(p + h, cfg.dec_hidden, cfg.n_mix)
        self.rnn = nn.GRUCell(2 * p, h)

    # -- training / evaluation ---------------------------------------------------------------

    def terms(self, x: torch.Tensor, eps: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Per-step terms for a batch ``x (B, T, 3)`` of normalised rows.

        Returns ``rec`` = log p(x_t | z_t, h_{t-1}), ``kl`` = KL(q_t || p_t) (analytic), and
        ``log_pz`` / ``log_qz`` of the sampled ``z_t``, each ``(B, T)`` float32. ``eps`` (B, T, latent)
        fixes the reparameterisation noise (for reproducible evaluation).
        """
        x = gmm.clamp_rows(x.float())
        b, t_len, _ = x.shape
        fx = self.phi_x(x)
        ex = self.enc_x(fx)
        if eps is None:
            eps = torch.randn(b, t_len, self.cfg.latent, device=x.device)
        h = x.new_zeros(b, self.cfg.hidden)
        hs, fzs, mus, sigmas, zs = [], [], [], [], []
        with _no_autocast(x):
            fx32, ex32 = fx.float(), ex.float()
            for t in range(t_len):
                e = F.relu(ex32[:, t] + self.enc_h(h))
                mu_q, s_q = _gaussian(self.enc_out(e))
                z = mu_q + s_q * eps[:, t]
                fz = self.phi_z(z)
                hs.append(h)
                fzs.append(fz)
                mus.append(mu_q)
                sigmas.append(s_q)
                zs.append(z)
                h = self.rnn(torch.cat([fx32[:, t], fz], dim=-1), h)
        h_prev = torch.stack(hs, 1)
        fz = torch.stack(fzs, 1)
        mu_q, s_q, z = torch.stack(mus, 1), torch.stack(sigmas, 1), torch.stack(zs, 1)
        mu_p, s_p = _gaussian(self.prior(h_prev))
        params = gmm.split_params(self.decoder(torch.cat([fz, h_prev], dim=-1)), self.cfg.n_mix)
        return {
            "rec": gmm.log_prob(params, x),
            "kl": gaussian_kl(mu_q, s_q, mu_p, s_p),
            "log_pz": gaussian_log_prob(z, mu_p, s_p),
            "log_qz": gaussian_log_prob(z, mu_q, s_q),
        }

    def loss(self, x: torch.Tensor, mask: torch.Tensor, beta: float = 1.0) -> tuple[torch.Tensor, dict]:
        """Negative (annealed) ELBO per point, and per-sequence sums for logging."""
        tr = self.terms(x)
        m = mask.float()
        rec = (tr["rec"] * m).sum()
        kl = (tr["kl"] * m).sum()
        n = m.sum().clamp_min(1.0)
        return -(rec - beta * kl) / n, {"rec": rec.detach(), "kl": kl.detach(), "points": n.detach()}

    # -- one step at a time (sampling) -------------------------------------------------------

    def initial_state(self) -> torch.Tensor:
        return torch.zeros(1, self.cfg.hidden)

    def observe(self, x_row: torch.Tensor, h: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Feed one known row (priming): ``z ~ q(z | x, h)`` with noise ``eps``; returns the new h."""
        fx = self.phi_x(gmm.clamp_rows(x_row))
        e = F.relu(self.enc_x(fx) + self.enc_h(h))
        mu_q, s_q = _gaussian(self.enc_out(e))
        fz = self.phi_z(mu_q + s_q * eps)
        return self.rnn(torch.cat([fx, fz], dim=-1), h)

    def propose(self, h: torch.Tensor, eps: torch.Tensor, tau: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Sample ``z ~ p(z | h)`` (sigma scaled by sqrt(tau)); returns raw decoder output and phi_z."""
        mu_p, s_p = _gaussian(self.prior(h))
        fz = self.phi_z(mu_p + s_p * math.sqrt(max(tau, gmm.TAU_MIN)) * eps)
        return self.decoder(torch.cat([fz, h], dim=-1)), fz

    def commit(self, x_row: torch.Tensor, h: torch.Tensor, fz: torch.Tensor) -> torch.Tensor:
        """Advance the state with the sampled row and the proposal's phi_z."""
        fx = self.phi_x(gmm.clamp_rows(x_row))
        return self.rnn(torch.cat([fx, fz], dim=-1), h)


class RNNGMM(nn.Module):
    """RNN-GMM baseline; see the module docstring."""

    def __init__(self, cfg: InkConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.phi_x = _mlp2(3, cfg.phi)
        self.rnn = nn.GRU(cfg.phi, cfg.hidden, batch_first=True)
        self.decoder = _Decoder(cfg.hidden, cfg.dec_hidden, cfg.n_mix)

    def log_prob_steps(self, x: torch.Tensor) -> torch.Tensor:
        """Exact ``log p(x_t | x_<t)`` per step, ``(B, T)`` float32."""
        x = gmm.clamp_rows(x.float())
        fx = self.phi_x(x)
        if x.shape[1] > 1:
            with _no_autocast(x):
                out, _ = self.rnn(fx.float()[:, :-1].contiguous())
        else:  # one point: only h_0 is needed
            out = x.new_zeros(x.shape[0], 0, self.cfg.hidden)
        h_prev = torch.cat([x.new_zeros(x.shape[0], 1, self.cfg.hidden), out], dim=1)
        params = gmm.split_params(self.decoder(h_prev), self.cfg.n_mix)
        return gmm.log_prob(params, x)

    def loss(self, x: torch.Tensor, mask: torch.Tensor, beta: float = 1.0) -> tuple[torch.Tensor, dict]:
        """Negative log-likelihood per point (``beta`` is ignored)."""
        m = mask.float()
        rec = (self.log_prob_steps(x) * m).sum()
        n = m.sum().clamp_min(1.0)
        return -rec / n, {"rec": rec.detach(), "kl": torch.zeros(()), "points": n.detach()}

    def initial_state(self) -> torch.Tensor:
        return torch.zeros(1, 1, self.cfg.hidden)

    def observe(self, x_row: torch.Tensor, h: torch.Tensor, eps=None) -> torch.Tensor:
        _, h = self.rnn(self.phi_x(gmm.clamp_rows(x_row)).unsqueeze(1), h)
        return h

    def propose(self, h: torch.Tensor, eps=None, tau: float = 1.0):
        return self.decoder(h[-1]), None

    def commit(self, x_row: torch.Tensor, h: torch.Tensor, aux=None) -> torch.Tensor:
        return self.observe(x_row, h)


def build_model(cfg: InkConfig | dict) -> VRNN | RNNGMM:
    """A fresh model for ``cfg`` (an :class:`InkConfig` or its dict)."""
    if isinstance(cfg, dict):
        cfg = InkConfig.from_dict(cfg)
    if cfg.kind == "vrnn":
        return VRNN(cfg)
    if cfg.kind == "rnn-gmm":
        return RNNGMM(cfg)
    raise ValueError(f"unknown ink model kind {cfg.kind!r}")


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


PRESETS = {
    # Sized for ~8 GPU-minutes and a p99 CPU sampling latency well under 1 ms per point.
    "vrnn": InkConfig(kind="vrnn", hidden=256, phi=128, latent=32, dec_hidden=256, n_mix=20),
    "rnn-gmm": InkConfig(kind="rnn-gmm", hidden=352, phi=128, latent=0, dec_hidden=256, n_mix=20),
    # Tiny versions for tests and the CPU smoke run.
    "vrnn-tiny": InkConfig(kind="vrnn", hidden=32, phi=16, latent=4, dec_hidden=32, n_mix=3),
    "rnn-gmm-tiny": InkConfig(kind="rnn-gmm", hidden=32, phi=16, latent=0, dec_hidden=32, n_mix=3),
}
