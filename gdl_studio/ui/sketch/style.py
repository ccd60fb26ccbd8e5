"""The Sketch panel's style sheet, and the small arrow images its spin boxes use (the app's style
sheet has none that fit them)."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt

from gdl_studio.ui import theme

STYLE = theme.qss("""
QLabel#sketchHint { color: @TEXT_DIM@; padding: 2px 4px; }
QLabel#sketchHint[kind="error"] { color: @ERROR@; }
QLabel#sketchHint[kind="busy"] { color: @HIGHLIGHT@; }
QLabel#sketchInfo { color: @TEXT_FAINT@; padding: 2px 4px; }
QToolBar#sketchTools { background: transparent; border: none; padding: 0; spacing: 6px; }
QLabel#sketchTemperature { color: @HIGHLIGHT@; font-weight: bold; min-width: 34px; }
QLabel#sketchEndingsHint { color: @TEXT_FAINT@; }
QPushButton#primary:disabled {
    background-color: @PRIMARY_DISABLED@; border-color: @BORDER@; color: @PRIMARY_DISABLED_TEXT@;
}
QPushButton#accept { background-color: @ACCEPT@; border-color: @ACCEPT_BORDER@; }
QPushButton#accept:hover { background-color: @ACCEPT_HOVER@; }
QPushButton#accept:disabled, QPushButton#reject:disabled { background-color: @CONTROL@; border-color: @BORDER@; }
QFrame#sketchSide { background: transparent; }
QSpinBox { padding-right: 18px; }
QSpinBox::up-button, QSpinBox::down-button { subcontrol-origin: border; width: 16px; border: none;
    border-left: 1px solid @BORDER@; background: @CONTROL@; }
QSpinBox::up-button { subcontrol-position: top right; border-top-right-radius: 5px; }
QSpinBox::down-button { subcontrol-position: bottom right; border-bottom-right-radius: 5px; }
QSpinBox::up-button:hover, QSpinBox::down-button:hover { background: @BORDER@; }
QSpinBox::up-arrow { image: url(%(up)s); width: 8px; height: 5px; }
QSpinBox::down-arrow, QComboBox::down-arrow { image: url(%(down)s); width: 8px; height: 5px; }
QSpinBox::up-arrow:disabled { image: url(%(up_off)s); }
QSpinBox::down-arrow:disabled { image: url(%(down_off)s); }
QComboBox::drop-down { subcontrol-origin: padding; subcontrol-position: top right; width: 20px; border: none;
    border-left: 1px solid @BORDER@; }
QScrollArea#sketchSideScroll { border: none; background: transparent; }
""")


def arrow_images() -> dict[str, str]:
    """Small arrow images for the spin boxes and combo box (the app style sheet has none)."""
    import tempfile
    from pathlib import Path

    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QImage, QPainter, QPolygonF

    folder = Path(tempfile.gettempdir()) / f"gdl-studio-sketch-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, up, colour in (
        ("up", True, theme.ARROW),
        ("down", False, theme.ARROW),
        ("up_off", True, theme.ARROW_DISABLED),
        ("down_off", False, theme.ARROW_DISABLED),
    ):
        path = folder / f"arrow-{name}.png"
        if not path.is_file():
            img = QImage(16, 10, QImage.Format.Format_ARGB32_Premultiplied)
            img.fill(theme.TRANSPARENT)
            p = QPainter(img)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(colour))
            pts = (
                [QPointF(1, 9), QPointF(15, 9), QPointF(8, 1)] if up else [QPointF(1, 1), QPointF(15, 1), QPointF(8, 9)]
            )
            p.drawPolygon(QPolygonF(pts))
            p.end()
            img.save(str(path))
        out[name] = path.as_posix()
    return out


def style_sheet() -> str:
    """The panel's style sheet, with the arrow images (without them if they cannot be written)."""
    try:
        return STYLE % arrow_images()
    except (OSError, KeyError, ValueError):
        return STYLE.split("QSpinBox {")[0]
