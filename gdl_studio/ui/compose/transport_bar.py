"""The Compose panel's control bar: groups of controls that wrap onto more lines in a narrow
window — transport and tempo, edit tools and snap, record and jam, MIDI/audio out and in.

Only widgets: the panel connects them (:mod:`gdl_studio.ui.compose.panel`). A new group (an
instrument, sync, a Fill button) is added with :meth:`ComposeBar.add_group`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QButtonGroup, QComboBox, QDoubleSpinBox, QFrame, QLabel, QToolButton, QWidget

from gdl_studio.ui.compose import glyphs
from gdl_studio.ui.compose.drag_out import DragOutButton
from gdl_studio.ui.widgets.flow import FlowLayout, group, separator

SNAPS = (
    ("Off", 0.0),
    ("1 bar", -1.0),
    ("1/2", 2.0),
    ("1/4", 1.0),
    ("1/8", 0.5),
    ("1/8 triplet", 1 / 3),
    ("1/16", 0.25),
    ("1/16 triplet", 1 / 6),
    ("1/32", 0.125),
)
RECORD_QUANTISE = (("No quantise", 0.0), ("Quantise 1/8", 0.5), ("Quantise 1/16", 0.25), ("Quantise 1/8T", 1 / 3))


def tool_button(icon, tip: str, checkable: bool = False, text: str = "") -> QToolButton:
    button = QToolButton()
    button.setIcon(icon)
    button.setToolTip(tip)
    button.setCheckable(checkable)
    if text:
        button.setText(text)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    return button


class ComposeBar(QFrame):
    """The bar above the roll (see the module docstring); its controls are attributes."""

    def __init__(self, export_for_drag: Callable[[], Path | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composeBar")
        self.flow = FlowLayout(self, margin=5, spacing=6)

        self.tool_select = tool_button(glyphs.pointer(), "Select and move (S)", checkable=True)
        self.tool_draw = tool_button(glyphs.pencil(), "Draw notes (D); right-click deletes", checkable=True)
        self.tool_group = QButtonGroup(self)
        self.tool_group.addButton(self.tool_select)
        self.tool_group.addButton(self.tool_draw)
        self.tool_select.setChecked(True)
        self.snap_combo = QComboBox()
        for label, value in SNAPS:
            self.snap_combo.addItem(label, value)
        self.snap_combo.setToolTip("Snap notes to this grid while editing")
        self.zoom_out_button, self.zoom_in_button, self.fit_button = (
            self._text_button(text, tip)
            for text, tip in (
                ("−", "Zoom out (Ctrl+wheel)"),
                ("+", "Zoom in (Ctrl+wheel)"),
                ("Fit", "Show the whole piece"),
            )
        )
        self.quantise_button = self._text_button("Quantise", "Snap the selected notes (or all) to the grid (Q)")

        self.rewind_button = tool_button(glyphs.rewind(), "Back to the start (Home)")
        self.play_button = tool_button(glyphs.play(), "Play / stop (Space)", checkable=True)
        self.stop_button = tool_button(glyphs.stop(), "Stop: all notes off")
        self.loop_button = tool_button(glyphs.loop(), "Loop the region (drag in the ruler to set it)", checkable=True)
        self.tempo_spin = QDoubleSpinBox()
        self.tempo_spin.setRange(20.0, 300.0)
        self.tempo_spin.setDecimals(1)
        self.tempo_spin.setSuffix(" BPM")
        self.tempo_spin.setKeyboardTracking(False)
        self.position_label = QLabel("  1 · 1  ")
        self.position_label.setObjectName("composePosition")
        self.position_label.setMinimumWidth(80)
        self.position_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.record_button = tool_button(glyphs.record(), "Record from the MIDI input", checkable=True, text="Rec")
        self.record_quantise = QComboBox()
        for label, value in RECORD_QUANTISE:
            self.record_quantise.addItem(label, value)
        self.jam_button = tool_button(
            glyphs.jam(), "Jam: play, pause, and the model answers", checkable=True, text="Jam"
        )
        self.jam_silence = QDoubleSpinBox()
        self.jam_silence.setRange(0.5, 16.0)
        self.jam_silence.setSingleStep(0.5)
        self.jam_silence.setDecimals(1)
        self.jam_silence.setSuffix(" beats")
        self.jam_silence.setToolTip("Silence after which the model answers")
        self.jam_state = QLabel("")
        self.jam_state.setObjectName("composeJamState")
        self.jam_state.setMinimumWidth(80)

        self.out_combo = QComboBox()
        self.out_combo.setMinimumWidth(150)
        self.out_combo.setToolTip("Where notes play: a MIDI port, the virtual port, or the built-in synth")
        self.in_combo = QComboBox()
        self.in_combo.setMinimumWidth(130)
        self.in_combo.setToolTip("MIDI input for recording and jam mode")
        self.panic_button = tool_button(glyphs.panic(), "Panic: all notes off on every channel", text="Panic")
        self.drag_button = DragOutButton(export_for_drag, self)

        for widget in (
            group(self.rewind_button, self.play_button, self.stop_button, self.loop_button),
            group(QLabel("Tempo"), self.tempo_spin, self.position_label),
            separator(),
            group(self.tool_select, self.tool_draw),
            group(QLabel("Snap"), self.snap_combo),
            group(self.zoom_out_button, self.zoom_in_button, self.fit_button, self.quantise_button),
            separator(),
            group(self.record_button, self.record_quantise),
            group(self.jam_button, QLabel("after"), self.jam_silence, self.jam_state),
            separator(),
            group(QLabel("Out"), self.out_combo),
            group(QLabel("In"), self.in_combo),
            group(self.panic_button, self.drag_button),
        ):
            self.flow.addWidget(widget)

    @staticmethod
    def _text_button(text: str, tip: str) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        return button

    def add_group(self, *widgets: QWidget, separated: bool = True) -> QWidget:
        """Add a group of controls at the end of the bar (after a separator)."""
        if separated:
            self.flow.addWidget(separator())
        box = group(*widgets)
        self.flow.addWidget(box)
        return box

    def set_jam_state(self, text: str, answering: bool) -> None:
        self.jam_state.setText(text)
        self.jam_state.setProperty("answering", "true" if answering else "false")
        self.jam_state.style().unpolish(self.jam_state)
        self.jam_state.style().polish(self.jam_state)
