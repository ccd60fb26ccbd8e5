"""Ship candidate D (it passed the declared selection rule) as ``models/carracing-controller-distilled``: the
candidate's weights copied over the shipped ones, its card completed with the selection figures, both test sets' stock
scores (``gdl-studio bench racing --json`` output), the compute and the driver it replaces. Session 41's
``ship_card.py`` did the same for candidate C; its ``swapped_driver_card`` serves both.

    D=resources/logs/world-model-v2/2026-12-07-more-runs
    python $D/ship_card.py runs/mr/cand-d/carracing-controller-distilled $D/test-1000000.json $D/test-7000000.json
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = {  # the four runs' real env steps (their log.jsonl, last round) and seconds on 2 CPU cores
    "run 0 (alat 105, tracks 8,500,000…)": (390_781, 896.7),
    "run 1 (alat 105, tracks 8,600,000…)": (393_476, 905.3),
    "run 2 (alat 90, tracks 8,700,000…)": (399_369, 968.9),
    "run 3 (alat 90, tracks 9,500,000…)": (400_331, 938.5),
}


def main() -> int:
    src, test_a, test_b = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    # session 41's ship_card.py: its swapped_driver_card completes the card (C's layout), its install writes the model
    shared = runpy.run_path(str(HERE.parent / "2026-12-07-margin-driver" / "ship_card.py"))
    card, old = shared["swapped_driver_card"](
        src,
        test_a,
        test_b,
        select=HERE / "select-6008784.json",
        candidate="runs/mr/cand-d/carracing-controller-distilled",
        declared="any run started",
        steps={f"road driver {k} (session 42)": steps for k, (steps, _) in RUNS.items()},
        device_cpu="none: the four runs of session 42 ("
        + f"{sum(s for _, s in RUNS.values()):.0f} s), their exports and the selection (2 drivers × 512 tracks) "
        "on 2 CPU cores",
    )
    # the donor's road driver (two of the six runs) as the card before this one recorded it
    card["data"]["donor_driver"] = old["data"]["driver"]
    card["training_command"]["donor_driver"] = old["training_command"].get("driver")
    shared["install"](src, card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
