"""Instrument controls for the built-in output: GM (FluidSynth) or additive, the SoundFont and a
GM program per track. Self-contained: :meth:`InstrumentControls.set_state` takes plain values,
the signals emit plain values; the state lives in
:class:`gdl_studio.live.controls_model.InstrumentModel`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QFormLayout, QHBoxLayout, QPushButton, QWidget

from gdl_studio.live.controls_model import INSTRUMENTS, InstrumentModel
from gdl_studio.ui.widgets.elided_label import ElidedLabel


class InstrumentControls(QWidget):
    """Instrument, SoundFont, preset and program-per-track pickers.

    Signals: ``instrument_changed(str)`` ("gm"/"additive"), ``soundfont_chosen(str)`` (a path,
    '' = automatic), ``program_changed(int track, int program)``, ``preset_chosen(str)``.
    """

    instrument_changed = Signal(str)
    soundfont_chosen = Signal(str)
    program_changed = Signal(int, int)
    preset_chosen = Signal(str)

    def __init__(self, tracks: int = 4, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._updating = False
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.instrument_combo = QComboBox()
        for value, label in INSTRUMENTS:
            self.instrument_combo.addItem(label, value)
        self.instrument_combo.currentIndexChanged.connect(self._on_instrument)
        form.addRow("Instrument", self.instrument_combo)
        row = QHBoxLayout()
        self.soundfont_label = ElidedLabel("—", min_width=60)
        self.soundfont_label.setObjectName("soundfontLabel")
        self.browse_button = QPushButton("Choose…")
        self.browse_button.setToolTip("Choose a .sf2 or .sf3 SoundFont")
        self.browse_button.clicked.connect(self._browse)
        self.auto_button = QPushButton("Auto")
        self.auto_button.setToolTip("Use the General MIDI SoundFont found on this computer")
        self.auto_button.clicked.connect(lambda: self.soundfont_chosen.emit(""))
        row.addWidget(self.soundfont_label, 1)
        row.addWidget(self.browse_button)
        row.addWidget(self.auto_button)
        form.addRow("SoundFont", row)
        self.preset_combo = QComboBox()
        self.preset_combo.addItem("Choose a preset…", "")
        for value, label in InstrumentModel.preset_choices():
            self.preset_combo.addItem(label, value)
        self.preset_combo.activated.connect(self._on_preset)
        form.addRow("Preset", self.preset_combo)
        self.program_combos: list[QComboBox] = []
        choices = InstrumentModel.program_choices()
        for track in range(tracks):
            combo = QComboBox()
            for program, label in choices:
                combo.addItem(label, program)
            combo.currentIndexChanged.connect(lambda _i, t=track: self._on_program(t))
            self.program_combos.append(combo)
            form.addRow(f"Track {track + 1}", combo)
        self.message_label = ElidedLabel("", elide=Qt.TextElideMode.ElideRight)  # the whole text is its tool tip
        self.message_label.setObjectName("instrumentMessage")
        form.addRow(self.message_label)

    def set_state(self, instrument: str, soundfont_label: str, programs: list[int], message: str = "") -> None:
        """Show plain values without emitting signals."""
        self._updating = True
        try:
            idx = self.instrument_combo.findData(instrument)
            self.instrument_combo.setCurrentIndex(max(0, idx))
            self.soundfont_label.setText(soundfont_label)
            for track, combo in enumerate(self.program_combos):
                if track < len(programs):
                    combo.setCurrentIndex(max(0, combo.findData(int(programs[track]))))
            gm = instrument == "gm"
            for w in (self.browse_button, self.auto_button, self.preset_combo, *self.program_combos):
                w.setEnabled(gm)
            self.message_label.setText(message)
        finally:
            self._updating = False

    def _on_instrument(self) -> None:
        if not self._updating:
            self.instrument_changed.emit(self.instrument_combo.currentData())

    def _on_program(self, track: int) -> None:
        if not self._updating:
            self.program_changed.emit(track, int(self.program_combos[track].currentData()))

    def _on_preset(self) -> None:
        value = self.preset_combo.currentData()
        self.preset_combo.setCurrentIndex(0)
        if value:
            self.preset_chosen.emit(value)

    def set_message(self, message: str) -> None:
        self.message_label.setText(message)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a SoundFont", "", "SoundFonts (*.sf2 *.sf3);;All files (*)")
        if path:
            self.soundfont_chosen.emit(path)
