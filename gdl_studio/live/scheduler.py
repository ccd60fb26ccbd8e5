"""A dedicated thread that sends MIDI messages at absolute ``perf_counter`` deadlines.

Events are raw MIDI bytes with a deadline and a *tag* ("playback", "jam", "preview", …) so a
part of the music can be cancelled without touching the rest. *Sources* (e.g.
:class:`~gdl_studio.live.playback.Playback`) are pulled a little ahead of time, so a looping or
streaming piece never needs to be queued whole.

The thread waits on a condition variable until the next deadline (no busy waiting) and asks
for real-time scheduling where the OS allows it. It keeps count of the notes that sound, so
stopping a tag, changing the output, an output error and closing all end with note-offs:
no stuck notes.

A *sink* is anything with ``send(data)`` (raw bytes as a tuple); :class:`MidiOutput` and
:class:`~gdl_studio.live.synth.PolySynth` are sinks. A *timed* sink (``sink.timed`` is true,
e.g. :class:`~gdl_studio.live.midi_process.ProcessMidiOutput`) keeps its own clock: it gets
each event ``lookahead_s`` ahead through ``sink.post(t, data, tag)`` and is told about
``cancel(tag)``, ``all_notes_off()`` and ``panic()``; the scheduler then only keeps count of the
notes at their deadlines. This is how MIDI ports are driven from a separate process, whose
interpreter lock no model or GUI thread can hold up at a deadline.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeGuard

NOTE_OFF = 0x80
NOTE_ON = 0x90
CONTROL = 0xB0
CC_ALL_SOUND_OFF = 120
CC_RESET_CONTROLLERS = 121
CC_ALL_NOTES_OFF = 123
CC_SUSTAIN = 64
DRUM_CHANNEL = 9


class Sink(Protocol):
    def send(self, data: tuple[int, ...]) -> None: ...


class TimedSink(Sink, Protocol):
    """A sink that schedules events itself (``timed = True``; see the module docstring)."""

    timed: bool

    def post(self, t: float, data: tuple[int, ...], tag: str = "") -> None: ...
    def post_many(self, events: list[tuple[float, tuple[int, ...], str]]) -> None: ...
    def all_notes_off(self, panic: bool = False) -> None: ...
    def panic(self) -> None: ...


class Source(Protocol):
    def pull(self, until: float) -> Iterable[tuple[float, tuple[int, ...]]]: ...


def note_on(channel: int, pitch: int, velocity: int) -> tuple[int, int, int]:
    """Raw note-on bytes."""
    return (NOTE_ON | (channel & 15), pitch & 127, max(1, min(127, int(velocity))))


def note_off(channel: int, pitch: int) -> tuple[int, int, int]:
    """Raw note-off bytes."""
    return (NOTE_OFF | (channel & 15), pitch & 127, 0)


def channel_for_track(track: int) -> int:
    """MIDI channel of a track: 0–15 without the drum channel 9."""
    ch = int(track) % 15
    return ch + 1 if ch >= DRUM_CHANNEL else ch


def _is_note_on(data) -> bool:
    return (data[0] & 0xF0) == NOTE_ON and len(data) > 2 and data[2] > 0


def _is_note_off(data) -> bool:
    return (data[0] & 0xF0) == NOTE_OFF or ((data[0] & 0xF0) == NOTE_ON and len(data) > 2 and data[2] == 0)


@dataclass(order=True)
class _Event:
    t: float
    order: int  # note-offs (0) before everything else (1) at one deadline
    seq: int
    data: tuple = field(compare=False)
    tag: str = field(compare=False, default="")
    forwarded: bool = field(compare=False, default=False)


def is_timed(sink: object) -> TypeGuard[TimedSink]:
    """Whether ``sink`` schedules events itself (see the module docstring)."""
    return bool(getattr(sink, "timed", False))


def try_realtime_priority(priority: int = 30) -> bool:
    """Ask for SCHED_FIFO for the calling thread (Linux; needs rtprio rights). True if granted."""
    if not sys.platform.startswith("linux") or not hasattr(os, "sched_setscheduler"):
        return False
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return True
    except (OSError, PermissionError, AttributeError):
        return False


class MidiScheduler:
    """Sends MIDI bytes at absolute ``perf_counter`` deadlines from its own thread.

    ``on_error(message)`` is called (on the scheduler thread) when the sink fails; the sink
    is then dropped. Safe to call from any thread.
    """

    POLL_S = 0.010  # wake at least this often to pull sources
    EARLY_S = 0.0001  # send events due within this much of now

    def __init__(
        self,
        sink: Sink | None = None,
        on_error: Callable[[str], None] | None = None,
        lookahead_s: float = 0.06,
        realtime: bool = True,
    ) -> None:
        self._sink = sink
        self.on_error = on_error or (lambda message: None)
        self.lookahead_s = lookahead_s
        self._want_realtime = realtime
        self.realtime = False
        self._cond = threading.Condition()
        self._send_lock = threading.RLock()
        self._heap: list[_Event] = []
        self._seq = itertools.count()
        self._sources: dict[int, tuple[Any, str]] = {}
        self._sounding: dict[tuple[int, int], list[str]] = {}
        self._channels_used: set[int] = set()
        self._pedals: set[int] = set()  # channels whose sustain pedal is down
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.lateness: collections.deque[float] = collections.deque(maxlen=4096)  # seconds, recent events
        self.sent = 0

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> MidiScheduler:
        """Start the thread (idempotent). Lowers the interpreter's switch interval so that a
        busy thread cannot delay the scheduler by more than half a millisecond."""
        if self._thread is not None and self._thread.is_alive():
            return self
        if sys.getswitchinterval() > 0.0005:
            sys.setswitchinterval(0.0005)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="gdl-midi-scheduler", daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 2.0) -> None:
        """All notes off, then stop the thread."""
        self.all_notes_off()
        with self._cond:
            self._stopping = True
            self._heap.clear()
            self._sources.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # ---------------------------------------------------------------- sink
    @property
    def sink(self) -> Sink | None:
        return self._sink

    def set_sink(self, sink: Sink | None) -> None:
        """Switch the output: the old one gets note-offs for everything that sounds."""
        with self._send_lock:
            old = self._sink
            if old is not None and old is not sink:
                self._notes_off_to(old, panic=False)
            self._sink = sink
            self._sounding.clear()
            self._channels_used.clear()
        with self._cond:
            for ev in self._heap:  # queued events go to the new sink
                ev.forwarded = False
            self._cond.notify()

    # ---------------------------------------------------------------- events
    def post(self, t: float, data: tuple[int, ...], tag: str = "") -> None:
        """Send ``data`` at ``perf_counter`` time ``t`` (now if in the past)."""
        order = 0 if _is_note_off(data) else 1
        with self._cond:
            heapq.heappush(self._heap, _Event(t, order, next(self._seq), tuple(data), tag))
            self._cond.notify()

    def post_many(self, events: Iterable[tuple[float, tuple[int, ...]]], tag: str = "") -> None:
        """Post several ``(t, data)`` events at once."""
        with self._cond:
            for t, data in events:
                order = 0 if _is_note_off(data) else 1
                heapq.heappush(self._heap, _Event(t, order, next(self._seq), tuple(data), tag))
            self._cond.notify()

    def send_now(self, data: tuple[int, ...], tag: str = "") -> None:
        """Send immediately from the calling thread (e.g. a key preview)."""
        self._dispatch([_Event(time.perf_counter(), 0, 0, tuple(data), tag)])

    def add_source(self, source: Source, tag: str) -> None:
        """Pull ``source.pull(until)`` ahead of time; its events get ``tag``."""
        with self._cond:
            self._sources[id(source)] = (source, tag)
            self._cond.notify()

    def remove_source(self, source: Source) -> None:
        with self._cond:
            self._sources.pop(id(source), None)

    def cancel(self, tag: str) -> None:
        """Drop the queued events and sources of ``tag`` and end its sounding notes."""
        with self._cond:
            self._heap = [e for e in self._heap if e.tag != tag]
            heapq.heapify(self._heap)
            for key in [k for k, (_s, t) in self._sources.items() if t == tag]:
                del self._sources[key]
        with self._send_lock:
            sink = self._sink
            if is_timed(sink):
                self._call(sink, "cancel", tag)
            offs = []
            for (ch, pitch), tags in list(self._sounding.items()):
                if tag in tags:
                    offs.extend([(ch, pitch)] * tags.count(tag))
            for ch, pitch in offs:
                self._send_tracked(note_off(ch, pitch), tag, send=not is_timed(sink))

    def pending(self, tag: str | None = None) -> int:
        """Number of queued events (of ``tag``)."""
        with self._cond:
            return sum(1 for e in self._heap if tag is None or e.tag == tag)

    def all_notes_off(self) -> None:
        """Drop everything queued, end every sounding note and send All Notes Off (CC 123)
        on the channels used."""
        with self._cond:
            self._heap.clear()
            self._sources.clear()
        with self._send_lock:
            if self._sink is not None:
                self._notes_off_to(self._sink, panic=False)
            self._sounding.clear()
            self._channels_used.clear()

    def panic(self) -> None:
        """Like :meth:`all_notes_off`, plus All Sound Off and All Notes Off on all 16 channels."""
        with self._cond:
            self._heap.clear()
            self._sources.clear()
        with self._send_lock:
            if self._sink is not None:
                self._notes_off_to(self._sink, panic=True)
            self._sounding.clear()
            self._channels_used.clear()

    def sounding(self) -> list[tuple[int, int]]:
        """``(channel, pitch)`` of the notes that sound now."""
        with self._send_lock:
            return sorted(self._sounding)

    # ---------------------------------------------------------------- internals
    def _notes_off_to(self, sink: Sink, panic: bool) -> None:
        if is_timed(sink):
            try:
                sink.panic() if panic else sink.all_notes_off()
            except Exception:
                pass  # a broken output: nothing more can be sent to it
            return
        msgs = [(CONTROL | ch, CC_SUSTAIN, 0) for ch in sorted(self._pedals)]  # pedal up first
        self._pedals.clear()
        for (ch, pitch), _tags in self._sounding.items():
            msgs.append(note_off(ch, pitch))
        channels = range(16) if panic else sorted(self._channels_used)
        for ch in channels:
            if panic:
                msgs.append((CONTROL | ch, CC_ALL_SOUND_OFF, 0))
            msgs.append((CONTROL | ch, CC_ALL_NOTES_OFF, 0))
        for data in msgs:
            try:
                sink.send(data)
            except Exception:
                break  # a broken port: nothing more can be sent to it

    def _call(self, sink, method: str, *args) -> None:
        try:
            getattr(sink, method)(*args)
        except Exception as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        self._sink = None
        self._sounding.clear()
        self._channels_used.clear()
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        try:
            self.on_error(message)
        except Exception:
            pass

    def _send_tracked(self, data: tuple, tag: str, send: bool = True) -> None:
        """Track note state and send (called with the send lock held)."""
        status = data[0] & 0xF0
        if status == CONTROL and len(data) > 2 and data[1] == CC_SUSTAIN:
            if data[2] >= 64:
                self._pedals.add(data[0] & 15)
            else:
                self._pedals.discard(data[0] & 15)
        elif status in (NOTE_ON, NOTE_OFF):
            key = (data[0] & 15, data[1])
            if _is_note_on(data):
                self._sounding.setdefault(key, []).append(tag)
                self._channels_used.add(key[0])
            else:
                tags = self._sounding.get(key)
                if not tags:
                    return  # nothing sounds: a stray note-off is not worth sending
                if tag in tags:
                    tags.remove(tag)
                else:
                    tags.pop()
                if tags:
                    return  # another note of this pitch still sounds (overlap)
                del self._sounding[key]
        sink = self._sink
        if sink is None or not send:
            return
        try:
            sink.send(data)
            self.sent += 1
        except Exception as exc:
            self._fail(exc)

    def _dispatch(self, due: list[_Event]) -> None:
        with self._send_lock:
            timed = is_timed(self._sink)
            for ev in due:
                if timed and not ev.forwarded:  # too late to forward ahead: send it now
                    self._call(self._sink, "post", ev.t, ev.data, ev.tag)
                    if self._sink is None:
                        timed = False
                self._send_tracked(ev.data, ev.tag, send=not timed)
                self.lateness.append(time.perf_counter() - ev.t)

    def _forward(self, horizon: float) -> float | None:
        """Hand the events due before ``horizon`` to a timed sink (condition held); returns the
        deadline of the next event still to forward."""
        sink = self._sink
        if not is_timed(sink):
            return None
        nxt = None
        batch = []
        for ev in self._heap:
            if ev.forwarded:
                continue
            if ev.t <= horizon:
                ev.forwarded = True
                batch.append(ev)
            elif nxt is None or ev.t < nxt:
                nxt = ev.t
        if batch:
            batch.sort()
            try:
                sink.post_many([(ev.t, ev.data, ev.tag) for ev in batch])
            except Exception as exc:
                with self._send_lock:
                    self._fail(exc)
        return nxt

    def _pull_sources(self, horizon: float) -> None:
        """Pull events up to ``horizon`` from the sources (called with the condition held)."""
        for key, (source, tag) in list(self._sources.items()):
            try:
                events = source.pull(horizon)
            except Exception as exc:  # a broken source is dropped, the rest plays on
                self._sources.pop(key, None)
                try:
                    self.on_error(f"playback stopped: {exc}")
                except Exception:
                    pass
                continue
            for t, data in events:
                order = 0 if _is_note_off(data) else 1
                heapq.heappush(self._heap, _Event(t, order, next(self._seq), tuple(data), tag))

    def _run(self) -> None:
        if self._want_realtime:
            self.realtime = try_realtime_priority()
        cond = self._cond
        while True:
            due: list[_Event] = []
            with cond:
                if self._stopping:
                    return
                now = time.perf_counter()
                if self._sources:
                    self._pull_sources(now + self.lookahead_s)
                next_forward = self._forward(now + self.lookahead_s)
                heap = self._heap
                limit = now + self.EARLY_S
                while heap and heap[0].t <= limit:
                    due.append(heapq.heappop(heap))
                if not due:
                    wait = self.POLL_S if self._sources else 0.25
                    if heap:
                        wait = min(wait, heap[0].t - now)
                    if next_forward is not None:
                        wait = min(wait, next_forward - self.lookahead_s - now)
                    cond.wait(max(wait, 0.0))
                    continue
            self._dispatch(due)


class ListSink:
    """A sink that records ``(perf_counter time, bytes)`` (for tests and the bench)."""

    def __init__(self) -> None:
        self.events: list[tuple[float, tuple]] = []
        self._lock = threading.Lock()

    def send(self, data) -> None:
        with self._lock:
            self.events.append((time.perf_counter(), tuple(data)))
