"""Sample-accurate MIDI on JACK: our own JACK client with a process callback.

rtmidi's JACK backend hands a message to JACK at the start of the next cycle, so its timing is
only as fine as the server's period (5.3 ms at 256 frames). :class:`JackMidiOutput` is a *timed*
scheduler sink instead: the scheduler hands it events tens of milliseconds ahead with their
``perf_counter`` deadlines, and the process callback writes each one at its frame offset inside
the period that contains its deadline. :class:`JackMidiInput` stamps incoming messages the same
way (frame offset → time), so a clock follower sees when a tick was *sent*, not when the cycle
ran. rtmidi stays for ALSA, CoreMIDI and Windows.

Times: JACK's ``jack_get_time`` runs on CLOCK_MONOTONIC_RAW and ``perf_counter`` on
CLOCK_MONOTONIC (Linux); a feeder thread keeps the offset between them (re-measured every half
second). ``jack_get_cycle_times`` gives the current period's start and length on JACK's clock.

Real-time rules in the process callback: events reach it through a preallocated single-producer /
single-consumer ring (numpy arrays, plain index arithmetic, no lock); it moves them into a
preallocated pending buffer kept in time order and writes those due in this period. No array is
allocated, no lock taken, no I/O done there. Producers (any thread) serialise among themselves
with a lock that the callback never touches.

Stopping never leaves a note on: a cancelled tag's pending events are skipped (note-offs, pedal-up
and All Notes/Sound Off never are), and the notes it had started get note-offs at once; All Notes
Off also lifts sustain pedals.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
import time
from collections.abc import Callable

import numpy as np

from gdl_studio.live.midi_names import CLIENT_IN, CLIENT_OUT, VIRTUAL_PORT_NAME, MidiUnavailable

RING = 8192
PENDING = 8192
MAX_TAGS = 256
CC_SUSTAIN, CC_ALL_SOUND_OFF, CC_ALL_NOTES_OFF = 64, 120, 123


def available() -> bool:
    """Whether the JACK-Client package and libjack can be used."""
    try:
        _jack()
        _libjack()
        return True
    except MidiUnavailable:
        return False


def _jack():
    try:
        import jack
    except (ImportError, OSError) as exc:
        raise MidiUnavailable(f"JACK-Client is not available ({str(exc).splitlines()[0]})") from None
    return jack


_lib_cache: dict = {}


def _libjack():
    if "lib" in _lib_cache:
        return _lib_cache["lib"]
    names = ["libjack.so.0", ctypes.util.find_library("jack"), "libjack64.dll", "libjack.dylib"]
    lib = None
    for name in names:
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError:
            continue
    if lib is None:
        raise MidiUnavailable("libjack is not installed")
    lib.jack_get_time.restype = ctypes.c_uint64
    lib.jack_get_time.argtypes = []
    lib.jack_get_cycle_times.restype = ctypes.c_int
    lib.jack_get_cycle_times.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_uint32),
        ctypes.POINTER(ctypes.c_uint64),
        ctypes.POINTER(ctypes.c_uint64),
        ctypes.POINTER(ctypes.c_float),
    ]
    _lib_cache["lib"] = lib
    return lib


class _CycleClock:
    """Period start/length of the running cycle in ``perf_counter`` seconds."""

    def __init__(self, client) -> None:
        jack = _jack()
        self.lib = _libjack()
        self.ptr = ctypes.c_void_p(int(jack._ffi.cast("uintptr_t", client._ptr)))
        self._frames = ctypes.c_uint32()
        self._cur = ctypes.c_uint64()
        self._next = ctypes.c_uint64()
        self._period = ctypes.c_float()
        self._bf, self._bc = ctypes.byref(self._frames), ctypes.byref(self._cur)
        self._bn, self._bp = ctypes.byref(self._next), ctypes.byref(self._period)
        self.offset = 0.0
        self.measure()

    def measure(self) -> None:
        """perf_counter − jack_get_time, from the tightest of a few reads (not in the callback)."""
        best, off = 1.0, self.offset
        for _ in range(5):
            a = time.perf_counter()
            j = self.lib.jack_get_time() * 1e-6
            b = time.perf_counter()
            if b - a < best:
                best, off = b - a, (a + b) * 0.5 - j
        self.offset = off

    def cycle(self) -> tuple[float, float]:
        """(start, length) of the current period, in perf_counter seconds (process callback only)."""
        self.lib.jack_get_cycle_times(self.ptr, self._bf, self._bc, self._bn, self._bp)
        start = self._cur.value * 1e-6
        return start + self.offset, (self._next.value - self._cur.value) * 1e-6


class JackMidiOutput:
    """A JACK MIDI output port written sample-accurately (a timed scheduler sink).

    ``port``: a JACK port to connect to; ``virtual``: just our port (``GDL Studio:GDL Studio``)
    for others to connect to. Raises :class:`MidiUnavailable` with a message for a person.
    """

    timed = True

    def __init__(
        self,
        port: str | None = None,
        virtual: bool = False,
        client_name: str = CLIENT_OUT,
        port_name: str = VIRTUAL_PORT_NAME,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        jack = _jack()
        _libjack()
        if not virtual and not port:
            raise MidiUnavailable("no MIDI output port given")
        self.on_error = on_error or (lambda message: None)
        self.virtual = virtual
        self.closed = False
        try:
            self.client = jack.Client(client_name, no_start_server=True)
        except jack.JackError as exc:
            raise MidiUnavailable(f"cannot start a JACK client ({exc}); is the JACK server running?") from None
        self.port = self.client.midi_outports.register(port_name)
        self.clock = _CycleClock(self.client)
        self._init_queue()
        self.client.set_process_callback(self._process)
        self.client.set_shutdown_callback(self._shutdown)
        self._stop_feeder = threading.Event()
        if port:
            try:
                target = self.client.get_port_by_name(port)
            except jack.JackError:
                target = None
            if target is None or not target.is_midi or not target.is_input:
                self.client.close()
                raise MidiUnavailable(f"MIDI port '{port}' is not available")
        try:
            self.client.activate()
            if port:
                self.client.connect(self.port, port)
        except jack.JackError as exc:
            self.client.close()
            raise MidiUnavailable(f"cannot connect to MIDI port '{port}' ({exc})") from None
        self.name = port if port else self.port.name
        self._feeder = threading.Thread(target=self._keep_clock, name="gdl-jack-midi-clock", daemon=True)
        self._feeder.start()

    def _init_queue(self) -> None:
        """The ring, the pending buffer and the producers' note tracking (all preallocated)."""
        self.closed = getattr(self, "closed", False)
        self.name = getattr(self, "name", "")
        # producer → callback ring
        self._rt = np.zeros(RING, dtype=np.float64)
        self._rd = np.zeros((RING, 5), dtype=np.int32)  # bytes 0-2, length, ends notes (never skipped)
        self._rtag = np.zeros((RING, 3), dtype=np.int64)  # tag id, its cancel epoch, the all-notes-off epoch
        self._w = 0
        self._r = 0
        # callback-side pending events, sorted by time
        self._pt = np.zeros(PENDING, dtype=np.float64)
        self._pd = np.zeros((PENDING, 5), dtype=np.int32)
        self._ptag = np.zeros((PENDING, 3), dtype=np.int64)
        self._np = 0
        self._cancel = np.zeros(MAX_TAGS, dtype=np.int64)  # epoch per tag id (0: all tags)
        self._msg = [bytearray(1), bytearray(2), bytearray(3)]
        self.written = 0
        self.late = 0
        self.dropped = 0
        # producer-side state
        self._lock = threading.Lock()
        self._tags: dict[str, int] = {"": 1}
        self._open: dict[int, dict[tuple[int, int], float]] = {}  # tag id -> (ch, pitch) -> off time
        self._channels: set[int] = set()
        self._pedals: set[int] = set()

    # ---------------------------------------------------------------- producer side
    def _keep_clock(self) -> None:
        while not self._stop_feeder.wait(0.5):
            self.clock.measure()

    def _tag_id(self, tag: str) -> int:
        tid = self._tags.get(tag)
        if tid is None:
            tid = len(self._tags) + 1
            if tid >= MAX_TAGS:  # many tags: share the last slot
                tid = MAX_TAGS - 1
            self._tags[tag] = tid
        return tid

    def _push(self, t: float, data, tid: int) -> None:
        """Append one event to the ring (producer lock held)."""
        n = len(data)
        if n == 0 or n > 3:
            return  # sysex and empty messages are not sent on this path
        w = self._w
        if w - self._r >= RING:
            self.dropped += 1
            return
        i = w % RING
        self._rt[i] = t
        row = self._rd[i]
        row[0] = data[0]
        row[1] = data[1] if n > 1 else 0
        row[2] = data[2] if n > 2 else 0
        row[3] = n
        status = data[0] & 0xF0
        row[4] = int(
            status == 0x80
            or (status == 0x90 and n > 2 and data[2] == 0)
            or (
                status == 0xB0
                and n > 2
                and (data[1] in (CC_ALL_SOUND_OFF, CC_ALL_NOTES_OFF) or (data[1] == CC_SUSTAIN and data[2] < 64))
            )
        )
        self._rtag[i, 0] = tid
        self._rtag[i, 1] = self._cancel[tid]
        self._rtag[i, 2] = self._cancel[0]
        self._w = w + 1
        # note tracking for cancel / all notes off
        if status == 0x90 and n > 2 and data[2] > 0:
            self._open.setdefault(tid, {})[(data[0] & 15, data[1])] = float("inf")
            self._channels.add(data[0] & 15)
        elif status == 0x80 or (status == 0x90 and n > 2):
            notes = self._open.get(tid)
            if notes is not None and (data[0] & 15, data[1]) in notes:
                notes[(data[0] & 15, data[1])] = t
        elif status == 0xB0 and n > 2 and data[1] == CC_SUSTAIN:
            (self._pedals.add if data[2] >= 64 else self._pedals.discard)(data[0] & 15)

    def post(self, t: float, data, tag: str = "") -> None:
        if self.closed:
            raise MidiUnavailable(f"MIDI output '{self.name}' is closed")
        with self._lock:
            self._push(t, data, self._tag_id(tag))

    def post_many(self, events) -> None:
        if self.closed:
            raise MidiUnavailable(f"MIDI output '{self.name}' is closed")
        with self._lock:
            for t, data, tag in events:
                self._push(t, data, self._tag_id(tag))

    def send(self, data) -> None:
        self.post(time.perf_counter(), data, "")

    def _end_notes(self, tids, now: float) -> None:
        """Note-offs now for the notes of ``tids`` that may still sound (producer lock held)."""
        for tid in tids:
            notes = self._open.pop(tid, {})
            for (ch, pitch), off_t in notes.items():
                if off_t > now - 0.001:
                    self._push(now, (0x80 | ch, pitch, 0), 0)

    def cancel(self, tag: str) -> None:
        now = time.perf_counter()
        with self._lock:
            tid = self._tags.get(tag)
            if tid is None:
                return
            self._cancel[tid] += 1  # the callback skips this tag's queued note-ons
            self._end_notes([tid], now)

    def all_notes_off(self, panic: bool = False) -> None:
        now = time.perf_counter()
        with self._lock:
            self._cancel[0] += 1
            for ch in sorted(self._pedals):
                self._push(now, (0xB0 | ch, CC_SUSTAIN, 0), 0)
            self._pedals.clear()
            self._end_notes(list(self._open), now)
            channels = range(16) if panic else sorted(self._channels)
            for ch in channels:
                if panic:
                    self._push(now, (0xB0 | ch, CC_ALL_SOUND_OFF, 0), 0)
                self._push(now, (0xB0 | ch, CC_ALL_NOTES_OFF, 0), 0)
            self._channels.clear()

    def panic(self) -> None:
        self.all_notes_off(panic=True)

    def _shutdown(self, status, reason) -> None:
        if not self.closed:
            self.closed = True
            self.on_error(f"the JACK server shut down ({reason})")

    def close(self) -> None:
        if self.closed:
            return
        try:
            self.all_notes_off()
            deadline = time.perf_counter() + 0.2
            while (self._r != self._w or self._np) and time.perf_counter() < deadline:
                time.sleep(0.005)  # let the callback write the note-offs
        except Exception:
            pass
        self.closed = True
        self._stop_feeder.set()
        try:
            self.client.deactivate()
            self.client.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"JackMidiOutput({self.name!r})"

    # ---------------------------------------------------------------- the process callback
    def _process(self, frames: int) -> None:
        port = self.port
        port.clear_buffer()
        start, period = self.clock.cycle()
        if period > 0:
            self._run_cycle(start, period, frames, port.write_midi_event)

    def _run_cycle(self, start: float, period: float, frames: int, write) -> None:
        """Move the ring into the pending buffer and ``write(offset, bytes)`` the events due in the
        period ``[start, start + period)`` (perf_counter seconds) of ``frames`` frames."""
        pt, pd, ptag = self._pt, self._pd, self._ptag
        # 1. ring → pending, in time order (insertion; a handful of events per period)
        r, w = self._r, self._w
        n = self._np
        while r < w and n < PENDING:
            i = r % RING
            t = self._rt[i]
            j = n
            while j > 0 and pt[j - 1] > t:
                j -= 1
            if j < n:
                pt[j + 1 : n + 1] = pt[j:n]
                pd[j + 1 : n + 1] = pd[j:n]
                ptag[j + 1 : n + 1] = ptag[j:n]
            pt[j] = t
            pd[j] = self._rd[i]
            ptag[j] = self._rtag[i]
            n += 1
            r += 1
        self._r = r
        # 2. write the events due in this period at their frame offsets
        end = start + period
        cancel = self._cancel
        all_epoch = cancel[0]
        done = 0
        last = 0
        msgs = self._msg
        while done < n and pt[done] < end:
            t = pt[done]
            row = pd[done]
            status = int(row[0])
            if not row[4]:  # a cancelled tag's events are skipped, except those that end notes
                if ptag[done, 1] < cancel[ptag[done, 0]] or ptag[done, 2] < all_epoch:
                    done += 1
                    continue
            off = int((t - start) / period * frames)
            if off < 0:
                off = 0
                self.late += 1
            elif off >= frames:
                off = frames - 1
            if off < last:
                off = last
            last = off
            size = int(row[3])
            msg = msgs[size - 1]
            msg[0] = status
            if size > 1:
                msg[1] = int(row[1])
            if size > 2:
                msg[2] = int(row[2])
            try:
                write(off, msg)
                self.written += 1
            except Exception:
                self.dropped += 1  # the port's buffer is full this period
            done += 1
        if done:
            m = n - done
            pt[:m] = pt[done:n]
            pd[:m] = pd[done:n]
            ptag[:m] = ptag[done:n]
            n = m
        self._np = n


