"""The Dream panel's state, without widgets: the mode and seed of the episode, whether it streams,
the frames shown and their rate, what cannot run (the world model, the real game), who drives,
and the texts and control states that follow from it.

The panel (:mod:`gdl_studio.ui.dream.panel`) renders it; nothing here imports Qt
(``tests/dream/test_session.py`` runs without a GUI).
"""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass, field
from typing import Any

from gdl_studio.jobs.dream import DREAM, REAL

SHIPPED = "carracing-controller"
SHIPPED_WORLD = ("carracing-vae", "carracing-mdnrnn")  # = racing.worlds.DEFAULT_WORLD

REAL_HINT = (
    "Hold ← ↑ → ↓ or W A S D to take the wheel; let go to hand it back.  "
    "Space pause · R reset · N new track · F dream from this frame · 2 dream"
)
DREAM_HINT = (
    "Everything you see is imagined by the world model. Hold ← ↑ → ↓ or W A S D to drive in the dream.  "
    "Space pause · R replay · N new dream · 1 real game"
)


@dataclass(frozen=True)
class Controls:
    """Which of the panel's controls are enabled (and shown)."""

    real: bool
    dream: bool
    play: bool
    reset: bool  # Reset and New episode
    seed: bool
    tau: bool
    start_real: bool  # "start from the last real frame"
    dream_here: bool
    shipped: bool  # "Use shipped controller" is shown


@dataclass(frozen=True)
class Captions:
    """What the two views and the three mode-dependent read-outs are called in a mode."""

    view: tuple[str, str]
    reconstruction: tuple[str, str]
    reward: str
    model: str
    third: str
    third_tip: str


TRAIN_HINT = "gdl-studio train world-model collect|vae|mdn-rnn|controller"


def reconstruction_error(obs, reconstruction) -> float:
    """Mean absolute difference (0–255) between the 64×64 frame V is shown and V's reconstruction."""
    import numpy as np

    from gdl_studio.racing.preprocess import preprocess

    return float(np.abs(preprocess(obs).astype(np.int16) - reconstruction.astype(np.int16)).mean())


