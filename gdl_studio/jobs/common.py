"""What every panel's engine job shares: the status items it yields before its results, and the
two ways a job paces its results.

A job first yields :class:`ModelReady` (the model is loaded; results follow) or
:class:`ModelProblem` (it cannot be loaded: missing or corrupt weights; the job ends), then its
results. :func:`paced` spaces results at a frame rate and holds them while paused (a game
loop); :func:`rested` passes results on as fast as they come but rests now and then, so that a
fast model never starves the GUI thread. Both rest by yielding
:class:`~gdl_studio.engine.core.Sleep`, which leaves the engine free for the other panels.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gdl_studio.engine.core import Sleep

DEFAULT_FPS = 30.0
PAUSE_POLL_S = 0.05


@dataclass(frozen=True)
class ModelReady:
    """Model ``model`` is loaded and the results follow.

    ``note``: something the person should know (e.g. a placeholder drives); ``mode`` and
    ``seed``: what the stream shows (Dream: ``"real"`` or ``"dream"``, and its seed).
    """

    model: str
    note: str = ""
    mode: str = ""
    seed: int | None = None


@dataclass(frozen=True)
class ModelProblem:
    """Model ``model`` cannot be loaded; ``message`` says why, for a person.

    ``part`` names the piece that failed when the rest is fine (Dream: ``"controller"`` when
    only the chosen controller could not be loaded, not the world model).
    """

    model: str
    message: str
    part: str = ""


@dataclass
class Playback:
    """Shared with a running :func:`paced` job: pause and frame rate (read every frame)."""

    paused: bool = False
    fps: float = DEFAULT_FPS


def paced(frames: Iterable, playback: Playback) -> Iterator:
    """Yield ``frames`` one by one with a Sleep after each so they come at most ``playback.fps`` a second.

    While paused, only Sleeps are yielded and no frame is computed. Closing this generator
    closes ``frames`` (the real game's environment is released at once).
    """
    iterator = iter(frames)
    try:
        next_t = time.perf_counter()
        while True:
            if playback.paused:
                while playback.paused:
                    yield Sleep(time.perf_counter() + PAUSE_POLL_S)
                next_t = time.perf_counter()
            try:
                frame = next(iterator)
            except StopIteration:
                return
            yield frame
            period = 1.0 / max(1.0, float(playback.fps))
            now = time.perf_counter()
            next_t = max(next_t + period, now)  # never burst to catch up after a slow frame
            yield Sleep(next_t)
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()


def rested(steps: Iterable, burst_s: float = 0.012, rest_s: float = 0.004) -> Iterator:
    """Pass ``steps`` through, resting ``rest_s`` after every ``burst_s`` of work so a fast
    model never starves the GUI thread (the engine sleeps; the interpreter lock is free)."""
    burst = time.perf_counter()
    for step in steps:
        yield step
        now = time.perf_counter()
        if now - burst > burst_s:
            yield Sleep(now + rest_s)
            burst = time.perf_counter()
