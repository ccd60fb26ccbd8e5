"""The Dream panel's style sheet and its painted play / pause icons."""

from __future__ import annotations

from PySide6.QtCore import Qt

from gdl_studio.ui import theme

STYLE = """
QLabel#dreamBanner { background-color: #3a2430; color: #f3c4cb; border: 1px solid #6b3445;
                     border-radius: 6px; padding: 8px 10px; }
QLabel#dreamNotice { background-color: #2e2a1c; color: #f3dfa8; border: 1px solid #6b5a2a;
                     border-radius: 6px; padding: 6px 10px; }
QLabel#dreamHint { color: #8d90a8; padding: 2px 2px; }
QLabel#dreamDriver { font-weight: bold; padding: 2px 10px; border-radius: 9px; }
QLabel#dreamDriver[human="true"] { background-color: #f6c453; color: #1e1f26; }
QLabel#dreamDriver[human="false"] { background-color: #3a3270; color: #e6e6f0; }
QLabel#dreamController { color: #a9abc0; }
QLabel#dreamTau { color: #f6c453; font-weight: bold; min-width: 36px; }
QFrame#dreamStat { background-color: #23242d; border: 1px solid #2f3142; border-radius: 8px; }
QLabel#dreamStatTitle { color: #8d90a8; font-size: 8pt; background: transparent; }
QLabel#dreamStatValue { color: #e6e6f0; font-size: 14pt; font-weight: bold; background: transparent; }
QFrame#dreamBarsBox { background-color: #23242d; border: 1px solid #2f3142; border-radius: 8px; }
QFrame#dreamBarsBox QLabel, QFrame#dreamBarsBox QWidget { background: transparent; }
QPushButton#modeButton { padding: 6px 16px; font-weight: bold; }
QPushButton#modeButton:checked { background-color: #5b4bc4; border-color: #7a6ae0; color: #ffffff; }
QPushButton:disabled { color: #5c5f75; background-color: #24252e; border-color: #30323f; }
QSpinBox { padding-right: 4px; }
QRadioButton { spacing: 6px; }
QRadioButton:disabled { color: #5c5f75; }
QRadioButton::indicator { width: 12px; height: 12px; border-radius: 7px; border: 1px solid #6a6d88; background: #262733; }
QRadioButton::indicator:checked { background: qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5,
    stop:0 #f6c453, stop:0.45 #f6c453, stop:0.55 #262733, stop:1 #262733); border-color: #f6c453; }
QRadioButton::indicator:disabled { border-color: #3a3d52; background: #202129; }
"""


def glyph_icon(kind: str):
    """A small play / pause icon painted in the theme's text colour (no icon files needed)."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF

    pm = QPixmap(32, 32)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(theme.TEXT))
    if kind == "play":
        p.drawPolygon(QPolygonF([QPointF(9, 6), QPointF(26, 16), QPointF(9, 26)]))
    else:
        p.drawRoundedRect(8, 6, 6, 20, 1.5, 1.5)
        p.drawRoundedRect(18, 6, 6, 20, 1.5, 1.5)
    p.end()
    return QIcon(pm)
