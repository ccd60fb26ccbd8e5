"""C: the linear controller a = f(W [z, h] + b) with 3 × (32 + 256) + 3 = 867 parameters, and a
one-hidden-layer variant a = f(W₂ tanh(W₁ [z, h] + b₁) + b₂).

The raw outputs are squashed as in the paper's code: steer = tanh(o₀) ∈ [-1, 1],
gas = (tanh(o₁) + 1) / 2 ∈ [0, 1], brake = clip(tanh(o₂), 0, 1). The controller is plain numpy:
it runs inside CMA-ES worker processes and in the app, one small matrix-vector product a step.

CMA-ES (real, dream, fine-tuning) searches the linear controller. The MLP is what imitation learning
trains (``scripts/racing_distill.py``: 64 units, 18,691 parameters; the shipped driver is the average of four
such students, one MLP of 256 units, :func:`average_mlps`); both are one flat parameter vector,
and its length tells which one it is (:func:`hidden_units`): the linear layout is W (3 × in, row-major)
then b (3); the MLP's is W₁ (units × in), b₁ (units), W₂ (3 × units), b₂ (3).

The **gated** controller (``scripts/racing_recover.py``) is two MLPs and a switch: a driver for the road and a
recovery expert that drives while a logistic gate on [z, h] says the car is off it (g · [z, h] + c > threshold).
Its flat vector starts with a header, [:data:`GATED_MAGIC`, driver units, expert units, threshold], then the
driver's MLP, the expert's, g (in) and c (:func:`pack_gated`); :func:`gated_units` recognises it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

Z_SIZE = 32
HIDDEN = 256
ACTION_SIZE = 3


def param_count(z_size: int = Z_SIZE, hidden: int = HIDDEN, action_size: int = ACTION_SIZE) -> int:
    """Number of parameters of the linear controller (867 for the paper's sizes)."""
    return (z_size + hidden) * action_size + action_size


def mlp_param_count(units: int, z_size: int = Z_SIZE, hidden: int = HIDDEN) -> int:
    """Number of parameters of the one-hidden-layer controller with ``units`` tanh units."""
    return units * (z_size + hidden + 1) + ACTION_SIZE * (units + 1)


def hidden_units(n_params: int, z_size: int = Z_SIZE, hidden: int = HIDDEN) -> int:
    """0 for a linear controller's parameter count, else the MLP's hidden width; ValueError for neither."""
    if n_params == param_count(z_size, hidden):
        return 0
    units, rest = divmod(n_params - ACTION_SIZE, z_size + hidden + 1 + ACTION_SIZE)
    if rest or units <= 0:
        raise ValueError(
            f"{n_params} parameters fit neither the linear controller ({param_count(z_size, hidden)}) nor an MLP "
            f"on {z_size + hidden} inputs"
        )
    return units


GATED_MAGIC = -7.0  # the first value of a gated controller's flat vector
GATE_HEADER = 4  # [GATED_MAGIC, driver units, expert units, threshold]


def gated_param_count(driver_units: int, expert_units: int, z_size: int = Z_SIZE, hidden: int = HIDDEN) -> int:
    """Number of parameters of a gated controller (header, the two MLPs, the gate's weights and bias)."""
    n_in = z_size + hidden
    return (
        GATE_HEADER
        + mlp_param_count(driver_units, z_size, hidden)
        + mlp_param_count(expert_units, z_size, hidden)
        + n_in
        + 1
    )


def gated_units(flat, z_size: int = Z_SIZE, hidden: int = HIDDEN) -> tuple[int, int] | None:
    """(driver units, expert units) if the flat vector ``flat`` (one controller, numpy or torch) is a gated
    controller's, else None; ValueError for a gated header whose length does not match."""
    if flat.shape[-1] < GATE_HEADER or float(flat[0]) != GATED_MAGIC:
        return None
    units = int(flat[1]), int(flat[2])
    if min(units) <= 0 or flat.shape[-1] != gated_param_count(*units, z_size, hidden):
        try:  # a linear or MLP controller whose first weight happens to be the marker
            hidden_units(int(flat.shape[-1]), z_size, hidden)
            return None
        except ValueError:
            pass
        raise ValueError(
            f"a gated controller's header says {units} units, which its {flat.shape[-1]} values do not fit"
        )
    return units


def pack_gated(driver, expert, gate_w, gate_b: float, threshold: float = 0.0) -> np.ndarray:
    """The flat vector of a gated controller: the MLP ``driver`` on the road, the MLP ``expert`` while
    ``gate_w · [z, h] + gate_b > threshold``."""
    driver, expert = (np.asarray(v, np.float64).ravel() for v in (driver, expert))
    u1, u2 = hidden_units(driver.size), hidden_units(expert.size)
    if not (u1 and u2):
        raise ValueError("pack_gated takes two MLP controllers")
    header = [GATED_MAGIC, u1, u2, threshold]
    return np.concatenate([header, driver, expert, np.asarray(gate_w, np.float64).ravel(), [gate_b]])


def unpack(params, z_size: int = Z_SIZE, hidden: int = HIDDEN) -> tuple:
    """Flat parameters (B, n) (numpy or torch) → (W (B, 3, in), b (B, 3)) for the linear controller,
    (W₁ (B, units, in), b₁ (B, units), W₂ (B, 3, units), b₂ (B, 3)) for the MLP, and for the gated controller
    (the driver's parts, the expert's parts, g (B, in), c (B,), threshold (B,)); views, no copies."""
    n_in = z_size + hidden
    gated = gated_units(params[0], z_size, hidden)
    if gated is not None:
        k1 = GATE_HEADER + mlp_param_count(gated[0], z_size, hidden)
        k2 = k1 + mlp_param_count(gated[1], z_size, hidden)
        return (
            unpack(params[:, GATE_HEADER:k1], z_size, hidden),
            unpack(params[:, k1:k2], z_size, hidden),
            params[:, k2 : k2 + n_in],
            params[:, k2 + n_in],
            params[:, 3],
        )
    units = hidden_units(int(params.shape[1]), z_size, hidden)
    if units == 0:
        return params[:, : ACTION_SIZE * n_in].reshape(-1, ACTION_SIZE, n_in), params[:, ACTION_SIZE * n_in :]
    k = units * n_in
    return (
        params[:, :k].reshape(-1, units, n_in),
        params[:, k : k + units],
        params[:, k + units : k + units + ACTION_SIZE * units].reshape(-1, ACTION_SIZE, units),
        params[:, k + units + ACTION_SIZE * units :],
    )


def take_rows(parts: tuple, index) -> tuple:
    """:func:`unpack`'s parts of only the controllers (rows) ``index`` (the gated controller's nested parts too)."""
    return tuple(take_rows(p, index) if isinstance(p, tuple) else p[index] for p in parts)


def batch_size(parts: tuple) -> int:
    """How many controllers (rows) :func:`unpack`'s parts hold."""
    first = parts[0]
    return batch_size(first) if isinstance(first, tuple) else int(first.shape[0])


def raw_outputs(parts: tuple, x):
    """The controllers' raw outputs (B, 3) for features x (B, in): ``parts`` from :func:`unpack`, each row its
    own controller. numpy in, numpy out; torch in, torch out."""
    einsum: Any
    tanh: Any
    if isinstance(x, np.ndarray):
        einsum, tanh = np.einsum, np.tanh
    else:
        import torch

        einsum, tanh = torch.einsum, torch.tanh
    if len(parts) == 5:  # gated: the expert's outputs where the gate is open, else the driver's
        off = einsum("bj,bj->b", parts[2], x) + parts[3] > parts[4]
        driver, expert = raw_outputs(parts[0], x), raw_outputs(parts[1], x)
        if isinstance(x, np.ndarray):
            return np.where(off[:, None], expert, driver)
        import torch

        return torch.where(off[:, None], expert, driver)
    out = einsum("bij,bj->bi", parts[0], x) + parts[1]
    if len(parts) == 2:
        return out
    return einsum("bij,bj->bi", parts[2], tanh(out)) + parts[3]


def average_mlps(vectors, z_size: int = Z_SIZE, hidden: int = HIDDEN) -> np.ndarray:
    """One MLP controller whose raw outputs are the mean of these MLPs' (an ensemble as one flat vector: the
    hidden layers side by side, each second layer divided by their number)."""
    parts = [unpack(np.asarray(v, np.float64).ravel()[None], z_size, hidden) for v in vectors]
    if not parts or any(len(p) != 4 for p in parts):
        raise ValueError("average_mlps takes one or more MLP controllers")
    k = len(parts)
    w1 = np.concatenate([p[0][0] for p in parts])
    b1 = np.concatenate([p[1][0] for p in parts])
    w2 = np.concatenate([p[2][0] for p in parts], axis=1) / k
    b2 = np.mean([p[3][0] for p in parts], axis=0)
    return np.concatenate([w1.ravel(), b1, w2.ravel(), b2])


def features(z: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The controllers' input [z, h] (…, z + h) in float64, from z (…, 32) and h (…, 256)."""
    return np.concatenate([np.asarray(z, dtype=np.float64), np.asarray(h, dtype=np.float64)], axis=-1)


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
        return squash(features(z, h) @ self.weight.T + self.bias)


def squash(raw: np.ndarray) -> np.ndarray:
    """Map raw controller outputs to valid CarRacing actions (steer, gas, brake)."""
    a = np.tanh(raw)
    out = np.empty_like(a)
    out[..., 0] = a[..., 0]
    out[..., 1] = (a[..., 1] + 1.0) / 2.0
    out[..., 2] = np.clip(a[..., 2], 0.0, 1.0)
    return out.astype(np.float32)


def _mlp_raw(x: np.ndarray, w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray) -> np.ndarray:
    """One MLP's raw outputs (…, 3) for features x (…, in)."""
    return np.tanh(x @ w1.T + b1) @ w2.T + b2


class _FlatController:
    """What the MLP and gated controllers share: the flat vector they were given, kept as it is, and the interface of
    :class:`LinearController`; a subclass reads the vector in ``_load``."""

    def __init__(self, params: np.ndarray, z_size: int = Z_SIZE, hidden: int = HIDDEN) -> None:
        self.z_size, self.hidden = z_size, hidden
        self.input_size = z_size + hidden
        self.set_params(params)

    @property
    def num_params(self) -> int:
        return self._flat.size

    def set_params(self, params: np.ndarray) -> None:
        """Load a flat parameter vector (see the module's docstring)."""
        flat = np.asarray(params, dtype=np.float64).ravel().copy()
        self._load(flat)
        self._flat = flat

    def _load(self, flat: np.ndarray) -> None:
        raise NotImplementedError

    def get_params(self) -> np.ndarray:
        return self._flat.copy()


class MLPController(_FlatController):
    """One hidden layer of tanh units on [z, h] (the imitation-trained drivers); the same interface as
    :class:`LinearController`."""

    def _load(self, flat: np.ndarray) -> None:
        """W₁, b₁, W₂, b₂ (see the module's docstring)."""
        self.units = hidden_units(flat.size, self.z_size, self.hidden)
        if self.units == 0:
            raise ValueError("these are a linear controller's parameters: use LinearController")
        self.w1, self.b1, self.w2, self.b2 = (p[0] for p in unpack(flat[None], self.z_size, self.hidden))

    def act(self, z: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Actions for features z (…, 32) and h (…, 256) → (…, 3) float32 (steer, gas, brake)."""
        return squash(_mlp_raw(features(z, h), self.w1, self.b1, self.w2, self.b2))


class GatedController(_FlatController):
    """Two MLPs and a logistic switch on [z, h] (see the module's docstring); the same interface as
    :class:`LinearController`."""

    def _load(self, flat: np.ndarray) -> None:
        units = gated_units(flat, self.z_size, self.hidden)
        if units is None:
            raise ValueError("these are not a gated controller's parameters")
        self.driver_units, self.expert_units = units
        driver, expert, g, c, threshold = unpack(flat[None], self.z_size, self.hidden)
        self._driver, self._expert = (tuple(p[0] for p in parts) for parts in (driver, expert))
        self._gate = g[0], float(c[0]), float(threshold[0])

    def act(self, z: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Actions for features z (…, 32) and h (…, 256) → (…, 3) float32 (steer, gas, brake)."""
        x = features(z, h)
        g, c, threshold = self._gate
        expert = (x @ g + c > threshold)[..., None]
        return squash(np.where(expert, _mlp_raw(x, *self._expert), _mlp_raw(x, *self._driver)))


def make_controller(
    params: np.ndarray, z_size: int = Z_SIZE, hidden: int = HIDDEN
) -> LinearController | MLPController | GatedController:
    """The controller a flat parameter vector describes (linear or MLP by its length, gated by its header)."""
    flat = np.asarray(params, dtype=np.float64).ravel()
    if gated_units(flat, z_size, hidden) is not None:
        return GatedController(flat, z_size=z_size, hidden=hidden)
    if hidden_units(flat.size, z_size, hidden) == 0:
        return LinearController(flat, z_size=z_size, hidden=hidden)
    return MLPController(flat, z_size=z_size, hidden=hidden)
