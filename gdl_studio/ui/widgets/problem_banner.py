"""The problem banner: what is wrong with a model or a panel, said once above the panel's work."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class ProblemBanner(QFrame):
    """A red box with a wrapped, selectable message and, optionally, one action button.

    Hidden while there is no problem: ``set_problem(text)`` shows ``text`` (rich text unless
    ``plain``), ``set_problem("")`` hides the banner. ``text()`` is the message shown. The
    colours are the theme's ``PROBLEM*`` (``QFrame#problemBanner`` in resources/style.qss).
    Used by the Sketch panel (its model cannot be loaded) and the main window (a panel whose
    code failed to load).
    """

    action_clicked = Signal()

    def __init__(self, parent: QWidget | None = None, action: str = "") -> None:
        super().__init__(parent)
        self.setObjectName("problemBanner")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.setSpacing(6)
        self.label = QLabel("", self)
        self.label.setObjectName("problemText")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.action_button: QPushButton | None = None
        if action:
            self.action_button = QPushButton(action, self)
            self.action_button.clicked.connect(self.action_clicked)
            layout.addWidget(self.action_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.hide()

    def set_problem(self, text: str, plain: bool = False) -> None:
        """Show ``text`` (hide the banner when it is empty)."""
        self.label.setTextFormat(Qt.TextFormat.PlainText if plain else Qt.TextFormat.AutoText)
        self.label.setText(text)
        self.setVisible(bool(text))

    def text(self) -> str:
        """The message shown ('' when there is no problem)."""
        return self.label.text()
