"""Ship candidate D (it passed the declared selection rule) as ``models/carracing-controller-distilled``: the
candidate's weights copied over the shipped ones, its card completed with the selection figures, both test sets' stock
scores (``gdl-studio bench racing --json`` output), the compute and the driver it replaces. Session 41's
``ship_card.py`` does the same for candidate C; the shared parts come from session 39's (``stock``,
``selection_rows``, ``install``).

    D=resources/logs/world-model-v2/2026-12-07-more-runs
    python $D/ship_card.py runs/mr/cand-d/carracing-controller-distilled $D/test-1000000.json $D/test-7000000.json
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODELS = HERE.parents[3] / "models"
NAME = "carracing-controller-distilled"
RUNS = {  # the four runs' real env steps (their log.jsonl, last round) and seconds on 2 CPU cores
    "run 0 (alat 105, tracks 8,500,000…)": (390_781, 896.7),
    "run 1 (alat 105, tracks 8,600,000…)": (393_476, 905.3),
    "run 2 (alat 90, tracks 8,700,000…)": (399_369, 968.9),
    "run 3 (alat 90, tracks 9,500,000…)": (400_331, 938.5),
}


def _pixel_gate_ship_card():
    path = HERE.parent / "2026-12-07-pixel-gate" / "ship_card.py"
    spec = importlib.util.spec_from_file_location("pixel_gate_ship_card", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_shared = _pixel_gate_ship_card()
stock, selection_rows, install = _shared.stock, _shared.selection_rows, _shared.install


def main() -> int:
    src, test_a, test_b = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    old = json.loads((MODELS / NAME / "card.json").read_text())
    card = json.loads((src / "card.json").read_text())
    select = json.loads((HERE / "select-6008784.json").read_text())
    r = np.asarray(select["returns"], float)
    sel = {
        "tracks": "6,008,784–6,009,295 (512, new to every run; rule declared in README.md before any run started)",
        "measured_by": "python scripts/racing_value_equiv.py score --models models --first 6008784 --tracks 512 "
        "--workers 2 models/carracing-controller-distilled runs/mr/cand-d/carracing-controller-distilled",
        "rule": "replaces the shipped driver only with a smaller std, a mean at most 2.0 below and no more episodes "
        "under 800",
    }
    sel |= selection_rows(r)
    old_steps = dict(old["metrics"]["real_env_steps_during_training"])
    card["metrics"] = {
        "stock_score_100_episodes": stock(test_a, 1_000_000),
        "stock_score_100_episodes_7000000": stock(test_b, 7_000_000),
        "selection": sel,
        **card["metrics"],  # the new drivers' cards, and the donor's records of the expert and gate
        "real_env_steps_during_training": old_steps
        | {f"road driver {k} (session 42)": steps for k, (steps, _) in RUNS.items()},
        "gpu_seconds": 0,
        "device_cpu": "none: the four runs of session 42 ("
        + f"{sum(s for _, s in RUNS.values()):.0f} s), their exports and the selection (2 drivers × 512 tracks) "
        "on 2 CPU cores",
        "previous_driver": {
            "sha256": old["sha256"],
            "display_name": old["display_name"],
            "driver_units": old["architecture"]["driver_units"],
            "stock_score_100_episodes": old["metrics"]["stock_score_100_episodes"],
            "stock_score_100_episodes_7000000": old["metrics"]["stock_score_100_episodes_7000000"],
        },
    }
    # the donor's road driver (two of the six runs) as the card before this one recorded it
    card["data"]["donor_driver"] = old["data"]["driver"]
    card["training_command"]["donor_driver"] = old["training_command"].get("driver")
    install(src, card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
