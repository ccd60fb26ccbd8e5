"""Tempo sync controls: internal tempo / follow an external MIDI clock / send clock as master,
the clock ports and where playback lands on an external grid, with a status line. Self-contained:
:meth:`SyncControls.set_state` takes plain values, the signals emit plain values; the state lives
in :class:`gdl_studio.live.controls_model.SyncModel`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QWidget

from gdl_studio.live.controls_model import ALIGNS, SYNC_MODES
from gdl_studio.ui.widgets.elided_label import ElidedLabel


class SyncControls(QWidget):
    """Signals: ``mode_changed(str)``, ``clock_in_changed(str)``, ``clock_out_changed(str)``,
    ``align_changed(str)``."""

    mode_changed = Signal(str)
    clock_in_changed = Signal(str)
    clock_out_changed = Signal(str)
    align_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._updating = False
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.mode_combo = QComboBox()
        for value, label in SYNC_MODES:
            self.mode_combo.addItem(label, value)
        self.mode_combo.currentIndexChanged.connect(lambda _i: self._emit(self.mode_changed, self.mode_combo))
        form.addRow("Sync", self.mode_combo)
        self.clock_in_combo = QComboBox()
        self.clock_in_combo.currentIndexChanged.connect(
            lambda _i: self._emit(self.clock_in_changed, self.clock_in_combo)
        )
        form.addRow("Clock from", self.clock_in_combo)
        self.clock_out_combo = QComboBox()
        self.clock_out_combo.currentIndexChanged.connect(
            lambda _i: self._emit(self.clock_out_changed, self.clock_out_combo)
        )
        form.addRow("Clock to", self.clock_out_combo)
        self.align_combo = QComboBox()
        for value, label in ALIGNS:
            self.align_combo.addItem(label, value)
        self.align_combo.currentIndexChanged.connect(lambda _i: self._emit(self.align_changed, self.align_combo))
        form.addRow("Start at", self.align_combo)
        self.status_label = ElidedLabel("", elide=Qt.TextElideMode.ElideRight)
        self.status_label.setObjectName("syncStatus")
        form.addRow(self.status_label)

    def _emit(self, signal, combo: QComboBox) -> None:
        if not self._updating:
            signal.emit(combo.currentData() or "")

    @staticmethod
    def _fill(combo: QComboBox, choices: list[tuple[str, str]], current: str) -> None:
        combo.clear()
        for value, label in choices:
            combo.addItem(label, value)
        combo.setCurrentIndex(max(0, combo.findData(current)))

    def set_state(
        self,
        mode: str,
        clock_in: str,
        clock_out: str,
        align: str,
        inputs: list[tuple[str, str]],
        outputs: list[tuple[str, str]],
        status: str = "",
    ) -> None:
        """Show plain values (``inputs``/``outputs``: ``(value, label)`` port choices) silently."""
        self._updating = True
        try:
            self.mode_combo.setCurrentIndex(max(0, self.mode_combo.findData(mode)))
            self._fill(self.clock_in_combo, inputs, clock_in)
            self._fill(self.clock_out_combo, outputs, clock_out)
            self.align_combo.setCurrentIndex(max(0, self.align_combo.findData(align)))
            self.clock_in_combo.setEnabled(mode == "follow")
            self.align_combo.setEnabled(mode == "follow")
            self.clock_out_combo.setEnabled(mode == "master")
            self.status_label.setText(status)
        finally:
            self._updating = False

    def set_status(self, status: str) -> None:
        self.status_label.setText(status)
