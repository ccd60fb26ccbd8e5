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
recovery expert that drives while the car is off it. The switch (:class:`RoadGate`) reads the frame V reads: the share
of road grey around the car (:func:`gdl_studio.racing.preprocess.road_share`). It opens after ``enter`` frames in a
row under ``off`` and closes after ``leave`` frames in a row at ``back`` or more; it stays closed for an episode's
first ``start`` frames (the camera zooms in over the first second). So it has a state, which a new episode resets.
Its flat vector starts with a header, [:data:`GATED_MAGIC`, driver units, expert units, off, back, enter, leave,
start], then the driver's MLP and the expert's (:func:`pack_gated`); :func:`gated_units` recognises it. Where no
frame is given (the batched dreams of :mod:`gdl_studio.racing.dream_batch`), the driver drives alone.

An expert may also read the HUD bar below V's crop (:func:`gdl_studio.racing.preprocess.hud_gauges`: speed, front
wheels' angle, yaw rate; :data:`HUD_INPUTS` more inputs), which tells it whether the car stands, crawls or spins on
the grass. Its header starts with :data:`GATED_HUD_MAGIC` instead. A dreamt frame has no HUD, so in a dream such an
expert never drives: its gate still counts the frames, and the driver drives.

A gated controller may also have a **doubt governor** on its road driver (:class:`Governor`; header
:data:`GOVERNED_MAGIC`, :data:`GOVERNED_HEADER` values). The road driver is an average of several students (each a
block of ``member_units`` hidden units, :func:`average_mlps`); where they disagree on the steering (:func:`doubt`:
the standard deviation of the members' raw steer over ``theta``) while the driver drives, the governor lifts the gas
and, above ``vmin`` on the HUD's speed bar, brakes with at least ``brake``. It reads the HUD, so in a dream (no HUD)
it does not act.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from gdl_studio.racing.preprocess import ZOOM_FRAMES

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
GATED_HUD_MAGIC = -8.0  # … of one whose expert also reads the HUD gauges
GATE_HEADER = 8  # [GATED_MAGIC, driver units, expert units, off, back, enter, leave, start]
GOVERNED_MAGIC = -9.0  # … of one with a doubt governor (either expert)
# [GOVERNED_MAGIC, driver units, expert units, off, back, enter, leave, start, member units, theta, brake, vmin,
#  expert reads the HUD (0 or 1)]
GOVERNED_HEADER = 13
GATE_SETTINGS = 5  # off, back, enter, leave, start
HUD_INPUTS = 3  # preprocess.hud_gauges: [speed, wheel, gyro]
HUD_SPEED = 0.02  # the speed bar's units per unit of speed (preprocess.hud_gauges)


class Governor(NamedTuple):
    """A gated controller's doubt governor (see the module's docstring): the road driver's members are blocks of
    ``member_units`` hidden units; above ``theta`` of :func:`doubt` the gas is lifted, and above speed ``vmin`` the
    brake is at least ``brake``."""

    member_units: int
    theta: float
    brake: float
    vmin: float


def _header(flat) -> int:
    """The header length of a gated controller's flat vector (by its first value), 0 for any other."""
    if flat.shape[-1] < GATE_HEADER:
        return 0
    magic = float(flat[0])
    if magic in (GATED_MAGIC, GATED_HUD_MAGIC):
        return GATE_HEADER
    return GOVERNED_HEADER if magic == GOVERNED_MAGIC and flat.shape[-1] >= GOVERNED_HEADER else 0


def gated_param_count(
    driver_units: int,
    expert_units: int,
    z_size: int = Z_SIZE,
    hidden: int = HIDDEN,
    hud: bool = False,
    governed: bool = False,
) -> int:
    """Number of parameters of a gated controller (header and the two MLPs; ``hud``: the expert reads the gauges;
    ``governed``: it has a doubt governor)."""
    expert = mlp_param_count(expert_units, z_size, hidden + HUD_INPUTS * hud)
    header = GOVERNED_HEADER if governed else GATE_HEADER
    return header + mlp_param_count(driver_units, z_size, hidden) + expert


def expert_reads_hud(flat) -> bool:
    """Whether a gated controller's flat vector (or its header) has an expert that reads the HUD gauges."""
    header = _header(flat)
    if header == GOVERNED_HEADER:
        return float(flat[GOVERNED_HEADER - 1]) == 1.0
    return header == GATE_HEADER and float(flat[0]) == GATED_HUD_MAGIC


def governor_of(flat) -> Governor | None:
    """A gated controller's doubt governor (from its flat vector or header), None if it has none."""
    if _header(flat) != GOVERNED_HEADER:
        return None
    return Governor(int(flat[8]), float(flat[9]), float(flat[10]), float(flat[11]))


def gated_units(flat, z_size: int = Z_SIZE, hidden: int = HIDDEN) -> tuple[int, int] | None:
    """(driver units, expert units) if the flat vector ``flat`` (one controller, numpy or torch) is a gated
    controller's, else None; ValueError for a gated header whose length does not match."""
    header = _header(flat)
    if not header:
        return None
    units = int(flat[1]), int(flat[2])
    size = gated_param_count(*units, z_size, hidden, expert_reads_hud(flat), header == GOVERNED_HEADER)
    if min(units) <= 0 or flat.shape[-1] != size:
        try:  # a linear or MLP controller whose first weight happens to be the marker
            hidden_units(int(flat.shape[-1]), z_size, hidden)
            return None
        except ValueError:
            pass
        raise ValueError(
            f"a gated controller's header says {units} units, which its {flat.shape[-1]} values do not fit"
        )
    return units


def pack_gated(
    driver,
    expert,
    off: float = 0.2,
    back: float = 0.5,
    enter: int = 5,
    leave: int = 5,
    start: int = ZOOM_FRAMES,
    hud: bool = False,
    governor: Governor | None = None,
) -> np.ndarray:
    """The flat vector of a gated controller: the MLP ``driver`` on the road, the MLP ``expert`` while the
    :class:`RoadGate` with these settings is open (``hud``: the expert's inputs are [z, h, the HUD gauges]);
    ``governor``: a doubt governor on the driver, whose units it must divide into members."""
    driver, expert = (np.asarray(v, np.float64).ravel() for v in (driver, expert))
    u1, u2 = hidden_units(driver.size), hidden_units(expert.size, hidden=HIDDEN + HUD_INPUTS * hud)
    if not (u1 and u2):
        raise ValueError("pack_gated takes two MLP controllers")
    if not (0.0 <= off <= back <= 1.0 and enter >= 1 and leave >= 1 and start >= 0):
        raise ValueError("a road gate needs 0 ≤ off ≤ back ≤ 1, enter and leave ≥ 1 and start ≥ 0")
    gate = [u1, u2, off, back, enter, leave, start]
    if governor is None:
        return np.concatenate([[GATED_HUD_MAGIC if hud else GATED_MAGIC, *gate], driver, expert])
    g = Governor(*governor)
    if g.member_units < 1 or u1 % g.member_units or u1 // g.member_units < 2:
        raise ValueError(f"a governor needs the driver's {u1} units in two or more members of equal size")
    if not (g.theta > 0 and 0.0 <= g.brake <= 1.0 and g.vmin >= 0):
        raise ValueError("a governor needs theta > 0, 0 ≤ brake ≤ 1 and vmin ≥ 0")
    head = [GOVERNED_MAGIC, *gate, g.member_units, g.theta, g.brake, g.vmin, float(hud)]
    return np.concatenate([head, driver, expert])


def split_gated(flat) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A gated controller's flat vector → (the driver's MLP vector, the expert's, the gate settings [off, back,
    enter, leave, start]): :func:`pack_gated` undone (its governor: :func:`governor_of`)."""
    flat = np.asarray(flat, np.float64).ravel()
    units = gated_units(flat)
    if units is None:
        raise ValueError("these are not a gated controller's parameters")
    header = _header(flat)
    k = header + mlp_param_count(units[0])
    return flat[header:k], flat[k:], flat[3 : 3 + GATE_SETTINGS]


class RoadGate:
    """The gated controller's switch for a batch of episodes, one row each: open after ``enter`` frames in a row with
    the road share around the car (:func:`gdl_studio.racing.preprocess.road_share`) under ``off``; closed again after
    ``leave`` frames in a row with it at ``back`` or more; closed whatever the share during an episode's first
    ``start`` frames (the camera's zoom-in, when the patch is not yet the car's surroundings). ``settings`` (B, 5) or
    (5,): [off, back, enter, leave, start] per row (a single row serves any batch size)."""

    def __init__(self, settings) -> None:
        self.settings = np.atleast_2d(np.asarray(settings, np.float64))
        self.reset()

    def reset(self) -> None:
        """A new episode on every row: closed, nothing counted."""
        self.open = np.zeros(0, bool)
        self.count = np.zeros(0, np.int64)
        self.frames = np.zeros(0, np.int64)

    def step(self, share) -> np.ndarray:
        """One frame's road shares (B,) → which rows the expert drives now (B,) bool."""
        share = np.asarray(share, np.float64).reshape(-1)
        if self.open.shape != share.shape:  # the first frame (or a new batch size): a new episode
            self.open, self.count = np.zeros(share.shape, bool), np.zeros(share.shape, np.int64)
            self.frames = np.zeros(share.shape, np.int64)
        off, back, enter, leave, start = self.settings[:, :GATE_SETTINGS].T
        toward = np.where(self.open, share >= back, share < off) & (self.frames >= start)  # toward flipping
        self.count = np.where(toward, self.count + 1, 0)
        flip = self.count >= np.where(self.open, leave, enter)
        self.open = np.where(flip, ~self.open, self.open)
        self.count[flip] = 0
        self.frames += 1
        return self.open.copy()

    def keep(self, index) -> None:
        """Keep only the rows ``index`` (the others' episodes ended)."""
        if len(self.settings) > 1:
            self.settings = self.settings[index]
        if self.open.size:
            self.open, self.count, self.frames = self.open[index], self.count[index], self.frames[index]


