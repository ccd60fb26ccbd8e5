"""The app's theme: one stylesheet plus the colours custom-painted widgets share."""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from gdl_studio.core.paths import resources_dir

BACKGROUND = QColor("#1e1f26")
SURFACE = QColor("#23242d")
GRID = QColor("#2f3142")
GRID_STRONG = QColor("#454862")
TEXT = QColor("#e6e6f0")
TEXT_DIM = QColor("#a9abc0")
ACCENT = QColor("#5b4bc4")
ACCENT_LIGHT = QColor("#7a6ae0")
HIGHLIGHT = QColor("#f6c453")
GENERATED = QColor("#ff7a8a")
TRACK_COLOURS = [QColor(c) for c in ("#7a6ae0", "#4fc1c9", "#f6c453", "#7fd6a4", "#e98ad8", "#f29a5b", "#8fb3ff", "#c9d36a")]


def apply(app: QApplication) -> None:
    """Apply the stylesheet (Fusion style underneath, so it looks the same everywhere)."""
    app.setStyle("Fusion")
    path = resources_dir() / "style.qss"
    if path.is_file():
        icons = (resources_dir() / "icons").as_posix()
        app.setStyleSheet(path.read_text(encoding="utf-8").replace("@ICONS@", icons))
