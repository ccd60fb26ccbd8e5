"""Screenshots of a long dream (issue #13) at a laptop size: the dream-trained driver
(carracing-controller-dream, in its own world carracing-vae-v2 + carracing-mdnrnn-v4) drives the
real game for 100 frames, then dreams on from that frame at τ 1.0 to 1,000 frames. Run from the
repository root under a display (Xvfb) or offscreen:

    QT_QPA_PLATFORM=offscreen python scripts/screenshots/dream_long.py resources/screenshots

Writes ``dream-long-real.png`` (the real game at frame 100), ``dream-long-500.png`` and
``dream-long-1000.png`` (the dream at frames 500 and 1,000).
"""

from __future__ import annotations

import sys
from pathlib import Path

from shot_app import open_window, pump

DRIVER = "carracing-controller-dream"


def main(out_dir: str) -> int:
    app, engine, window, _tmp = open_window(1366, 768)
    window.show_panel("dream")
    panel = window.current_panel()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    panel.set_temperature(1.0)
    panel.watch_controller(DRIVER)
    ok = pump(app, lambda: panel.mode == "real" and panel.frame_count() >= 100, 300)
    panel.refresh_plots()
    window.grab().save(str(out / "dream-long-real.png"))
    print("real:", ok, panel.frame_count(), "frames, driver", panel.active_model())

    panel.dream_from_here()
    for frames in (500, 1000):
        ok = pump(app, lambda n=frames: panel.mode == "dream" and panel.frame_count() >= n, 600)
        panel.refresh_plots()
        window.grab().save(str(out / f"dream-long-{frames}.png"))
        print(f"dream: {ok} {panel.frame_count()} frames at τ {panel.temperature:.1f}")
    window.close()
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "resources/screenshots"))
