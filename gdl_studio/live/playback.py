"""Playing notes in beats through the scheduler: a source with tempo, loop region and a
position for the playhead, which accepts new notes while it plays (streaming continuations).

Time runs on an *unwrapped* beat line ``u`` that only grows; with a loop ``[a, b)`` the beat
heard at ``u`` is ``u`` until ``b`` and then ``a + (u - b) mod (b - a)``. Beats become
``perf_counter`` seconds through an anchor ``(t, u)`` and the tempo, so a tempo change only
moves the anchor.

With a :class:`~gdl_studio.live.clock.Transport` (e.g. following a DAW's MIDI clock) the beats
come from the transport's grid instead: ``align="song"`` plays the piece's beat ``b`` at the
transport's song position ``b`` (Start plays from the top, Song Position + Continue resumes
there); ``"beat"``/``"bar"`` start ``start_beat`` on the next beat/bar of the running grid.
Nothing plays while the transport is stopped; a restart or relocation re-aligns the cursor.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections.abc import Callable, Iterable

from gdl_studio.live.scheduler import channel_for_track, note_off, note_on
from gdl_studio.music.notes import Note


class Playback:
    """A scheduler source that plays ``notes`` from ``start_beat`` at ``tempo_bpm``.

    Thread-safe: :meth:`add_notes`, :meth:`set_tempo` and :meth:`position` may be called
    from the GUI while the scheduler thread pulls.
    """

    def __init__(
        self,
        notes: Iterable[Note],
        tempo_bpm: float,
        start_beat: float = 0.0,
        loop: tuple[float, float] | None = None,
        t0: float | None = None,
        latency_s: float = 0.05,
        channel: Callable[[Note], int] | None = None,
        velocity_scale: float = 1.0,
        transport=None,
        align: str = "song",
        beats_per_bar: int = 4,
    ) -> None:
        self._lock = threading.Lock()
        self._notes: list[Note] = []
        self._starts: list[float] = []
        self._end = 0.0
        self.add_notes(notes)
        self._tempo = max(1.0, float(tempo_bpm))
        self._start = float(start_beat)
        if loop is not None and (loop[1] - loop[0] <= 1e-6 or start_beat >= loop[1]):
            loop = None
        self._loop = loop
        self._anchor_t = (time.perf_counter() + latency_s) if t0 is None else t0
        self._anchor_u = float(start_beat)
        self._cursor = float(start_beat)
        self._channel = channel or (lambda n: channel_for_track(n.track))
        self.velocity_scale = velocity_scale
        self._transport = transport
        self._align = align
        self._grid = 1.0 if align == "beat" else float(beats_per_bar)
        self._offset = 0.0  # piece beat − transport beat
        self._epoch = None  # the transport epoch the cursor was aligned to

    # ---------------------------------------------------------------- notes
    def add_notes(self, notes: Iterable[Note]) -> None:
        """Add notes (e.g. freshly generated ones); those already passed are not played."""
        with self._lock:
            for n in notes:
                i = bisect.bisect_right(self._starts, n.start)
                self._starts.insert(i, n.start)
                self._notes.insert(i, n)
                self._end = max(self._end, n.end)

    @property
    def tempo_bpm(self) -> float:
        return self._transport.tempo_bpm if self._transport is not None else self._tempo

    @property
    def loop(self) -> tuple[float, float] | None:
        return self._loop

    @property
    def end_beat(self) -> float:
        return self._end

    # ---------------------------------------------------------------- time
    @property
    def transport(self):
        return self._transport

    def _u_at(self, t: float) -> float:
        if self._transport is not None:
            return self._transport.beat_at(t) + self._offset
        return self._anchor_u + (t - self._anchor_t) * self._tempo / 60.0

    def _t_at(self, u: float) -> float:
        if self._transport is not None:
            return self._transport.time_of(u - self._offset)
        return self._anchor_t + (u - self._anchor_u) * 60.0 / self._tempo

    def _align_to_transport(self, now: float) -> bool:
        """Re-align after the transport started, continued or moved; False while it cannot play
        (called with the lock held)."""
        tr = self._transport
        if not tr.ready:
            return False
        if tr.epoch == self._epoch:
            return True
        self._epoch = tr.epoch
        if self._align == "song":
            self._offset = 0.0
            self._cursor = max(self._start, tr.start_position())
        else:
            beat, _t = tr.next_grid(now + 0.02, self._grid)
            self._offset = self._start - beat
            self._cursor = self._start
        return True

    def _musical(self, u: float) -> float:
        if self._loop is None or u < self._loop[1]:
            return u
        a, b = self._loop
        return a + math.fmod(u - b, b - a)

    def position(self, t: float | None = None) -> float:
        """The beat heard at ``perf_counter`` time ``t`` (default now); before the start it
        is the start beat."""
        t = time.perf_counter() if t is None else t
        with self._lock:
            if self._transport is not None and self._epoch != self._transport.epoch:
                return self._start if self._align != "song" else max(self._start, self._transport.beat_at(t))
            u = max(self._u_at(t), self._start)
            return self._musical(u)

    def time_of(self, beat: float) -> float:
        """``perf_counter`` time at which ``beat`` sounds on the first pass (no loop wrap)."""
        with self._lock:
            return self._t_at(beat)

    def finished(self, t: float | None = None) -> bool:
        """Whether everything has been played (never, while looping)."""
        if self._loop is not None:
            return False
        t = time.perf_counter() if t is None else t
        with self._lock:
            return self._u_at(t) >= max(self._end, self._start)

    def set_tempo(self, bpm: float, t: float | None = None) -> None:
        """Change the tempo from time ``t`` (default now) on (with a transport: its tempo)."""
        t = time.perf_counter() if t is None else t
        if self._transport is not None:
            self._transport.set_tempo(bpm, t)
            return
        with self._lock:
            u = self._u_at(t)
            self._anchor_t, self._anchor_u = t, u
            self._tempo = max(1.0, float(bpm))

    # ---------------------------------------------------------------- pulling
    def _segment(self, u: float) -> tuple[float, float]:
        """(musical end of the pass containing ``u``, offset unwrapped - musical)."""
        if self._loop is None:
            return math.inf, 0.0
        a, b = self._loop
        if u < b:
            return b, 0.0
        length = b - a
        k = math.floor((u - b) / length)
        return b, b + k * length - a

    def pull(self, until: float) -> list[tuple[float, tuple[int, int, int]]]:
        """Events ``(t, bytes)`` of the notes that start before ``perf_counter`` time ``until``."""
        out: list[tuple[float, tuple[int, int, int]]] = []
        with self._lock:
            if self._transport is not None and not self._align_to_transport(time.perf_counter()):
                return out
            until_u = self._u_at(until)
            u = self._cursor
            guard = 0
            while u < until_u and guard < 64:
                guard += 1
                seg_end, off = self._segment(u)
                hi = min(until_u, seg_end + off)
                i = bisect.bisect_left(self._starts, u - off)
                j = bisect.bisect_left(self._starts, hi - off)
                for n in self._notes[i:j]:
                    ch = self._channel(n)
                    end = min(n.end, seg_end)
                    if end <= n.start:
                        continue
                    vel = max(1, min(127, round(n.velocity * self.velocity_scale)))
                    out.append((self._t_at(n.start + off), note_on(ch, n.pitch, vel)))
                    out.append((self._t_at(end + off), note_off(ch, n.pitch)))
                if hi <= u:
                    break
                u = hi
            self._cursor = max(self._cursor, until_u)
        return out
