"""C: the linear controller a = f(W [z, h] + b) with 3 × (32 + 256) + 3 = 867 parameters.

The raw outputs are squashed as in the paper's code: steer = tanh(o₀) ∈ [-1, 1],
gas = (tanh(o₁) + 1) / 2 ∈ [0, 1], brake = clip(tanh(o₂), 0, 1). The controller is plain numpy:
it runs inside CMA-ES worker processes and in the app, one small matrix-vector product a step.
"""

from __future__ import annotations

import numpy as np

Z_SIZE = 32
HIDDEN = 256
ACTION_SIZE = 3


def param_count(z_size: int = Z_SIZE, hidden: int = HIDDEN, action_size: int = ACTION_SIZE) -> int:
    """Number of parameters of the linear controller (867 for the paper's sizes)."""
    return (z_size + hidden) * action_size + action_size


class LinearController:
    """Linear policy on the concatenated [z, h] features."""

    def __init__(self, params: np.ndarray | None = None, z_size: int = Z_SIZE, hidden: int = HIDDEN) -> None:
        self.z_size, self.hidden = z_size, hidden
        self.input_size = z_size + hidden
        n = param_count(z_size, hidden)
        if params is None:
            params = np.zeros(n, dtype=np.float64)
        self.set_params(params)

    @property
    def num_params(self) -> int:
        return self.weight.size + self.bias.size

    def set_params(self, params: np.ndarray) -> None:
        """Load a flat parameter vector (weights row-major (3, z+h), then the 3 biases)."""
        params = np.asarray(params, dtype=np.float64).ravel()
        n = param_count(self.z_size, self.hidden)
        if params.size != n:
            raise ValueError(f"controller needs {n} parameters, got {params.size}")
        self.weight = params[: ACTION_SIZE * self.input_size].reshape(ACTION_SIZE, self.input_size).copy()
        self.bias = params[ACTION_SIZE * self.input_size :].copy()

    def get_params(self) -> np.ndarray:
        """The flat parameter vector."""
        return np.concatenate([self.weight.ravel(), self.bias])

    def act(self, z: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Actions for features z (…, 32) and h (…, 256) → (…, 3) float32 (steer, gas, brake)."""
        x = np.concatenate([np.asarray(z, dtype=np.float64), np.asarray(h, dtype=np.float64)], axis=-1)
        return squash(x @ self.weight.T + self.bias)


def squash(raw: np.ndarray) -> np.ndarray:
    """Map raw controller outputs to valid CarRacing actions (steer, gas, brake)."""
    a = np.tanh(raw)
    out = np.empty_like(a)
    out[..., 0] = a[..., 0]
    out[..., 1] = (a[..., 1] + 1.0) / 2.0
    out[..., 2] = np.clip(a[..., 2], 0.0, 1.0)
    return out.astype(np.float32)
