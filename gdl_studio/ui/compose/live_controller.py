"""The Compose panel's link to :mod:`gdl_studio.live`: transport, audition of generated notes,
key previews, recording, jam mode and port watching, with Qt signals for the GUI.

Callbacks from the MIDI, scheduler and jam threads become queued signals, so the GUI is only
touched on its own thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, QTimer, Signal

from gdl_studio.live.clock import stop_notes_on_stop
from gdl_studio.live.jam import JamSession
from gdl_studio.live.playback import Playback
from gdl_studio.live.recorder import Recorder, message_note
from gdl_studio.live.scheduler import note_off, note_on
from gdl_studio.live.session import NO_INPUT, SYNTH, LiveSession
from gdl_studio.music.notes import Note

PLAY_TAG = "playback"
AUDITION_TAG = "audition"
PREVIEW_TAG = "preview"
THRU_TAG = "thru"


class LiveController(QObject):
    """Transport, audition, preview, record and jam over one :class:`LiveSession`."""

    message = Signal(str)
    ports_changed = Signal()
    jam_event = Signal(str, object)
    output_changed = Signal()

    def __init__(self, parent: QObject | None = None, session: LiveSession | None = None, poll_ms: int = 1000) -> None:
        super().__init__(parent)
        self.session = session or LiveSession(on_message=self.message.emit, on_input=self._on_input)
        if session is not None:
            session.on_message = self.message.emit
            session.on_input = self._on_input
        self.playback: Playback | None = None
        self.audition: Playback | None = None
        self.recorder: Recorder | None = None
        self.jam: JamSession | None = None
        self.jam_recorder: Recorder | None = None
        self.jam_t0 = 0.0
        self.jam_beat0 = 0.0
        self.jam_answers: list[Note] = []
        self.thru = True
        self.align = "song"  # where playback lands on an external clock's grid (SyncModel.align)
        self._stop_listener: Callable | None = None  # cancels playback's notes when the external clock stops
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(poll_ms)
        self.poll_timer.timeout.connect(self.poll_ports)
        self.poll_timer.start()
        self.session.refresh()

    @property
    def scheduler(self):
        return self.session.scheduler

    # ---------------------------------------------------------------- ports
    def poll_ports(self) -> None:
        before = self.session.output_choice
        if self.session.poll_ports():
            self.ports_changed.emit()
        if self.session.output_choice != before:
            self.output_changed.emit()

    def set_output(self, choice: str) -> str:
        message = self.session.set_output(choice)
        self.output_changed.emit()
        return message

    def set_input(self, choice: str) -> str:
        return self.session.set_input(choice)

    def ensure_output(self) -> str:
        return self.session.ensure_output()

    # ---------------------------------------------------------------- transport
    @property
    def playing(self) -> bool:
        return self.playback is not None

    def play(
        self, notes: Iterable[Note], tempo_bpm: float, start_beat: float, loop: tuple[float, float] | None = None
    ) -> str:
        """Start playing ``notes`` from ``start_beat``; returns an audio message or ''.

        Following an external clock, the notes wait for it and land on its grid (``align``); its
        stop or loss ends them. As the clock master, the clock starts with the notes."""
        self.stop()
        message = self.ensure_output()
        session = self.session
        transport = None
        if session.sync_mode == "follow":
            transport = session.transport
            self._stop_listener = stop_notes_on_stop(transport, self.scheduler, PLAY_TAG)
        elif session.sync_mode == "master":
            transport = session.transport
            session.start_clock(start_beat, tempo_bpm)
        self.playback = Playback(
            notes,
            tempo_bpm,
            start_beat=start_beat,
            loop=loop,
            latency_s=0.06,
            transport=transport,
            align=self.align if session.sync_mode == "follow" else "song",
        )
        self.scheduler.add_source(self.playback, PLAY_TAG)
        return message

    @property
    def _follow_transport(self):
        """The transport recording and jam land on (following an external clock), else None."""
        return self.session.transport if self.session.sync_mode == "follow" else None

    def add_to_playback(self, notes: Iterable[Note]) -> None:
        if self.playback is not None:
            self.playback.add_notes(notes)

    def position(self) -> float | None:
        source = self.playback or self.audition
        return None if source is None else source.position()

    def finished(self) -> bool:
        source = self.playback or self.audition
        return source is None or source.finished()

    def set_tempo(self, bpm: float) -> None:
        for source in (self.playback, self.audition):
            if source is not None:
                source.set_tempo(bpm)
        if self.jam is not None:
            self.jam.tempo_bpm = bpm

    def stop(self) -> None:
        """Stop playback and audition: their queued notes are dropped, sounding ones end (as the
        clock master, the clock stops too)."""
        self.playback = None
        self.audition = None
        self.scheduler.cancel(PLAY_TAG)
        self.scheduler.cancel(AUDITION_TAG)
        listener, self._stop_listener = self._stop_listener, None
        if listener is not None:
            self.session.transport.remove_listener(listener)
        if self.session.sync_mode == "master":
            self.session.stop_clock()

    # ---------------------------------------------------------------- audition of a continuation
    def audition_note(self, note: Note, tempo_bpm: float) -> None:
        """Play a freshly generated note: the first one starts an audition stream."""
        if self.playback is not None:
            self.playback.add_notes([note])
            return
        if self.audition is None:
            self.ensure_output()
            self.audition = Playback([note], tempo_bpm, start_beat=note.start, latency_s=0.12)
            self.scheduler.add_source(self.audition, AUDITION_TAG)
        else:
            self.audition.add_notes([note])

    def stop_audition(self) -> None:
        self.audition = None
        self.scheduler.cancel(AUDITION_TAG)

    # ---------------------------------------------------------------- previews
    def preview(self, pitch: int, velocity: int = 100, seconds: float = 0.3, channel: int = 0) -> str:
        message = self.ensure_output()
        now = time.perf_counter()
        self.scheduler.post(now, note_on(channel, pitch, velocity), PREVIEW_TAG)
        self.scheduler.post(now + seconds, note_off(channel, pitch), PREVIEW_TAG)
        return message

    def panic(self) -> None:
        self.stop()
        self.session.panic()

    # ---------------------------------------------------------------- input
    def _on_input(self, msg, t: float) -> None:
        """On rtmidi's thread: MIDI thru, recording, jam."""
        info = message_note(msg)
        if info is not None and self.thru:
            kind, ch, pitch, vel = info
            data = note_on(ch, pitch, vel) if kind == "on" else note_off(ch, pitch)
            self.scheduler.send_now(data, THRU_TAG)
        recorder, jam, jam_rec = self.recorder, self.jam, self.jam_recorder
        if recorder is not None:
            recorder.feed(msg, t)
        if jam is not None:
            jam.feed(msg, t)
            if jam_rec is not None:
                jam_rec.feed(msg, t)

    # ---------------------------------------------------------------- recording
    def start_recording(self, tempo_bpm: float, beat0: float, track: int) -> None:
        self.recorder = Recorder(tempo_bpm, time.perf_counter(), beat0, track, transport=self._follow_transport)

    def recording_notes(self) -> list[Note]:
        rec = self.recorder
        if rec is None:
            return []
        return rec.notes + rec.sounding(time.perf_counter())

    def stop_recording(self) -> list[Note]:
        rec, self.recorder = self.recorder, None
        if rec is None:
            return []
        self.scheduler.cancel(THRU_TAG)
        return rec.finish(time.perf_counter())

    # ---------------------------------------------------------------- jam
    def start_jam(
        self,
        responder,
        tempo_bpm: float,
        silence_beats: float,
        answer_notes: int,
        runner: Callable | None,
        beat0: float,
        track: int,
    ) -> None:
        self.stop_jam()
        self.ensure_output()
        self.jam_t0 = time.perf_counter()
        self.jam_beat0 = beat0
        self.jam_answers = []
        transport = self._follow_transport
        self.jam_recorder = Recorder(tempo_bpm, self.jam_t0, beat0, track, transport=transport)
        self.jam = JamSession(
            self.scheduler,
            responder,
            tempo_bpm=tempo_bpm,
            silence_beats=silence_beats,
            answer_notes=answer_notes,
            runner=runner,
            on_event=self._jam_event,
            transport=transport,
        )
        self.jam.start()

    def _jam_event(self, kind: str, payload) -> None:
        if kind == "answer":
            spb = 60.0 / max(1.0, self.jam.tempo_bpm if self.jam else 120.0)
            note = payload.note
            beat = self.jam_beat0 + (payload.t_on - self.jam_t0) / spb
            placed = Note(note.pitch, beat, (payload.t_off - payload.t_on) / spb, note.velocity, note.track)
            self.jam_answers.append(placed)
            payload = placed
        self.jam_event.emit(kind, payload)

    def jam_position(self) -> float | None:
        """The beat of "now" on the jam's time line (None when not jamming)."""
        if self.jam is None:
            return None
        return self.jam_beat0 + (time.perf_counter() - self.jam_t0) * self.jam.tempo_bpm / 60.0

    def jam_notes(self) -> tuple[list[Note], list[Note]]:
        """(what the player played, what the model answered) so far, in beats."""
        rec = self.jam_recorder
        played = [] if rec is None else rec.notes + rec.sounding(time.perf_counter())
        return played, list(self.jam_answers)

    def stop_jam(self) -> tuple[list[Note], list[Note]]:
        jam, self.jam = self.jam, None
        if jam is None:
            return [], []
        jam.stop()
        rec, self.jam_recorder = self.jam_recorder, None
        played = rec.finish(time.perf_counter()) if rec is not None else []
        self.scheduler.cancel(THRU_TAG)
        return played, list(self.jam_answers)

    # ---------------------------------------------------------------- shutdown
    def close(self) -> None:
        """All notes off and close everything (panel shutdown / app exit)."""
        self.poll_timer.stop()
        try:
            self.stop_jam()
        except Exception:
            pass
        self.recorder = None
        self.stop()
        self.session.close()

    @property
    def input_active(self) -> bool:
        return self.session.input_choice != NO_INPUT

    @property
    def output_is_synth(self) -> bool:
        return self.session.output_choice == SYNTH
