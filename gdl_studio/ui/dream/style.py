"""The Dream panel's style sheet and its painted play / pause icons."""

from __future__ import annotations

from PySide6.QtCore import Qt

from gdl_studio.ui import theme

STYLE = theme.qss("""
QLabel#dreamBanner { background-color: @PROBLEM@; color: @PROBLEM_TEXT@; border: 1px solid @PROBLEM_BORDER@;
                     border-radius: 6px; padding: 8px 10px; }
QLabel#dreamNotice { background-color: @NOTICE@; color: @NOTICE_TEXT@; border: 1px solid @NOTICE_BORDER@;
                     border-radius: 6px; padding: 6px 10px; }
QLabel#dreamHint { color: @TEXT_MUTED@; padding: 2px 2px; }
QLabel#dreamRoad { color: @TEXT_MUTED@; font-size: 8pt; }
QLabel#dreamDriver { font-weight: bold; padding: 2px 10px; border-radius: 9px; }
QLabel#dreamDriver[human="true"] { background-color: @HIGHLIGHT@; color: @BACKGROUND@; }
QLabel#dreamDriver[human="false"] { background-color: @DRIVER_AGENT@; color: @TEXT@; }
QLabel#dreamController { color: @TEXT_DIM@; }
QLabel#dreamTau { color: @HIGHLIGHT@; font-weight: bold; min-width: 36px; }
QFrame#dreamStat { background-color: @SURFACE@; border: 1px solid @GRID@; border-radius: 8px; }
QLabel#dreamStatTitle { color: @TEXT_MUTED@; font-size: 8pt; background: transparent; }
QLabel#dreamStatValue { color: @TEXT@; font-size: 14pt; font-weight: bold; background: transparent; }
QFrame#dreamBarsBox { background-color: @SURFACE@; border: 1px solid @GRID@; border-radius: 8px; }
QFrame#dreamBarsBox QLabel, QFrame#dreamBarsBox QWidget { background: transparent; }
QPushButton#modeButton { padding: 6px 16px; font-weight: bold; }
QPushButton#modeButton:checked { background-color: @ACCENT@; border-color: @ACCENT_LIGHT@; color: @WHITE@; }
QPushButton#plotChoice { padding: 2px 10px; font-size: 8pt; }
QPushButton#plotChoice:checked { background-color: @SELECTION@; border-color: @ACCENT_LIGHT@; color: @TEXT@; }
QPushButton:disabled {
    color: @TEXT_DISABLED@; background-color: @CONTROL_DISABLED@; border-color: @CONTROL_DISABLED_BORDER@;
}
QSpinBox { padding-right: 4px; }
QRadioButton { spacing: 6px; }
QRadioButton:disabled { color: @TEXT_DISABLED@; }
QRadioButton::indicator {
    width: 12px; height: 12px; border-radius: 7px; border: 1px solid @RADIO_BORDER@; background: @FIELD@;
}
QRadioButton::indicator:checked { background: qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5,
    stop:0 @HIGHLIGHT@, stop:0.45 @HIGHLIGHT@, stop:0.55 @FIELD@, stop:1 @FIELD@); border-color: @HIGHLIGHT@; }
QRadioButton::indicator:disabled { border-color: @BORDER@; background: @RADIO_DISABLED@; }
""")


def glyph_icon(kind: str):
    """A small play / pause icon painted in the theme's text colour (no icon files needed)."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF

    pm = QPixmap(32, 32)
    pm.fill(theme.TRANSPARENT)
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
