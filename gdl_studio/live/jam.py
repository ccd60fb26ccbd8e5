"""Jam mode: call and response.

The player plays into a MIDI input; once nothing has sounded for ``silence_beats`` (e.g. one
bar) the model continues what was just played and the answer is played in tempo, starting
right at the end of the silence window (aligned to the beat grid of the phrase); then the
session listens again. Playing during an answer cuts the answer short and starts a new phrase.

:class:`JamSession` keeps the state and a small watcher thread; the answer itself is a plain
generator (:meth:`JamSession._answer`) run by a *runner*: by default a thread of its own, in
the app the inference engine (it yields :class:`~gdl_studio.engine.core.Sleep` to pace itself).
Generation starts ``prepare_s`` (150 ms) before the window ends, so the first note can go out on time;
a note played in that moment cancels it.

With a ``transport`` (:class:`~gdl_studio.live.clock.Transport`, e.g. following a DAW's MIDI clock)
the tempo is the transport's, the silence window ends on one of its beats and the answer's notes
are placed on its grid (so they follow its tempo changes too).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from gdl_studio.engine.core import Sleep
from gdl_studio.live.recorder import message_note, snap_up
from gdl_studio.live.scheduler import MidiScheduler, note_off, note_on
from gdl_studio.music.notes import Note

LISTENING = "listening"
ANSWERING = "answering"
OFF = "off"
JAM_TAG = "jam"

Responder = Callable[[list[Note], int], Iterator]  # (phrase, n_notes) -> notes or GenerationSteps
Runner = Callable[[Callable[[Callable[[], bool]], Iterator]], None]


@dataclass
class JamNote:
    """One answered note and when it sounds (``perf_counter`` seconds)."""

    note: Note
    t_on: float
    t_off: float
    answer: int  # which answer (1, 2, …)
    step: object = None  # the model's GenerationStep, if any


@dataclass
class AnswerStats:
    """Timing of one answer: the end of the silence window and its first note."""

    window_end: float
    phrase_notes: int
    first_note_t: float | None = None  # when the first note was scheduled to sound
    first_ready_t: float | None = None  # when the model had decided it
    notes: int = 0
    pitches: list[int] = field(default_factory=list)


def thread_runner(make_job) -> None:
    """Run an answer job on a thread of its own, honouring its Sleep items."""

    def run() -> None:
        for item in make_job(lambda: False):
            if isinstance(item, Sleep):
                delay = item.until - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)

    threading.Thread(target=run, name="gdl-jam-answer", daemon=True).start()


class JamSession:
    """Listens to the player (:meth:`feed`) and answers through ``scheduler``.

    ``on_event(kind, payload)`` reports ``("state", str)``, ``("heard", Note)`` for each note the
    player finished (beats since the phrase start) and ``("answer", JamNote)``; it is called
    from the MIDI, watcher or runner thread.
    """

    def __init__(
        self,
        scheduler: MidiScheduler,
        responder: Responder,
        tempo_bpm: float = 100.0,
        silence_beats: float = 4.0,
        answer_notes: int = 16,
        channel: int = 0,
        runner: Runner | None = None,
        on_event: Callable[[str, object], None] | None = None,
        prepare_s: float = 0.15,
        ahead_s: float = 1.5,
        max_phrase_notes: int = 96,
        transport=None,
    ) -> None:
        self.scheduler = scheduler
        self.responder = responder
        self.tempo_bpm = float(tempo_bpm)
        self.silence_beats = float(silence_beats)
        self.answer_notes = int(answer_notes)
        self.channel = channel
        self.runner = runner or thread_runner
        self.on_event = on_event or (lambda kind, payload: None)
        self.prepare_s = prepare_s
        self.ahead_s = ahead_s
        self.max_phrase_notes = max_phrase_notes
        self.transport = transport
        self.stats: list[AnswerStats] = []
        self._cond = threading.Condition()
        self._state = OFF
        self._token = 0
        self._phrase: list[list] = []  # [t_on, t_off | None, pitch, velocity]
        self._held: dict[tuple[int, int], list] = {}
        self._last_release = 0.0
        self._answer_done = True
        self._answer_end = 0.0
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- lifecycle
    @property
    def state(self) -> str:
        return self._state

    @property
    def seconds_per_beat(self) -> float:
        tr = self.transport
        if tr is not None and tr.ready:
            return tr.seconds_per_beat
        return 60.0 / max(1.0, self.tempo_bpm)

    def start(self) -> JamSession:
        with self._cond:
            if self._thread is not None:
                return self
            self._state = LISTENING
            self._thread = threading.Thread(target=self._watch, name="gdl-jam", daemon=True)
            self._thread.start()
        self.on_event("state", LISTENING)
        return self

    def stop(self) -> None:
        """Stop listening; an answer in progress is cut off (note-offs sent)."""
        with self._cond:
            self._token += 1
            self._state = OFF
            self._phrase.clear()
            self._held.clear()
            thread, self._thread = self._thread, None
            self._cond.notify_all()
        self.scheduler.cancel(JAM_TAG)
        if thread is not None:
            thread.join(2.0)
        self.on_event("state", OFF)

    # ---------------------------------------------------------------- input
    def feed(self, msg, t: float) -> None:
        """A MIDI message from the player, arriving at ``perf_counter`` time ``t``."""
        info = message_note(msg)
        if info is None:
            return
        kind, ch, pitch, vel = info
        heard = None
        interrupted = False
        with self._cond:
            if self._state == OFF:
                return
            if kind == "on":
                if self._state == ANSWERING:
                    self._token += 1  # the answer generator sees this and stops
                    self._state = LISTENING
                    self._answer_done = True
                    interrupted = True
                entry = [t, None, pitch, vel]
                self._phrase.append(entry)
                if len(self._phrase) > self.max_phrase_notes:
                    del self._phrase[0]
                self._held.setdefault((ch, pitch), []).append(entry)
            else:
                entries = self._held.get((ch, pitch))
                if entries:
                    entry = entries.pop(0)
                    if not entries:
                        del self._held[(ch, pitch)]
                    entry[1] = t
                    self._last_release = t
                    heard = self._entry_note(entry)
            self._cond.notify_all()
        if interrupted:
            self.scheduler.cancel(JAM_TAG)
            self.on_event("state", LISTENING)
        if heard is not None:
            self.on_event("heard", heard)

    def _entry_note(self, entry) -> Note:
        t_ref = self._phrase[0][0] if self._phrase else entry[0]
        spb = self.seconds_per_beat
        start = (entry[0] - t_ref) / spb
        end = ((entry[1] if entry[1] is not None else entry[0]) - t_ref) / spb
        return Note(entry[2], start, max(end - start, 1e-3), entry[3])

    def phrase_notes(self) -> list[Note]:
        """The current phrase as notes in beats from its first note."""
        with self._cond:
            return [self._entry_note(e) for e in self._phrase if e[1] is not None]

    def window_end(self) -> float | None:
        """When the silence window ends (``perf_counter``), aligned to the phrase's beats."""
        with self._cond:
            return self._window_end_locked()

    def _window_end_locked(self) -> float | None:
        if not self._phrase or self._held:
            return None
        spb = self.seconds_per_beat
        tr = self.transport
        if tr is not None and tr.ready:  # the first external beat after the silence
            return tr.next_grid(self._last_release + self.silence_beats * spb, 1.0)[1]
        return snap_up(self._last_release + self.silence_beats * spb, self._phrase[0][0], spb)

    # ---------------------------------------------------------------- watcher
    def _watch(self) -> None:
        cond = self._cond
        while True:
            start_answer = None
            back = False
            with cond:
                if self._state == OFF:
                    return
                now = time.perf_counter()
                if self._state == LISTENING:
                    end = self._window_end_locked()
                    if end is None:
                        cond.wait(0.25)
                        continue
                    trigger = end - self.prepare_s
                    if now < trigger:
                        cond.wait(min(trigger - now, 0.25))
                        continue
                    self._token += 1
                    self._state = ANSWERING
                    self._answer_done = False
                    self._answer_end = end
                    phrase = [self._entry_note(e) for e in self._phrase if e[1] is not None]
                    self._phrase = []
                    stats = AnswerStats(window_end=end, phrase_notes=len(phrase))
                    self.stats.append(stats)
                    start_answer = (self._token, phrase, end, stats)
                else:  # answering
                    if self._answer_done and now >= self._answer_end:
                        self._state = LISTENING
                        self._phrase = []
                        cond.notify_all()
                        back = True
                    else:
                        cond.wait(0.05 if self._answer_done else 0.1)
                        continue
            if start_answer is not None:
                self.on_event("state", ANSWERING)
                token, phrase, end, stats = start_answer
                self.runner(functools.partial(self._answer, token, phrase, end, stats))  # called with `cancelled`
            elif back:
                self.on_event("state", LISTENING)

    # ---------------------------------------------------------------- the answer
    def _answer(
        self, token: int, phrase: list[Note], window_end: float, stats: AnswerStats, cancelled: Callable[[], bool]
    ) -> Iterator:
        """Generate and schedule one answer; yields :class:`JamNote` and :class:`Sleep`."""
        spb = self.seconds_per_beat
        tr = self.transport if self.transport is not None and self.transport.ready else None
        window_beat = tr.beat_at(window_end) if tr is not None else 0.0
        first_beat = None
        last_off = window_end
        number = len(self.stats)
        try:
            if token != self._token:
                return
            for item in self.responder(phrase, self.answer_notes):
                if token != self._token or cancelled():
                    return
                note = getattr(item, "note", item)
                if first_beat is None:
                    first_beat = note.start
                    stats.first_ready_t = time.perf_counter()
                if tr is not None and tr.ready:  # on the external grid, at its current tempo
                    b_on = window_beat + note.start - first_beat
                    t_on = max(tr.time_of(b_on), time.perf_counter())
                    t_off = max(tr.time_of(b_on + max(note.duration, 0.05)), t_on + 0.01)
                else:
                    t_on = window_end + (note.start - first_beat) * spb
                    t_on = max(t_on, time.perf_counter())
                    t_off = t_on + max(note.duration, 0.05) * spb
                self.scheduler.post(t_on, note_on(self.channel, note.pitch, note.velocity), JAM_TAG)
                self.scheduler.post(t_off, note_off(self.channel, note.pitch), JAM_TAG)
                if stats.first_note_t is None:
                    stats.first_note_t = t_on
                stats.notes += 1
                stats.pitches.append(note.pitch)
                last_off = max(last_off, t_off)
                with self._cond:
                    if token == self._token:
                        self._answer_end = last_off
                jam_note = JamNote(note, t_on, t_off, number, item if item is not note else None)
                self.on_event("answer", jam_note)
                yield jam_note
                wake = t_on - self.ahead_s
                if wake > time.perf_counter():
                    yield Sleep(wake)
        finally:
            with self._cond:
                if token == self._token:
                    self._answer_done = True
                    self._answer_end = last_off
                    self._cond.notify_all()
