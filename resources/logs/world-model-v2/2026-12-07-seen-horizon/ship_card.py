"""Ship the candidate the declared rule chose (README.md), F or G, as ``models/carracing-controller-distilled``: its
weights copied over the shipped ones, its card completed by session 41's ``swapped_driver_card`` (both test sets'
stock scores, the compute, the driver it replaces), as sessions 41–43 did. The selection here drove three drivers
(the shipped one, G, F), so the card states all three rows and the rule's choice. The four runs' real env steps and
seconds are read from their logs kept here (``run-K-log.jsonl``, last round).

    D=resources/logs/world-model-v2/2026-12-07-seen-horizon
    python $D/ship_card.py runs/vh/cand-X/carracing-controller-distilled $D/test-1000000.json $D/test-7000000.json
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RUNS = {  # run K: its teacher and training tracks (README.md)
    0: "horizon 11, alat 105, tracks 10,200,000…",
    1: "horizon 11, alat 105, tracks 10,500,000…",
    2: "horizon 11, alat 90, tracks 10,900,000…",
    3: "horizon 11, alat 90, tracks 11,000,000…",
}
ROWS = ("shipped before (E, session 43)", "G (fourteen runs)", "F (the four new runs alone)")  # select.json's order


def last_round(k: int) -> dict:
    """Run k's last logged round: its cumulative env steps and seconds."""
    return json.loads((HERE / f"run-{k}-log.jsonl").read_text().strip().splitlines()[-1])


def main() -> int:
    src, test_a, test_b = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    chosen = "cand-f" if "cand-f" in str(src) else "cand-g"
    shared = runpy.run_path(str(HERE.parent / "2026-12-07-margin-driver" / "ship_card.py"))
    rounds = {k: last_round(k) for k in RUNS}
    select = HERE / "select-6009808.json"
    card, old = shared["swapped_driver_card"](
        src,
        test_a,
        test_b,
        select=select,
        candidate="runs/vh/cand-g/carracing-controller-distilled runs/vh/cand-f/carracing-controller-distilled",
        declared="any run started",
        steps={f"road driver run {k} ({what}) (session 44)": rounds[k]["env_steps"] for k, what in RUNS.items()},
        device_cpu="none: the four runs of session 44 ("
        + f"{sum(r['seconds'] for r in rounds.values()):.0f} s), their exports and the selection (3 drivers × 512 "
        "tracks) on 2 CPU cores",
    )
    r = np.asarray(json.loads(select.read_text())["returns"], float)
    sel = card["metrics"]["selection"]
    for k in ("shipped before", "this driver"):  # swapped_driver_card's two rows, replaced by the three
        sel.pop(k, None)
    sel |= {
        label: f"{row.mean():.1f} ± {row.std():.1f}, min {row.min():.1f}, {int((row < 800).sum())} under 800"
        for label, row in zip(ROWS, r)
    }
    sel["rule"] += "; of several that pass, the smaller std"
    sel["chosen"] = chosen
    if chosen == "cand-g":  # G's road driver holds E's (ten runs): E's records of it, with its own donor
        card["data"]["donor_driver"] = {"driver": old["data"]["driver"], "its donor": old["data"].get("donor_driver")}
        card["training_command"]["donor_driver"] = {
            "driver": old["training_command"].get("driver"),
            "its donor": old["training_command"].get("donor_driver"),
        }
    shared["install"](src, card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
