"""Ship the chosen governed candidate (if one passed the declared selection rule) as
``models/carracing-controller-distilled``: its weights copied over the shipped ones, its card completed by session
41's ``swapped_driver_card`` (the selection, both test sets' stock scores, the driver it replaces). The governor
trains nothing, so the real env steps are the donor's.

    D=resources/logs/world-model-v2/2026-12-08-doubt
    python $D/ship_card.py runs/gov/cand-g15/carracing-controller-distilled $D/test-1000000.json $D/test-7000000.json
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CANDIDATES = "runs/gov/cand-g15/carracing-controller-distilled runs/gov/cand-g10/carracing-controller-distilled"


def main() -> int:
    src, test_a, test_b = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    shared = runpy.run_path(str(HERE.parent / "2026-12-07-margin-driver" / "ship_card.py"))
    select = HERE / "select-6010320.json"
    card, old = shared["swapped_driver_card"](
        src,
        test_a,
        test_b,
        select=select,
        candidate=str(Path("runs/gov") / src.parent.name / src.name),
        declared="any selection run",
        steps={},
        device_cpu="none: the selection (3 drivers × 512 tracks) on 2 CPU cores; the governor trains nothing",
    )
    sel = card["metrics"]["selection"]
    sel["measured_by"] = (
        "python scripts/racing_value_equiv.py score --models models --first 6010320 --tracks 512 --workers 2 "
        f"models/carracing-controller-distilled {CANDIDATES} (the shipped driver and two candidates; the rows below "
        "are the shipped driver's and this one's)"
    )
    r = np.asarray(json.loads(select.read_text())["returns"], float)
    rows = {"runs/gov/cand-g15": 1, "runs/gov/cand-g10": 2}  # the score call's order: shipped, H15, H10
    mine = rows[str(Path("runs/gov") / src.parent.name)]
    other = 3 - mine
    for label, k in (("this driver", mine), ("the other candidate", other)):
        row = r[k]
        sel[label] = f"{row.mean():.1f} ± {row.std():.1f}, min {row.min():.1f}, {int((row < 800).sum())} under 800"
    # the governor does not act in a dream (no HUD), so the donor's recorded dream-road figure is this driver's too
    # (the Dream box shows it from this key)
    if "dream_road" in old["metrics"]:
        card["metrics"]["dream_road"] = old["metrics"]["dream_road"]
    shared["install"](src, card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
