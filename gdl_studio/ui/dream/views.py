"""Custom-painted widgets of the Dream panel: a pixel-exact frame view, action bars, read-outs."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QLineF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from gdl_studio.ui import theme

AGENT_COLOURS = {"steer": QColor(theme.BLUE), "gas": QColor(theme.GOOD), "brake": QColor(theme.GENERATED)}
HUMAN_COLOURS = {"steer": QColor(theme.HIGHLIGHT), "gas": QColor(theme.HIGHLIGHT), "brake": QColor(theme.ORANGE)}
HUMAN_BADGE = QColor(theme.HIGHLIGHT)
AGENT_BADGE = QColor(theme.ACCENT_LIGHT)


def to_qimage(frame: np.ndarray) -> QImage:
    """A (H, W, 3) uint8 array as an RGB QImage that owns its pixels."""
    frame = np.ascontiguousarray(frame, dtype=np.uint8)
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) frame, got {frame.shape}")
    h, w, _ = frame.shape
    return QImage(frame.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


MESSAGE_FLAGS = int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap)  # the frame's message: centred, wrapped


class FrameView(QWidget):
    """Shows one small frame scaled up with nearest-neighbour sampling (every pixel a square).

    A caption sits above the picture; an optional badge in its corner (e.g. "YOU DRIVE") and an
    optional message across it (loading, paused, episode over, errors).
    """

    def __init__(self, caption: str, detail: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.detail = detail
        self._image: QImage | None = None
        self._message = ""
        self._badge = ""
        self._badge_colour = HUMAN_BADGE
        self.setMinimumSize(160, 190)
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(380, 410)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt naming)
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt naming)
        return int(width + self.CAPTION_H + 2)

    # ---------------------------------------------------------------- state
    def set_frame(self, frame: np.ndarray | None) -> None:
        """Show ``frame`` ((H, W, 3) uint8), or nothing with None."""
        self._image = None if frame is None else to_qimage(frame)
        self.update()

    def has_frame(self) -> bool:
        return self._image is not None

    def image(self) -> QImage | None:
        """The frame shown, at its own size (for tests and snapshots)."""
        return self._image

    def save_png(self, path: str, scale: int = 4) -> None:
        """Save the frame shown, scaled up ``scale``× pixel-exact, as a PNG (atomically)."""
        from gdl_studio.core.atomic import atomic_path
        from gdl_studio.core.errors import UserError

        image = self.image()
        if image is None:
            raise UserError("there is no frame to save yet")
        big = image.scaled(
            image.width() * scale,
            image.height() * scale,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.FastTransformation,
        )
        with atomic_path(path) as tmp:
            if not big.save(str(tmp), "PNG"):  # type: ignore[call-overload]  # the stub wants bytes; PySide6 takes only str
                raise OSError(f"could not write {path}")

    def set_message(self, text: str) -> None:
        """A message across the picture ('' for none)."""
        if text != self._message:
            self._message = text
            self.update()

    @property
    def message(self) -> str:
        return self._message

    def set_badge(self, text: str, colour: QColor | None = None) -> None:
        """A small label in the picture's top-right corner ('' for none)."""
        colour = colour or HUMAN_BADGE
        if text != self._badge or colour != self._badge_colour:
            self._badge, self._badge_colour = text, colour
            self.update()

    def set_caption(self, caption: str, detail: str = "") -> None:
        self.caption, self.detail = caption, detail
        self.update()

    # ---------------------------------------------------------------- painting
    CAPTION_H = 26.0

    def picture_rect(self) -> QRectF:
        """Where the picture goes: the largest square that fits with the caption right above it."""
        cap = self.CAPTION_H
        side = max(10.0, min(self.width() - 2.0, self.height() - cap - 2.0))
        top = cap + (self.height() - cap - side) / 2.0
        return QRectF((self.width() - side) / 2.0, top, side, side)

    def message_layout(self, rect: QRectF) -> tuple[QFont, QRectF]:
        """The message's font and box over the picture ``rect``: the largest size from one point above the
        widget's down to 7 pt whose wrapped text fits inside the picture (a short window makes it small)."""
        mfont = QFont(self.font())
        size = max(9.0, mfont.pointSizeF() + 1.0)
        pad = 14.0 if rect.width() >= 260 else 6.0  # a small picture keeps more of its room for the text
        inner = rect.adjusted(pad + 4, 0, -pad - 4, 0).toRect()
        while True:
            mfont.setPointSizeF(size)
            bound = QFontMetrics(mfont).boundingRect(inner, MESSAGE_FLAGS, self._message)
            if size <= 7.0 or bound.height() + 2 * pad <= rect.height():
                break
            size -= 1.0
        box = QRectF(bound).adjusted(-pad, -pad * 0.7, pad, pad * 0.7)
        box.moveCenter(rect.center())
        return mfont, box

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.picture_rect()

        # caption
        font = QFont(self.font())
        font.setBold(True)
        font.setPointSizeF(max(8.0, font.pointSizeF()))
        p.setFont(font)
        p.setPen(theme.TEXT)
        caption_rect = QRectF(rect.left(), rect.top() - self.CAPTION_H + 2, rect.width(), self.CAPTION_H - 6)
        caption = p.fontMetrics().elidedText(self.caption, Qt.TextElideMode.ElideRight, int(rect.width()))
        p.drawText(caption_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, caption)
        room = int(rect.width() - p.fontMetrics().horizontalAdvance(caption) - 12)
        if self.detail and room > 30:
            small = QFont(self.font())
            small.setPointSizeF(max(7.0, small.pointSizeF() - 1.0))
            p.setFont(small)
            p.setPen(theme.TEXT_DIM)
            detail = p.fontMetrics().elidedText(self.detail, Qt.TextElideMode.ElideRight, room)
            p.drawText(caption_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, detail)

        # picture (or an empty well)
        clip = QPainterPath()
        clip.addRoundedRect(rect, 8, 8)
        p.save()
        p.setClipPath(clip)
        p.fillRect(rect, theme.DARKEST)
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            p.drawImage(rect, self._image)
        else:
            p.setPen(QPen(theme.GRID, 1))
            step = rect.width() / 8.0
            for i in range(1, 8):
                p.drawLine(QLineF(rect.left() + i * step, rect.top(), rect.left() + i * step, rect.bottom()))
                p.drawLine(QLineF(rect.left(), rect.top() + i * step, rect.right(), rect.top() + i * step))
        p.restore()
        p.setPen(QPen(theme.GRID_STRONG, 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 8, 8)

        if self._badge:
            bfont = QFont(self.font())
            bfont.setBold(True)
            bfont.setPointSizeF(max(7.0, bfont.pointSizeF() - 1.0))
            p.setFont(bfont)
            w = p.fontMetrics().horizontalAdvance(self._badge) + 16
            badge = QRectF(rect.right() - w - 8, rect.top() + 8, w, 20)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(self._badge_colour)
            p.drawRoundedRect(badge, 10, 10)
            p.setPen(QColor(theme.BACKGROUND))
            p.drawText(badge, Qt.AlignmentFlag.AlignCenter, self._badge)

        if self._message:
            mfont, box = self.message_layout(rect)
            p.setFont(mfont)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.with_alpha(theme.DARKEST, 215))
            p.drawRoundedRect(box, 8, 8)
            p.setPen(theme.TEXT)
            p.drawText(box, MESSAGE_FLAGS, self._message)
        p.end()


