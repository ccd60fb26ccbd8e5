"""The app's theme: every colour the UI uses, by name, and the style sheets built from them.

This is the only file in ``ui/`` that writes a colour value (``scripts/check_layers.py`` fails on
a hex, ``rgb()`` or numeric ``QColor`` anywhere else in ``ui/`` and in ``resources/style.qss``).
Painted widgets use the ``QColor`` constants below (copy one with ``QColor(theme.X)`` before
changing it, or take :func:`with_alpha`); style sheets name them as ``@X@`` and go through
:func:`qss`, which writes in the values.
"""

from __future__ import annotations

import re

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from gdl_studio.core.paths import resources_dir

# ---------------------------------------------------------------- the window's surfaces
BACKGROUND = QColor("#1e1f26")  # the window
SURFACE = QColor("#23242d")  # cards, menus, tabs
BAR = QColor("#17181e")  # menu bar, status bar, side bar, the roll's rulers
SUNKEN = QColor("#1a1b22")  # tool bars, scroll bars, plots' background
DARKEST = QColor("#15161c")  # behind the game's frame
CONTROL = QColor("#2b2d38")  # buttons, separators
CONTROL_HOVER = QColor("#343750")
CONTROL_DISABLED = QColor("#24252e")
CONTROL_DISABLED_BORDER = QColor("#30323f")
FIELD = QColor("#262733")  # combo boxes, spin boxes, line edits, the roll's finest grid
BORDER = QColor("#3a3d52")
MENU_BORDER = QColor("#34364a")
GRID = QColor("#2f3142")
GRID_STRONG = QColor("#454862")
SELECTION = QColor("#2f2a5c")  # the side bar's and tab bar's current item
SIDEBAR_HOVER = QColor("#262838")

# ---------------------------------------------------------------- text
TEXT = QColor("#e6e6f0")
TEXT_DIM = QColor("#a9abc0")
TEXT_SOFT = QColor("#9a9aa8")  # key names, the endings' numbers
TEXT_MUTED = QColor("#8d90a8")  # hints, titles of figures
TEXT_FAINT = QColor("#7d8099")  # secondary information lines
TEXT_PLACEHOLDER = QColor("#6f7290")  # "nothing here yet"
TEXT_DISABLED = QColor("#5c5f75")
WHITE = QColor("#ffffff")
BLACK = QColor("#000000")
TRANSPARENT = QColor(0, 0, 0, 0)

# ---------------------------------------------------------------- accents and states
ACCENT = QColor("#5b4bc4")
ACCENT_LIGHT = QColor("#7a6ae0")
ACCENT_HOVER = QColor("#6a5ad6")
PRIMARY_DISABLED = QColor("#34305a")  # a disabled primary (accent) button
PRIMARY_DISABLED_BORDER = QColor("#403a6e")
PRIMARY_DISABLED_TEXT = QColor("#8c88b0")
DRIVER_AGENT = QColor("#3a3270")  # Dream's "the controller drives" badge
HIGHLIGHT = QColor("#f6c453")
GENERATED = QColor("#ff7a8a")  # what a model made
RECORDING = QColor("#ff9f5a")  # notes being recorded
RECORD = QColor("#ff5a6a")  # the record button
GOOD = QColor("#7fd6a4")  # idle, ready, "play"
ERROR = QColor("#f0a0a8")
ACCEPT = QColor("#2f5a45")
ACCEPT_HOVER = QColor("#376b52")
ACCEPT_BORDER = QColor("#4c8a6b")
PROBLEM = QColor("#3a2430")  # the problem banner (widgets/problem_banner.py)
PROBLEM_TEXT = QColor("#f3c4cb")
PROBLEM_BORDER = QColor("#6b3445")
NOTICE = QColor("#2e2a1c")  # a notice that is not a problem
NOTICE_TEXT = QColor("#f3dfa8")
NOTICE_BORDER = QColor("#6b5a2a")
ARROW = QColor("#b8bad0")  # spin box arrows
ARROW_DISABLED = QColor("#4a4d62")
RADIO_BORDER = QColor("#6a6d88")
RADIO_DISABLED = QColor("#202129")

# ---------------------------------------------------------------- hues for series and tracks
CYAN = QColor("#4fc1c9")
PINK = QColor("#e98ad8")
ORANGE = QColor("#f29a5b")
BLUE = QColor("#8fb3ff")
LIME = QColor("#c9d36a")
TRACK_COLOURS = [QColor(c) for c in (ACCENT_LIGHT, CYAN, HIGHLIGHT, GOOD, PINK, ORANGE, BLUE, LIME)]

# ---------------------------------------------------------------- the piano roll
ROLL_ROW_BLACK = QColor("#1b1c23")  # rows of black keys
ROLL_ROW_WHITE = QColor("#23242e")
ROLL_GUIDE = QColor("#4a4d66")  # loop and bar marks on the ruler
ROLL_LANE = QColor("#191a21")  # the velocity lane
KEY_WHITE = QColor("#e9e9ef")
KEY_BLACK = QColor("#1d1e26")
KEY_LINE = QColor("#3a3b4a")
NOTE_TEXT_DARK = QColor("#2a0f15")  # a note's name on a generated note
NOTE_TEXT = QColor(20, 20, 28, 200)  # a note's name on a note

# ---------------------------------------------------------------- the sketch's paper
PAPER = QColor("#f7f4ec")
INK = QColor("#20212b")
GENERATED_INK = QColor("#e0566a")
PAPER_GUIDE = QColor("#d8d1bf")
PAPER_GUIDE_FAINT = QColor("#e9e3d4")
PAPER_PRIMER = QColor("#8d8a99")  # the primer's strokes in a thumbnail


def with_alpha(colour: QColor, alpha: int) -> QColor:
    """A copy of ``colour`` with opacity ``alpha`` (0–255)."""
    copy = QColor(colour)
    copy.setAlpha(alpha)
    return copy


def colours() -> dict[str, QColor]:
    """Every named colour of the theme (the names style sheets write as ``@NAME@``)."""
    return {name: value for name, value in globals().items() if name.isupper() and isinstance(value, QColor)}


_PLACEHOLDER = re.compile(r"@([A-Z][A-Z0-9_]*)@")


def _css(colour: QColor) -> str:
    if colour.alpha() == 255:
        return colour.name()
    return f"rgba({colour.red()}, {colour.green()}, {colour.blue()}, {colour.alpha()})"


def qss(text: str) -> str:
    """``text`` (a style sheet) with each ``@NAME@`` replaced: a colour of this module, or
    ``@ICONS@``, the folder of the app's icons. An unknown name raises ``KeyError``."""
    named = colours()

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "ICONS":
            return (resources_dir() / "icons").as_posix()
        return _css(named[name])

    return _PLACEHOLDER.sub(value, text)


def style_sheet() -> str:
    """The app's style sheet (``resources/style.qss``, with the colours written in); '' if missing."""
    path = resources_dir() / "style.qss"
    return qss(path.read_text(encoding="utf-8")) if path.is_file() else ""


def apply(app: QApplication) -> None:
    """Apply the stylesheet (Fusion style underneath, so it looks the same everywhere)."""
    app.setStyle("Fusion")
    sheet = style_sheet()
    if sheet:
        app.setStyleSheet(sheet)
