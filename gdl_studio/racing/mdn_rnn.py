"""M: the MDN-RNN. An LSTM (256 units) reads (z_t, a_t) and predicts a mixture of Gaussians
over z_{t+1}, plus the reward r_t and whether the episode ends after a_t.

As in the paper's code the mixture is per latent dimension by default (``mixture="dim"``): for each
of the 32 dimensions, 5 weights, means and log standard deviations (480 outputs), each dimension
drawing its component on its own. ``mixture="joint"`` has one set of K weights for the whole latent:
each component is a diagonal Gaussian over all 32 dimensions (K + 2·32·K outputs), so a sample takes
every dimension from the same component, i.e. from one coherent next frame. The reward and episode-end heads
are additions (the paper's CarRacing model has none) that let the dream report a reward and
stop. Sampling takes a temperature τ: mixture logits are divided by τ and σ is scaled by √τ.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
MIXTURES = ("dim", "joint")  # MDNConfig.mixture


@dataclass
class MDNConfig:
    """Hyper-parameters needed to rebuild an :class:`MDNRNN`."""

    z_size: int = 32
    action_size: int = 3
    hidden: int = 256
    mixtures: int = 5
    mixture: str = "dim"  # "dim": one mixture per latent dimension (the paper's); "joint": one over the whole z

    def __post_init__(self) -> None:
        if self.mixture not in MIXTURES:
            raise ValueError(f"mixture must be one of {MIXTURES}, not {self.mixture!r}")

    def to_dict(self) -> dict:
        return asdict(self)


class MDNOutput(NamedTuple):
    """Predictions for each input step: mixture parameters, reward and done logit (…).

    ``mu`` and ``logsigma`` are (…, z, K). ``logpi`` is (…, z, K) for per-dimension mixtures and (…, 1, K)
    for a joint one (one set of weights that every dimension shares): the functions below read which from
    its shape, and broadcasting makes most arithmetic the same for both."""

    logpi: torch.Tensor
    mu: torch.Tensor
    logsigma: torch.Tensor
    reward: torch.Tensor
    done_logit: torch.Tensor


class MDNRNN(nn.Module):
    """LSTM + mixture density head + reward and episode-end heads."""

    def __init__(self, config: MDNConfig | None = None) -> None:
        super().__init__()
        self.config = c = config or MDNConfig()
        self.lstm = nn.LSTM(c.z_size + c.action_size, c.hidden, batch_first=True)
        outputs = c.z_size * c.mixtures * 3 if c.mixture == "dim" else c.mixtures * (1 + 2 * c.z_size)
        self.mdn = nn.Linear(c.hidden, outputs)
        self.reward_head = nn.Linear(c.hidden, 1)
        self.done_head = nn.Linear(c.hidden, 1)

    def heads(self, h: torch.Tensor) -> MDNOutput:
        """Apply the output heads to LSTM outputs ``h`` (…, hidden)."""
        c = self.config
        raw = self.mdn(h)
        if c.mixture == "dim":
            out = raw.view(*h.shape[:-1], c.z_size, c.mixtures, 3)
            logits, mu, logsigma = out[..., 0], out[..., 1], out[..., 2]
        else:  # K logits, then means and log σ as (z, K)
            k = c.mixtures
            logits = raw[..., :k].unsqueeze(-2)
            mu = raw[..., k : k + c.z_size * k].reshape(*h.shape[:-1], c.z_size, k)
            logsigma = raw[..., k + c.z_size * k :].reshape(*h.shape[:-1], c.z_size, k)
        logpi = F.log_softmax(logits, dim=-1)
        logsigma = logsigma.clamp(-7.0, 3.0)
        return MDNOutput(logpi, mu, logsigma, self.reward_head(h).squeeze(-1), self.done_head(h).squeeze(-1))

    def forward(self, z: torch.Tensor, action: torch.Tensor, state=None):
        """Sequences z (B, T, z), action (B, T, a) → (MDNOutput with (B, T, …) fields, (h, c))."""
        h, state = self.lstm(torch.cat([z, action], dim=-1), state)
        return self.heads(h), state

    def step(self, z: torch.Tensor, action: torch.Tensor, state=None):
        """One step for a batch: z (B, z), action (B, a) → (MDNOutput (B, …), (h, c))."""
        out, state = self.forward(z[:, None], action[:, None], state)
        return MDNOutput(*(t[:, 0] for t in out)), state

    def read_step(self, z: torch.Tensor, action: torch.Tensor, state=None):
        """The next recurrent state, advancing only what the controllers read (no heads): z (B, z), action (B, a)."""
        _, state = self.lstm(torch.cat([z, action], dim=-1)[:, None], state)
        return state

    def initial_state(self, batch: int = 1, device=None):
        """Zero (h, c), each (1, batch, hidden)."""
        zeros = torch.zeros(1, batch, self.config.hidden, device=device)
        return zeros, zeros.clone()


class ReadMDNRNN(MDNRNN):
    """An M whose dream runs on a second LSTM while the controllers keep reading the first.

    ``lstm`` is the *reader*: the LSTM whose hidden state h the controllers read, as in the real game
    (:mod:`gdl_studio.racing.agent` steps only it). ``dynamics`` is another LSTM over the same inputs,
    and the heads (mixture, reward, episode end) read *its* hidden state. So the dream's dynamics can be
    retrained (e.g. for long open-loop coherence, or for returns) while every controller's real-game
    behaviour, which depends on the reader alone, stays exactly what it was.

    The recurrent state is (h_reader, c_reader, h_dynamics, c_dynamics): ``state[0][0]`` is the reader's
    h, which every caller hands to the controller.
    """

    def __init__(self, config: MDNConfig | None = None) -> None:
        super().__init__(config)
        c = self.config
        self.dynamics = nn.LSTM(c.z_size + c.action_size, c.hidden, batch_first=True)

    @classmethod
    def from_pair(cls, reader: MDNRNN, dreamer: MDNRNN) -> ReadMDNRNN:
        """The reader's LSTM with ``dreamer``'s dreaming LSTM and heads (copies; same sizes required). The
        LSTM a model's controllers read is its ``lstm``; the one it dreams with is its ``dynamics`` if it is a
        ReadMDNRNN, else its ``lstm``."""
        if replace(reader.config, mixture=dreamer.config.mixture) != dreamer.config:
            raise ValueError("reader and dreamer M need the same sizes")
        m = cls(dreamer.config)
        m.lstm.load_state_dict(reader.lstm.state_dict())
        m.dynamics.load_state_dict(getattr(dreamer, "dynamics", dreamer.lstm).state_dict())
        for name in ("mdn", "reward_head", "done_head"):
            getattr(m, name).load_state_dict(getattr(dreamer, name).state_dict())
        return m.to(next(reader.parameters()).device)

    def forward(self, z: torch.Tensor, action: torch.Tensor, state=None):
        x = torch.cat([z, action], dim=-1)
        reader_state, dyn_state = (None, None) if state is None else (tuple(state[:2]), tuple(state[2:]))
        _, (hr, cr) = self.lstm(x, reader_state)
        hd, (hn, cn) = self.dynamics(x, dyn_state)
        return self.heads(hd), (hr, cr, hn, cn)

    def read_step(self, z: torch.Tensor, action: torch.Tensor, state=None):
        """Advance the reader only; the dynamics' part of the state is left as it was (the real game needs
        only what the controllers read)."""
        if state is None:
            state = self.initial_state(len(z), z.device)
        _, (hr, cr) = self.lstm(torch.cat([z, action], dim=-1)[:, None], tuple(state[:2]))
        return (hr, cr, *state[2:])

    def initial_state(self, batch: int = 1, device=None):
        """Zero (h, c) of the reader, then of the dynamics, each (1, batch, hidden)."""
        zeros = torch.zeros(1, batch, self.config.hidden, device=device)
        return zeros, zeros.clone(), zeros.clone(), zeros.clone()


def mixture_log_prob(y: torch.Tensor, logpi: torch.Tensor, mu: torch.Tensor, logsigma: torch.Tensor) -> torch.Tensor:
    """log p(y) under a 1-d Gaussian mixture per element: y (…), parameters (…, K) → (…)."""
    y = y.unsqueeze(-1)
    log_normal = -0.5 * ((y - mu) * torch.exp(-logsigma)).pow(2) - logsigma - LOG_SQRT_2PI
    return torch.logsumexp(logpi + log_normal, dim=-1)


def is_joint(logpi: torch.Tensor, mu: torch.Tensor) -> bool:
    """Whether mixture parameters are a joint mixture (one set of weights, (…, 1, K), for (…, z, K) means)."""
    return logpi.shape[-2] == 1 and mu.shape[-2] > 1


def z_log_prob(y: torch.Tensor, logpi: torch.Tensor, mu: torch.Tensor, logsigma: torch.Tensor) -> torch.Tensor:
    """log p(y) of whole latents y (…, z) under M's mixture (per-dimension or joint, :class:`MDNOutput`) → (…)."""
    if not is_joint(logpi, mu):
        return mixture_log_prob(y, logpi, mu, logsigma).sum(-1)
    log_normal = -0.5 * ((y.unsqueeze(-1) - mu) * torch.exp(-logsigma)).pow(2) - logsigma - LOG_SQRT_2PI
    return torch.logsumexp(logpi[..., 0, :] + log_normal.sum(-2), dim=-1)


