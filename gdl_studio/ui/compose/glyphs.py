"""Small painted icons for the Compose toolbar (no font or icon files; colours from the theme)."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from gdl_studio.ui import theme

SIZE = 32
INK = QColor(theme.TEXT)


def _icon(draw, colour: QColor = INK) -> QIcon:
    pixmap = QPixmap(SIZE, SIZE)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    draw(p, colour)
    p.end()
    return QIcon(pixmap)


def _poly(p: QPainter, colour: QColor, points) -> None:
    path = QPainterPath()
    path.moveTo(*points[0])
    for pt in points[1:]:
        path.lineTo(*pt)
    path.closeSubpath()
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour)
    p.drawPath(path)


def play() -> QIcon:
    return _icon(lambda p, c: _poly(p, QColor(theme.GOOD), [(9, 6), (26, 16), (9, 26)]))


def stop() -> QIcon:
    def draw(p, c):
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(c)
        p.drawRoundedRect(QRectF(8, 8, 16, 16), 2, 2)

    return _icon(draw)


def rewind() -> QIcon:
    def draw(p, c):
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(c)
        p.drawRect(QRectF(7, 8, 3, 16))
        _poly(p, c, [(25, 8), (12, 16), (25, 24)])

    return _icon(draw)


def record() -> QIcon:
    def draw(p, c):
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(theme.RECORD))
        p.drawEllipse(QPointF(16, 16), 8, 8)

    return _icon(draw)


def loop() -> QIcon:
    def draw(p, c):
        pen = QPen(c, 2.6)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        p.setPen(pen)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawArc(QRectF(6, 8, 20, 16), 30 * 16, 150 * 16)
        p.drawArc(QRectF(6, 8, 20, 16), 210 * 16, 150 * 16)
        _poly(p, c, [(5, 13), (11, 13), (8, 18)])
        _poly(p, c, [(27, 19), (21, 19), (24, 14)])

    return _icon(draw)


def pointer() -> QIcon:
    return _icon(lambda p, c: _poly(p, c, [(9, 5), (24, 18), (17, 18.5), (21, 27), (18, 28.5), (14, 20), (9, 25)]))


def pencil() -> QIcon:
    def draw(p, c):
        p.save()
        p.translate(16, 16)
        p.rotate(45)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(theme.HIGHLIGHT))
        p.drawRect(QRectF(-3.5, -12, 7, 17))
        _poly(p, c, [(-3.5, 5), (3.5, 5), (0, 12)])
        p.restore()

    return _icon(draw)


def panic() -> QIcon:
    def draw(p, c):
        _poly(p, QColor(theme.GENERATED), [(16, 4), (29, 27), (3, 27)])
        p.setPen(QPen(QColor(theme.BACKGROUND), 3))
        p.drawLine(QPointF(16, 11), QPointF(16, 19))
        p.drawPoint(QPointF(16, 23.5))

    return _icon(draw)


def jam() -> QIcon:
    def draw(p, c):
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(theme.CYAN))
        p.drawRoundedRect(QRectF(3, 6, 16, 11), 4, 4)
        p.setBrush(QColor(theme.GENERATED))
        p.drawRoundedRect(QRectF(13, 15, 16, 11), 4, 4)

    return _icon(draw)


def midi_file() -> QIcon:
    def draw(p, c):
        p.setPen(QPen(c, 1.8))
        p.setBrush(QColor(theme.CONTROL))
        path = QPainterPath()
        path.moveTo(8, 4)
        path.lineTo(20, 4)
        path.lineTo(25, 9)
        path.lineTo(25, 28)
        path.lineTo(8, 28)
        path.closeSubpath()
        p.drawPath(path)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(theme.ACCENT_LIGHT))
        for _k, (x, y, w) in enumerate(((11, 12, 6), (13, 16, 8), (11, 20, 5), (15, 24, 6))):
            p.drawRect(QRectF(x, y, w, 2.2))

    return _icon(draw)


def sparkle() -> QIcon:
    def draw(p, c):
        colour = QColor(theme.WHITE)
        pts = []
        for k in range(8):
            r = 12 if k % 2 == 0 else 4
            a = math.pi / 4 * k - math.pi / 2
            pts.append((16 + r * math.cos(a), 16 + r * math.sin(a)))
        _poly(p, colour, pts)

    return _icon(draw)
