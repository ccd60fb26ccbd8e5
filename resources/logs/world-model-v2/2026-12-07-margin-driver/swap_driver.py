"""A gated controller with its road driver replaced: the expert and the road gate of ``DONOR`` (a gated controller
model folder), the MLP of ``DRIVER`` (an MLP controller model folder, e.g. a ``racing_distill.py --export-ensemble``
average) on the road. The card keeps the donor's expert and gate records and names the new driver and its training.
``--average-with-donor``: the road driver is instead the average of ``DRIVER`` and the donor's own road driver
(``controller.average_mlps``: one MLP, hidden layers side by side, raw outputs the mean of the two).

    D=resources/logs/world-model-v2/2026-12-07-margin-driver
    python $D/swap_driver.py runs/alat90-ens/carracing-controller-distilled models/carracing-controller-distilled \
        runs/cand-a
    python $D/swap_driver.py $D/alat90-average models/carracing-controller-distilled runs/cand-c --average-with-donor
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the repository root: gdl_studio

from gdl_studio.core.registry import read_card
from gdl_studio.racing.controller import average_mlps, expert_reads_hud, gated_units, pack_gated, split_gated
from gdl_studio.racing.models_io import controller_params, save_controller

NAME = "carracing-controller-distilled"


def main() -> int:
    args = [a for a in sys.argv[1:] if a != "--average-with-donor"]
    average = len(args) < len(sys.argv) - 1
    driver_dir, donor_dir, out = Path(args[0]), Path(args[1]), Path(args[2])
    driver, driver_card = controller_params(driver_dir)
    if gated_units(driver) is not None:
        raise SystemExit(f"{driver_dir} is a gated controller; give the MLP that should drive on the road")
    donor, donor_card = controller_params(donor_dir)
    donor_driver, expert, (off, back, enter, leave, start) = split_gated(donor)
    if average:
        driver = average_mlps([donor_driver, driver])
    hud = expert_reads_hud(donor)
    flat = pack_gated(driver, expert, off, back, int(enter), int(leave), int(start), hud=hud)
    d = donor_card.data
    card = {k: d[k] for k in ("world", "task") if k in d} | {
        "display_name": d["display_name"],
        "data": {
            "driver": ("the average (controller.average_mlps) of the donor's road driver and " if average else "")
            + f"{driver_dir} (sha256 {read_card(driver_dir).data['sha256']}): "
            + driver_card.data["data"]["source"],
            "driver_teacher": driver_card.data.get("teacher"),
            "expert": d["data"]["expert"],
            "gate": d["data"]["gate"],
            "expert_and_gate_from": f"{donor_dir} (sha256 {d['sha256']})",
        },
        "split": "the driver chosen by its return on 32 validation tracks from 6,000,000 (as its card says); the "
        "expert and gate as in the donor's card; the bench's tracks (1,000,000…) and 7,000,000… never driven in "
        "training or selection",
        "metrics": {
            "driver": driver_card.data.get("metrics", {}),
            "expert_and_gate (the donor's records)": {
                k: v for k, v in d.get("metrics", {}).items() if k in ("validation", "runs", "selection")
            },
        },
        "training_command": {
            "driver": driver_card.data.get("training_command"),
            "expert": d.get("training_command"),
        },
        "export_command": "python " + shlex.join(sys.argv),
        "optimizer": {"driver": driver_card.data.get("optimizer"), "expert": d.get("optimizer")},
    }
    save_controller(np.asarray(flat), out, card, name=NAME)
    print(
        f"saved {out / NAME}: driver {driver_dir}{' averaged with the donor' * average}, expert and gate {donor_dir} "
        f"(hud {hud}, enter {int(enter)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
