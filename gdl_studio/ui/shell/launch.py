"""Start the app: check for a display, build the QApplication, engine and main window."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication


def gui_application() -> QApplication:
    """The process's ``QApplication``, made if there is none. A ``QCoreApplication`` made
    before (it cannot be replaced) is an error: widgets need a ``QApplication``."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(sys.argv[:1])
    if not isinstance(app, QApplication):
        raise RuntimeError("a QCoreApplication exists already; the GUI needs a QApplication")
    return app


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
    {cmd} continue {chorale} --model transformer --notes 64 -o out.mid
    {cmd} sketch --model vrnn -o sketch.svg
    {cmd} dream --real --episodes 1 --gif drive.gif
    {cmd} bench ui
  Run `{cmd} --help` for the full list, or start a virtual display:
    Xvfb :99 & DISPLAY=:99 {cmd}"""


def command_name(argv0: str | None = None) -> str:
    """How to run this very ``gdl-studio`` from the user's shell, as it can be typed.

    ``gdl-studio`` when that name on the PATH is this program; else its full path (e.g.
    ``/home/me/gdl-studio/.venv/bin/gdl-studio`` when the virtual environment is not active);
    ``python -m gdl_studio`` with the full interpreter path when run that way.
    """
    import shlex
    import shutil

    argv0 = sys.argv[0] if argv0 is None else argv0
    if not argv0 or argv0.endswith("__main__.py") or argv0 == "-m" or argv0 == "-c":
        return f"{shlex.quote(sys.executable)} -m gdl_studio"
    path = os.path.realpath(argv0) if os.path.sep in argv0 else shutil.which(argv0) or argv0
    found = shutil.which("gdl-studio")
    if found and os.path.realpath(found) == os.path.realpath(path):
        return "gdl-studio"
    return shlex.quote(os.path.abspath(argv0) if os.path.sep in argv0 else path)


def no_display_message(argv0: str | None = None) -> str:
    """The message shown when no window can open, with commands that work as printed."""
    import shlex

    from gdl_studio.core.paths import resources_dir

    chorale = shlex.quote(str(resources_dir() / "examples" / "chorale.mid"))
    return NO_DISPLAY_MESSAGE.format(cmd=command_name(argv0), chorale=chorale)


def launch(
    screenshot: str | None = None,
    panel: str | None = None,
    screenshot_after: float = 1.5,
    files: list[str] | None = None,
) -> int:
    """Run the app until its window closes; returns the exit code.

    ``files``: MIDI or SVG files to open, each in the panel that handles its type.
    """
    if not has_display():
        print(no_display_message(), file=sys.stderr)
        return 3
    from gdl_studio.engine.threads import preload_torch

    preload_torch()
    from PySide6.QtCore import QTimer

    from gdl_studio import __version__
    from gdl_studio.engine.worker import Engine
    from gdl_studio.ui import theme
    from gdl_studio.ui.settings import Settings
    from gdl_studio.ui.shell import icons
    from gdl_studio.ui.shell.main_window import MainWindow

    app = gui_application()
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
    for path in files or ():
        window.open_path(path)
    if screenshot:

        def grab() -> None:
            window.grab().save(screenshot)
            print(f"saved screenshot to {screenshot}")
            window.close()

        QTimer.singleShot(int(screenshot_after * 1000), grab)
    code = app.exec()
    engine.shutdown()
    return code
