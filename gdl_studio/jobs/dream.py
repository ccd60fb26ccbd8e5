"""Engine jobs of the Dream panel (plain Python, no Qt): load the world model, then stream frames.

This is the thin adapter between the panel and :mod:`gdl_studio.racing.dream`
(:func:`~gdl_studio.racing.dream.real_frames` / :func:`~gdl_studio.racing.dream.dream_frames`).
A job (see :mod:`gdl_studio.engine.core`) first yields one status item —
:class:`~gdl_studio.jobs.common.ModelReady` (``model``: who drives),
:class:`~gdl_studio.jobs.common.ModelProblem` (missing or corrupt V/M/C weights) or
:class:`SimulatorProblem` (Box2D / pygame missing: Real mode only) — and then one
``RealFrame`` / ``DreamFrame`` per frame, each followed by a :class:`~gdl_studio.engine.core.Sleep`
that paces the stream at ``Playback.fps`` (:func:`~gdl_studio.jobs.common.paced`) so the other
panels keep their share of the engine. While ``Playback.paused`` is set the job only sleeps: the
episode stays where it is.
"""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from gdl_studio.core.registry import ModelUnavailable
from gdl_studio.jobs.common import ModelProblem, ModelReady, Playback, paced
from gdl_studio.racing.dream import DriveControls

REAL = "real"
DREAM = "dream"
REAL_MAX_STEPS = 1000  # CarRacing-v3's time limit
DREAM_MAX_STEPS = 1000

WorldLoader = Callable[[], Any]


@dataclass(frozen=True)
class SimulatorProblem:
    """The real CarRacing game cannot run (Box2D / pygame / gymnasium missing)."""

    message: str


def default_loader():
    """Load the shipped V and M (and C when present) through the registry (cached there)."""
    from gdl_studio.racing.models_io import load_world_model

    return load_world_model(need_controller=False)


def check_simulator() -> None:
    """Raise ``MissingDependency`` (a one-line message naming the install step) if the game cannot run."""
    from gdl_studio.racing.deps import require_simulator

    require_simulator()


class WorldSource:
    """Loads the world model once (on the engine thread) and keeps it; :meth:`forget` to retry."""

    def __init__(self, loader: WorldLoader | None = None) -> None:
        self._loader = loader or default_loader
        self._world = None
        self._lock = threading.Lock()

    def get(self):
        """The world model; raises :class:`ModelUnavailable` with a message for a person."""
        with self._lock:
            if self._world is None:
                try:
                    self._world = self._loader()
                except ModelUnavailable:
                    raise
                except Exception as exc:  # a loader that does not fit the code: still a model problem
                    raise ModelUnavailable(f"the world model could not be loaded: {exc}") from exc
            return self._world

    @property
    def loaded(self) -> bool:
        return self._world is not None

    def forget(self) -> None:
        """Drop the loaded model (and the registry's cache of it) so the next job loads afresh."""
        with self._lock:
            self._world = None
        if self._loader is default_loader:
            from gdl_studio.core.registry import default_registry
            from gdl_studio.racing.models_io import CONTROLLER_NAME, MDN_NAME, VAE_NAME

            for name in (VAE_NAME, MDN_NAME, CONTROLLER_NAME):
                default_registry().forget(name)


def placeholder_controller():
    """A controller with all-zero weights: steer 0, gas 0.5, brake 0 (used when C is missing)."""
    from gdl_studio.racing.controller import LinearController

    return LinearController()


def resolve_controller(spec, world) -> tuple[Any, str, str]:
    """Who drives: ``(controller, name, note)`` for ``spec``.

    ``spec`` is None (the world model's own C, or a placeholder when none is installed), a flat
    parameter vector (867 numbers, or an MLP's), a controller object with ``act(z, h)``, a model name in the
    registry, or a directory holding a controller's card.json. Raises ModelUnavailable.
    """
    if spec is None:
        if getattr(world, "controller", None) is not None:
            return world.controller, "carracing-controller", ""
        return (
            placeholder_controller(),
            "placeholder",
            "No trained controller is installed: a placeholder drives straight at half gas.",
        )
    if hasattr(spec, "act"):
        return spec, getattr(spec, "name", type(spec).__name__), ""
    if isinstance(spec, (str, os.PathLike)):
        from gdl_studio.racing import models_io

        text = os.fspath(spec)
        if os.path.isdir(text):
            model = models_io.load_dir(text)
            name = os.path.basename(os.path.normpath(text))
        else:
            model = models_io.load(text)
            name = text
        if not hasattr(model, "act"):
            raise ModelUnavailable(f"'{name}' is not a driving controller")
        return model, name, ""
    from gdl_studio.racing.controller import make_controller

    try:
        z_size = int(world.mdn.config.z_size)
        hidden = int(world.mdn.config.hidden)
        return (
            make_controller(np.asarray(spec, dtype=np.float64), z_size=z_size, hidden=hidden),
            "custom parameters",
            "",
        )
    except (TypeError, ValueError) as exc:
        raise ModelUnavailable(f"bad controller parameters: {exc}") from None


def drive_job(
    source: WorldSource,
    mode: str,
    seed: int,
    controls: DriveControls,
    playback: Playback,
    controller_spec=None,
    start_obs: np.ndarray | None = None,
    max_steps: int | None = None,
):
    """A job streaming one episode in ``mode`` (:data:`REAL` or :data:`DREAM`).

    Dream mode starts from ``start_obs`` (a real observation to encode) or, if None, from a
    random z drawn with ``seed``. ``controls`` carries the person's action and τ into the
    running generator; ``playback`` its pause and frame rate.
    """
    if mode not in (REAL, DREAM):
        raise ValueError(f"unknown mode {mode!r}")
    start_obs = None if start_obs is None else np.array(start_obs, copy=True)

    def job(ctx):
        try:
            world = source.get()
        except ModelUnavailable as exc:
            yield ModelProblem("world model", str(exc))
            return
        try:
            controller, name, note = resolve_controller(controller_spec, world)
        except ModelUnavailable as exc:
            who = os.fspath(controller_spec) if isinstance(controller_spec, (str, os.PathLike)) else "custom controller"
            yield ModelProblem(who, str(exc), part="controller")
            return
        world = dataclasses.replace(world, controller=controller)
        if mode == REAL:
            try:
                check_simulator()
            except Exception as exc:  # MissingDependency, or anything else that stops the game
                yield SimulatorProblem(str(exc))
                return
            from gdl_studio.racing.dream import real_frames

            frames = real_frames(world, seed=seed, controls=controls, max_steps=max_steps or REAL_MAX_STEPS)
        else:
            from gdl_studio.racing.dream import dream_frames

            frames = dream_frames(
                world,
                seed=seed,
                start_obs=start_obs,
                controls=controls,
                max_steps=max_steps or DREAM_MAX_STEPS,
                stop_on_done=False,
            )
        yield ModelReady(name, note, mode, int(seed))
        yield from paced(frames, playback)

    return job
