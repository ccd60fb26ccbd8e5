"""Icons from resources/icons (SVG), with a painted fallback when a file is missing."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from gdl_studio.core.paths import resources_dir
from gdl_studio.ui import theme


def _icon(name: str) -> QIcon:
    path = resources_dir() / "icons" / f"{name}.svg"
    if path.is_file():
        icon = QIcon(str(path))
        if not icon.isNull():
            return icon
    pixmap = QPixmap(64, 64)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(theme.ACCENT))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawRoundedRect(4, 4, 56, 56, 12, 12)
    painter.setPen(theme.WHITE)
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, name[:1].upper())
    painter.end()
    return QIcon(pixmap)


def app_icon() -> QIcon:
    """The application icon."""
    return _icon("gdl-studio")


def panel_icon(panel_id: str) -> QIcon:
    """The side-bar icon of a panel."""
    return _icon(panel_id)
