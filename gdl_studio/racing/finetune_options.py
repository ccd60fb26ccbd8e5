"""The options of a controller fine-tuning run and their defaults per mode: the one place for them.

Kept apart from :mod:`gdl_studio.racing.finetune` (numpy, torch) so that building the CLI's parser
and the Training dock's dialog read them without importing anything heavy.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

DREAM_BASE = "carracing-controller-dream"  # the dream-trained driver (dream_train.DREAM_CONTROLLER_NAME)

DEFAULTS: dict[str, Any] = {  # read through defaults() by racing.finetune, the CLI and the Training dock's dialog
    "generations": 5,
    "mode": "dream",
    "tau": 1.0,  # the temperature the shipped dream driver was trained at
    "population": 16,
    "rollouts": 2,
    "workers": 1,
    "seed": 0,
    "sigma": 0.05,
    "max_steps": 1000,
    "valid_rollouts": 4,
    "real_check_tracks": 8,  # dream mode: also score base and result on this many real tracks (0: skip)
    "backend": "local",  # real mode: "local" processes or "ray" (racing/backends.py)
    "ray_address": None,
}
# A dream generation costs seconds on a laptop, a real one minutes. 20 generations × 16 candidates × 8 dreams from
# a weak driver (581 on 32 fresh tracks) gave +59.4 ± 12.5 per track there; 5 × 16 × 2 dreams move it by noise.
# Validation dreams cost ~3 s per 64: with 4 or 16 a 60-generation result that gained 192 in the real game looked
# worse than its base in the dream (665 vs 759, 680 vs 761), with 64 better (771 vs 721).
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "dream": {"generations": 20, "rollouts": 8, "valid_rollouts": 64},
    "real": {},
}


def defaults(mode: str | None = None) -> dict[str, Any]:
    """The options a run in ``mode`` (default: DEFAULTS' mode) gets when it names none."""
    mode = mode or str(DEFAULTS["mode"])
    return {**DEFAULTS, **MODE_DEFAULTS.get(mode, {}), "mode": mode}


def default_base(mode: str | None, installed: Iterable[str], fallback: str) -> str:
    """The controller a run in ``mode`` starts from when none is named (the CLI's ``--base``, the dialog's
    suggestion): in the dream, the dream-trained driver when it is among ``installed`` (it drives with the
    newer V and M the dream is dreamt by); otherwise ``fallback`` (the area's default, the shipped controller)."""
    mode = mode or str(DEFAULTS["mode"])
    if mode == "dream" and DREAM_BASE in set(installed):
        return DREAM_BASE
    return fallback
