"""What the screenshot scripts share: the app's main window on scratch settings, and an event pump."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def open_window(width: int, height: int):
    """(app, engine, window, scratch dir): the themed main window, shown, with its engine running.

    Settings and personal models go to a scratch directory, not the user's.
    """
    tmp = Path(tempfile.mkdtemp(prefix="gdl-shot-"))
    os.environ["GDL_STUDIO_USER_DIR"] = str(tmp / "user")
    os.environ["XDG_CONFIG_HOME"] = str(tmp / "config")
    from PySide6.QtWidgets import QApplication

    from gdl_studio.engine.worker import Engine
    from gdl_studio.ui import theme
    from gdl_studio.ui.settings import Settings
    from gdl_studio.ui.shell.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply(app)
    engine = Engine()
    engine.start()
    window = MainWindow(engine, Settings())
    window.resize(width, height)
    window.show()
    return app, engine, window, tmp


def pump(app, until, timeout: float, step: float = 0.005) -> bool:
    """Process events until ``until()`` is true or ``timeout`` seconds pass; whether it came true."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return True
        time.sleep(step)
    return False


def close_window(app, engine, window) -> None:
    """Close the window, stop its engine and the application (after a shot)."""
    window.close()
    engine.shutdown()
    app.quit()
