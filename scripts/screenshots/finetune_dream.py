"""Screenshot of a finished dream fine-tuning run in the app: the Dream panel with the Training dock
open, the run's fitness curves and its result line (dream return, then the real check: base and
result on the same tracks, the gain track by track, and the verdict). Run from the repository root:

    QT_QPA_PLATFORM=offscreen python scripts/screenshots/finetune_dream.py OUT.png
    QT_QPA_PLATFORM=offscreen python scripts/screenshots/finetune_dream.py OUT.png --weak --generations 60 --tracks 16

Without ``--weak`` the run starts from the dream-trained driver (τ 1.0, 10 generations of 16
candidates × 4 dreams, 8 real tracks for the check: the README's 2026-12-05 figure). With
``--weak`` it starts from "my weak driver", a personal controller this script saves first: the
perturbation of the dream-trained driver at index 25 of session 22's real data
(``resources/logs/world-model-v2/2026-12-05-trust-region/h100/real-train.npz``, 614.7 there, 581.0 on
32 tracks from 6,800,000), in the same world; the run then has the dialog's dream defaults
(16 candidates × 8 dreams, τ 1.0) and ``--generations``. It prints the run's metrics.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shot_app import close_window, open_window, pump

WEAK_DATA = Path("resources/logs/world-model-v2/2026-12-05-trust-region/h100/real-train.npz")
WEAK_INDEX = 25
WEAK_NAME = "my-weak-driver"


def save_weak_driver() -> str:
    """The weak personal driver (see the module's text) in the scratch user directory; its name."""
    import json

    import numpy as np
    import torch

    from gdl_studio.core.personal import save_personal_model

    data = np.load(WEAK_DATA)
    shipped = json.loads(Path("models/carracing-controller-dream/card.json").read_text())
    card = {key: shipped[key] for key in ("family", "architecture", "world")}
    card.update(
        name=WEAK_NAME,
        display_name="my weak driver",
        base_model="carracing-controller-dream",
        dtype="float32",
        task=f"a perturbation of the dream-trained driver ({WEAK_DATA}, index {WEAK_INDEX})",
        metrics={"real_return_16_tracks_from_8000000": round(float(data["real"][WEAK_INDEX].mean()), 1)},
    )
    save_personal_model({"params": torch.from_numpy(data["params"][WEAK_INDEX].astype(np.float32))}, card)
    return WEAK_NAME


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default="finetune-dream.png")
    ap.add_argument("--weak", action="store_true", help="start from the weak personal driver")
    ap.add_argument("--generations", type=int, help="default: 10, or the dialog's with --weak")
    ap.add_argument("--tracks", type=int, default=8, help="real tracks of the check")
    args = ap.parse_args(argv)
    app, engine, window, _tmp = open_window(1366, 768)  # a laptop screen; the personal model goes to a scratch dir
    from gdl_studio.core.finetuning import FinetuneSpec
    from gdl_studio.racing.finetune_options import defaults

    window.show_panel("dream")
    dock = window.training_dock
    dock.show()
    options = {"mode": "dream", "tau": 1.0, "generations": args.generations or 10, "rollouts": 4}
    base, name = "carracing-controller-dream", "my dream driver"
    if args.weak:
        base, name = save_weak_driver(), "my weak driver tuned"
        dock.refresh_models()
        dream = defaults("dream")
        options = {key: dream[key] for key in ("mode", "tau", "population", "rollouts")}
        options["generations"] = args.generations or dream["generations"]
    options["real_check_tracks"] = args.tracks
    spec = FinetuneSpec("controller", base, [], name, options)
    finished: list = []
    failed: list = []
    dock.service.finished.connect(finished.append)
    dock.service.failed.connect(failed.append)
    dock.submit(spec)
    pump(app, lambda: bool(finished or failed), 3600, step=0.05)
    pump(app, lambda: False, 0.5)  # let the dock show the result
    ok = bool(finished) and window.grab().save(args.out)
    if finished:
        summary = finished[0].summary
        print(summary.get("headline"))
        for key, value in summary.get("metrics", {}).items():
            print(f"  {key}: {value}")
    print(f"saved {args.out}" if ok else f"no screenshot: {failed[0].message if failed else 'timed out'}")
    dock.shutdown()
    close_window(app, engine, window)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
