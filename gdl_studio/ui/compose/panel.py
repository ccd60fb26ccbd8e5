"""The Compose panel: a piano roll, streaming continuations with their attention, live MIDI
out and in, an audio preview and jam mode (call and response)."""

from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDrag, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gdl_studio.core.errors import UserError
from gdl_studio.jobs import compose as composers
from gdl_studio.live.jam import ANSWERING, LISTENING, JamNote
from gdl_studio.live.session import NO_INPUT, SYNTH, VIRTUAL
from gdl_studio.music.notes import GenerationStep, Note
from gdl_studio.ui.compose import glyphs
from gdl_studio.ui.compose.attention import AttentionView
from gdl_studio.ui.compose.commands import AddNotes, SetTempo
from gdl_studio.ui.compose.document import RollDocument
from gdl_studio.ui.widgets.elided_label import ElidedLabel
from gdl_studio.ui.widgets.flow import FlowLayout, group, separator
from gdl_studio.ui.compose.live_controller import LiveController
from gdl_studio.ui.compose.pianoroll import PianoRoll, pitch_name
from gdl_studio.ui.panel import Panel
from gdl_studio.ui.settings import Key

MIDI_FILTER = "MIDI files (*.mid *.midi)"
MAX_PRIMER_NOTES = 400
SNAPS = (("Off", 0.0), ("1 bar", -1.0), ("1/2", 2.0), ("1/4", 1.0), ("1/8", 0.5), ("1/8 triplet", 1 / 3),
         ("1/16", 0.25), ("1/16 triplet", 1 / 6), ("1/32", 0.125))
RECORD_QUANTISE = (("No quantise", 0.0), ("Quantise 1/8", 0.5), ("Quantise 1/16", 0.25), ("Quantise 1/8T", 1 / 3))


@dataclass
class Generation:
    """One continuation: its primer (document ids and notes) and the steps generated so far."""

    model: str
    request_id: int
    primer_ids: list[int]
    primer_notes: list[Note]
    cut: float
    seed: int
    steps: list[GenerationStep] = field(default_factory=list)
    accepted_ids: list[int] | None = None
    running: bool = True
    started: float = field(default_factory=time.perf_counter)

    def key_for(self, index: int) -> tuple[str, int] | None:
        """Roll key of note ``index`` of primer + generated."""
        n = len(self.primer_ids)
        if index < n:
            return ("doc", self.primer_ids[index])
        k = index - n
        if self.accepted_ids is not None:
            return ("doc", self.accepted_ids[k]) if k < len(self.accepted_ids) else None
        return ("pending", k) if k < len(self.steps) else None


class DragOutButton(QToolButton):
    """Drag this into a DAW or file manager: the piece as a .mid file."""

    def __init__(self, panel: "ComposePanel") -> None:
        super().__init__(panel)
        self.panel = panel
        self._press: QPoint | None = None
        self.setText("Drag .mid")
        self.setIcon(glyphs.midi_file())
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setToolTip("Drag the piece (with a pending continuation) out as a MIDI file, e.g. into a DAW")

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is None or (event.position().toPoint() - self._press).manhattanLength() < 6:
            return
        self._press = None
        path = self.panel.export_for_drag()
        if path is None:
            return
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(self.icon().pixmap(32, 32))
        drag.exec(Qt.DropAction.CopyAction)
        self.setDown(False)


