"""A one-line label that shortens its text with "…" instead of widening the window."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QStyle, QWidget


class ElidedLabel(QLabel):
    """A plain-text label whose minimum width does not depend on its text.

    A long status line (a path, an audio error) is drawn shortened with "…" (the whole text is
    the tool tip), so no message can make the window's minimum width grow. ``text()`` is the
    full text.
    """

    def __init__(
        self,
        text: str = "",
        parent: QWidget | None = None,
        min_width: int = 40,
        elide: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle,
    ) -> None:
        super().__init__(text, parent)
        self._min_width = min_width
        self._elide = elide
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming)
        super().setText(text)
        self.setToolTip(text if len(text) > 40 else "")

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self._min_width), hint.height())

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        """Draw as QLabel does (same place, same style), the text shortened to fit."""
        painter = QPainter(self)
        m = self.margin()
        rect = self.contentsRect().adjusted(m, m, -m, -m)
        align = QStyle.visualAlignment(self.layoutDirection(), self.alignment())
        indent = self.indent()
        if indent < 0 and self.frameWidth():  # QLabel's default indent inside a frame
            indent = self.fontMetrics().horizontalAdvance("x") // 2 - m
        if indent > 0:
            if align & Qt.AlignmentFlag.AlignLeft:
                rect.setLeft(rect.left() + indent)
            elif align & Qt.AlignmentFlag.AlignRight:
                rect.setRight(rect.right() - indent)
        text = self.fontMetrics().elidedText(self.text(), self._elide, rect.width())
        self.style().drawItemText(
            painter, rect, int(align), self.palette(), self.isEnabled(), text, self.foregroundRole()
        )
