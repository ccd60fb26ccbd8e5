"""One-point-at-a-time inference of the ink models in numpy, for low sampling latency.

The torch modules (:mod:`gdl_studio.ink.models`) are the reference; their ``observe`` /
``propose`` / ``commit`` methods define each step and the tests check that these numpy steppers
give the same numbers. A single step at batch size one is dominated by per-operation overhead,
which is several times lower in numpy than in eager torch: this is what keeps the per-point p99
under a millisecond on one CPU thread.
"""

from __future__ import annotations

import numpy as np

from gdl_studio.ink import gmm

_SIGMA_MIN_LATENT = 1e-3  # same as models.LATENT_SIGMA_MIN (kept here to avoid importing torch)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0, out=x)


def _clamp_row(row: np.ndarray) -> np.ndarray:
    r = np.asarray(row, dtype=np.float32).reshape(3).copy()
    r[:2] = np.clip(r[:2], -gmm.INPUT_CLAMP, gmm.INPUT_CLAMP)
    r[2] = min(max(r[2], 0.0), 1.0)
    return r


class _Weights:
    """float32 weights of a torch state dict, linear layers pre-transposed to ``(in, out)``."""

    def __init__(self, state: dict) -> None:
        self.t = {k: v.detach().cpu().float().numpy() for k, v in state.items()}

    def linear(self, name: str):
        w = np.ascontiguousarray(self.t[f"{name}.weight"].T)
        b = self.t.get(f"{name}.bias")
        return w, (np.zeros(w.shape[1], np.float32) if b is None else b.copy())

    def gru(self, prefix: str, suffix: str = ""):
        return (
            np.ascontiguousarray(self.t[f"{prefix}.weight_ih{suffix}"].T),
            np.ascontiguousarray(self.t[f"{prefix}.weight_hh{suffix}"].T),
            self.t[f"{prefix}.bias_ih{suffix}"].copy(),
            self.t[f"{prefix}.bias_hh{suffix}"].copy(),
        )


def _gru_step(x, h, wih, whh, bih, bhh):
    n = h.shape[0]
    gi = x @ wih + bih
    gh = h @ whh + bhh
    r = _sigmoid(gi[:n] + gh[:n])
    z = _sigmoid(gi[n : 2 * n] + gh[n : 2 * n])
    c = np.tanh(gi[2 * n :] + r * gh[2 * n :])
    return (1.0 - z) * c + z * h


class NumpyVRNN:
    """Numpy mirror of :class:`gdl_studio.ink.models.VRNN` stepping (one row at a time)."""

    def __init__(self, module) -> None:
        w = _Weights(module.state_dict())
        cfg = module.cfg
        self.latent, self.n_mix, self.hidden = cfg.latent, cfg.n_mix, cfg.hidden
        self.x1, self.x2 = w.linear("phi_x.0"), w.linear("phi_x.2")
        self.z1 = w.linear("phi_z.0")
        self.p1, self.p2 = w.linear("prior.0"), w.linear("prior.2")
        self.ex, self.eh, self.eo = w.linear("enc_x"), w.linear("enc_h"), w.linear("enc_out")
        self.d1, self.d2 = w.linear("decoder.hidden"), w.linear("decoder.out")
        self.gru = w.gru("rnn")

    def initial_state(self) -> np.ndarray:
        return np.zeros(self.hidden, dtype=np.float32)

    def _phi_x(self, row):
        a = _relu(_clamp_row(row) @ self.x1[0] + self.x1[1])
        return _relu(a @ self.x2[0] + self.x2[1])

    def _gauss(self, out):
        k = self.latent
        return out[:k], _SIGMA_MIN_LATENT + np.logaddexp(0.0, out[k:]).astype(np.float32)

    def observe(self, row, h, eps):
        """Priming step: ``z ~ q(z | x, h)``; returns the new state."""
        fx = self._phi_x(row)
        e = _relu(fx @ self.ex[0] + self.ex[1] + h @ self.eh[0] + self.eh[1])
        mu, s = self._gauss(e @ self.eo[0] + self.eo[1])
        fz = _relu((mu + s * eps) @ self.z1[0] + self.z1[1])
        return _gru_step(np.concatenate([fx, fz]), h, *self.gru)

    def propose(self, h, eps, tau: float):
        """``z ~ p(z | h)`` with sigma * sqrt(tau); returns (raw decoder output, phi_z)."""
        a = _relu(h @ self.p1[0] + self.p1[1])
        mu, s = self._gauss(a @ self.p2[0] + self.p2[1])
        z = mu + s * np.float32(np.sqrt(max(tau, gmm.TAU_MIN))) * eps
        fz = _relu(z @ self.z1[0] + self.z1[1])
        d = _relu(np.concatenate([fz, h]) @ self.d1[0] + self.d1[1])
        return d @ self.d2[0] + self.d2[1], fz

    def commit(self, row, h, fz):
        """Advance the state with the sampled row."""
        return _gru_step(np.concatenate([self._phi_x(row), fz]), h, *self.gru)


class NumpyRNNGMM:
    """Numpy mirror of :class:`gdl_studio.ink.models.RNNGMM` stepping."""

    latent = 0

    def __init__(self, module) -> None:
        w = _Weights(module.state_dict())
        cfg = module.cfg
        self.n_mix, self.hidden = cfg.n_mix, cfg.hidden
        self.x1, self.x2 = w.linear("phi_x.0"), w.linear("phi_x.2")
        self.d1, self.d2 = w.linear("decoder.hidden"), w.linear("decoder.out")
        self.gru = w.gru("rnn", "_l0")

    def initial_state(self) -> np.ndarray:
        return np.zeros(self.hidden, dtype=np.float32)

    def observe(self, row, h, eps=None):
        a = _relu(_clamp_row(row) @ self.x1[0] + self.x1[1])
        fx = _relu(a @ self.x2[0] + self.x2[1])
        return _gru_step(fx, h, *self.gru)

    def propose(self, h, eps=None, tau: float = 1.0):
        d = _relu(h @ self.d1[0] + self.d1[1])
        return d @ self.d2[0] + self.d2[1], None

    def commit(self, row, h, aux=None):
        return self.observe(row, h)


def numpy_stepper(module):
    """The numpy mirror of a torch ink module."""
    return NumpyVRNN(module) if module.cfg.kind == "vrnn" else NumpyRNNGMM(module)
