"""The Sketch panel's side column: the model group (the shared model picker, temperature, strokes,
seed), Generate (Extend, Dream up, Accept, Reject), Endings, and My set. Only widgets; the
panel (:mod:`gdl_studio.ui.sketch.panel`) connects them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gdl_studio.ui.sketch.endings import EndingsView
from gdl_studio.ui.widgets.model_picker import ModelPicker

TEMPERATURE_STEP = 0.05
TEMPERATURE_MAX = 1.5
ENDINGS_HINT = "Several continuations appear here side by side; click one to keep it."


class SketchSide(QScrollArea):
    """The side column, scrollable when the window is short; its controls are attributes."""

    def __init__(self, picker: ModelPicker, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        side = QFrame()
        side.setObjectName("sketchSide")
        col = QVBoxLayout(side)
        col.setContentsMargins(0, 0, 4, 0)
        col.setSpacing(10)

        model_box = QGroupBox("Model")
        form = QFormLayout(model_box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(10)
        picker.combo.setToolTip(
            "VRNN-GMM: variational RNN (Chung et al. 2015); RNN-GMM: the plain baseline; ★: your fine-tuned models"
        )
        form.addRow("Network", picker.combo)
        temp_row = QHBoxLayout()
        self.temperature_slider = QSlider(Qt.Orientation.Horizontal)
        self.temperature_slider.setRange(1, round(TEMPERATURE_MAX / TEMPERATURE_STEP))
        self.temperature_slider.setToolTip(
            "Low: tidy and predictable. High: wild. (Scales the mixture weights and spreads.)"
        )
        self.temperature_label = QLabel("")
        self.temperature_label.setObjectName("sketchTemperature")
        temp_row.addWidget(self.temperature_slider, 1)
        temp_row.addWidget(self.temperature_label)
        form.addRow("Temperature", temp_row)
        self.strokes_spin = QSpinBox()
        self.strokes_spin.setRange(1, 20)
        self.strokes_spin.setValue(3)
        self.strokes_spin.setToolTip("How many strokes Extend and Endings add")
        form.addRow("Strokes to add", self.strokes_spin)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 999_999)
        self.seed_spin.setSpecialValueText("random")
        self.seed_spin.setToolTip("Same seed, same drawing. 'random' picks a new one each time.")
        form.addRow("Seed", self.seed_spin)
        col.addWidget(model_box)

        gen_box = QGroupBox("Generate")
        g = QVBoxLayout(gen_box)
        g.setSpacing(6)
        self.extend_button = QPushButton("Extend")
        self.extend_button.setObjectName("primary")
        self.extend_button.setToolTip("Continue what is drawn (E)")
        self.dream_button = QPushButton("Dream up a character")
        self.dream_button.setToolTip("Draw a new character from scratch (D)")
        row = QHBoxLayout()
        self.accept_button = QPushButton("✓ Accept")
        self.accept_button.setObjectName("accept")
        self.accept_button.setToolTip("Keep the suggestion (Enter)")
        self.reject_button = QPushButton("✗ Reject")
        self.reject_button.setObjectName("reject")
        self.reject_button.setToolTip("Throw the suggestion away (Esc)")
        row.addWidget(self.accept_button)
        row.addWidget(self.reject_button)
        g.addWidget(self.extend_button)
        g.addWidget(self.dream_button)
        g.addLayout(row)
        col.addWidget(gen_box)

        end_box = QGroupBox("Endings")
        e = QVBoxLayout(end_box)
        e.setSpacing(6)
        row = QHBoxLayout()
        self.endings_button = QPushButton("Show endings")
        self.endings_button.setToolTip("Draw several different continuations to choose from (N)")
        self.endings_spin = QSpinBox()
        self.endings_spin.setRange(2, 8)
        self.endings_spin.setSuffix(" endings")
        row.addWidget(self.endings_button, 1)
        row.addWidget(self.endings_spin)
        e.addLayout(row)
        self.endings = EndingsView()
        e.addWidget(self.endings)
        self.endings_hint = QLabel(ENDINGS_HINT)
        self.endings_hint.setObjectName("sketchEndingsHint")
        self.endings_hint.setWordWrap(True)
        e.addWidget(self.endings_hint)
        col.addWidget(end_box)

        set_box = QGroupBox("My set")
        m = QVBoxLayout(set_box)
        m.setSpacing(6)
        self.add_to_set_button = QPushButton("Add to my set")
        self.add_to_set_button.setToolTip("Keep this drawing in your personal set, to fine-tune a model on your hand")
        self.import_set_button = QPushButton("Import SVGs to my set…")
        self.import_set_button.setToolTip("Copy SVG drawings into your personal set")
        self.set_label = QLabel("")
        self.set_label.setObjectName("sketchInfo")
        self.set_label.setWordWrap(True)
        self.finetune_button = QPushButton("Fine-tune on my set…")
        m.addWidget(self.add_to_set_button)
        m.addWidget(self.import_set_button)
        m.addWidget(self.set_label)
        m.addWidget(self.finetune_button)
        col.addWidget(set_box)
        col.addStretch(1)

        self.setObjectName("sketchSideScroll")
        self.setWidget(side)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setMinimumWidth(250)
        self.setMaximumWidth(318)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
