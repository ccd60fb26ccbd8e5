"""Many dreams at once: controllers driving inside M, batched on one torch device.

This is the dream as CMA-ES and the fidelity benchmark see it: every row of a batch is one
(controller, start latent) pair; all rows step together through M's LSTM, sample z from the
mixture at temperature τ, collect M's predicted reward and stop when M's episode-end head says
so. On a GPU a batch of several thousand dreams of 1,000 steps takes seconds; on a CPU the same
code runs smaller batches (the app's dream-mode fine-tuning).

The controller is the same function as :mod:`gdl_studio.racing.controller` (``squash(W [z, h] + b)``, or
its MLP), on torch tensors so it runs on the device with M.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DREAM_MIN_STEPS = 20  # M's episode-end head is ignored before this many steps

ROAD_EVERY = 10  # the road check looks at every 10th dreamt frame unless told otherwise (decoding costs)


@dataclass
class DreamBatchResult:
    """Returns and bookkeeping of a batch of dreams (numpy, one entry per row)."""

    returns: np.ndarray  # (B,) summed predicted reward until done or max_steps
    lengths: np.ndarray  # (B,) steps each dream lasted
    steps: int  # total dream steps taken (rows alive summed over time)
    on_road: np.ndarray | None = None  # (B,) fraction of checked frames with the car on the road


def controller_tensors(params: np.ndarray, z_size: int, hidden: int, device=None) -> tuple:
    """Flat controller parameters (B, n) → their tensors (:func:`gdl_studio.racing.controller.unpack`): weight
    (B, 3, z+h) and bias (B, 3) for linear controllers, four tensors for MLPs."""
    import torch

    from gdl_studio.racing.controller import unpack

    return unpack(torch.as_tensor(np.atleast_2d(np.asarray(params, np.float32)), device=device), z_size, hidden)


def squash_torch(raw):
    """The controller's output squash (see :func:`gdl_studio.racing.controller.squash`) in torch."""
    import torch

    a = torch.tanh(raw)
    return torch.stack([a[:, 0], (a[:, 1] + 1.0) * 0.5, a[:, 2].clamp(0.0, 1.0)], dim=1)


def on_road(frames) -> np.ndarray:
    """Whether the car is on the road in V-space frames: (N, 3, 64, 64) float in [0, 1] → (N,) bool, the share of
    road grey around the car (:func:`gdl_studio.racing.preprocess.road_share`) over ``ON_ROAD``."""
    from gdl_studio.racing.preprocess import ON_ROAD, road_share

    return (road_share(frames) > ON_ROAD).cpu().numpy()


def dream_batch(
    mdn,
    params: np.ndarray,
    z0: np.ndarray,
    tau: float,
    seed: int,
    max_steps: int = 1000,
    device=None,
    done_threshold: float = 0.5,
    min_steps: int = DREAM_MIN_STEPS,
    decoder=None,
    road_every: int = 0,
    checkpoint=None,
    state0=None,
    observe=None,
) -> DreamBatchResult:
    """Run ``len(params)`` dreams in lockstep; row i is controller ``params[i]`` from ``z0[i]``.

    ``mdn`` must already be on ``device``. With ``decoder`` (V's decoder on the same device) and
    ``road_every`` > 0, every ``road_every``-th frame of every live dream is decoded and checked
    with :func:`on_road`. ``checkpoint`` (if given) is called every 50 steps (pause/cancel).
    ``state0`` (M's LSTM (h, c), each (1, B, hidden)) starts the rows mid-episode, e.g. from M fed a
    recorded real episode up to the start frame; by default they start from M's initial state.
    ``observe(out, state, alive)`` (if given) is called after every step with M's outputs, its new state and
    the rows whose reward this step counted (read it at once: the mask is updated in place afterwards).
    """
    import torch

    from gdl_studio.racing.controller import batch_size, raw_outputs

    device = torch.device(device) if device is not None else next(mdn.parameters()).device
    hidden, z_size = mdn.config.hidden, mdn.config.z_size
    parts = controller_tensors(params, z_size, hidden, device)
    batch = batch_size(parts)
    gen = torch.Generator(device=device).manual_seed(int(seed))
    z = torch.as_tensor(np.asarray(z0, np.float32), device=device).reshape(batch, z_size)
    if state0 is None:
        state = mdn.initial_state(batch, device=device)
    else:
        state = tuple(
            torch.as_tensor(s_, device=device, dtype=torch.float32).reshape(1, batch, hidden) for s_ in state0
        )
    totals = torch.zeros(batch, dtype=torch.float64, device=device)
    lengths = torch.zeros(batch, dtype=torch.int64, device=device)
    alive = torch.ones(batch, dtype=torch.bool, device=device)
    road_hits = np.zeros(batch)
    road_checks = np.zeros(batch)
    steps = 0
    with torch.inference_mode():
        for t in range(max_steps):
            if checkpoint is not None and t % 50 == 0:
                checkpoint()
            if decoder is not None and road_every and t % road_every == 0:
                idx = alive.nonzero().squeeze(1)
                if len(idx):
                    ok = on_road(decoder(z[idx]).float())
                    where = idx.cpu().numpy()
                    road_hits[where] += ok
                    road_checks[where] += 1
            h = state[0][0]
            x = torch.cat([z, h], dim=1)
            actions = squash_torch(raw_outputs(parts, x))
            out, state = mdn.step(z, actions, state)
            totals += torch.where(alive, out.reward.double(), torch.zeros_like(totals))
            lengths += alive.long()
            if observe is not None:
                observe(out, state, alive)
            steps += int(alive.sum())
            if t + 1 >= min_steps:
                alive &= torch.sigmoid(out.done_logit.float()) <= done_threshold
            if t % 25 == 24 and not bool(alive.any()):
                break
            z = _sample(out, tau, gen)
    on_road_frac = road_hits / np.maximum(road_checks, 1) if decoder is not None and road_every else None
    return DreamBatchResult(totals.cpu().numpy(), lengths.cpu().numpy(), steps, on_road_frac)


def _sample(out, tau: float, gen):
    """z ~ M's mixture (per dimension, or joint) at temperature τ (as :func:`mdn_rnn.sample_mixture`).

    The component is drawn with the Gumbel-max trick (one uniform draw per logit and an argmax),
    which is the same distribution as a categorical draw but much cheaper for thousands of rows.
    """
    import torch

    from gdl_studio.racing.mdn_rnn import component_values

    tau = max(float(tau), 1e-4)
    logits = out.logpi.float() / tau
    u = torch.rand(logits.shape, generator=gen, device=logits.device).clamp_(1e-20, 1.0)
    k = (logits - torch.log(-torch.log(u))).argmax(dim=-1)
    mu_k = component_values(out.mu.float(), k)
    sigma_k = component_values(out.logsigma.float(), k).exp()
    eps = torch.randn(mu_k.shape, generator=gen, device=mu_k.device)
    return mu_k + sigma_k * math.sqrt(tau) * eps


def best_device(preferred: str = "auto"):
    """``cuda`` when asked or available (for ``auto``), else the CPU."""
    import torch

    if preferred == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(preferred)
