"""The Fill row of the "Continue with a model" group: "Bars [A] to [B] [Fill]".

Only widgets; :mod:`gdl_studio.ui.compose.continuation` acts on them (the gap's checks and
state are in :mod:`gdl_studio.ui.compose.session`)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from gdl_studio.ui.compose import glyphs


class FillRow(QWidget):
    """Bars A (first bar of the gap) to B (the bar the gap ends before, kept) and the Fill button."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.start_spin = QSpinBox()
        self.start_spin.setRange(1, 9999)
        self.start_spin.setValue(3)
        self.start_spin.setToolTip("The first bar of the gap")
        self.end_spin = QSpinBox()
        self.end_spin.setRange(1, 9999)
        self.end_spin.setValue(5)
        self.end_spin.setToolTip("The gap ends where this bar starts (bar B itself is kept)")
        self.fill_button = QPushButton(glyphs.sparkle(), " Fill")
        self.fill_button.setObjectName("fillButton")
        row.addWidget(QLabel("Bars"))
        row.addWidget(self.start_spin)
        row.addWidget(QLabel("to"))
        row.addWidget(self.end_spin)
        row.addStretch(1)
        row.addWidget(self.fill_button)

    def bars(self) -> tuple[int, int]:
        """``(A, B)`` as shown: bars counted from 1, B not included."""
        return self.start_spin.value(), self.end_spin.value()

    def set_bars(self, start: int, end: int) -> None:
        self.start_spin.setValue(start)
        self.end_spin.setValue(end)
