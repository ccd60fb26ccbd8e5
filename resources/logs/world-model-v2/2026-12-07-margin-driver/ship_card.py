"""Ship candidate C (it passed the declared selection rule) as ``models/carracing-controller-distilled``: the
exported model folder copied over the shipped one, its card completed with the selection figures, both test sets'
stock scores (``gdl-studio bench racing --json`` output), the compute and the driver it replaces.

    D=resources/logs/world-model-v2/2026-12-07-margin-driver
    python $D/ship_card.py runs/cand-c/carracing-controller-distilled $D/test-1000000.json $D/test-7000000.json
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODELS = HERE.parents[3] / "models"
NAME = "carracing-controller-distilled"


# session 39's ship_card.py (the same card layout): its ``stock`` reads a ``bench racing --json`` score, its
# ``selection_rows`` states the selection and its ``install`` writes the model
_shared = runpy.run_path(str(HERE.parent / "2026-12-07-pixel-gate" / "ship_card.py"))
stock, selection_rows, install = _shared["stock"], _shared["selection_rows"], _shared["install"]


def swapped_driver_card(
    src: Path, test_a: Path, test_b: Path, *, select: Path, candidate: str, declared: str, steps: dict, device_cpu: str
) -> tuple[dict, dict]:
    """The card of a gated controller whose road driver was swapped (``swap_driver.py``) and then passed its
    selection (``select``: the ``racing_value_equiv.py score`` output of the shipped driver and ``candidate`` on 512
    tracks): the candidate's card with both test sets, the selection, the previous driver, and the real env steps
    before plus ``steps``. Returns it and the shipped card it replaces (sessions 41 and 42)."""
    old = json.loads((MODELS / NAME / "card.json").read_text())
    card = json.loads((src / "card.json").read_text())
    s = json.loads(select.read_text())
    r = np.asarray(s["returns"], float)
    first = int(s["first_track"])
    sel = {
        "tracks": f"{first:,}–{first + r.shape[1] - 1:,} ({r.shape[1]}, new to every run; rule declared in README.md "
        f"before {declared})",
        "measured_by": f"python scripts/racing_value_equiv.py score --models models --first {first} --tracks "
        f"{r.shape[1]} --workers 2 models/carracing-controller-distilled {candidate}",
        "rule": "replaces the shipped driver only with a smaller std, a mean at most 2.0 below and no more episodes "
        "under 800",
    }
    sel |= selection_rows(r)
    old_steps = old["metrics"]["real_env_steps_during_training"]
    card["metrics"] = {
        "stock_score_100_episodes": stock(test_a, 1_000_000),
        "stock_score_100_episodes_7000000": stock(test_b, 7_000_000),
        "selection": sel,
        **card["metrics"],  # the new driver's card, and the donor's records of the expert and gate
        "real_env_steps_during_training": old_steps | steps,
        "gpu_seconds": 0,
        "device_cpu": device_cpu,
        "previous_driver": {
            "sha256": old["sha256"],
            "display_name": old["display_name"],
            "driver_units": old["architecture"]["driver_units"],
            "stock_score_100_episodes": old["metrics"]["stock_score_100_episodes"],
            "stock_score_100_episodes_7000000": old["metrics"]["stock_score_100_episodes_7000000"],
        },
    }
    card["metrics"]["real_env_steps_during_training"].pop("driver", None)
    return card, old


def main() -> int:
    src, test_a, test_b = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    old_steps = json.loads((MODELS / NAME / "card.json").read_text())["metrics"]["real_env_steps_during_training"]
    card, _ = swapped_driver_card(
        src,
        test_a,
        test_b,
        select=HERE / "select-6008272.json",
        candidate="runs/cand-c/carracing-controller-distilled",
        declared="scoring",
        steps={"second driver's run (runs/alat90, session 41)": 398_512, "first driver": old_steps["driver"]},
        device_cpu="none: the second driver's run (908 s) and the selection (2 drivers × 512 tracks) on 2 CPU cores",
    )
    install(src, card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