@dataclass
class DreamSession:
    """See the module docstring."""

    mode: str = REAL
    seed: int = field(default_factory=lambda: random.randrange(1000))
    request: int | None = None
    streaming: bool = False
    started: bool = False
    frames: int = 0
    last_frame: Any = None
    last_obs: Any = None  # the last real observation (a dream can start from it)
    dream_from_real: bool = False
    problem: str | None = None  # the world model cannot be loaded
    sim_problem: str | None = None  # the real game cannot run
    controller_spec: Any = None  # None: the shipped controller; else see DreamPanel.watch_controller
    controller_name: str = ""
    world: tuple[str, str] = SHIPPED_WORLD  # the V and M the chosen controller drives with (racing/worlds.py)
    world_note: str = ""  # said with the next episode: the chosen controller's world is missing or differs
    dream_road: dict | None = None  # the chosen controller card's recorded `bench racing --dream-road` figure
    resume_on_show: bool = False
    frame_times: collections.deque = field(default_factory=lambda: collections.deque(maxlen=20))

    def begin(self, mode: str, request_id: int | None = None) -> None:
        """A new episode in ``mode`` (counters reset)."""
        self.mode = mode
        self.started = True
        self.frames = 0
        self.last_frame = None
        self.frame_times.clear()
        self.request = request_id

    def frame_shown(self, frame: Any, now: float) -> None:
        self.frames += 1
        self.last_frame = frame
        self.frame_times.append(now)
        if hasattr(frame, "obs"):
            self.last_obs = frame.obs

    def fps(self) -> float | None:
        """Frames a second over the last 20 frames (None before two)."""
        if len(self.frame_times) < 2:
            return None
        span = self.frame_times[-1] - self.frame_times[0]
        return (len(self.frame_times) - 1) / span if span > 0 else None

    def controls(self, paused: bool) -> Controls:
        ok = self.problem is None
        has_real = self.last_obs is not None
        game_ok = not (self.mode == REAL and self.sim_problem)
        return Controls(
            real=ok and not self.sim_problem,
            dream=ok,
            play=ok,
            reset=ok and game_ok,
            seed=ok,
            tau=ok,
            start_real=ok and has_real,
            dream_here=ok and has_real and self.mode == REAL and self.frames > 0,
            shipped=self.controller_spec is not None and not isinstance(self.controller_spec, str),
        )

    def captions(self) -> Captions:
        if self.mode == REAL:
            return Captions(
                ("Real game", "96×96, as the agent sees it"),
                ("What V sees", "64×64 reconstruction"),
                "This step",
                "M predicted",
                "V error",
                "Mean absolute difference between the frame V sees and its reconstruction (0–255)",
            )
        start = "the last real frame" if self.dream_from_real else "a random z, decoded"
        return Captions(
            ("Dream", "64×64: M imagines, V paints"),
            ("Where the dream began", start),
            "Step (by M)",
            "End p (M)",
            "Dream τ",
            "The temperature M samples the dream with",
        )

    def hint(self) -> str:
        if self.problem is not None:
            return ""
        return REAL_HINT if self.mode == REAL else DREAM_HINT

    def watch(self, spec: Any) -> None:
        """Another controller drives from now on (see DreamPanel.watch_controller)."""
        self.controller_spec = spec
        if spec is None:
            self.controller_name = ""
        elif isinstance(spec, str):
            self.controller_name = spec
        else:
            self.controller_name = "custom controller"

    def dream_road_text(self) -> str:
        """How often this driver's dreams keep the car on the road, from its card ("" when not measured)."""
        fig = self.dream_road
        if not fig or fig.get("on_road") is None:
            return ""
        starts, tau = fig.get("starts"), fig.get("tau")
        of = f" of {starts} dreams" if starts else ""
        at = f" at τ {float(tau):.2f}" if tau is not None else ""
        return (
            f"This driver's dreams stay on the road in {float(fig['on_road']):.0%}{of}{at} "
            f"({float(fig.get('on_road_frames', 0.0)):.0%} of their frames)"
        )

    def active_model(self) -> str:
        if self.problem is not None:
            return ""
        vae, mdn = self.world
        return f"{vae} + {mdn.removeprefix('carracing-')}, {self.controller_name or SHIPPED}"

    def problem_text(self) -> str:
        """The banner's text for a missing or broken world model ("" when there is none)."""
        if not self.problem:
            return ""
        return (
            f"<b>The world model is unavailable</b> — {self.problem}<br>"
            f"Dream needs V (carracing-vae) and M (carracing-mdnrnn). Reinstall the app's models, "
            f"or train them with <code>{TRAIN_HINT}</code>, then press Retry. The other panels work as usual."
        )

    def readouts(self, frame: Any) -> dict[str, str]:
        """The read-out tiles' texts for one frame: step, total, reward, M's guess (predicted
        reward in the real game, episode-end probability in the dream), V's error (real game)."""
        out = {"step": str(frame.step + 1), "total": f"{frame.total:.1f}", "reward": f"{frame.reward:+.2f}"}
        if hasattr(frame, "obs"):
            out["model"] = f"{frame.predicted_reward:+.2f}"
            out["error"] = f"{reconstruction_error(frame.obs, frame.reconstruction):.1f}"
        else:
            out["model"] = f"{frame.done_probability:.0%}"
        return out

    def simulator_text(self) -> str:
        return (
            f"<b>The real game cannot run</b> — {self.sim_problem}<br>"
            "The dream needs no simulator, so it is shown instead."
        )

    def finished_text(self) -> str:
        """What the view says when the episode is over ("" before any frame)."""
        if not self.frames:
            return ""
        total = self.last_frame.total if self.last_frame is not None else 0.0
        if self.mode == REAL:
            ending = "N for a new track, R to drive this one again."
            return f"Episode over after {self.frames} steps: {total:.1f} points.\n{ending}"
        return f"The dream ended after {self.frames} frames.\nN to dream again, R to replay this dream."


__all__ = ["Captions", "Controls", "DreamSession", "DREAM", "REAL", "TRAIN_HINT", "reconstruction_error"]
