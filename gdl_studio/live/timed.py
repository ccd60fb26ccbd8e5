"""A timed MIDI event queue for real-time callbacks: the scheduler's *timed sink* protocol
(``post``/``post_many`` with ``perf_counter`` deadlines, ``cancel(tag)``, ``all_notes_off``,
``panic``) on the producer side, and :meth:`TimedQueue._run_cycle` for an audio or JACK process
callback, which hands out the events due in its block with their frame offsets.

Used by :class:`~gdl_studio.live.jack_midi.JackMidiOutput` (MIDI written at frame offsets into a
JACK port buffer) and by :class:`~gdl_studio.live.synth.AudioPreview` (the built-in instrument
renders each note from its frame offset inside the audio block).

Real-time rules in the callback: events reach it through a preallocated single-producer /
single-consumer ring (numpy arrays, plain index arithmetic, no lock); it moves them into a
preallocated pending buffer kept in time order and hands out those due in this block. No array is
allocated, no lock taken, no I/O done there. Producers (any thread) serialise among themselves
with a lock that the callback never touches.

Stopping never leaves a note on: a cancelled tag's pending events are skipped (note-offs, pedal-up
and All Notes/Sound Off never are), and the notes it had started get note-offs at once; All Notes
Off also lifts sustain pedals.

:class:`BlockClock` gives an audio callback that knows no period start of its own (PortAudio) the
start time of each block: a delay-locked loop over the callback's arrival times (the filter JACK
uses for its own frame clock), so a late wake-up does not move the block's notes.
"""

from __future__ import annotations

import math
import threading
import time

import numpy as np

from gdl_studio.live.midi_names import MidiUnavailable

RING = 8192
PENDING = 8192
MAX_TAGS = 256
CC_SUSTAIN, CC_ALL_SOUND_OFF, CC_ALL_NOTES_OFF = 64, 120, 123


class TimedQueue:
    """Events with ``perf_counter`` deadlines for a real-time callback (see the module docstring)."""

    timed = True

    def __init__(self) -> None:
        self._init_queue()

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

    def _run_cycle(self, start: float, period: float, frames: int, write) -> None:
        """Move the ring into the pending buffer and ``write(offset, bytes)`` the events due in the
        period ``[start, start + period)`` (perf_counter seconds) of ``frames`` frames, in time
        order with offsets that never decrease (late events at offset 0). ``bytes`` is a reused
        buffer: use it before ``write`` returns."""
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


class BlockClock:
    """The start time and length of each audio block from the callback's arrival times.

    A second-order delay-locked loop (F. Adriaensen, "Using a DLL to filter time", 2005; JACK's
    frame clock is the same filter): :meth:`tick` takes ``perf_counter()`` read at the top of the
    callback and returns the filtered ``(start, period)``. Wake-up jitter (the interpreter lock,
    the scheduler) is smoothed away; a gap of more than a few periods (an xrun, a stall, a new
    block size) restarts the loop at the measured time.
    """

    def __init__(self, samplerate: float, bandwidth_hz: float = 0.5) -> None:
        self.samplerate = float(samplerate)
        self.bandwidth_hz = float(bandwidth_hz)
        self.frames = 0
        self.resets = 0
        self._t0 = 0.0
        self._t1 = 0.0
        self._e2 = 0.0
        self._b = 0.0
        self._c = 0.0

    def reset(self) -> None:
        self.frames = 0

    def tick(self, now: float, frames: int) -> tuple[float, float]:
        """``(start, period)`` of the block whose callback began at ``now`` (perf_counter seconds)."""
        nominal = frames / self.samplerate
        if frames != self.frames or abs(now - self._t1) > 3.0 * nominal:
            omega = 2.0 * math.pi * self.bandwidth_hz * nominal
            self._b = math.sqrt(2.0) * omega
            self._c = omega * omega
            self._e2 = nominal
            self._t0 = now
            self._t1 = now + nominal
            self.frames = frames
            self.resets += 1
            return now, nominal
        e = now - self._t1
        self._t0 = self._t1
        self._t1 += self._b * e + self._e2
        self._e2 += self._c * e
        return self._t0, self._t1 - self._t0
