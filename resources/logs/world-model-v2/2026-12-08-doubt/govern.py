"""The shipped gated controller with a doubt governor on its road driver (session 45; `controller.Governor`).

The road driver, its members, the expert and the gate are the donor's, unchanged. The card keeps the donor's records
(under ``donor``) and adds the governor's settings and where they came from.

    python resources/logs/world-model-v2/2026-12-08-doubt/govern.py models/carracing-controller-distilled OUT \
        --theta 0.15 --brake 0.3 --vmin 30 --member-units 64
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the repository root: gdl_studio
from gdl_studio.racing.controller import Governor, expert_reads_hud, governor_of, pack_gated, split_gated
from gdl_studio.racing.models_io import controller_params, save_controller

NAME = "carracing-controller-distilled"
WHY = (
    "The road driver is the average of students (blocks of member_units hidden units). Before the car leaves the "
    "road at a sharp corner, the students disagree on the steering: on the shipped driver's crash tracks of session "
    "44's selection (spent tracks, 6,010,019 … 6,010,120, driven alone) the standard deviation of their raw steer "
    "rose to 0.3–0.7 in the 40 steps before the car was 10 units off the centre line, against a 99th percentile of "
    "0.07–0.11 over whole laps that stayed on the road (6,010,000–003). theta sits above that on-road tail; brake is "
    "the teacher's corner brake (racing_distill.TEACHER['brake']); vmin keeps a slow car from being stopped."
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("donor", type=Path, help="a gated controller model folder")
    ap.add_argument("out", type=Path, help="writes OUT/carracing-controller-distilled")
    ap.add_argument("--theta", type=float, required=True)
    ap.add_argument("--brake", type=float, required=True)
    ap.add_argument("--vmin", type=float, required=True)
    ap.add_argument("--member-units", type=int, default=64)
    args = ap.parse_args()
    donor, donor_card = controller_params(args.donor)
    if governor_of(donor) is not None:
        raise SystemExit(f"{args.donor} has a governor already")
    driver, expert, (off, back, enter, leave, start) = split_gated(donor)
    gov = Governor(args.member_units, args.theta, args.brake, args.vmin)
    flat = pack_gated(driver, expert, off, back, int(enter), int(leave), int(start), expert_reads_hud(donor), gov)
    d = donor_card.data
    keep = ("world", "task", "display_name", "data", "split", "training_command", "optimizer")
    card = {k: d[k] for k in keep if k in d}
    card["data"] = {
        **d["data"],
        "governor": {"settings": gov._asdict(), "why": WHY, "donor": f"{args.donor} (sha256 {d['sha256']})"},
    }
    card["metrics"] = {"donor (without the governor)": d.get("metrics", {})}
    card["export_command"] = {"donor": d.get("export_command"), "governor": "python " + shlex.join(sys.argv)}
    save_controller(np.asarray(flat), args.out, card, name=NAME)
    print(f"saved {args.out / NAME}: {args.donor} with {gov}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