class JackMidiInput:
    """A JACK MIDI input whose messages carry the time of their frame (not of the cycle).

    ``callback(data: bytes, t: float)`` runs on a dispatcher thread (never in the process
    callback), at most ``poll_s`` after the period; ``t`` is exact to the frame. Passes every
    message, timing clock included.
    """

    def __init__(
        self,
        callback: Callable[[bytes, float], None],
        port: str | None = None,
        virtual: bool = False,
        client_name: str = CLIENT_IN,
        port_name: str = "clock in",
        poll_s: float = 0.002,
    ) -> None:
        jack = _jack()
        _libjack()
        if not virtual and not port:
            raise MidiUnavailable("no MIDI input port given")
        self._callback = callback
        self.poll_s = poll_s
        self.closed = False
        try:
            self.client = jack.Client(client_name, no_start_server=True)
        except jack.JackError as exc:
            raise MidiUnavailable(f"cannot start a JACK client ({exc}); is the JACK server running?") from None
        self.port = self.client.midi_inports.register(port_name)
        self.clock = _CycleClock(self.client)
        self._t = np.zeros(RING, dtype=np.float64)
        self._d = np.zeros((RING, 4), dtype=np.int32)
        self._w = 0
        self._r = 0
        self.dropped = 0
        self.client.set_process_callback(self._process)
        self._stop = threading.Event()
        if port:
            try:
                source = self.client.get_port_by_name(port)
            except jack.JackError:
                source = None
            if source is None or not source.is_midi or not source.is_output:
                self.client.close()
                raise MidiUnavailable(f"MIDI port '{port}' is not available")
        try:
            self.client.activate()
            if port:
                self.client.connect(port, self.port)
        except jack.JackError as exc:
            self.client.close()
            raise MidiUnavailable(f"cannot connect to MIDI port '{port}' ({exc})") from None
        self.name = port if port else self.port.name
        self._thread = threading.Thread(target=self._dispatch, name="gdl-jack-midi-in", daemon=True)
        self._thread.start()

    def _process(self, frames: int) -> None:
        start, period = self.clock.cycle()
        w = self._w
        for off, buf in self.port.incoming_midi_events():
            if w - self._r >= RING:
                self.dropped += 1
                continue
            size = len(buf)
            if size == 0 or size > 3:
                continue
            i = w % RING
            self._t[i] = start + off * period / frames
            row = self._d[i]
            row[3] = size
            row[0] = buf[0][0] if isinstance(buf[0], bytes) else buf[0]
            if size > 1:
                row[1] = buf[1][0] if isinstance(buf[1], bytes) else buf[1]
            if size > 2:
                row[2] = buf[2][0] if isinstance(buf[2], bytes) else buf[2]
            w += 1
        self._w = w

    def _dispatch(self) -> None:
        measured = time.perf_counter()
        while not self._stop.is_set():
            if time.perf_counter() - measured > 0.5:
                self.clock.measure()
                measured = time.perf_counter()
            r, w = self._r, self._w
            while r < w:
                i = r % RING
                row = self._d[i]
                data = bytes(int(x) for x in row[: int(row[3])])
                t = float(self._t[i])
                r += 1
                self._r = r
                try:
                    self._callback(data, t)
                except Exception:
                    import traceback

                    traceback.print_exc(file=sys.stderr)
            self._stop.wait(self.poll_s)

    def remeasure(self) -> None:
        self.clock.measure()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self._stop.set()
        self._thread.join(1.0)
        try:
            self.client.deactivate()
            self.client.close()
        except Exception:
            pass
