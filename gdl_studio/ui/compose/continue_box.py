"""The "Continue with a model" group: the model picker, temperature, length, audition, the
Continue button, the Fill row (:mod:`~gdl_studio.ui.compose.fill_row`), Accept / Reject /
Regenerate (for a continuation or a fill), and the progress and model status lines."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QWidget,
)

from gdl_studio.ui.compose import glyphs
from gdl_studio.ui.compose.fill_row import FillRow
from gdl_studio.ui.widgets.model_picker import ModelPicker


class WrappingLabel(QLabel):
    """A word-wrapped label that asks for the height its text needs at its width (the layouts of a
    scroll area's widget do not, so a long message was cut off)."""

    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt naming)
        super().setText(text)
        self._fit()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        h = self.heightForWidth(max(self.width(), 1)) if self.text() else 0
        if h >= 0 and h != self.minimumHeight():
            self.setMinimumHeight(h)


# the Quality choices: label, the model's transposition views (-1: the model's own setting)
QUALITY = (
    ("Balanced (the model's setting)", -1),
    ("Fastest (the network alone)", 0),
    ("Best (13 views, slower)", 6),
)
QUALITY_TIP = (
    "Each note comes from the model's predictions for the music as written and transposed by a "
    "few intervals, averaged. More views are a little better and slower: Balanced is the views "
    "chosen in the model's card, which kept a note within 5 ms on one core of the project's 2-core "
    "test machine; Best (every transposition up to 6 semitones each way) took up to about 3x as "
    "long per note there"
)


class ContinueBox(QGroupBox):
    """Only widgets; :mod:`gdl_studio.ui.compose.panel` connects them. ``picker`` is the panel's
    :class:`~gdl_studio.ui.widgets.model_picker.ModelPicker`."""

    def __init__(self, picker: ModelPicker, parent: QWidget | None = None) -> None:
        super().__init__("Continue with a model", parent)
        self.picker = picker
        form = QFormLayout(self)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Model", picker.row())
        temp_row = QHBoxLayout()
        self.temp_slider = QSlider(Qt.Orientation.Horizontal)
        self.temp_slider.setRange(5, 200)
        self.temp_spin = QDoubleSpinBox()
        self.temp_spin.setRange(0.05, 2.0)
        self.temp_spin.setSingleStep(0.05)
        self.temp_spin.setDecimals(2)
        temp_row.addWidget(self.temp_slider, 1)
        temp_row.addWidget(self.temp_spin)
        form.addRow("Temperature", temp_row)
        self.length_spin = QSpinBox()
        self.length_spin.setRange(1, 512)
        self.length_spin.setSuffix(" notes")
        form.addRow("Length", self.length_spin)
        self.quality_combo = QComboBox()
        for label, views in QUALITY:
            self.quality_combo.addItem(label, views)
        self.quality_combo.setToolTip(QUALITY_TIP)
        form.addRow("Quality", self.quality_combo)
        self.audition_check = QCheckBox("Play notes as they arrive")
        form.addRow("", self.audition_check)
        self.continue_button = QPushButton(glyphs.sparkle(), " Continue")
        self.continue_button.setObjectName("primary")
        self.continue_button.setToolTip("Continue from the end of the selection, or of the piece (Ctrl+Enter)")
        form.addRow(self.continue_button)
        self.fill_row = FillRow()
        self.fill_button = self.fill_row.fill_button
        form.addRow(self.fill_row)
        row = QHBoxLayout()
        self.accept_button = QPushButton("Accept")
        self.accept_button.setToolTip("Keep the generated notes (one undo step)")
        self.reject_button = QPushButton("Reject")
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setToolTip("Another variation from the same primer (or of the same gap)")
        for b in (self.accept_button, self.reject_button, self.regenerate_button):
            row.addWidget(b)
        form.addRow(row)
        self.progress_label = WrappingLabel("")
        self.progress_label.setObjectName("composeProgress")
        form.addRow(self.progress_label)
        assert picker.status_label is not None  # the Compose picker is made with its status line (status=True)
        form.addRow(picker.status_label)
        self.form = form
