"""The Compose panel's live side: transport (play, stop, loop, the 30 Hz playhead clock), MIDI/audio
out and in, recording a take, and jam mode (the model answers what the musician plays).

It wires the bar's controls (:class:`~gdl_studio.ui.compose.transport_bar.ComposeBar`) to the
:class:`~gdl_studio.ui.compose.live_controller.LiveController` and the roll; the state it keeps
(recording, jamming) is the panel's :class:`~gdl_studio.ui.compose.session.ComposeSession`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from gdl_studio.jobs import compose as composers
from gdl_studio.live.jam import ANSWERING, LISTENING
from gdl_studio.live.session import SYNTH, VIRTUAL
from gdl_studio.ui.compose.commands import AddNotes
from gdl_studio.ui.panel import Panel
from gdl_studio.ui.settings import Key


class LiveIO(QObject):
    """Transport, ports, recording and jam of one Compose panel (``panel``: the ComposePanel that
    owns it, whose bar, roll, document, live controller and session it uses)."""

    def __init__(self, panel: Panel) -> None:
        super().__init__(panel)
        self.p = panel
        self.timer = QTimer(self)
        self.timer.setInterval(33)
        self.timer.timeout.connect(self.tick)
        bar = panel.bar
        bar.play_button.clicked.connect(self._on_play_button)
        bar.stop_button.clicked.connect(self.stop)
        bar.rewind_button.clicked.connect(self.rewind)
        bar.loop_button.toggled.connect(self._on_loop_toggled)
        bar.record_button.toggled.connect(self._on_record_toggled)
        bar.jam_button.toggled.connect(self._on_jam_toggled)
        bar.panic_button.clicked.connect(self.panic)
        bar.out_combo.activated.connect(self._on_out_chosen)
        bar.in_combo.activated.connect(self._on_in_chosen)
        bar.record_quantise.currentIndexChanged.connect(
            lambda _i: panel.settings.set(Key.COMPOSE_RECORD_QUANTISE, bar.record_quantise.currentData())
        )
        bar.jam_silence.valueChanged.connect(lambda v: panel.settings.set(Key.COMPOSE_JAM_SILENCE_BEATS, v))
        panel.roll.loop_changed.connect(self._on_loop_changed)
        live = panel.live
        live.message.connect(panel._message)
        live.ports_changed.connect(self.fill_ports)
        live.output_changed.connect(self.fill_ports)
        live.jam_event.connect(self._on_jam_event)

    # ------------------------------------------------------------------ start-up
    def restore_ports(self) -> None:
        """Reopen the MIDI out and in chosen last time, if they are still there."""
        p, s = self.p, self.p.settings
        p.live.session.refresh()
        for key, setter, available in (
            (Key.COMPOSE_MIDI_OUT, p.live.set_output, p.live.session.outputs),
            (Key.COMPOSE_MIDI_IN, p.live.set_input, p.live.session.inputs),
        ):
            stored = s.get(key)
            if not stored:
                continue
            choice = VIRTUAL if stored == "virtual" else stored
            if choice == VIRTUAL or choice in available:
                message = setter(choice)
                if message:
                    p._message(message)

    def probe_audio(self) -> None:
        """Say early whether the built-in synth can be heard (the stream opens on first use)."""
        session = self.p.live.session
        if session.output_choice == SYNTH and not session.audio.ok and not session.audio_message:
            session.audio_message = session.audio.probe()
            self.update_io_status()

    # ------------------------------------------------------------------ transport
    def _on_play_button(self) -> None:
        if self.p.bar.play_button.isChecked():
            self.play()
        else:
            self.stop()

    def toggle_play(self) -> None:
        if self.p.live.playing or self.p.live.audition is not None:
            self.stop()
        else:
            self.play()

    def play(self) -> None:
        p = self.p
        notes = [n for _i, n in p.doc.sorted_items()] + list(p.roll.pending)
        start = p.roll.cursor_beat
        loop = p.roll.loop if p.roll.loop_enabled else None
        if loop is not None and not (loop[0] <= start < loop[1]):
            start = loop[0]
        message = p.live.play(notes, p.doc.tempo_bpm, start, loop)
        if message:
            p._io_message(message)
        p.bar.play_button.setChecked(True)
        self.timer.start()

    def stop(self) -> None:
        """Stop playback (all notes off); finish a recording take."""
        p = self.p
        if p.session.recording:
            p.bar.record_button.setChecked(False)
        p.live.stop()
        p.bar.play_button.setChecked(False)
        p.roll.set_playhead(None)
        p.roll.set_sounding(set())
        if not p.session.jamming:
            self.timer.stop()

    def rewind(self) -> None:
        self.p.roll.set_cursor_beat(0.0)
        self.p.roll.scroll_to_beat(0.0)

    def panic(self) -> None:
        self.stop()
        self.p.live.panic()
        self.p._message("Panic: all notes off on every channel")

    def _on_loop_toggled(self, on: bool) -> None:
        roll = self.p.roll
        if on and roll.loop is None:
            bpb = self.p.doc.beats_per_bar
            start = (roll.cursor_beat // bpb) * bpb
            roll.set_loop((start, start + 4 * bpb), enabled=True)
        else:
            roll.set_loop(roll.loop, enabled=on)

    def _on_loop_changed(self) -> None:
        button = self.p.bar.loop_button
        button.blockSignals(True)
        button.setChecked(self.p.roll.loop_enabled)
        button.blockSignals(False)

    def tick(self) -> None:
        """30 times a second while playing, recording or jamming: playhead, overlays, keys."""
        p, live = self.p, self.p.live
        pos = live.position()
        if pos is None and p.session.jamming:
            pos = live.jam_position()
        if pos is not None:
            p.roll.set_playhead(pos)
            bar, beat = divmod(pos, p.doc.beats_per_bar)
            p.bar.position_label.setText(f"{int(bar) + 1:>3} · {int(beat) + 1}")
        p.roll.set_sounding({pitch for _c, pitch in live.scheduler.sounding()})
        if p.session.recording:
            p.roll.set_recording(live.recording_notes())
        elif p.session.jamming:
            played, answers = live.jam_notes()
            p.roll.set_recording(played, answers)
        if live.position() is not None and live.finished() and not p.session.running and not p.session.recording:
            if live.playing or live.audition is not None:
                self.stop()

    # ------------------------------------------------------------------ ports
    def fill_ports(self) -> None:
        session = self.p.live.session
        bar = self.p.bar
        for combo, choices, current in (
            (bar.out_combo, session.output_choices(), session.output_choice),
            (bar.in_combo, session.input_choices(), session.input_choice),
        ):
            combo.blockSignals(True)
            combo.clear()
            for choice, label in choices:
                combo.addItem(label, choice)
            combo.setCurrentIndex(max(0, combo.findData(current)))
            combo.blockSignals(False)
        self.update_io_status()

    def update_io_status(self) -> None:
        self.p.io_status.setText("   ·   ".join(self.p.live.session.status_parts()))

    def _on_out_chosen(self, index: int) -> None:
        p = self.p
        choice = p.bar.out_combo.itemData(index)
        self.stop()
        message = p.live.set_output(choice)
        p.settings.set(Key.COMPOSE_MIDI_OUT, "virtual" if choice == VIRTUAL else choice)
        if message:
            p._io_message(message)
        self.fill_ports()

    def _on_in_chosen(self, index: int) -> None:
        p = self.p
        choice = p.bar.in_combo.itemData(index)
        message = p.live.set_input(choice)
        p.settings.set(Key.COMPOSE_MIDI_IN, "virtual" if choice == VIRTUAL else choice)
        if message:
            p._message(message)
        self.fill_ports()

    # ------------------------------------------------------------------ recording
    @staticmethod
    def _uncheck(button) -> None:
        button.blockSignals(True)
        button.setChecked(False)
        button.blockSignals(False)

    def _on_record_toggled(self, on: bool) -> None:
        p, session = self.p, self.p.session
        if on:
            if not p.live.input_active:
                self._uncheck(p.bar.record_button)
                p._message("Choose a MIDI input (In) to record from")
                return
            session.recording = True
            p.live.start_recording(p.doc.tempo_bpm, p.roll.cursor_beat, session.next_track(p.doc.tracks))
            self.play()  # play along while recording
            p._message("Recording… press Rec again or Stop to finish the take")
            return
        if not session.recording:
            return
        session.recording = False
        notes = p.live.stop_recording()
        p.live.stop()
        p.bar.play_button.setChecked(False)
        p.roll.set_recording([])
        p.roll.set_playhead(None)
        grid = float(p.bar.record_quantise.currentData() or 0.0)
        if grid > 0:
            from gdl_studio.live.recorder import quantise_notes

            notes = quantise_notes(notes, grid)
        if notes:
            cmd = AddNotes(p.doc, notes, f"Record {len(notes)} notes")
            p.undo_stack.push(cmd)
            p.roll.set_selection(set(cmd.ids))
            p._message(f"Recorded {len(notes)} notes")
        else:
            p._message("Nothing was recorded")
        if not session.jamming:
            self.timer.stop()

    # ------------------------------------------------------------------ jam
    def _on_jam_toggled(self, on: bool) -> None:
        p, session = self.p, self.p.session
        if on:
            if not p.live.input_active:
                self._uncheck(p.bar.jam_button)
                p._message("Choose a MIDI input (In) to jam with the model")
                return
            name = p.picker.current()
            if not composers.model_available(name) and not composers.demo_mode():
                self._uncheck(p.bar.jam_button)
                p._message(composers.missing_message(name))
                return
            constraints = p.continuation.steering()  # the Steer group steers every answer
            if constraints is False:
                self._uncheck(p.bar.jam_button)
                return
            self.stop()
            temperature = p.box.temp_spin.value()
            bpb = p.doc.beats_per_bar
            views = p.views()

            def respond(phrase, n):  # the model is loaded when an answer is due (the registry keeps it)
                answer = composers.responder(
                    composers.load_composer(name), temperature, bpb, constraints=constraints, views=views
                )
                return answer(phrase, n)

            def runner(make_job):
                p.engine.submit(p.panel_id, lambda ctx: make_job(ctx.cancelled), label="Jam answer")

            p.engine.submit(p.panel_id, composers.preload_job(name), label="Load model")
            session.jam_track = session.next_track(p.doc.tracks)
            beat0 = session.jam_start_beat(p.doc.end_beat, p.roll.cursor_beat, bpb)
            silence = p.bar.jam_silence.value()
            p.live.start_jam(
                respond,
                p.doc.tempo_bpm,
                silence,
                int(p.settings.get(Key.COMPOSE_JAM_ANSWER_NOTES)),
                runner,
                beat0,
                session.jam_track,
            )
            session.jamming = True
            self.timer.start()
            p.roll.scroll_to_beat(max(0.0, beat0 - 2))
            p._message(
                f"Jam: play something; after {silence:g} beats of silence the {p.picker.current_label()} answers"
            )
            return
        if not session.jamming:
            return
        session.jamming = False
        played, answers = p.live.stop_jam()
        p.roll.set_recording([], [])
        p.roll.set_playhead(None)
        p.bar.jam_state.setText("")
        answers = session.answers_track(answers)
        if played or answers:
            cmd = AddNotes(p.doc, played + answers, "Jam take")
            p.undo_stack.push(cmd)
            p._message(f"Jam take kept: {len(played)} played + {len(answers)} answered notes (Undo discards it)")
        if not p.live.playing:
            self.timer.stop()

    def _on_jam_event(self, kind: str, payload) -> None:
        if kind == "state":
            text = {LISTENING: "listening…", ANSWERING: "answering…"}.get(payload, "")
            self.p.bar.set_jam_state(f" {text}", payload == ANSWERING)
