"""Screenshots of the Dream panel in both modes with the shipped world model. Run from the
repository root under a display (Xvfb) or offscreen:

    QT_QPA_PLATFORM=offscreen python scripts/screenshots/dream.py resources/screenshots

Writes ``dream.png`` (the agent in the real game, ~300 frames in) and ``dream-mode.png`` (the
agent in its dream at τ 0.3, started from the real frame, ~150 frames in).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def _wait(app, until, timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return True
        time.sleep(0.005)
    return False


def main(out_dir: str) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="gdl-shot-"))
    os.environ["GDL_STUDIO_USER_DIR"] = str(tmp / "user")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    from PySide6.QtWidgets import QApplication

    from gdl_studio.engine.worker import Engine
    from gdl_studio.ui import theme
    from gdl_studio.ui.main_window import MainWindow
    from gdl_studio.ui.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv)
    theme.apply(app)
    engine = Engine()
    engine.start()
    window = MainWindow(engine, Settings())
    window.resize(1500, 900)
    window.show()
    window.show_panel("dream")
    panel = window.current_panel()
    out = Path(out_dir)

    panel.start("real", seed=3)
    ok = _wait(app, lambda: panel.frame_count() >= 300, 240)
    panel.refresh_plots()
    window.grab().save(str(out / "dream.png"))
    print("real:", ok, panel.frame_count(), "frames")

    panel.set_temperature(0.3)
    panel.dream_from_here()
    ok = _wait(app, lambda: panel.mode == "dream" and panel.frame_count() >= 150, 240)
    panel.refresh_plots()
    window.grab().save(str(out / "dream-mode.png"))
    print("dream:", ok, panel.frame_count(), "frames")
    window.close()
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "resources/screenshots"))
