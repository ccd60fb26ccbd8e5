"""The Compose panel: a piano roll, streaming continuations with their attention, live MIDI
out and in, an audio preview and jam mode (call and response).

This module builds the panel and wires its parts; each part is in its own module:
the control bar (:mod:`~gdl_studio.ui.compose.transport_bar`), the "Continue with a model"
group (:mod:`~gdl_studio.ui.compose.continue_box`, with the shared
:class:`~gdl_studio.ui.widgets.model_picker.ModelPicker`), the roll
(:mod:`~gdl_studio.ui.compose.pianoroll`), the attention view, the state without widgets
(:mod:`~gdl_studio.ui.compose.session`), and the two controllers that act on them:
:mod:`~gdl_studio.ui.compose.continuation` (Continue/Accept/Reject/Regenerate) and
:mod:`~gdl_studio.ui.compose.live_io` (transport, ports, recording, jam); the sound and sync groups
(:mod:`~gdl_studio.ui.compose.sound_box`, wired by :mod:`~gdl_studio.ui.compose.sound_io`) and
File → Export audio… (:mod:`~gdl_studio.ui.compose.audio_export`).
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFrame, QGroupBox, QHBoxLayout, QScrollArea, QSplitter, QVBoxLayout, QWidget

from gdl_studio.areas import area_named
from gdl_studio.core.errors import UserError
from gdl_studio.jobs import compose as composers
from gdl_studio.ui.compose.attention import AttentionView
from gdl_studio.ui.compose.audio_export import AudioExport
from gdl_studio.ui.compose.commands import SetTempo
from gdl_studio.ui.compose.continuation import Continuation
from gdl_studio.ui.compose.continue_box import ContinueBox
from gdl_studio.ui.compose.document import RollDocument
from gdl_studio.ui.compose.live_controller import LiveController
from gdl_studio.ui.compose.live_io import LiveIO
from gdl_studio.ui.compose.pianoroll import PianoRoll
from gdl_studio.ui.compose.roll_geometry import pitch_name
from gdl_studio.ui.compose.session import ComposeSession, Generation
from gdl_studio.ui.compose.sound_box import SoundBox, SyncBox
from gdl_studio.ui.compose.sound_io import SoundIO
from gdl_studio.ui.compose.steering_box import SteeringBox, load_steering, save_steering
from gdl_studio.ui.compose.transport_bar import RECORD_QUANTISE, SNAPS, ComposeBar
from gdl_studio.ui.panel import Panel
from gdl_studio.ui.settings import Key
from gdl_studio.ui.widgets.elided_label import ElidedLabel
from gdl_studio.ui.widgets.model_picker import ModelPicker

MIDI_FILTER = "MIDI files (*.mid *.midi)"


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
        self.session = ComposeSession()
        self._last_status = ""
        self._usable_cache: tuple[str, bool] = ("", False)
        self._fill_cache: tuple[str, str] = ("", "")  # (model, why it cannot fill; "" when it can)
        self._model_roots: dict[str, str] = {}
        self._build()
        self.live_io = LiveIO(self)
        self.continuation = Continuation(self)
        self.sound_io = SoundIO(self)
        self.audio_export = AudioExport(self, self)
        self._connect()
        self._restore()
        self.live_io.fill_ports()
        self._update_model_status()
        self._update_buttons()
        QTimer.singleShot(400, self, self.live_io.probe_audio)

    # ================================================================ construction
    def _build(self) -> None:
        self.content.setObjectName("composeContent")
        root = QVBoxLayout(self.content)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)
        self.bar = ComposeBar(self.export_for_drag, self.content)
        root.addWidget(self.bar)
        # the panel's controls, as tests and benches reach them (one by one, so that their types are known)
        self.tool_select = self.bar.tool_select
        self.tool_draw = self.bar.tool_draw
        self.snap_combo = self.bar.snap_combo
        self.quantise_button = self.bar.quantise_button
        self.rewind_button = self.bar.rewind_button
        self.play_button = self.bar.play_button
        self.stop_button = self.bar.stop_button
        self.loop_button = self.bar.loop_button
        self.tempo_spin = self.bar.tempo_spin
        self.position_label = self.bar.position_label
        self.record_button = self.bar.record_button
        self.record_quantise = self.bar.record_quantise
        self.jam_button = self.bar.jam_button
        self.jam_silence = self.bar.jam_silence
        self.jam_state = self.bar.jam_state
        self.out_combo = self.bar.out_combo
        self.in_combo = self.bar.in_combo
        self.panic_button = self.bar.panic_button
        self.drag_button = self.bar.drag_button

        splitter = QSplitter(Qt.Orientation.Horizontal, self.content)
        self.roll = PianoRoll(self.doc, self.undo_stack)
        splitter.addWidget(self.roll)
        side = QWidget()
        side.setMinimumWidth(280)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(8, 4, 8, 8)
        side_layout.setSpacing(8)
        self.picker = ModelPicker(
            area_named("music").choices,
            side,
            fallback=lambda name: self._model_roots.get(name, "music-lstm"),
            finetune_tip="Fine-tune on my MIDI: adapt a model to your own MIDI files (in the Training "
            "dock); the result appears here marked ★",
        )
        self._fill_models()
        self.box = ContinueBox(self.picker)
        self.temp_slider = self.box.temp_slider
        self.temp_spin = self.box.temp_spin
        self.length_spin = self.box.length_spin
        self.audition_check = self.box.audition_check
        self.continue_button = self.box.continue_button
        self.accept_button = self.box.accept_button
        self.reject_button = self.box.reject_button
        self.regenerate_button = self.box.regenerate_button
        self.progress_label = self.box.progress_label
        self.model_combo, self.model_status, self.finetune_button = (
            self.picker.combo,
            self.picker.status_label,
            self.picker.finetune_button,
        )
        side_layout.addWidget(self.box)
        self.fill_button, self.fill_row = self.box.fill_button, self.box.fill_row
        self.steering_box = SteeringBox()
        side_layout.addWidget(self.steering_box)
        self.sound_box, self.sync_box = SoundBox(), SyncBox()
        side_layout.addWidget(self.sound_box)
        side_layout.addWidget(self.sync_box)
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
        # the side column never narrower than its controls need (the vertical bar beside them)
        side_width = side.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
        scroll.setMinimumWidth(max(300, side_width))
        scroll.setMaximumWidth(540)
        splitter.addWidget(scroll)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([900, max(390, side_width)])
        root.addWidget(splitter, 1)

        # --- live status line: the piece, the MIDI/audio status, the selection
        status = QHBoxLayout()
        status.setContentsMargins(8, 3, 8, 3)
        self.title_label = ElidedLabel("Untitled", min_width=120, elide=Qt.TextElideMode.ElideRight)
        self.title_label.setObjectName("composeTitle")
        self.io_status = ElidedLabel("")
        self.io_status.setObjectName("ioStatus")
        self.selection_label = ElidedLabel("", elide=Qt.TextElideMode.ElideRight)
        self.selection_label.setObjectName("composeSelection")
        status.addWidget(self.title_label)
        status.addWidget(self.io_status, 1)
        status.addWidget(self.selection_label)
        holder = QWidget()
        holder.setObjectName("composeStatusLine")
        holder.setLayout(status)
        root.addWidget(holder)

    def _shortcuts(self) -> None:
        """Shortcuts that work while this panel has the focus."""

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
        action("Fill", "Ctrl+Shift+Return", self.fill_gap)
        action("Loop", "L", self.loop_button.toggle)

    def _connect(self) -> None:
        self._shortcuts()
        bar, box = self.bar, self.box
        bar.tool_select.toggled.connect(lambda on: self.set_tool("select") if on else None)
        bar.tool_draw.toggled.connect(lambda on: self.set_tool("draw") if on else None)
        bar.snap_combo.currentIndexChanged.connect(self._on_snap)
        bar.zoom_out_button.clicked.connect(lambda: self.roll.zoom_x(1 / 1.3))
        bar.zoom_in_button.clicked.connect(lambda: self.roll.zoom_x(1.3))
        bar.fit_button.clicked.connect(lambda: self.roll.fit())
        bar.quantise_button.clicked.connect(self.roll.quantise_selection)
        bar.tempo_spin.valueChanged.connect(self._on_tempo_spin)
        self.picker.changed.connect(self._on_model_changed)
        self.picker.finetune_requested.connect(lambda: self.finetune_requested.emit("music"))
        box.temp_slider.valueChanged.connect(lambda v: box.temp_spin.setValue(v / 100.0))
        box.temp_spin.valueChanged.connect(self._on_temperature)
        box.length_spin.valueChanged.connect(lambda v: self.settings.set(Key.COMPOSE_LENGTH, v))
        box.quality_combo.currentIndexChanged.connect(
            lambda _i: self.settings.set(Key.COMPOSE_VIEWS, int(box.quality_combo.currentData()))
        )
        box.audition_check.toggled.connect(lambda on: self.settings.set(Key.COMPOSE_AUDITION, on))
        self.steering_box.changed.connect(lambda: save_steering(self.settings, self.steering_box.model()))
        self.roll.note_preview.connect(self._preview)
        self.roll.selection_changed.connect(self._on_selection)
        self.doc.changed.connect(self._on_doc_changed)
        self.doc.meta_changed.connect(self._on_meta_changed)
        self.undo_stack.cleanChanged.connect(self._on_clean_changed)

    def _restore(self) -> None:
        s = self.settings
        name = s.get(Key.COMPOSE_MODEL)
        name = {"lstm": "music-lstm", "transformer": "music-transformer"}.get(name, name)
        if not self.picker.set_current(name, quiet=True):
            self.model_combo.blockSignals(True)
            self.model_combo.setCurrentIndex(0)
            self.model_combo.blockSignals(False)
        temperature = min(2.0, max(0.05, s.get(Key.COMPOSE_TEMPERATURE)))
        self.temp_spin.setValue(temperature)
        self.temp_slider.setValue(int(round(temperature * 100)))
        self.length_spin.setValue(max(1, min(512, s.get(Key.COMPOSE_LENGTH))))
        quality = self.box.quality_combo
        quality.setCurrentIndex(max(0, quality.findData(int(s.get(Key.COMPOSE_VIEWS)))))
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
        self.record_quantise.setCurrentIndex(
            next((i for i, (_l, v) in enumerate(RECORD_QUANTISE) if abs(v - q) < 1e-6), 0)
        )
        self.live_io.restore_ports()
        self.sound_io.restore()
        self.steering_box.set_model(load_steering(s))

    # ================================================================ state, for tests and benches
    @property
    def gen(self) -> Generation | None:
        """The continuation in progress or last made (None after Reject)."""
        return self.session.generation

    @property
    def _recording(self) -> bool:
        return self.session.recording

    @property
    def _jamming(self) -> bool:
        return self.session.jamming

    # ================================================================ Panel API
    def active_model(self) -> str:
        return self.picker.current_label()

    def open_filters(self) -> str:
        return MIDI_FILTER

    def save_filters(self) -> str:
        return MIDI_FILTER

    def open_path(self, path: str) -> None:
        from gdl_studio.music.midi_io import read_midi

        score = read_midi(path)  # UserError with one line on bad files
        self.stop()
        self.continuation.drop()
        self.doc.load(score, str(path))
        if score.programs:
            self.sound_io.use_file_programs(score.programs)
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

    def export_audio(self, path: str | None = None) -> bool:
        """File → Export audio…: render the piece to WAV/FLAC (asks for a file without ``path``)."""
        if path is None:
            self.audio_export.ask()
            return True
        return self.audio_export.export(path)

    def shutdown(self) -> None:
        self.audio_export.cancel()
        self.live_io.timer.stop()
        self.engine.cancel(self.panel_id)
        self.live.close()

    def on_result(self, request_id: int, item: object) -> None:
        self.continuation.on_result(request_id, item)

    def on_finished(self, info) -> None:
        self.continuation.on_finished(info)

    def on_error(self, info) -> None:
        self.continuation.on_error(info)

    # ================================================================ intents (menu, shortcuts, tests)
    def continue_generation(self) -> None:
        self.continuation.continue_generation()

    def regenerate(self) -> None:
        self.continuation.regenerate()

    def fill_gap(self, bars: tuple[int, int] | None = None) -> None:
        """Fill the Fill row's bars (or ``bars``: A to B counted from 1, B not included)."""
        self.continuation.fill(bars)

    def accept_generation(self) -> None:
        self.continuation.accept()

    def reject_generation(self) -> None:
        self.continuation.reject()

    def play(self) -> None:
        self.live_io.play()

    def stop(self) -> None:
        self.live_io.stop()

    def toggle_play(self) -> None:
        self.live_io.toggle_play()

    def rewind(self) -> None:
        self.live_io.rewind()

    def panic(self) -> None:
        self.live_io.panic()

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
        changes = len(self.doc.tempo_changes)
        kept = f" · {changes} tempo change{'s' if changes > 1 else ''} (not played, kept on save)" if changes else ""
        self.title_label.setText(f"{name}{dirty}   {len(self.doc.notes)} notes · {self.doc.tempo_bpm:g} BPM{kept}")

    def _on_selection(self) -> None:
        ids = [i for i in self.roll.selected if i in self.doc.notes]
        if ids:
            notes = [self.doc.notes[i] for i in ids]
            if len(notes) == 1:
                n = notes[0]
                self.selection_label.setText(
                    f"{pitch_name(n.pitch)} · beat {n.start:g} · length {n.duration:g} · "
                    f"velocity {n.velocity} · track {n.track + 1}"
                )
            else:
                self.selection_label.setText(f"{len(notes)} notes selected")
        else:
            self.selection_label.setText("")
        self.continuation.on_selection(ids)

    def _preview(self, pitch: int, velocity: int) -> None:
        message = self.live.preview(pitch, velocity)
        if message:
            self._io_message(message)

    # ================================================================ messages
    def _io_message(self, text: str) -> None:
        self.live_io.update_io_status()
        self._message(text)

    def _message(self, text: str) -> None:
        self._last_status = text
        self.status_message.emit(text)
        self.live_io.update_io_status()

    # ================================================================ model choice
    def _fill_models(self) -> None:
        """(Re)fill the picker: the shipped models, then the personal (★) ones."""
        from gdl_studio.music.models_io import root_model

        for name, _label in self.picker.fill(list(composers.MODEL_CHOICES)):
            self._model_roots[name] = root_model(name)  # remembered: the fallback once it is deleted

    def refresh_models(self) -> None:
        """Re-read the installed music models (after a fine-tune, rename or delete), keeping the
        selection while it exists; a deleted personal model falls back to its base model."""
        from gdl_studio.core.registry import default_registry
        from gdl_studio.music.models_io import root_model

        for k in range(self.model_combo.count()):  # a personal model may have been replaced
            name = self.model_combo.itemData(k)
            if name not in composers.KIND_OF:
                default_registry().forget(name)
        if not self.picker.refresh(list(composers.MODEL_CHOICES)):
            self._update_model_status()
        for k in range(self.model_combo.count()):
            name = self.model_combo.itemData(k)
            self._model_roots[name] = root_model(name)

    def _on_model_changed(self, _name: str = "") -> None:
        self.settings.set(Key.COMPOSE_MODEL, self.picker.current())
        self._update_model_status()
        self.model_changed.emit(self.active_model())

    def _on_temperature(self, value: float) -> None:
        self.temp_slider.blockSignals(True)
        self.temp_slider.setValue(int(round(value * 100)))
        self.temp_slider.blockSignals(False)
        self.settings.set(Key.COMPOSE_TEMPERATURE, value)

    def _update_model_status(self) -> None:
        name = self.picker.current()
        label = self.picker.current_label()
        self._model_usable(refresh=True)
        if composers.model_available(name):
            self.picker.set_status(f"{label}: trained weights installed.", "ok")
        elif composers.demo_mode():
            self.picker.set_status(
                f"Demo: an untrained {label} with random weights "
                "(its notes are random; install the trained weights for music).",
                "warn",
            )
        else:
            self.picker.set_status(composers.missing_message(name), "error")
        self._update_buttons()

    def _model_usable(self, refresh: bool = False) -> bool:
        name = self.picker.current()
        if refresh or self._usable_cache[0] != name:
            self._usable_cache = (name, composers.model_available(name) or composers.demo_mode())
            self._fill_cache = (name, composers.fill_unsupported(name))
        return self._usable_cache[1]

    def _fill_why_not(self) -> str:
        """Why the chosen model cannot fill a gap ("" when it can)."""
        self._model_usable()
        return self._fill_cache[1]

    def views(self) -> int | None:
        """The transposition views the Quality choice asks of the model (None: its own)."""
        views = int(self.box.quality_combo.currentData())
        return None if views < 0 else views

    def _update_buttons(self) -> None:
        why_not = self._fill_why_not()
        state = self.session.buttons(self._model_usable(), bool(self.doc.notes), not why_not)
        self.fill_button.setEnabled(state.fill)
        self.fill_button.setToolTip(self.session.fill_tooltip(why_not))
        self.continue_button.setEnabled(state.continue_)
        self.regenerate_button.setEnabled(state.regenerate)
        self.accept_button.setEnabled(state.accept)
        self.reject_button.setEnabled(state.reject)
        self.drag_button.setEnabled(state.drag)

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
        stem = (
            re.sub(r"[^\w\- ]+", "", self.doc.title or Path(self.doc.path).stem or "gdl-studio").strip() or "gdl-studio"
        )
        target = user_dir() / "drag" / f"{stem}.mid"
        write_midi(score, target)
        return target
