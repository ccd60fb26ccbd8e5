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

The queue behind the output (ring, pending buffer, cancellation that never drops a note-off, the
real-time rules of the callback) is :class:`~gdl_studio.live.timed.TimedQueue`.
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
from gdl_studio.live.timed import RING, TimedQueue


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


class JackMidiOutput(TimedQueue):
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

    # ---------------------------------------------------------------- producer side
    def _keep_clock(self) -> None:
        while not self._stop_feeder.wait(0.5):
            self.clock.measure()

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
