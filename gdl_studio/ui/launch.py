"""Start the app: check for a display, build the QApplication, engine and main window."""

from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """Whether a GUI can be shown (X11/Wayland/macOS/Windows, or an explicit Qt platform)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


NO_DISPLAY_MESSAGE = """\
gdl-studio: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot open.
  Everything also works headless from the command line, for example:
    gdl-studio continue resources/examples/chorale.mid --model transformer --notes 64 -o out.mid
    gdl-studio sketch --model vrnn -o sketch.svg
    gdl-studio dream --real --episodes 1 --gif drive.gif
    gdl-studio bench ui
  Run `gdl-studio --help` for the full list, or start a virtual display:
    Xvfb :99 & DISPLAY=:99 gdl-studio"""


def launch(screenshot: str | None = None, panel: str | None = None, screenshot_after: float = 1.5) -> int:
    """Run the app until its window closes; returns the exit code."""
    if not has_display():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 3
    from gdl_studio.engine.threads import preload_torch

    preload_torch()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gdl_studio import __version__
    from gdl_studio.engine.worker import Engine
    from gdl_studio.ui import icons, theme
    from gdl_studio.ui.main_window import MainWindow
    from gdl_studio.ui.settings import Settings

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("GDL Studio")
    app.setOrganizationName("GDL Studio")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("gdl-studio")
    app.setWindowIcon(icons.app_icon())
    theme.apply(app)
    engine = Engine()
    window = MainWindow(engine, Settings())
    engine.start()
    if panel:
        window.show_panel(panel)
    window.show()
    if screenshot:
        def grab() -> None:
            window.grab().save(screenshot)
            print(f"saved screenshot to {screenshot}")
            window.close()

        QTimer.singleShot(int(screenshot_after * 1000), grab)
    code = app.exec()
    engine.shutdown(2.0)
    return code