def component_values(values: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """``values`` (…, z, K) at the chosen components ``k`` (…, z) or, for a joint mixture, (…, 1) → (…, z)."""
    index = k.unsqueeze(-1).expand(*values.shape[:-1], 1)
    return values.gather(-1, index).squeeze(-1)


def mdn_loss(
    out: MDNOutput,
    z_next: torch.Tensor,
    reward: torch.Tensor,
    done: torch.Tensor,
    mask: torch.Tensor | None = None,
    reward_weight: float = 1.0,
    done_weight: float = 1.0,
    done_pos_weight: float = 1.0,
):
    """(total, z NLL per dim, reward MSE, done BCE), averaged over the (optionally masked) steps."""
    nll = -z_log_prob(z_next.float(), out.logpi.float(), out.mu.float(), out.logsigma.float()) / z_next.shape[-1]
    rew = (out.reward.float() - reward.float()).pow(2)
    pos = torch.tensor(done_pos_weight, device=done.device)
    bce = F.binary_cross_entropy_with_logits(out.done_logit.float(), done.float(), pos_weight=pos, reduction="none")
    if mask is None:
        mask = torch.ones_like(nll)
    mask = mask.float()
    denom = mask.sum().clamp(min=1.0)
    nll_m = (nll * mask).sum() / denom
    rew_m = (rew * mask).sum() / denom
    bce_m = (bce * mask).sum() / denom
    return nll_m + reward_weight * rew_m + done_weight * bce_m, nll_m, rew_m, bce_m


def sample_mixture(
    logpi: torch.Tensor,
    mu: torch.Tensor,
    logsigma: torch.Tensor,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw y (…) from per-element mixtures (…, K) at temperature τ (τ → 0: the likeliest mean); with a joint
    mixture's weights (…, 1, K), every element of a row takes the same component."""
    tau = max(float(temperature), 1e-4)
    probs = F.softmax(logpi / tau, dim=-1)
    flat = probs.reshape(-1, probs.shape[-1])
    k = torch.multinomial(flat, 1, generator=generator).view(probs.shape[:-1])
    mu_k = component_values(mu, k)
    sigma_k = component_values(logsigma, k).exp()
    eps = torch.randn(mu_k.shape, generator=generator, device=mu_k.device, dtype=mu_k.dtype)
    return mu_k + sigma_k * math.sqrt(tau) * eps
