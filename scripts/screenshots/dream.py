"""Screenshots of the Dream panel in both modes with the shipped world model. Run from the
repository root under a display (Xvfb) or offscreen:

    QT_QPA_PLATFORM=offscreen python scripts/screenshots/dream.py resources/screenshots

Writes ``dream.png`` (the agent in the real game, ~300 frames in) and ``dream-mode.png`` (the
agent in its dream at τ 0.3, started from the real frame, ~150 frames in).
"""

from __future__ import annotations

import sys
from pathlib import Path

from shot_app import open_window, pump


def main(out_dir: str) -> int:
    app, engine, window, _tmp = open_window(1500, 900)
    window.show_panel("dream")
    panel = window.current_panel()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    panel.start("real", seed=3)
    ok = pump(app, lambda: panel.frame_count() >= 300, 240)
    panel.refresh_plots()
    window.grab().save(str(out / "dream.png"))
    print("real:", ok, panel.frame_count(), "frames")

    panel.set_temperature(0.3)
    panel.dream_from_here()
    ok = pump(app, lambda: panel.mode == "dream" and panel.frame_count() >= 150, 240)
    panel.refresh_plots()
    window.grab().save(str(out / "dream-mode.png"))
    print("dream:", ok, panel.frame_count(), "frames")
    window.close()
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "resources/screenshots"))
