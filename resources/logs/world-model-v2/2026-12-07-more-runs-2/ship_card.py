"""Ship candidate E (if it passed the declared selection rule) as ``models/carracing-controller-distilled``: the
candidate's weights copied over the shipped ones, its card completed by session 41's ``swapped_driver_card`` (the
selection, both test sets' stock scores, the compute, the driver it replaces), as sessions 41 and 42 did. The four
runs' real env steps and seconds are read from their logs kept here (``run-K-log.jsonl``, last round).

    D=resources/logs/world-model-v2/2026-12-07-more-runs-2
    python $D/ship_card.py runs/mr2/cand-e/carracing-controller-distilled $D/test-1000000.json $D/test-7000000.json
"""

from __future__ import annotations

import json
import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = {  # run K: its teacher and training tracks (README.md)
    0: "alat 105, tracks 10,000,000…",
    1: "alat 105, tracks 10,100,000…",
    2: "alat 90, tracks 10,300,000…",
    3: "alat 90, tracks 10,400,000…",
}


def last_round(k: int) -> dict:
    """Run k's last logged round: its cumulative env steps and seconds."""
    return json.loads((HERE / f"run-{k}-log.jsonl").read_text().strip().splitlines()[-1])


def main() -> int:
    src, test_a, test_b = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    # session 41's ship_card.py: swapped_driver_card and install, as session 42's calls them
    shared = runpy.run_path(str(HERE.parent / "2026-12-07-margin-driver" / "ship_card.py"))
    rounds = {k: last_round(k) for k in RUNS}
    card, old = shared["swapped_driver_card"](
        src,
        test_a,
        test_b,
        select=HERE / "select-6009296.json",
        candidate="runs/mr2/cand-e/carracing-controller-distilled",
        declared="any run started",
        steps={f"road driver run {k} ({what}) (session 43)": rounds[k]["env_steps"] for k, what in RUNS.items()},
        device_cpu="none: the four runs of session 43 ("
        + f"{sum(r['seconds'] for r in rounds.values()):.0f} s), their exports and the selection (2 drivers × 512 "
        "tracks) on 2 CPU cores",
    )
    # the donor's road driver (six of the ten runs) as the card before this one recorded it, with its own donor
    card["data"]["donor_driver"] = {"driver": old["data"]["driver"], "its donor": old["data"].get("donor_driver")}
    card["training_command"]["donor_driver"] = {
        "driver": old["training_command"].get("driver"),
        "its donor": old["training_command"].get("donor_driver"),
    }
    shared["install"](src, card)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
