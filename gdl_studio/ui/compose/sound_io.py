"""The Compose panel's sound and tempo sync: wires the "Sound" and "Tempo sync" groups
(:mod:`gdl_studio.ui.compose.sound_box`) to the live session.

The state is the session's two view-models (:class:`~gdl_studio.live.controls_model.InstrumentModel`
and ``SyncModel``, on :class:`~gdl_studio.ui.compose.session.ComposeSession`), loaded from and saved
to the settings (``Key.AUDIO_*``, ``Key.SYNC_*``). An instrument change goes to
``LiveSession.configure_instrument``; a sync mode to ``LiveSession.set_sync`` (playback, recording
and jam then land on its transport, see :class:`~gdl_studio.ui.compose.live_controller.LiveController`);
the sync status line is refreshed on the live controller's port poll.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from gdl_studio.live.clock import OWN_CLOCK_PORT, SETTING_SYNC_CLOCK_IN
from gdl_studio.live.controls_model import InstrumentModel, SyncModel
from gdl_studio.live.session import NO_INPUT, VIRTUAL
from gdl_studio.ui.panel import Panel

# the master's clock goes where the notes go, or to a JACK port of its own (Key.SYNC_CLOCK_OUT)
CLOCK_OUT_CHOICES = [("", "With the notes (the Out port)"), (OWN_CLOCK_PORT, f'Own port "{OWN_CLOCK_PORT}"')]


class SoundIO(QObject):
    """Instrument and sync of one Compose panel (``panel``: the ComposePanel that owns it)."""

    link_started = Signal(float)  # a Link peer started playing (emitted on the Link thread)
    link_stopped = Signal()

    def __init__(self, panel: Panel) -> None:
        super().__init__(panel)
        self.p = panel
        session = panel.session
        session.instrument = InstrumentModel.load(panel.settings.get_path)
        session.sync = SyncModel.load(self._get)
        ic, sc = panel.sound_box.controls, panel.sync_box.controls
        ic.instrument_changed.connect(self._on_instrument)
        ic.soundfont_chosen.connect(self._on_soundfont)
        ic.program_changed.connect(self._on_program)
        ic.preset_chosen.connect(self._on_preset)
        sc.mode_changed.connect(self._on_mode)
        sc.clock_in_changed.connect(self._on_clock_in)
        sc.clock_out_changed.connect(self._on_clock_out)
        sc.align_changed.connect(self._on_align)
        panel.live.ports_changed.connect(self.show_sync)
        panel.live.poll_timer.timeout.connect(self.poll)  # the existing port poll (about once a second)
        panel.live.message.connect(lambda _text: self.show_instrument())  # e.g. the SoundFont failed to load
        # Ableton Link: the tempo box is the session's tempo; a peer's start/stop starts/stops ours
        panel.bar.tempo_spin.valueChanged.connect(self._on_tempo)
        self.link_started.connect(lambda _t: None if self.p.live.playing else self.p.live_io.play())
        self.link_stopped.connect(lambda: self.p.live_io.stop() if self.p.live.playing else None)
        session_live = panel.live.session
        session_live.on_link_start = self.link_started.emit
        session_live.on_link_stop = self.link_stopped.emit

    # our virtual port is stored as "virtual" (as Key.COMPOSE_MIDI_IN), not as its choice value
    def _get(self, path: str, default=None):
        value = self.p.settings.get_path(path, default)
        return VIRTUAL if path == SETTING_SYNC_CLOCK_IN and value == "virtual" else value

    def _set(self, path: str, value) -> None:
        self.p.settings.set_path(path, "virtual" if path == SETTING_SYNC_CLOCK_IN and value == VIRTUAL else value)

    @property
    def instrument(self) -> InstrumentModel:
        return self.p.session.instrument

    @property
    def sync(self) -> SyncModel:
        return self.p.session.sync

    def restore(self) -> None:
        """Apply what the settings say (at start-up, after the ports are listed)."""
        self.apply_instrument(save=False)
        self.apply_sync(save=False)

    # ------------------------------------------------------------------ instrument
    def apply_instrument(self, save: bool = True) -> None:
        self.p.live.session.configure_instrument(**self.instrument.session_config())
        if save:
            self.instrument.save(self.p.settings.set_path)
        self.show_instrument()

    def show_instrument(self) -> None:
        model = self.instrument
        message = model.message or self.p.live.session.audio.instrument_message
        self.p.sound_box.controls.set_state(model.instrument, model.soundfont_label(), model.programs, message)

    def _on_instrument(self, instrument: str) -> None:
        self.instrument.set_instrument(instrument)
        self.apply_instrument()

    def _on_soundfont(self, path: str) -> None:
        problem = self.instrument.set_soundfont(path)
        if problem:  # nothing changed: say why
            self.show_instrument()
            self.p._message(problem)
            return
        self.apply_instrument()

    def _on_program(self, track: int, program: int) -> None:
        self.instrument.set_program(track, program)
        self.apply_instrument()

    def use_file_programs(self, programs: dict[int, int]) -> None:
        """An opened file's instruments become the tracks' programs (as a DAW opens a file)."""
        if self.instrument.use_file_programs(programs):
            self.apply_instrument()

    def _on_preset(self, preset: str) -> None:
        self.instrument.apply_preset(preset, len(self.p.sound_box.controls.program_combos))
        self.apply_instrument()

    # ------------------------------------------------------------------ sync
    def apply_sync(self, save: bool = True) -> None:
        """Stop playback, switch the session's grid to the model's mode, show the result."""
        p, model = self.p, self.sync
        if p.live.playing:
            p.live_io.stop()
        message = p.live.session.set_sync(
            model.mode, model.clock_in if model.follows else NO_INPUT, model.clock_out if model.mode == "master" else ""
        )
        p.live.align = model.align
        if message:  # the grid stayed internal: show it so
            model.mode = p.live.session.sync_mode
        if save:
            model.save(self._set)
        if message:
            p._message(message)
        self.show_sync(message)

    def show_sync(self, message: str = "") -> None:
        p, model = self.p, self.sync
        live = p.live.session
        p.sync_box.controls.set_state(
            model.mode,
            model.clock_in,
            model.clock_out,
            model.align,
            live.input_choices(),
            CLOCK_OUT_CHOICES,
            message or live.sync_status(),
        )
        follows = live.sync_mode == "follow"
        p.bar.tempo_spin.setReadOnly(follows)
        p.bar.tempo_spin.setToolTip("The tempo follows the external MIDI clock" if follows else "Tempo of the piece")

    def _on_tempo(self, bpm: float) -> None:
        link = self.p.live.session.link
        if link is not None and abs(link.tempo_bpm - bpm) > 0.005:
            link.set_tempo(bpm)

    def poll(self) -> None:
        link = self.p.live.session.link
        if link is not None and abs(self.p.bar.tempo_spin.value() - link.tempo_bpm) > 0.05:
            self.p.bar.tempo_spin.setValue(link.tempo_bpm)  # a peer changed the session's tempo
        if self.p.live.session.sync_mode != "internal":
            self.p.sync_box.controls.set_status(self.p.live.session.sync_status())

    def _on_mode(self, mode: str) -> None:
        self.sync.set_mode(mode)
        self.apply_sync()

    def _on_clock_in(self, port: str) -> None:
        self.sync.clock_in = port
        self.apply_sync()

    def _on_clock_out(self, port: str) -> None:
        self.sync.clock_out = port
        self.apply_sync()  # the master clock moves to that output

    def _on_align(self, align: str) -> None:
        self.sync.set_align(align)
        self.p.live.align = self.sync.align
        self.sync.save(self._set)
