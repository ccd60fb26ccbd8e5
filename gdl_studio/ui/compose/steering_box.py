"""The "Steer" group: key/scale lock, chords per bar (typed, or taken from the music), pitch
range, notes per beat and maximum voices, for continue, fill and jam.

Only widgets, showing and editing a :class:`~gdl_studio.ui.compose.steering_model.SteeringModel`
(the values and the constraints they make live there); :func:`load_steering` /
:func:`save_steering` keep them in the settings (``Key.COMPOSE_STEER_*``)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from gdl_studio.ui.compose.steering_model import MODES, TONICS, SteeringModel
from gdl_studio.ui.settings import Key, Settings


class SteeringBox(QGroupBox):
    """Checkable: unchecked, nothing steers. ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Steer (every generated note obeys)", parent)
        self.setCheckable(True)
        self.setChecked(False)
        self.setToolTip("Constrained sampling for Continue, Fill and Jam: the model only picks notes that obey these")
        form = QFormLayout(self)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        key_row = QHBoxLayout()
        self.tonic_combo = QComboBox()
        self.tonic_combo.addItem("any key", "")
        for name in TONICS:
            self.tonic_combo.addItem(name, name)
        self.mode_combo = QComboBox()
        for mode in MODES:
            self.mode_combo.addItem(mode, mode)
        key_row.addWidget(self.tonic_combo)
        key_row.addWidget(self.mode_combo, 1)
        form.addRow("Key", key_row)
        self.chords_edit = QLineEdit()
        self.chords_edit.setPlaceholderText("one per bar: C G Am F")
        self.chords_edit.setToolTip(
            "Chord symbols, one per bar from the first generated bar (repeating); "
            "'-' leaves a bar free. E.g. C G7 Am F, Dm7 G7 Cmaj7, C/E"
        )
        form.addRow("Chords", self.chords_edit)
        self.chords_button = QPushButton("From primer")
        self.chords_button.setToolTip(
            "Take the chords from the music: the bars picked in the ruler, "
            "or else the last 4 bars before the continuation point"
        )
        chord_row = QHBoxLayout()
        chord_row.addWidget(self.chords_button)
        chord_row.addStretch(1)
        form.addRow("", chord_row)
        self.range_edit = QLineEdit()
        self.range_edit.setPlaceholderText("any (e.g. C3:C6)")
        self.range_edit.setToolTip("Lowest and highest pitch, inclusive: C3:C6 or 48:84")
        form.addRow("Range", self.range_edit)
        self.density_spin = QDoubleSpinBox()
        self.density_spin.setRange(0.0, 8.0)
        self.density_spin.setSingleStep(0.25)
        self.density_spin.setDecimals(2)
        self.density_spin.setSpecialValueText("any")
        self.density_spin.setToolTip("At most this many notes start per beat (0.5: one every two beats)")
        form.addRow("Notes/beat", self.density_spin)
        self.voices_spin = QSpinBox()
        self.voices_spin.setRange(0, 16)
        self.voices_spin.setSpecialValueText("any")
        self.voices_spin.setToolTip("At most this many notes sound at once (counting the notes around them)")
        form.addRow("Max voices", self.voices_spin)
        self.form = form
        self._mute = False
        for signal in (
            self.toggled,
            self.tonic_combo.currentIndexChanged,
            self.mode_combo.currentIndexChanged,
            self.chords_edit.textChanged,
            self.range_edit.textChanged,
            self.density_spin.valueChanged,
            self.voices_spin.valueChanged,
        ):
            signal.connect(self._emit)

    def _emit(self, *_args) -> None:
        self.mode_combo.setEnabled(bool(self.tonic_combo.currentData()))
        if not self._mute:
            self.changed.emit()

    def model(self) -> SteeringModel:
        """The values shown."""
        return SteeringModel(
            enabled=self.isChecked(),
            tonic=str(self.tonic_combo.currentData() or ""),
            mode=str(self.mode_combo.currentData() or "major"),
            chords=self.chords_edit.text(),
            pitch_range=self.range_edit.text(),
            density=float(self.density_spin.value()),
            voices=int(self.voices_spin.value()),
        )

    def set_model(self, m: SteeringModel) -> None:
        """Show ``m`` (one ``changed`` at the end)."""
        self._mute = True
        try:
            self.setChecked(m.enabled)
            self.tonic_combo.setCurrentIndex(max(0, self.tonic_combo.findData(m.tonic)))
            self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(m.mode)))
            self.chords_edit.setText(m.chords)
            self.range_edit.setText(m.pitch_range)
            self.density_spin.setValue(m.density)
            self.voices_spin.setValue(m.voices)
        finally:
            self._mute = False
        self._emit()


def load_steering(settings: Settings) -> SteeringModel:
    """The steering values kept in the settings (an unknown tonic or mode counts as none)."""
    tonic = str(settings.get(Key.COMPOSE_STEER_TONIC))
    mode = str(settings.get(Key.COMPOSE_STEER_MODE))
    return SteeringModel(
        enabled=bool(settings.get(Key.COMPOSE_STEER_ON)),
        tonic=tonic if tonic in TONICS else "",
        mode=mode if mode in MODES else "major",
        chords=str(settings.get(Key.COMPOSE_STEER_CHORDS)),
        pitch_range=str(settings.get(Key.COMPOSE_STEER_RANGE)),
        density=max(0.0, float(settings.get(Key.COMPOSE_STEER_DENSITY))),
        voices=max(0, int(settings.get(Key.COMPOSE_STEER_VOICES))),
    )


def save_steering(settings: Settings, m: SteeringModel) -> None:
    for key, value in (
        (Key.COMPOSE_STEER_ON, m.enabled),
        (Key.COMPOSE_STEER_TONIC, m.tonic),
        (Key.COMPOSE_STEER_MODE, m.mode),
        (Key.COMPOSE_STEER_CHORDS, m.chords),
        (Key.COMPOSE_STEER_RANGE, m.pitch_range),
        (Key.COMPOSE_STEER_DENSITY, m.density),
        (Key.COMPOSE_STEER_VOICES, m.voices),
    ):
        settings.set(key, value)