class ActionBars(QWidget):
    """Steer (−1…1, centred), gas and brake (0…1) as bars; the colours change while a person drives."""

    ROWS = (("steer", "Steer", -1.0), ("gas", "Gas", 0.0), ("brake", "Brake", 0.0))

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._values = {"steer": 0.0, "gas": 0.0, "brake": 0.0}
        self._human = False
        self.setMinimumSize(170, 96)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(320, 104)

    def set_action(self, action, human: bool | None = None) -> None:
        """Show ``action`` = (steer, gas, brake); ``human`` picks the colours when given."""
        steer, gas, brake = (float(v) for v in np.asarray(action, dtype=np.float64).ravel()[:3])
        self._values = {
            "steer": float(np.clip(steer, -1.0, 1.0)),
            "gas": float(np.clip(gas, 0.0, 1.0)),
            "brake": float(np.clip(brake, 0.0, 1.0)),
        }
        if human is not None:
            self._human = bool(human)
        self.update()

    def set_human(self, human: bool) -> None:
        if bool(human) != self._human:
            self._human = bool(human)
            self.update()

    @property
    def human(self) -> bool:
        return self._human

    def values(self) -> dict[str, float]:
        return dict(self._values)

    def bar_colour(self, name: str) -> QColor:
        """The colour bar ``name`` is painted in now."""
        return (HUMAN_COLOURS if self._human else AGENT_COLOURS)[name]

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        font = QFont(self.font())
        p.setFont(font)
        fm = p.fontMetrics()
        label_w = fm.horizontalAdvance("Brake") + 14
        value_w = fm.horizontalAdvance("−0.00") + 12
        row_h = 26.0
        top = (self.height() - 3 * row_h - 2 * 8) / 2.0
        for i, (name, label, lo) in enumerate(self.ROWS):
            y = top + i * (row_h + 8)
            p.setPen(theme.TEXT_DIM)
            p.drawText(QRectF(0, y, label_w, row_h), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
            track = QRectF(label_w, y + 5, max(20.0, self.width() - label_w - value_w), row_h - 10)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(theme.DARKEST)
            p.drawRoundedRect(track, 6, 6)
            value = self._values[name]
            colour = self.bar_colour(name)
            if lo < 0:  # centred bar
                mid = track.center().x()
                half = track.width() / 2.0
                fill = QRectF(mid, track.top(), value * half, track.height()).normalized()
                p.setBrush(colour)
                if fill.width() > 0.5:
                    p.drawRoundedRect(fill, 5, 5)
                p.setPen(QPen(theme.GRID_STRONG, 1))
                p.drawLine(QLineF(mid, track.top() - 2, mid, track.bottom() + 2))
                p.setPen(Qt.PenStyle.NoPen)
            else:
                fill = QRectF(track.left(), track.top(), value * track.width(), track.height())
                p.setBrush(colour)
                if fill.width() > 0.5:
                    p.drawRoundedRect(fill, 5, 5)
            p.setPen(colour if self._human else theme.TEXT)
            text = f"{value:+.2f}" if lo < 0 else f"{value:.2f}"
            p.drawText(
                QRectF(track.right(), y, value_w, row_h),
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                text.replace("-", "−"),
            )
        p.end()


class StatTile(QFrame):
    """A small read-out: a dim title over a large value."""

    def __init__(self, title: str, value: str = "–", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dreamStat")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(0)
        self.title_label = QLabel(title)
        self.title_label.setObjectName("dreamStatTitle")
        self.value_label = QLabel(value)
        self.value_label.setObjectName("dreamStatValue")
        layout.addWidget(self.title_label)
        layout.addWidget(self.value_label)

    def set_value(self, text: str) -> None:
        self.value_label.setText(text)

    def set_title(self, text: str) -> None:
        self.title_label.setText(text)

    def value(self) -> str:
        return self.value_label.text()
