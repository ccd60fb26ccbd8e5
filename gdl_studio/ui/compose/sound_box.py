"""The Compose panel's side-column groups for the built-in output's sound and tempo sync:
"Sound" (:class:`~gdl_studio.ui.widgets.instrument_controls.InstrumentControls`: GM or additive,
the SoundFont, a preset, a GM program per track, the fallback message) and "Tempo sync"
(:class:`~gdl_studio.ui.widgets.sync_controls.SyncControls`).

Only widgets: :mod:`gdl_studio.ui.compose.sound_io` wires them; their state is the session's
view-models (:class:`~gdl_studio.live.controls_model.InstrumentModel`, ``SyncModel``).
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QGroupBox, QVBoxLayout, QWidget

from gdl_studio.ui.widgets.instrument_controls import InstrumentControls
from gdl_studio.ui.widgets.sync_controls import SyncControls

TRACKS_SHOWN = 4  # programs for the first tracks (a chorale's four voices); the rest keep theirs


def _narrow(widget: QWidget, chars: int = 14) -> None:
    """Combos as narrow as ``chars`` characters: a long program or port name never widens the column."""
    for combo in widget.findChildren(QComboBox):
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(chars)


class SoundBox(QGroupBox):
    """ "Sound": the instrument of the built-in synth output (and of File → Export audio…)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Sound (built-in synth and audio export)", parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 8, 6, 6)
        self.controls = InstrumentControls(tracks=TRACKS_SHOWN)
        _narrow(self.controls)
        layout.addWidget(self.controls)


class SyncBox(QGroupBox):
    """ "Tempo sync": internal tempo, follow an external MIDI clock, or send one."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Tempo sync", parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 8, 6, 6)
        self.controls = SyncControls()
        _narrow(self.controls)
        layout.addWidget(self.controls)