def unpack(params, z_size: int = Z_SIZE, hidden: int = HIDDEN) -> tuple:
    """Flat parameters (B, n) (numpy or torch) → (W (B, 3, in), b (B, 3)) for the linear controller,
    (W₁ (B, units, in), b₁ (B, units), W₂ (B, 3, units), b₂ (B, 3)) for the MLP, and for the gated controller
    (the driver's parts, the expert's parts, its settings (B, 5): [off, back, enter, leave, start], or (B, 9) with a
    governor: those and [member units, theta, brake, vmin]); views, no copies."""
    n_in = z_size + hidden
    gated = gated_units(params[0], z_size, hidden)
    if gated is not None:
        header = _header(params[0])
        k1 = header + mlp_param_count(gated[0], z_size, hidden)
        return (
            unpack(params[:, header:k1], z_size, hidden),
            unpack(params[:, k1:], z_size, hidden + HUD_INPUTS * expert_reads_hud(params[0])),
            params[:, 3 : 3 + GATE_SETTINGS + 4 * (header == GOVERNED_HEADER)],
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


def expert_needs_hud(parts: tuple) -> bool:
    """Whether :func:`unpack`'s parts are gated controllers whose expert reads the HUD gauges."""
    return len(parts) == 3 and int(parts[1][0].shape[-1]) > int(parts[0][0].shape[-1])


def governed(parts: tuple) -> bool:
    """Whether :func:`unpack`'s parts are gated controllers with a doubt governor (which reads the HUD's speed)."""
    return len(parts) == 3 and int(parts[2].shape[-1]) > GATE_SETTINGS


def needs_hud(parts: tuple) -> bool:
    """Whether :func:`unpack`'s parts read the HUD gauges (an expert that reads them, or a governor)."""
    return expert_needs_hud(parts) or governed(parts)


def doubt(parts: tuple, x: np.ndarray, member_units: int) -> np.ndarray:
    """(B,): how much the members of MLP drivers disagree on the steering, for features x (B, in): the standard
    deviation over the members (blocks of ``member_units`` hidden units, :func:`average_mlps`' layout) of each
    member's raw steer as it would be alone (its block's share of W₂ times the number of members; the members' own
    b₂, which the average sums, are left out). ``parts``: :func:`unpack`'s of MLPs."""
    return _spread(_hidden(parts, x), parts[2][:, 0, :], member_units)


def _hidden(parts: tuple, x: np.ndarray) -> np.ndarray:
    """MLPs' hidden layer tanh(W₁ x + b₁) (B, units) for features x (B, in); ``parts``: :func:`unpack`'s (numpy)."""
    return np.tanh(np.einsum("bij,bj->bi", parts[0], x) + parts[1])


def _spread(hid: np.ndarray, w2_steer: np.ndarray, member_units: int) -> np.ndarray:
    """:func:`doubt` from the hidden layer (B, units) and W₂'s steering row (B or 1, units), which broadcasts."""
    b, units = hid.shape
    k = units // member_units
    steer = (hid * w2_steer).reshape(b, k, member_units).sum(-1) * k
    return steer.std(axis=1)


GAS_OFF = 20.0  # the raw gas the governor sets: (tanh(−20) + 1) / 2 = 0 in float32


def _govern(settings, w2, hid: np.ndarray, raw: np.ndarray, expert, hud) -> np.ndarray:
    """Gated controllers' raw outputs ``raw`` (B, 3) with their governors applied where the driver drives (numpy, HUD
    given): ``settings`` (B or 1, 9) from :func:`unpack`, the driver's W₂ (B or 1, 3, units) and its hidden layer
    ``hid`` (B, units) for this step, already computed for ``raw`` (so the driver's weights are neither copied nor run
    again)."""
    rows = len(hid)
    member, theta, brake, vmin = np.broadcast_to(np.asarray(settings, np.float64)[:, GATE_SETTINGS:], (rows, 4)).T
    on = np.zeros(rows, bool)
    for m in np.unique(member):  # one member size per batch in practice: one pass
        on = np.where(member == m, _spread(hid, w2[:, 0, :], int(m)) > theta, on)
    if expert is not None:
        on &= ~np.asarray(expert, bool)
    if not on.any():
        return raw
    raw = raw.copy()
    raw[on, 1] = -GAS_OFF  # gas (tanh + 1) / 2 ≈ 0
    fast = on & (np.asarray(hud, np.float64)[:, 0] > HUD_SPEED * vmin)
    floor = np.arctanh(np.clip(brake, 0.0, 0.999))
    raw[fast, 2] = np.maximum(raw[fast, 2], floor[fast])
    return raw


def raw_outputs(parts: tuple, x, expert=None, hud=None):
    """The controllers' raw outputs (B, 3) for features x (B, in): ``parts`` from :func:`unpack`, each row its
    own controller. numpy in, numpy out; torch in, torch out. Gated controllers: the expert's outputs on the rows
    where ``expert`` (B,) bool (their :class:`RoadGate`'s) is true, the driver's elsewhere and when it is None; an
    expert that reads the HUD gauges (:func:`expert_needs_hud`) drives only where ``hud`` (B, 3) is given, and a
    governor (:func:`governed`) acts only where it is given and ``x`` is numpy."""
    einsum: Any
    tanh: Any
    if isinstance(x, np.ndarray):
        einsum, tanh = np.einsum, np.tanh
    else:
        import torch

        einsum, tanh = torch.einsum, torch.tanh
    if len(parts) == 3:  # gated
        if governed(parts) and hud is not None and isinstance(x, np.ndarray):
            hid = _hidden(parts[0], x)  # once, for the driver's outputs and its members' doubt
            driver = np.einsum("bij,bj->bi", parts[0][2], hid) + parts[0][3]
            driver = _govern(parts[2], parts[0][2], hid, driver, expert, hud)
        else:
            driver = raw_outputs(parts[0], x)
        needs_hud = expert_needs_hud(parts)
        if expert is None or not expert.any() or (needs_hud and hud is None):
            return driver
        on = np.asarray(expert, bool)[:, None]
        if isinstance(x, np.ndarray):
            xe = np.concatenate([x, np.asarray(hud, x.dtype)], axis=1) if needs_hud else x
            return np.where(on, raw_outputs(parts[1], xe), driver)
        import torch

        xt = torch.cat([x, torch.as_tensor(np.asarray(hud), dtype=x.dtype, device=x.device)], 1) if needs_hud else x
        return torch.where(torch.as_tensor(on, device=x.device), raw_outputs(parts[1], xt), driver)
    out = einsum("bij,bj->bi", parts[0], x) + parts[1]
    if len(parts) == 2:
        return out
    return einsum("bij,bj->bi", parts[2], tanh(out)) + parts[3]


def average_mlps(vectors, z_size: int = Z_SIZE, hidden: int = HIDDEN, weights=None) -> np.ndarray:
    """One MLP controller whose raw outputs are the mean of these MLPs' (an ensemble as one flat vector: the
    hidden layers side by side, each second layer divided by their number). ``weights`` (one per MLP, summing to 1):
    a weighted mean instead, e.g. to give each training run one share where some members are averages already."""
    parts = [unpack(np.asarray(v, np.float64).ravel()[None], z_size, hidden) for v in vectors]
    if not parts or any(len(p) != 4 for p in parts):
        raise ValueError("average_mlps takes one or more MLP controllers")
    k = len(parts)
    share = np.full(k, 1.0 / k) if weights is None else np.asarray(weights, np.float64)
    if share.shape != (k,) or (share < 0).any() or abs(share.sum() - 1.0) > 1e-9:
        raise ValueError("average_mlps needs one non-negative weight per MLP, summing to 1")
    w1 = np.concatenate([p[0][0] for p in parts])
    b1 = np.concatenate([p[1][0] for p in parts])
    w2 = np.concatenate([p[2][0] * a for p, a in zip(parts, share)], axis=1)
    b2 = np.sum([p[3][0] * a for p, a in zip(parts, share)], axis=0)
    return np.concatenate([w1.ravel(), b1, w2.ravel(), b2])


def features(z: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The controllers' input [z, h] (…, z + h) in float64, from z (…, 32) and h (…, 256)."""
    return np.concatenate([np.asarray(z, dtype=np.float64), np.asarray(h, dtype=np.float64)], axis=-1)


class _Stateless:
    """What every controller answers, as one without a state does (the linear and MLP controllers); the gated
    controller overrides it all."""

    @property
    def recovering(self) -> bool:
        """Whether the last action came from a gated controller's recovery expert."""
        return False

    @property
    def reads_frame(self) -> bool:
        """Whether :meth:`act` uses ``road`` and ``hud`` (a gated controller's): otherwise they need not be computed."""
        return False

    def reset(self) -> None:
        """A new episode (only the gated controller has a state)."""

    def watch(self, road=None) -> None:
        """A frame that someone else drove (the person): only a gated controller's switch counts it."""


class LinearController(_Stateless):
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

    def act(self, z: np.ndarray, h: np.ndarray, road=None, hud=None) -> np.ndarray:
        """Actions for features z (…, 32) and h (…, 256) → (…, 3) float32 (steer, gas, brake); ``road`` (the road
        share of V's frame, what a gated controller's switch reads) and ``hud`` (the HUD gauges) are not used."""
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


class _FlatController(_Stateless):
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

    def act(self, z: np.ndarray, h: np.ndarray, road=None, hud=None) -> np.ndarray:
        """Actions for features z (…, 32) and h (…, 256) → (…, 3) float32 (steer, gas, brake); ``road`` and ``hud``
        are not used."""
        return squash(_mlp_raw(features(z, h), self.w1, self.b1, self.w2, self.b2))


class GatedController(_FlatController):
    """Two MLPs and a :class:`RoadGate` (see the module's docstring); the same interface as
    :class:`LinearController`. It has a state: :meth:`reset` at each new episode."""

    def _load(self, flat: np.ndarray) -> None:
        units = gated_units(flat, self.z_size, self.hidden)
        if units is None:
            raise ValueError("these are not a gated controller's parameters")
        self.driver_units, self.expert_units = units
        self.hud = expert_reads_hud(flat)  # the expert reads the HUD gauges too
        self.governor = governor_of(flat)  # a doubt governor on the driver (reads the HUD's speed)
        self._parts = unpack(flat[None], self.z_size, self.hidden)
        driver, expert, settings = self._parts
        self._driver, self._expert = (tuple(p[0] for p in parts) for parts in (driver, expert))
        self.gate = RoadGate(settings[0, :GATE_SETTINGS])
        self._drove = False

    @property
    def reads_frame(self) -> bool:
        return True

    @property
    def reads_hud(self) -> bool:
        """Whether :meth:`act` uses ``hud`` (its expert or its governor reads the gauges)."""
        return self.hud or self.governor is not None

    def reset(self) -> None:
        self.gate.reset()
        self._drove = False

    def watch(self, road=None) -> None:
        """A frame the person drove: the gate counts it, so that it is open at once if the person hands back a car
        on the grass (and closed if on the road)."""
        if road is not None:
            self.gate.step(road)
        self._drove = False

    @property
    def recovering(self) -> bool:
        """Whether the expert drove the last step (of any row), what the Dream panel tells the person."""
        return self._drove

    def act(self, z: np.ndarray, h: np.ndarray, road=None, hud=None) -> np.ndarray:
        """Actions for features z (B, 32) and h (B, 256) → (B, 3) float32 (steer, gas, brake). ``road`` (B,): the
        road share of this step's frame (:func:`gdl_studio.racing.preprocess.road_share`), which steps the gate;
        without it the driver drives and the gate keeps its state. ``hud`` (B, 3): the HUD gauges
        (:func:`gdl_studio.racing.preprocess.hud_gauges`), which an expert that reads them needs to drive (without
        them, as in a dream, the driver drives while the gate is open) and a governor needs to act."""
        x = features(z, h)
        w1, b1, w2, b2 = self._driver
        hid = np.tanh(x @ w1.T + b1)
        raw = hid @ w2.T + b2  # _mlp_raw's, its hidden layer kept for the governor
        self._drove = False
        on = None
        if road is not None:
            on = self.gate.step(road).reshape(x.shape[:-1] + (1,))
        if self.governor is not None and hud is not None:
            n = int(np.prod(x.shape[:-1]))
            gauges = np.asarray(hud, np.float64).reshape(n, HUD_INPUTS)
            gated = None if on is None else on.reshape(-1)
            governed_raw = _govern(
                self._parts[2], w2[None], hid.reshape(n, -1), raw.reshape(n, ACTION_SIZE), gated, gauges
            )
            raw = governed_raw.reshape(raw.shape)
        if on is not None:
            if on.any() and (hud is not None or not self.hud):
                xe = x
                if self.hud:
                    xe = np.concatenate([x, np.asarray(hud, np.float64).reshape(x.shape[:-1] + (HUD_INPUTS,))], -1)
                raw = np.where(on, _mlp_raw(xe, *self._expert), raw)
                self._drove = True
        return squash(raw)


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
