"""The fine-tuning contract: what a job is and what it reports, as plain picklable dataclasses.

An area's fine-tune function (:attr:`gdl_studio.core.area.Area.finetune`) has the signature
``finetune(spec, report, control) -> dict``: it calls ``report(Progress(...))`` as it goes,
``control.checkpoint()`` between steps (which
blocks while paused and raises :class:`Cancelled` when cancelled), saves the personal model with
:func:`gdl_studio.core.personal.save_personal_model` only at the very end, and returns a
summary (the saved model's name and metrics).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

_ids = itertools.count(1)


@dataclass
class FinetuneSpec:
    """A fine-tuning request.

    ``family``: "music", "ink" or "controller"; ``base``: name of the model to start from;
    ``inputs``: the user's files or folders (MIDI, SVG, …; may be empty for the controller);
    ``name``: the personal model's name; ``options``: family-specific settings (epochs,
    learning rate, generations, …).
    """

    family: str
    base: str
    inputs: list[str] = field(default_factory=list)
    name: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    id: int = field(default_factory=lambda: next(_ids))

    def describe(self) -> str:
        return f"{self.family}: {self.base} → {self.name or '(personal)'}"


@dataclass
class Progress:
    """A progress report: ``step`` of ``total`` (epochs, steps or generations)."""

    step: int
    total: int
    unit: str = "step"
    train_loss: float | None = None
    valid_loss: float | None = None
    message: str = ""
    extra: dict[str, float] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)  # e.g. the controller's current best parameters
    time: float = field(default_factory=time.time)
    job_id: int = 0  # set by the runner: events of a job that just ended may arrive after it ended


@dataclass
class Started:
    job_id: int
    description: str


@dataclass
class Finished:
    job_id: int
    summary: dict[str, Any]


@dataclass
class Failed:
    job_id: int
    message: str
    details: str = ""


@dataclass
class Cancelled(Exception):
    """Raised inside a job by ``control.checkpoint()`` once the user cancelled it."""

    job_id: int = 0


@dataclass
class Paused:
    job_id: int
    paused: bool


class ETA:
    """Estimated time left from the pace so far (ignores time spent paused)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.paused_for = 0.0

    def seconds_left(self, done: float, total: float) -> float | None:
        if done <= 0 or total <= 0:
            return None
        elapsed = time.perf_counter() - self.started - self.paused_for
        return max(0.0, elapsed / done * (total - done))


def format_eta(seconds: float | None) -> str:
    """'1:05' style text for an ETA (or '…' when unknown)."""
    if seconds is None:
        return "…"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