class ComposePanel(Panel):
    """Piano roll + continuation + attention + live MIDI/audio + jam."""

    panel_id = "compose"
    title = "Compose"
    icon_name = "compose"

    #: the musician asked to fine-tune a model on their MIDI (argument: the family, "music")
    finetune_requested = Signal(str)

    def __init__(self, engine, settings, parent: QWidget | None = None) -> None:
        super().__init__(engine, settings, parent)
        self.doc = RollDocument(self)
        self.live = LiveController(self)
        self.gen: Generation | None = None
        self._recording = False
        self._jamming = False
        self._last_status = ""
        self._usable_cache: tuple[str, bool] = ("", False)
        self._user_picked = False
        self._build()
        self._connect()
        self._restore()
        self._timer = QTimer(self)
        self._timer.setInterval(33)
        self._timer.timeout.connect(self._tick)
        self._incoming: list[GenerationStep] = []
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(33)
        self._flush_timer.timeout.connect(self._flush_results)
        self._attention_backlog: list[GenerationStep] = []
        self._attention_timer = QTimer(self)
        self._attention_timer.setSingleShot(True)
        self._attention_timer.setInterval(160)
        self._attention_timer.timeout.connect(self._flush_attention)
        self._fill_ports()
        self._update_model_status()
        self._update_buttons()
        QTimer.singleShot(400, self, self._probe_audio)

    def _probe_audio(self) -> None:
        """Say early whether the built-in synth can be heard (the stream opens on first use)."""
        session = self.live.session
        if session.output_choice == SYNTH and not session.audio.ok and not session.audio_message:
            session.audio_message = session.audio.probe()
            self._update_io_status()

    # ================================================================ construction
    def _build(self) -> None:
        self.content.setStyleSheet(
            "QPushButton#primary:disabled { background-color: #34305a; border-color: #403a6e; color: #8c88b0; }"
            "")
        root = QVBoxLayout(self.content)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        # --- the controls: groups that wrap onto more lines in a narrow window
        bar = QFrame(self.content)
        bar.setObjectName("composeBar")
        bar.setStyleSheet("QFrame#composeBar { background-color: #1a1b22; border-bottom: 1px solid #2b2d38; }")
        flow = FlowLayout(bar, margin=5, spacing=6)

        self.tool_select = self._tool_button(glyphs.pointer(), "Select and move (S)", checkable=True)
        self.tool_draw = self._tool_button(glyphs.pencil(), "Draw notes (D); right-click deletes", checkable=True)
        self.tool_group = QButtonGroup(self)
        self.tool_group.addButton(self.tool_select)
        self.tool_group.addButton(self.tool_draw)
        self.tool_select.setChecked(True)
        self.snap_combo = QComboBox()
        for label, value in SNAPS:
            self.snap_combo.addItem(label, value)
        self.snap_combo.setToolTip("Snap notes to this grid while editing")
        zoom = []
        for text, tip, slot in (("−", "Zoom out (Ctrl+wheel)", lambda: self.roll.zoom_x(1 / 1.3)),
                                ("+", "Zoom in (Ctrl+wheel)", lambda: self.roll.zoom_x(1.3)),
                                ("Fit", "Show the whole piece", lambda: self.roll.fit())):
            button = QToolButton()
            button.setText(text)
            button.setToolTip(tip)
            button.clicked.connect(slot)
            zoom.append(button)
        self.quantise_button = QToolButton()
        self.quantise_button.setText("Quantise")
        self.quantise_button.setToolTip("Snap the selected notes (or all) to the grid (Q)")

        self.rewind_button = self._tool_button(glyphs.rewind(), "Back to the start (Home)")
        self.play_button = self._tool_button(glyphs.play(), "Play / stop (Space)", checkable=True)
        self.stop_button = self._tool_button(glyphs.stop(), "Stop: all notes off")
        self.loop_button = self._tool_button(glyphs.loop(), "Loop the region (drag in the ruler to set it)",
                                             checkable=True)
        self.tempo_spin = QDoubleSpinBox()
        self.tempo_spin.setRange(20.0, 300.0)
        self.tempo_spin.setDecimals(1)
        self.tempo_spin.setSuffix(" BPM")
        self.tempo_spin.setKeyboardTracking(False)
        self.position_label = QLabel("  1 · 1  ")
        self.position_label.setObjectName("composePosition")
        self.position_label.setMinimumWidth(80)
        self.position_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.position_label.setStyleSheet("font-family: 'DejaVu Sans Mono'; color: #f6c453; font-size: 11pt;")

        self.record_button = self._tool_button(glyphs.record(), "Record from the MIDI input", checkable=True)
        self.record_button.setText("Rec")
        self.record_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.record_quantise = QComboBox()
        for label, value in RECORD_QUANTISE:
            self.record_quantise.addItem(label, value)
        self.jam_button = self._tool_button(glyphs.jam(), "Jam: play, pause, and the model answers", checkable=True)
        self.jam_button.setText("Jam")
        self.jam_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.jam_silence = QDoubleSpinBox()
        self.jam_silence.setRange(0.5, 16.0)
        self.jam_silence.setSingleStep(0.5)
        self.jam_silence.setDecimals(1)
        self.jam_silence.setSuffix(" beats")
        self.jam_silence.setToolTip("Silence after which the model answers")
        self.jam_state = QLabel("")
        self.jam_state.setMinimumWidth(80)

        self.out_combo = QComboBox()
        self.out_combo.setMinimumWidth(150)
        self.out_combo.setToolTip("Where notes play: a MIDI port, the virtual port, or the built-in synth")
        self.in_combo = QComboBox()
        self.in_combo.setMinimumWidth(130)
        self.in_combo.setToolTip("MIDI input for recording and jam mode")
        self.panic_button = self._tool_button(glyphs.panic(), "Panic: all notes off on every channel")
        self.panic_button.setText("Panic")
        self.panic_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.drag_button = DragOutButton(self)

        for widget in (
            group(self.rewind_button, self.play_button, self.stop_button, self.loop_button),
            group(QLabel("Tempo"), self.tempo_spin, self.position_label),
            separator(),
            group(self.tool_select, self.tool_draw),
            group(QLabel("Snap"), self.snap_combo),
            group(*zoom, self.quantise_button),
            separator(),
            group(self.record_button, self.record_quantise),
            group(self.jam_button, QLabel("after"), self.jam_silence, self.jam_state),
            separator(),
            group(QLabel("Out"), self.out_combo),
            group(QLabel("In"), self.in_combo),
            group(self.panic_button, self.drag_button),
        ):
            flow.addWidget(widget)
        root.addWidget(bar)

        # --- roll | side panel
        splitter = QSplitter(Qt.Orientation.Horizontal, self.content)
        self.roll = PianoRoll(self.doc, self.undo_stack)
        splitter.addWidget(self.roll)
        side = QWidget()
        side.setMinimumWidth(280)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(8, 4, 8, 8)
        side_layout.setSpacing(8)

        box = QGroupBox("Continue with a model")
        form = QFormLayout(box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        self.model_combo = QComboBox()
        self._model_roots: dict[str, str] = {}
        self._fill_models()
        self.finetune_button = QToolButton()
        self.finetune_button.setText("Fine-tune…")
        self.finetune_button.setToolTip("Fine-tune on my MIDI: adapt a model to your own MIDI files (in the Training dock); "
                                        "the result appears here marked ★")
        model_row = QHBoxLayout()
        model_row.addWidget(self.model_combo, 1)
        model_row.addWidget(self.finetune_button)
        form.addRow("Model", model_row)
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
        self.audition_check = QCheckBox("Play notes as they arrive")
        form.addRow("", self.audition_check)
        self.continue_button = QPushButton(glyphs.sparkle(), " Continue")
        self.continue_button.setObjectName("primary")
        self.continue_button.setToolTip("Continue from the end of the selection, or of the piece (Ctrl+Enter)")
        form.addRow(self.continue_button)
        row = QHBoxLayout()
        self.accept_button = QPushButton("Accept")
        self.accept_button.setToolTip("Keep the generated notes (one undo step)")
        self.reject_button = QPushButton("Reject")
        self.regenerate_button = QPushButton("Regenerate")
        self.regenerate_button.setToolTip("Another variation from the same primer")
        for b in (self.accept_button, self.reject_button, self.regenerate_button):
            row.addWidget(b)
        form.addRow(row)
        self.progress_label = QLabel("")
        self.progress_label.setWordWrap(True)
        self.progress_label.setStyleSheet("color: #a9abc0;")
        form.addRow(self.progress_label)
        self.model_status = QLabel("")
        self.model_status.setObjectName("modelStatus")
        self.model_status.setWordWrap(True)
        form.addRow(self.model_status)
        side_layout.addWidget(box)

        att_box = QGroupBox("Attention of the selected generated note")
        att_layout = QVBoxLayout(att_box)
        att_layout.setContentsMargins(6, 8, 6, 6)
        self.attention = AttentionView()
        att_layout.addWidget(self.attention)
        side_layout.addWidget(att_box, 1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(300)
        scroll.setMaximumWidth(540)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([900, 360])
        root.addWidget(splitter, 1)

        # --- live status line
        status = QHBoxLayout()
        status.setContentsMargins(8, 3, 8, 3)
        self.io_status = ElidedLabel("")
        self.io_status.setObjectName("ioStatus")
        self.io_status.setStyleSheet("color: #a9abc0; font-size: 9pt;")
        self.selection_label = ElidedLabel("", elide=Qt.TextElideMode.ElideRight)
        self.selection_label.setStyleSheet("color: #a9abc0; font-size: 9pt;")
        self.title_label = ElidedLabel("Untitled", min_width=120, elide=Qt.TextElideMode.ElideRight)
        self.title_label.setObjectName("composeTitle")
        self.title_label.setStyleSheet("color: #e6e6f0; font-size: 9pt; padding-right: 14px;")
        status.addWidget(self.title_label)
        status.addWidget(self.io_status, 1)
        status.addWidget(self.selection_label)
        holder = QWidget()
        holder.setLayout(status)
        holder.setStyleSheet("background: #17181e;")
        root.addWidget(holder)

        # --- shortcuts (only while this panel has focus)
        def action(text, shortcut, slot):
            a = QAction(text, self)
            a.setShortcut(QKeySequence(shortcut))
            a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            a.triggered.connect(slot)
            self.addAction(a)
            return a

        action("Play/stop", "Space", self.toggle_play)
        action("Rewind", "Home", self.rewind)
        action("Select tool", "S", lambda: self.set_tool("select"))
        action("Draw tool", "D", lambda: self.set_tool("draw"))
        action("Select all", QKeySequence.StandardKey.SelectAll, self.roll.select_all)
        action("Quantise", "Q", self.roll.quantise_selection)
        action("Duplicate", "Ctrl+D", self.roll.duplicate_selection)
        action("Continue", "Ctrl+Return", self.continue_generation)
        action("Loop", "L", self.loop_button.toggle)

    def _tool_button(self, icon, tip: str, checkable: bool = False) -> QToolButton:
        button = QToolButton()
        button.setIcon(icon)
        button.setToolTip(tip)
        button.setCheckable(checkable)
        return button

    def _connect(self) -> None:
        self.tool_select.toggled.connect(lambda on: on and self.set_tool("select"))
        self.tool_draw.toggled.connect(lambda on: on and self.set_tool("draw"))
        self.snap_combo.currentIndexChanged.connect(self._on_snap)
        self.quantise_button.clicked.connect(self.roll.quantise_selection)
        self.play_button.clicked.connect(self._on_play_button)
        self.stop_button.clicked.connect(self.stop)
        self.rewind_button.clicked.connect(self.rewind)
        self.loop_button.toggled.connect(self._on_loop_toggled)
        self.tempo_spin.valueChanged.connect(self._on_tempo_spin)
        self.record_button.toggled.connect(self._on_record_toggled)
        self.jam_button.toggled.connect(self._on_jam_toggled)
        self.panic_button.clicked.connect(self.panic)
        self.out_combo.activated.connect(self._on_out_chosen)
        self.in_combo.activated.connect(self._on_in_chosen)
        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        self.finetune_button.clicked.connect(lambda: self.finetune_requested.emit("music"))
        self.temp_slider.valueChanged.connect(lambda v: self.temp_spin.setValue(v / 100.0))
        self.temp_spin.valueChanged.connect(self._on_temperature)
        self.length_spin.valueChanged.connect(lambda v: self.settings.set(Key.COMPOSE_LENGTH, v))
        self.audition_check.toggled.connect(lambda on: self.settings.set(Key.COMPOSE_AUDITION, on))
        self.record_quantise.currentIndexChanged.connect(
            lambda _i: self.settings.set(Key.COMPOSE_RECORD_QUANTISE, self.record_quantise.currentData()))
        self.jam_silence.valueChanged.connect(lambda v: self.settings.set(Key.COMPOSE_JAM_SILENCE_BEATS, v))
        self.continue_button.clicked.connect(self.continue_generation)
        self.accept_button.clicked.connect(self.accept_generation)
        self.reject_button.clicked.connect(self.reject_generation)
        self.regenerate_button.clicked.connect(self.regenerate)
        self.roll.note_preview.connect(self._preview)
        self.roll.selection_changed.connect(self._on_selection)
        self.roll.pending_selected.connect(self._on_pending_selected)
        self.roll.loop_changed.connect(self._on_loop_changed)
        self.attention.row_clicked.connect(self._on_attention_row)
        self.doc.changed.connect(self._on_doc_changed)
        self.doc.meta_changed.connect(self._on_meta_changed)
        self.live.message.connect(self._message)
        self.live.ports_changed.connect(self._fill_ports)
        self.live.output_changed.connect(self._fill_ports)
        self.live.jam_event.connect(self._on_jam_event)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

    def _restore(self) -> None:
        s = self.settings
        name = s.get(Key.COMPOSE_MODEL)
        name = {"lstm": "music-lstm", "transformer": "music-transformer"}.get(name, name)
        self.model_combo.blockSignals(True)
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(name)))
        self.model_combo.blockSignals(False)
        temperature = min(2.0, max(0.05, s.get(Key.COMPOSE_TEMPERATURE)))
        self.temp_spin.setValue(temperature)
        self.temp_slider.setValue(int(round(temperature * 100)))
        self.length_spin.setValue(max(1, min(512, s.get(Key.COMPOSE_LENGTH))))
        self.tempo_spin.blockSignals(True)
        self.tempo_spin.setValue(s.get(Key.COMPOSE_TEMPO))
        self.tempo_spin.blockSignals(False)
        self.doc.tempo_bpm = self.tempo_spin.value()
        self.jam_silence.setValue(s.get(Key.COMPOSE_JAM_SILENCE_BEATS))
        self.audition_check.setChecked(bool(s.get(Key.COMPOSE_AUDITION)))
        snap = float(s.get(Key.COMPOSE_SNAP))
        k = next((i for i, (_l, v) in enumerate(SNAPS) if abs(v - snap) < 1e-6), 6)
        self.snap_combo.setCurrentIndex(k)
        self._on_snap(k)
        q = float(s.get(Key.COMPOSE_RECORD_QUANTISE))
        self.record_quantise.setCurrentIndex(next((i for i, (_l, v) in enumerate(RECORD_QUANTISE) if abs(v - q) < 1e-6), 0))
        self.live.session.refresh()
        out = s.get(Key.COMPOSE_MIDI_OUT)
        if out:
            choice = VIRTUAL if out == "virtual" else out
            if choice == VIRTUAL or choice in self.live.session.outputs:
                message = self.live.set_output(choice)
                if message:
                    self._message(message)
        inp = s.get(Key.COMPOSE_MIDI_IN)
        if inp:
            choice = VIRTUAL if inp == "virtual" else inp
            if choice == VIRTUAL or choice in self.live.session.inputs:
                message = self.live.set_input(choice)
                if message:
                    self._message(message)

    # ================================================================ Panel API
    def active_model(self) -> str:
        return self.model_combo.currentText()

    def open_filters(self) -> str:
        return MIDI_FILTER

    def save_filters(self) -> str:
        return MIDI_FILTER

    def open_path(self, path: str) -> None:
        from gdl_studio.music.midi_io import read_midi

        score = read_midi(path)  # UserError with one line on bad files
        self.stop()
        self._drop_generation()
        self.doc.load(score, str(path))
        self.undo_stack.clear()
        self.tempo_spin.blockSignals(True)
        self.doc.tempo_bpm = round(max(20.0, min(300.0, score.tempo_bpm)), 2)
        self.tempo_spin.setValue(self.doc.tempo_bpm)
        self.tempo_spin.blockSignals(False)
        self.roll.set_selection(set())
        self.roll.set_cursor_beat(0.0)
        self.roll.set_loop((0.0, 4.0 * score.beats_per_bar), enabled=False)
        self.loop_button.setChecked(False)
        self.roll.fit()
        self._update_title()
        self._update_buttons()

    def save_path(self, path: str) -> None:
        from gdl_studio.music.midi_io import write_midi

        if not self.doc.notes:
            raise UserError("nothing to save: the piece has no notes")
        target = Path(path)
        if target.suffix.lower() not in (".mid", ".midi"):
            target = target.with_suffix(".mid")
        write_midi(self.doc.score(), target)
        self.doc.path = str(target)
        if not self.doc.title:
            self.doc.title = target.stem
        self.undo_stack.setClean()
        self._update_title()

    def shutdown(self) -> None:
        self._timer.stop()
        self.engine.cancel(self.panel_id)
        self.live.close()

    # ================================================================ editing
    def set_tool(self, tool: str) -> None:
        self.roll.tool = tool
        (self.tool_draw if tool == "draw" else self.tool_select).setChecked(True)

    def _on_snap(self, index: int) -> None:
        value = self.snap_combo.itemData(index)
        beats = float(self.doc.beats_per_bar) if value == -1.0 else float(value)
        self.roll.snap = beats
        self.settings.set(Key.COMPOSE_SNAP, float(value))
        self.roll.refresh()

    def _on_doc_changed(self) -> None:
        self._update_buttons()
        self._on_selection()

    def _on_meta_changed(self) -> None:
        if abs(self.tempo_spin.value() - self.doc.tempo_bpm) > 1e-6:
            self.tempo_spin.blockSignals(True)
            self.tempo_spin.setValue(self.doc.tempo_bpm)
            self.tempo_spin.blockSignals(False)
        self.live.set_tempo(self.doc.tempo_bpm)
        self._update_title()

    def _on_tempo_spin(self, value: float) -> None:
        if abs(value - self.doc.tempo_bpm) > 1e-6:
            self.undo_stack.push(SetTempo(self.doc, value))
        self.settings.set(Key.COMPOSE_TEMPO, value)

    def _on_clean_changed(self, _clean: bool) -> None:
        try:
            self._update_title()
        except RuntimeError:  # the stack is being destroyed with the panel
            pass

    def _update_title(self) -> None:
        name = self.doc.title or (Path(self.doc.path).stem if self.doc.path else "Untitled")
        dirty = "" if self.undo_stack.isClean() else " •"
        self.title_label.setText(f"{name}{dirty}   {len(self.doc.notes)} notes · {self.doc.tempo_bpm:g} BPM")

    def _on_selection(self) -> None:
        ids = [i for i in self.roll.selected if i in self.doc.notes]
        if ids:
            notes = [self.doc.notes[i] for i in ids]
            if len(notes) == 1:
                n = notes[0]
                self.selection_label.setText(f"{pitch_name(n.pitch)} · beat {n.start:g} · length {n.duration:g} · "
                                             f"velocity {n.velocity} · track {n.track + 1}")
            else:
                self.selection_label.setText(f"{len(notes)} notes selected")
        else:
            self.selection_label.setText("")
        gen = self.gen
        if gen is not None and gen.accepted_ids is not None and len(ids) == 1 and ids[0] in gen.accepted_ids:
            k = gen.accepted_ids.index(ids[0])
            self.attention.select(k)
            self._show_attention_in_roll()

    def _preview(self, pitch: int, velocity: int) -> None:
        message = self.live.preview(pitch, velocity)
        if message:
            self._io_message(message)

    # ================================================================ transport
    def _on_play_button(self) -> None:
        if self.play_button.isChecked():
            self.play()
        else:
            self.stop()

    def toggle_play(self) -> None:
        if self.live.playing or self.live.audition is not None:
            self.stop()
        else:
            self.play()

    def play(self) -> None:
        notes = [n for _i, n in self.doc.sorted_items()] + list(self.roll.pending)
        start = self.roll.cursor_beat
        loop = self.roll.loop if self.roll.loop_enabled else None
        if loop is not None and not (loop[0] <= start < loop[1]):
            start = loop[0]
        message = self.live.play(notes, self.doc.tempo_bpm, start, loop)
        if message:
            self._io_message(message)
        self.play_button.setChecked(True)
        self._timer.start()

    def stop(self) -> None:
        """Stop playback (all notes off); finish a recording take."""
        if self._recording:
            self.record_button.setChecked(False)
        self.live.stop()
        self.play_button.setChecked(False)
        self.roll.set_playhead(None)
        self.roll.set_sounding(set())
        if not self._jamming:
            self._timer.stop()

    def rewind(self) -> None:
        self.roll.set_cursor_beat(0.0)
        self.roll.scroll_to_beat(0.0)

    def panic(self) -> None:
        self.stop()
        self.live.panic()
        self._message("Panic: all notes off on every channel")

    def _on_loop_toggled(self, on: bool) -> None:
        if on and self.roll.loop is None:
            bpb = self.doc.beats_per_bar
            start = (self.roll.cursor_beat // bpb) * bpb
            self.roll.set_loop((start, start + 4 * bpb), enabled=True)
        else:
            self.roll.set_loop(self.roll.loop, enabled=on)

    def _on_loop_changed(self) -> None:
        self.loop_button.blockSignals(True)
        self.loop_button.setChecked(self.roll.loop_enabled)
        self.loop_button.blockSignals(False)

    def _tick(self) -> None:
        """30 times a second while playing, recording or jamming: playhead, overlays, keys."""
        pos = self.live.position()
        if pos is None and self._jamming:
            pos = self.live.jam_position()
        if pos is not None:
            self.roll.set_playhead(pos)
            bpb = self.doc.beats_per_bar
            bar, beat = divmod(pos, bpb)
            self.position_label.setText(f"{int(bar) + 1:>3} · {int(beat) + 1}")
        self.roll.set_sounding({p for _c, p in self.live.scheduler.sounding()})
        if self._recording:
            self.roll.set_recording(self.live.recording_notes())
        elif self._jamming:
            played, answers = self.live.jam_notes()
            self.roll.set_recording(played, answers)
        generating = self.gen is not None and self.gen.running
        if self.live.position() is not None and self.live.finished() and not generating and not self._recording:
            if self.live.playing or self.live.audition is not None:
                self.stop()

    # ================================================================ live I/O
    def _fill_ports(self) -> None:
        session = self.live.session
        for combo, choices, current in ((self.out_combo, session.output_choices(), session.output_choice),
                                        (self.in_combo, session.input_choices(), session.input_choice)):
            combo.blockSignals(True)
            combo.clear()
            for choice, label in choices:
                combo.addItem(label, choice)
            combo.setCurrentIndex(max(0, combo.findData(current)))
            combo.blockSignals(False)
        self._update_io_status()

    def _update_io_status(self) -> None:
        session = self.live.session
        parts = []
        if session.output_choice == SYNTH:
            parts.append("Output: built-in synth" + (f" ({session.audio.device_name})" if session.audio.ok else ""))
        else:
            parts.append(f"Output: MIDI {session.output_name}")
        if session.audio_message and session.output_choice == SYNTH:
            parts = [session.audio_message]
        midi = session.midi_status()
        if midi:
            parts.append(f"MIDI: {midi}")
        elif session.input_choice != NO_INPUT:
            parts.append("Input: " + ("virtual port" if session.input_choice == VIRTUAL else session.input_choice))
        if not _virtual_ports_supported():
            parts.append("Virtual MIDI ports are not available on Windows (use loopMIDI)")
        self.io_status.setText("   ·   ".join(parts))

    def _on_out_chosen(self, index: int) -> None:
        choice = self.out_combo.itemData(index)
        self.stop()
        message = self.live.set_output(choice)
        self.settings.set(Key.COMPOSE_MIDI_OUT, "virtual" if choice == VIRTUAL else choice)
        if message:
            self._io_message(message)
        self._fill_ports()

    def _on_in_chosen(self, index: int) -> None:
        choice = self.in_combo.itemData(index)
        message = self.live.set_input(choice)
        self.settings.set(Key.COMPOSE_MIDI_IN, "virtual" if choice == VIRTUAL else choice)
        if message:
            self._message(message)
        self._fill_ports()

    def _io_message(self, text: str) -> None:
        self._update_io_status()
        self._message(text)

    def _message(self, text: str) -> None:
        self._last_status = text
        self.status_message.emit(text)
        self._update_io_status()

    # ---------------------------------------------------------------- recording
    def _on_record_toggled(self, on: bool) -> None:
        if on:
            if not self.live.input_active:
                self.record_button.blockSignals(True)
                self.record_button.setChecked(False)
                self.record_button.blockSignals(False)
                self._message("Choose a MIDI input (In) to record from")
                return
            track = (max(self.doc.tracks) + 1) if self.doc.tracks else 0
            self._recording = True
            self.live.start_recording(self.doc.tempo_bpm, self.roll.cursor_beat, track)
            self.play()  # play along while recording
            self._message("Recording… press Rec again or Stop to finish the take")
        else:
            if not self._recording:
                return
            self._recording = False
            notes = self.live.stop_recording()
            self.live.stop()
            self.play_button.setChecked(False)
            self.roll.set_recording([])
            self.roll.set_playhead(None)
            grid = float(self.record_quantise.currentData() or 0.0)
            if grid > 0:
                from gdl_studio.live.recorder import quantise_notes

                notes = quantise_notes(notes, grid)
            if notes:
                cmd = AddNotes(self.doc, notes, f"Record {len(notes)} notes")
                self.undo_stack.push(cmd)
                self.roll.set_selection(set(cmd.ids))
                self._message(f"Recorded {len(notes)} notes")
            else:
                self._message("Nothing was recorded")
            if not self._jamming:
                self._timer.stop()

    # ---------------------------------------------------------------- jam
    def _on_jam_toggled(self, on: bool) -> None:
        if on:
            if not self.live.input_active:
                self.jam_button.blockSignals(True)
                self.jam_button.setChecked(False)
                self.jam_button.blockSignals(False)
                self._message("Choose a MIDI input (In) to jam with the model")
                return
            name = self.model_combo.currentData()
            if not composers.model_available(name) and not composers.demo_mode():
                self.jam_button.blockSignals(True)
                self.jam_button.setChecked(False)
                self.jam_button.blockSignals(False)
                self._message(composers.missing_message(name))
                return
            self.stop()
            temperature = self.temp_spin.value()
            bpb = self.doc.beats_per_bar

            def respond(phrase, n):
                composer = composers.load_composer(name)
                return composer.generate(list(phrase), n_notes=n, temperature=temperature, beats_per_bar=bpb)

            def runner(make_job):
                self.engine.submit(self.panel_id, lambda ctx: make_job(ctx.cancelled), label="Jam answer")

            self.engine.submit(self.panel_id, composers.preload_job(name), label="Load model")
            tracks = self.doc.tracks
            track = (max(tracks) + 1) if tracks else 0
            beat0 = max(self.doc.end_beat, self.roll.cursor_beat)
            bpb_beats = float(bpb)
            beat0 = (int(beat0 / bpb_beats) + (1 if beat0 % bpb_beats else 0)) * bpb_beats
            self._jam_track = track
            self.live.start_jam(respond, self.doc.tempo_bpm, self.jam_silence.value(),
                                int(self.settings.get(Key.COMPOSE_JAM_ANSWER_NOTES)), runner, beat0, track)
            self._jamming = True
            self._timer.start()
            self.roll.scroll_to_beat(max(0.0, beat0 - 2))
            self._message(f"Jam: play something; after {self.jam_silence.value():g} beats of silence "
                          f"the {self.model_combo.currentText()} answers")
        else:
            if not self._jamming:
                return
            self._jamming = False
            played, answers = self.live.stop_jam()
            self.roll.set_recording([], [])
            self.roll.set_playhead(None)
            self.jam_state.setText("")
            answers = [Note(n.pitch, n.start, n.duration, n.velocity, self._jam_track + 1) for n in answers]
            if played or answers:
                cmd = AddNotes(self.doc, played + answers, "Jam take")
                self.undo_stack.push(cmd)
                self._message(f"Jam take kept: {len(played)} played + {len(answers)} answered notes (Undo discards it)")
            if not self.live.playing:
                self._timer.stop()

    def _on_jam_event(self, kind: str, payload) -> None:
        if kind == "state":
            text = {LISTENING: "listening…", ANSWERING: "answering…"}.get(payload, "")
            self.jam_state.setText(f" {text}")
            self.jam_state.setStyleSheet("color: #ff7a8a;" if payload == ANSWERING else "color: #7fd6a4;")

    # ================================================================ continuation
    def _primer(self) -> tuple[list[int], list[Note], float]:
        items = self.doc.sorted_items()
        selected = [i for i in self.roll.selected if i in self.doc.notes]
        if selected:
            cut = max(self.doc.notes[i].end for i in selected)
            items = [(i, n) for i, n in items if n.start < cut - 1e-9]
        else:
            cut = self.doc.end_beat
        items = items[-MAX_PRIMER_NOTES:]
        return [i for i, _n in items], [n for _i, n in items], cut

    def continue_generation(self) -> None:
        """Continue from the end of the selection (or of the piece)."""
        ids, notes, cut = self._primer()
        self._start_generation(ids, notes, cut)

    def regenerate(self) -> None:
        """A new variation from the same primer."""
        gen = self.gen
        if gen is None or gen.accepted_ids is not None:
            self.continue_generation()
            return
        ids = [i for i in gen.primer_ids if i in self.doc.notes]
        notes = [self.doc.notes[i] for i in ids]
        self._start_generation(ids, notes, gen.cut)

    def _start_generation(self, ids: list[int], notes: list[Note], cut: float) -> None:
        name = self.model_combo.currentData()
        if not composers.model_available(name) and not composers.demo_mode():
            self._update_model_status()
            self._message(composers.missing_message(name))
            return
        self.live.stop_audition()
        temperature = self.temp_spin.value()
        n_notes = self.length_spin.value()
        bpb = self.doc.beats_per_bar
        seed = random.randrange(1 << 30)
        primer = list(notes)
        job = composers.continuation_job(name, primer, n_notes, temperature, seed, bpb)
        label = f"{self.model_combo.currentText()} continuation"
        request_id = self.engine.submit(self.panel_id, job, label=label)
        self.gen = Generation(name, request_id, list(ids), primer, cut, seed)
        self._user_picked = False
        self._incoming = []
        self._attention_backlog = []
        self.roll.set_pending([])
        self.roll.select_pending(None)
        self.roll.set_attention({})
        self.attention.start(primer, self.model_combo.currentText())
        self.progress_label.setText(f"Generating {n_notes} notes from {len(primer)} primer notes…")
        self._update_buttons()
        self._timer.start()

    def on_result(self, request_id: int, item: object) -> None:
        gen = self.gen
        if isinstance(item, GenerationStep) and gen is not None and request_id == gen.request_id:
            gen.steps.append(item)
            self._incoming.append(item)
            if self.audition_check.isChecked():
                self.live.audition_note(item.note, self.doc.tempo_bpm)
            if not self._flush_timer.isActive():
                self._flush_timer.start()
        elif isinstance(item, JamNote):
            pass  # drawn from the jam overlay

    def _flush_attention(self) -> None:
        """Redraw the attention plots (at most ~6 times a second while streaming)."""
        steps, self._attention_backlog = self._attention_backlog, []
        gen = self.gen
        if steps and gen is not None and gen.accepted_ids is None:
            self.attention.add_steps(steps, follow=False)
            if self.attention.selected is None or (not gen.running and not self._user_picked):
                # while streaming the first note stays selected (cheap); at the end, the last
                self.attention.select(len(self.attention.steps) - 1)
                self.roll.pending_index = self.attention.selected
                self._show_attention_in_roll()
        if gen is not None and gen.running:
            self._attention_timer.start()

    def _flush_results(self) -> None:
        """Draw the generated notes that arrived since the last frame (at most 30 times a second)."""
        steps, self._incoming = self._incoming, []
        gen = self.gen
        if not steps or gen is None or gen.accepted_ids is not None:
            return
        self.roll.set_pending(self.roll.pending + [step.note for step in steps])
        self._attention_backlog.extend(steps)
        if not gen.running or not self._attention_timer.isActive():
            self._flush_attention()
        if gen.running:
            self.progress_label.setText(f"{len(gen.steps)}/{self.length_spin.value()} notes…")
        self._update_buttons()

    def on_finished(self, info) -> None:
        gen = self.gen
        if gen is not None and info.request_id == gen.request_id:
            gen.running = False
            self._flush_results()
            self._flush_attention()
            if not info.cancelled:
                n = len(gen.steps)
                self.progress_label.setText(f"{n} notes in {info.seconds:.1f} s — Accept keeps them, "
                                            "Regenerate tries another variation.")
            self._update_buttons()

    def on_error(self, info) -> None:
        gen = self.gen
        if gen is not None and info.request_id == gen.request_id:
            gen.running = False
            self.progress_label.setText("")
            self.model_status.setText(info.message)
            self.model_status.setStyleSheet("color: #f0a0a8;")
            self._update_buttons()
        self.status_message.emit(info.message)

    def accept_generation(self) -> None:
        gen = self.gen
        if gen is None or not gen.steps or gen.accepted_ids is not None:
            return
        if gen.running:
            self.engine.cancel(self.panel_id)
            gen.running = False
        self._incoming = []
        self._flush_attention()
        notes = [s.note for s in gen.steps]
        cmd = AddNotes(self.doc, notes, f"Accept {len(notes)} generated notes")
        self.undo_stack.push(cmd)
        gen.accepted_ids = list(cmd.ids)
        self.roll.set_pending([])
        self.roll.select_pending(None)
        self.roll.set_attention({})
        self.progress_label.setText(f"Accepted {len(notes)} notes (Undo removes them). "
                                    "Select one to see its attention.")
        self._update_buttons()

    def reject_generation(self) -> None:
        self._drop_generation()
        self.progress_label.setText("Rejected.")
        self._update_buttons()

    def _drop_generation(self) -> None:
        gen = self.gen
        if gen is not None and gen.running:
            self.engine.cancel(self.panel_id)
        self.live.stop_audition()
        self.gen = None
        self._incoming = []
        self._attention_backlog = []
        self.roll.set_pending([])
        self.roll.select_pending(None)
        self.roll.set_attention({})
        self.attention.clear()

    def _on_pending_selected(self, k: int) -> None:
        self._user_picked = True
        self.attention.select(k)
        self._show_attention_in_roll()
        gen = self.gen
        if gen is not None and k < len(gen.steps):
            note = gen.steps[k].note
            self.live.preview(note.pitch, note.velocity)

    def _on_attention_row(self, k: int) -> None:
        gen = self.gen
        if gen is None:
            return
        self._user_picked = True
        if gen.accepted_ids is None:
            self.roll.pending_index = k
            self.roll.refresh_notes()
        elif k < len(gen.accepted_ids):
            self.roll.set_selection({gen.accepted_ids[k]})
        self._show_attention_in_roll()

    def _show_attention_in_roll(self) -> None:
        gen = self.gen
        k = self.attention.selected
        if gen is None or k is None:
            self.roll.set_attention({})
            return
        weights = {}
        for index, w in self.attention.weights_for_selected().items():
            key = gen.key_for(index)
            if key is not None:
                weights[key] = w
        target_key = gen.key_for(len(gen.primer_ids) + k)
        target = self.roll.note_for_key(target_key) if target_key else None
        self.roll.set_attention(weights, target)

    # ================================================================ model choice
    def _fill_models(self) -> None:
        """(Re)fill the model combo: the shipped models, then the personal (★) ones."""
        from gdl_studio.music.models_io import music_model_choices, root_model

        try:
            choices = music_model_choices()
        except OSError:  # no readable user directory: the shipped models only
            choices = list(composers.MODEL_CHOICES)
        self.model_combo.clear()
        for name, label in choices:
            self.model_combo.addItem(label, name)
            self._model_roots[name] = root_model(name)  # remembered: the fallback once it is deleted

    def refresh_models(self) -> None:
        """Re-read the installed music models (after a fine-tune, rename or delete), keeping the
        selection while it exists; a deleted personal model falls back to its base model."""
        from gdl_studio.core.registry import default_registry

        current = self.model_combo.currentData()
        for k in range(self.model_combo.count()):  # a personal model may have been replaced
            name = self.model_combo.itemData(k)
            if name not in composers.KIND_OF:
                default_registry().forget(name)
        self.model_combo.blockSignals(True)
        self._fill_models()
        index = self.model_combo.findData(current)
        if index < 0:
            index = max(0, self.model_combo.findData(self._model_roots.get(current, "music-lstm")))
        self.model_combo.setCurrentIndex(index)
        self.model_combo.blockSignals(False)
        if self.model_combo.currentData() != current:
            self._on_model_changed(index)
        else:
            self._update_model_status()

    def _on_model_changed(self, _index: int) -> None:
        self.settings.set(Key.COMPOSE_MODEL, self.model_combo.currentData())
        self._update_model_status()
        self.model_changed.emit(self.active_model())

    def _on_temperature(self, value: float) -> None:
        self.temp_slider.blockSignals(True)
        self.temp_slider.setValue(int(round(value * 100)))
        self.temp_slider.blockSignals(False)
        self.settings.set(Key.COMPOSE_TEMPERATURE, value)

    def _update_model_status(self) -> None:
        name = self.model_combo.currentData()
        self._model_usable(refresh=True)
        if composers.model_available(name):
            self.model_status.setText(f"{self.model_combo.currentText()}: trained weights installed.")
            self.model_status.setStyleSheet("color: #7fd6a4;")
        elif composers.demo_mode():
            self.model_status.setText(f"Demo: an untrained {self.model_combo.currentText()} with random weights "
                                      "(its notes are random; install the trained weights for music).")
            self.model_status.setStyleSheet("color: #f6c453;")
        else:
            self.model_status.setText(composers.missing_message(name))
            self.model_status.setStyleSheet("color: #f0a0a8;")
        self._update_buttons()

    def _model_usable(self, refresh: bool = False) -> bool:
        name = self.model_combo.currentData()
        if refresh or self._usable_cache[0] != name:
            self._usable_cache = (name, composers.model_available(name) or composers.demo_mode())
        return self._usable_cache[1]

    def _update_buttons(self) -> None:
        usable = self._model_usable()
        gen = self.gen
        pending = gen is not None and gen.accepted_ids is None and bool(gen.steps)
        self.continue_button.setEnabled(usable)
        self.regenerate_button.setEnabled(usable and gen is not None and gen.accepted_ids is None)
        self.accept_button.setEnabled(pending)
        self.reject_button.setEnabled(gen is not None and gen.accepted_ids is None)
        self.drag_button.setEnabled(bool(self.doc.notes) or pending)

    # ================================================================ drag out
    def export_for_drag(self) -> Path | None:
        """Write the piece plus any pending continuation to a .mid file for dragging out."""
        from gdl_studio.core.paths import user_dir
        from gdl_studio.music.midi_io import write_midi

        score = self.doc.score()
        score.notes = sorted(score.notes + list(self.roll.pending), key=lambda n: (n.start, n.pitch))
        if not score.notes:
            self._message("Nothing to drag: the piece is empty")
            return None
        stem = re.sub(r"[^\w\- ]+", "", self.doc.title or Path(self.doc.path).stem or "gdl-studio").strip() or "gdl-studio"
        target = user_dir() / "drag" / f"{stem}.mid"
        write_midi(score, target)
        return target


def _virtual_ports_supported() -> bool:
    from gdl_studio.live.midi_ports import supports_virtual_ports

    return supports_virtual_ports()
