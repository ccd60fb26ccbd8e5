"""Small helpers shared by the world-model training commands: device, mixed precision,
resumable checkpoints, early stopping, time budget and progress lines."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdl_studio.core.errors import UserError


def resolve_device(name: str):
    """``cuda``/``cpu``/``auto`` → torch.device; a clear error when CUDA is asked for but absent."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was given but this torch has no CUDA device; use --device cpu")
    device = torch.device(name)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    return device


def autocast(device) -> contextlib.AbstractContextManager:
    """bf16 autocast on CUDA, nothing elsewhere."""
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write a training checkpoint atomically (torch format, tensors and plain values only)."""
    import torch

    from gdl_studio.core.atomic import atomic_path

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """Read a checkpoint written by :func:`save_checkpoint` (weights-only unpickling), or None."""
    import torch

    if not Path(path).is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=True)


class Budget:
    """Wall-clock budget: ``expired()`` once ``max_minutes`` have passed (None: never)."""

    def __init__(self, max_minutes: float | None) -> None:
        self.start = time.perf_counter()
        self.limit = None if not max_minutes else max_minutes * 60.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def expired(self) -> bool:
        return self.limit is not None and self.elapsed() >= self.limit


def fmt_eta(seconds: float) -> str:
    """Seconds → '1h02m', '3m20s' or '12s'."""
    seconds = max(0, int(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def rng_state() -> dict[str, Any]:
    """torch CPU RNG state (restored on resume so runs continue alike)."""
    import torch

    return {"torch": torch.get_rng_state()}


def set_rng_state(state: dict[str, Any] | None) -> None:
    import torch

    if state and "torch" in state:
        torch.set_rng_state(state["torch"])


@dataclass
class EarlyStopping:
    """Epoch bookkeeping of the V and M trainers: validation history, the best weights so far,
    patience, and the checkpoint a run resumes from (``model``/``opt`` state, these fields, RNG)."""

    patience: int
    min_delta: float
    epoch: int = 0
    best_val: float = float("inf")
    bad_epochs: int = 0
    best_state: dict | None = None
    history: list = field(default_factory=list)

    @property
    def exhausted(self) -> bool:
        """Patience used up: stop before another epoch."""
        return self.bad_epochs >= self.patience

    def resume(self, path: Path, model, opt) -> bool:
        """Load the checkpoint at ``path`` into ``model``, ``opt`` and these fields; False if none."""
        state = load_checkpoint(path)
        if not state:
            return False
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        self.epoch, self.best_val, self.bad_epochs = state["epoch"], state["best_val"], state["bad_epochs"]
        self.best_state, self.history = state.get("best_model"), list(state.get("history", []))
        set_rng_state(state.get("rng"))
        return True

    def end_epoch(self, model, val_loss: float, **record: float) -> bool:
        """Count a finished epoch with its validation loss (and extra figures for the history);
        keep the weights when they improve on the best by more than ``min_delta``. Returns that."""
        self.epoch += 1
        self.history.append({"epoch": self.epoch, "val_loss": val_loss, **record})
        improved = val_loss < self.best_val - self.min_delta
        if improved:
            self.best_val, self.bad_epochs = val_loss, 0
            self.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        else:
            self.bad_epochs += 1
        return improved

    def checkpoint(self, path: Path, model, opt) -> None:
        """Write everything a resumed run needs, atomically."""
        save_checkpoint(
            path,
            {
                "model": model.state_dict(),
                "opt": opt.state_dict(),
                "epoch": self.epoch,
                "best_val": self.best_val,
                "bad_epochs": self.bad_epochs,
                "best_model": self.best_state,
                "history": self.history,
                "rng": rng_state(),
            },
        )
