"""A gated controller with its road driver replaced: the expert and the road gate of ``DONOR`` (a gated controller
model folder), the MLP of ``DRIVER`` (an MLP controller model folder, e.g. a ``racing_distill.py --export-ensemble``
average) on the road. The card keeps the donor's expert and gate records and names the new driver and its training.
``--average-with-donor``: the road driver is instead the average of ``DRIVER`` and the donor's own road driver
(``controller.average_mlps``: one MLP, hidden layers side by side, raw outputs the mean of the two). Several
``DRIVER`` folders may come before ``DONOR OUT``; with ``--donor-runs N`` the donor's road driver counts as N runs and
each ``DRIVER`` as one (weights N/(N+K) and 1/(N+K): session 42 gives every training run the same share). Several
``DRIVER`` folders without ``--average-with-donor``: the road driver is their average, one share each, and the donor
gives only its expert and gate (session 44).

    D=resources/logs/world-model-v2/2026-12-07-margin-driver
    python $D/swap_driver.py runs/alat90-ens/carracing-controller-distilled models/carracing-controller-distilled \
        runs/cand-a
    python $D/swap_driver.py $D/alat90-average models/carracing-controller-distilled runs/cand-c --average-with-donor
    python $D/swap_driver.py runs/more-*-ens/carracing-controller-distilled models/carracing-controller-distilled \
        runs/cand-d --average-with-donor --donor-runs 2      # session 42
    python $D/swap_driver.py runs/vh/ens-*/carracing-controller-distilled models/carracing-controller-distilled \
        runs/vh/cand-f                                      # session 44
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
    argv = sys.argv[1:]
    donor_runs = 1
    if "--donor-runs" in argv:
        k = argv.index("--donor-runs")
        donor_runs = int(argv[k + 1])
        del argv[k : k + 2]
    args = [a for a in argv if a != "--average-with-donor"]
    average = len(args) < len(argv)
    driver_dirs, donor_dir, out = [Path(a) for a in args[:-2]], Path(args[-2]), Path(args[-1])
    if not driver_dirs:
        raise SystemExit("give one DRIVER or more")
    loaded = [controller_params(d) for d in driver_dirs]
    for d, (params, _) in zip(driver_dirs, loaded):
        if gated_units(params) is not None:
            raise SystemExit(f"{d} is a gated controller; give the MLP that should drive on the road")
    driver, driver_card = loaded[0]
    donor, donor_card = controller_params(donor_dir)
    donor_driver, expert, (off, back, enter, leave, start) = split_gated(donor)
    several = len(loaded) > 1
    if average:
        n = donor_runs + len(loaded)
        driver = average_mlps([donor_driver] + [p for p, _ in loaded], weights=[donor_runs / n] + [1 / n] * len(loaded))
    elif several:  # these drivers alone, one share each (session 44)
        driver = average_mlps([p for p, _ in loaded])
    hud = expert_reads_hud(donor)
    flat = pack_gated(driver, expert, off, back, int(enter), int(leave), int(start), hud=hud)
    d = donor_card.data
    card = {k: d[k] for k in ("world", "task") if k in d} | {
        "display_name": d["display_name"],
        "data": {
            "driver": ("the average (controller.average_mlps) of the donor's road driver and " if average else "")
            + ("the average (controller.average_mlps, one share each) of " if several and not average else "")
            + (f"(weights: the donor's driver {donor_runs} runs, each of these one) " if several and average else "")
            + "; ".join(
                f"{d} (sha256 {read_card(d).data['sha256']}): {c.data['data']['source']}"
                for d, (_, c) in zip(driver_dirs, loaded)
            ),
            "driver_teacher": driver_card.data.get("teacher")
            if len(loaded) == 1
            else [c.data.get("teacher") for _, c in loaded],
            "expert": d["data"]["expert"],
            "gate": d["data"]["gate"],
            "expert_and_gate_from": f"{donor_dir} (sha256 {d['sha256']})",
        },
        "split": "the driver chosen by its return on 32 validation tracks from 6,000,000 (as its card says); the "
        "expert and gate as in the donor's card; the bench's tracks (1,000,000…) and 7,000,000… never driven in "
        "training or selection",
        "metrics": {
            "driver": driver_card.data.get("metrics", {})
            if len(loaded) == 1
            else [c.data.get("metrics", {}) for _, c in loaded],
            "expert_and_gate (the donor's records)": {
                k: v for k, v in d.get("metrics", {}).items() if k in ("validation", "runs", "selection")
            },
        },
        "training_command": {
            "driver": driver_card.data.get("training_command")
            if len(loaded) == 1
            else [c.data.get("training_command") for _, c in loaded],
            "expert": d.get("training_command"),
        },
        "export_command": "python " + shlex.join(sys.argv),
        "optimizer": {"driver": driver_card.data.get("optimizer"), "expert": d.get("optimizer")},
    }
    save_controller(np.asarray(flat), out, card, name=NAME)
    print(
        f"saved {out / NAME}: driver {' + '.join(map(str, driver_dirs))}{' averaged with the donor' * average}, "
        f"expert and gate {donor_dir} "
        f"(hud {hud}, enter {int(enter)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
