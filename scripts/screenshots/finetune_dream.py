"""Screenshot of a finished dream fine-tuning run of the Dream controller: the Dream panel with the
Training dock open, the run's fitness curves and its result line (dream return, then the real
check: base and result on the same tracks, the gain track by track). Run from the repository root:

    QT_QPA_PLATFORM=offscreen python scripts/screenshots/finetune_dream.py resources/screenshots/finetune-dream.png

The run is the in-app one of the README (the dream-trained controller, τ 1.0, 10 generations of 16
candidates × 4 dreams) with 8 real tracks for the check; it prints the run's metrics.
"""

from __future__ import annotations

import sys

from shot_app import close_window, open_window, pump


def main(out: str, tracks: int = 8) -> int:
    app, engine, window, _tmp = open_window(1366, 768)  # a laptop screen; the personal model goes to a scratch dir
    from gdl_studio.core.finetuning import FinetuneSpec

    window.show_panel("dream")
    dock = window.training_dock
    dock.show()
    options = {"mode": "dream", "tau": 1.0, "generations": 10, "rollouts": 4, "real_check_tracks": tracks}
    spec = FinetuneSpec("controller", "carracing-controller-dream", [], "my dream driver", options)
    finished: list = []
    failed: list = []
    dock.service.finished.connect(finished.append)
    dock.service.failed.connect(failed.append)
    dock.submit(spec)
    pump(app, lambda: bool(finished or failed), 1800, step=0.05)
    pump(app, lambda: False, 0.5)  # let the dock show the result
    ok = bool(finished) and window.grab().save(out)
    if finished:
        summary = finished[0].summary
        print(summary.get("headline"))
        for key, value in summary.get("metrics", {}).items():
            print(f"  {key}: {value}")
    print(f"saved {out}" if ok else f"no screenshot: {failed[0].message if failed else 'timed out'}")
    dock.shutdown()
    close_window(app, engine, window)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "finetune-dream.png"))
