"""Tempo sync: the beat grid everything lands on, following or sending MIDI clock.

* :class:`TempoEstimator` turns 24-ppqn clock ticks with arrival jitter into a straight line
  ``t = a + b·k`` (least squares over the last few beats, outliers dropped), so the grid it
  predicts is steadier than any single tick; a run of ticks on one side of the line means the
  tempo changed, and the fit restarts from the recent ticks.
* :class:`Transport` is the beat grid: *internal* (the app's tempo, an anchor) or *external* (the
  estimator's line plus the song position from Start / Continue / Song Position Pointer). It
  maps ``perf_counter`` seconds ↔ beats for playback, recording, jam mode and streamed
  continuations, and tells listeners about start/stop/tempo/position changes.
* :class:`ClockFollower` feeds a transport from raw MIDI bytes (0xF8 clock, 0xFA start,
  0xFB continue, 0xFC stop, 0xF2 song position) and notices a clock that stops without a Stop
  (the transport stops with ``"lost"``, so the notes end: nothing sticks).
* :class:`ClockSource` / :class:`ClockMaster` send clock when the app is the master: the ticks
  are a scheduler source, so they go out at their deadlines like notes (sample-accurately on
  JACK through :mod:`gdl_studio.live.jack_midi`).

No Qt; all times are ``perf_counter`` seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np

PPQN = 24
CLOCK, START, CONTINUE, STOP, SONG_POSITION = 0xF8, 0xFA, 0xFB, 0xFC, 0xF2
MIN_BPM, MAX_BPM = 20.0, 400.0

# Settings keys (QSettings paths) for sync; the UI's settings ``Key`` enum mirrors them.
SETTING_SYNC_MODE = "sync/mode"  # "internal", "follow" (external MIDI clock) or "master" (send clock)
SETTING_SYNC_CLOCK_IN = "sync/clock_in"  # MIDI input port the clock comes from
SETTING_SYNC_CLOCK_OUT = "sync/clock_out"  # MIDI output port the clock goes to ("" = the note output)
# the master clock on a port of its own (JACK), apart from the notes: a DAW syncs to it alone
CLOCK_PORT_CLIENT, CLOCK_PORT_NAME = "GDL Studio Clock", "clock"
OWN_CLOCK_PORT = f"{CLOCK_PORT_CLIENT}:{CLOCK_PORT_NAME}"  # the SETTING_SYNC_CLOCK_OUT value that asks for it
SETTING_SYNC_ALIGN = "sync/align"  # where playback starts on the external grid: "song", "beat" or "bar"

INTERNAL, EXTERNAL = "internal", "external"


class TempoEstimator:
    """A line through recent clock ticks (see the module docstring); not thread-safe."""

    def __init__(self, window: int = 96, change_run: int = 5, min_sigma_s: float = 0.0015) -> None:
        self.window = int(window)
        self.change_run = int(change_run)
        self.min_sigma_s = min_sigma_s
        self._k = np.zeros(window, dtype=np.float64)
        self._t = np.zeros(window, dtype=np.float64)
        self._res = np.zeros(window, dtype=np.float64)
        self._mask = np.zeros(window, dtype=bool)
        self.reset()

    def reset(self) -> None:
        self.count = 0  # ticks seen since the reset (the next tick gets index ``count``)
        self._n = 0  # ticks in the window
        self._head = 0
        self.a = 0.0  # time of tick 0
        self.b = 0.0  # seconds per tick (0: unknown)
        self.sigma = 0.0
        self._run = 0
        self._run_sign = 0
        self.changes = 0
        self.lost = 0  # ticks counted in as lost (see _check_lost)
        self._streak: list[int] = []  # lost ticks assumed at each of the last ticks in a row
        self.last_t = -math.inf

    @property
    def ready(self) -> bool:
        return self.b > 0.0 and self._n >= 3

    @property
    def bpm(self) -> float:
        return 60.0 / (PPQN * self.b) if self.b > 0 else 0.0

    def time_of_tick(self, k: float) -> float:
        return self.a + self.b * k

    def tick_at(self, t: float) -> float:
        return (t - self.a) / self.b if self.b > 0 else float(max(self.count - 1, 0))

    def add(self, t: float) -> int:
        """One tick arrived at ``t``; returns its index (lost ticks before it counted in)."""
        k = self.count
        if self.ready and self._n >= 8:
            k = self._check_lost(t, k)
        if self.ready and self._n >= 8:
            err = t - self.time_of_tick(k)
            limit = max(3.0 * self.sigma, 2.0 * self.min_sigma_s, 0.12 * self.b)
            sign = 1 if err > limit else (-1 if err < -limit else 0)
            if sign and sign == self._run_sign:
                self._run += 1
            else:
                self._run, self._run_sign = (1, sign) if sign else (0, 0)
            if self._run >= self.change_run and sign > 0 and self._shift_run(k, t, limit):
                k = self.count - 1  # the run sat m ticks later on the same line: ticks were lost
            elif self._run >= self.change_run:  # the tempo changed: keep only the recent ticks
                keep = self._run + 1
                ks, ts = self._recent(keep - 1)
                self._n = self._head = 0
                for kk, tt in zip(ks, ts):
                    self._push(kk, tt)
                self._run, self._run_sign = 0, 0
                self.changes += 1
        self.count = k + 1
        self._push(k, t)
        self.last_t = t
        self._fit()
        return k

    def _check_lost(self, t: float, k: int) -> int:
        """The index of a tick that arrived at ``t`` when ``k`` was expected: ``k + m`` when it
        lands squarely on the line ``m`` (1–4) ticks later (``m`` ticks were lost: the grid must
        not slip by them), else ``k``. Only where a tick period is well above the jitter. Three
        such jumps in a row are a slower tempo, not lost ticks (they are undone and the line
        restarts); a jump followed by a tick ``m`` periods early was a very late tick (undone)."""
        b = self.b
        if 4.0 * self.sigma >= 0.4 * b:
            return k
        err = t - self.time_of_tick(k)
        m = int(round(err / b))
        tol = max(4.0 * self.sigma, 2.0 * self.min_sigma_s, 0.1 * b)
        streak = self._streak
        if abs(err - m * b) > min(tol, 0.3 * b) or m == 0:
            streak.clear()
            return k
        if 1 <= m <= 4 and len(streak) < 2:
            streak.append(m)
            self.lost += m
            return k + m
        if m >= 1:  # a third jump in a row: the tempo slowed down, nothing was lost
            total = sum(streak)
            streak.clear()
            base = k - total
            self.lost -= total
            ks, ts = self._recent(2)
            self._n = self._head = 0
            for i, tt in enumerate(ts):
                self._push(base - len(ts) + i, tt)
            self.b = 0.0  # refit from the recent ticks (ready again after three)
            self.changes += 1
            return base
        if len(streak) == 1 and m == -streak[0]:  # the "lost" tick was only late: this one is on time
            prev = streak.pop()
            last = (self._head - 1) % self.window
            self._k[last] -= prev
            self.lost -= prev
            return k - prev
        streak.clear()
        return k

    def _shift_run(self, k: int, t: float, limit: float) -> bool:
        """A run of late ticks (the last ``_run`` − 1 in the window, then ``t``) each of which lies
        on the line a whole number of ticks on (1–4, never fewer than the tick before): ticks were
        lost before and inside the run (a jittery clock, where one tick alone cannot tell).
        Re-index the run and return True; else False (the tempo changed)."""
        n = self._run - 1
        ks, ts = self._recent(n)
        shifts = []
        prev = 1
        for kk, tt in [*zip(ks.tolist(), ts.tolist()), (k, t)]:
            err = tt - self.time_of_tick(kk)
            m = int(round(err / self.b))
            if m < prev or m > 4 or abs(err - m * self.b) > limit:
                return False
            shifts.append(m)
            prev = m
        for i in range(n):
            self._k[(self._head - n + i) % self.window] += shifts[i]
        self.lost += shifts[-1]
        self.count = k + shifts[-1] + 1
        self._run, self._run_sign = 0, 0
        return True

    def _recent(self, n: int):
        n = min(n, self._n)
        idx = [(self._head - n + i) % self.window for i in range(n)]
        return self._k[idx].copy(), self._t[idx].copy()

    def _push(self, k: float, t: float) -> None:
        self._k[self._head] = k
        self._t[self._head] = t
        self._head = (self._head + 1) % self.window
        self._n = min(self._n + 1, self.window)

    def _fit(self) -> None:
        n = self._n
        if n < 2:
            return
        ks, ts = self._recent(n)
        k0, t0 = ks[-1], ts[-1]
        x, y = ks - k0, ts - t0
        mask = np.ones(n, dtype=bool)
        b, a, sigma = -1.0, 0.0, 0.0
        for _ in range(2):  # least squares, then again without the outliers
            xm, ym = x[mask], y[mask]
            if xm.size < 2:
                break
            xbar, ybar = xm.mean(), ym.mean()
            sxx = float(((xm - xbar) ** 2).sum())
            if sxx <= 0:
                break
            b = float(((xm - xbar) * (ym - ybar)).sum() / sxx)
            a = ybar - b * xbar
            res = y - (a + b * x)
            mad = float(np.median(np.abs(res[mask]))) * 1.4826
            sigma = max(mad, 1e-5)
            new_mask = np.abs(res) <= max(4.0 * sigma, 0.002)
            if new_mask.sum() < max(2, n // 2) or (new_mask == mask).all():
                break
            mask = new_mask
        if b <= 0:
            return
        self.b = b
        self.a = t0 + a - b * k0
        self.sigma = sigma


class Transport:
    """The beat grid (see the module docstring). Thread-safe.

    ``listeners`` get ``(event, transport)`` with event one of ``"start"``, ``"continue"``,
    ``"stop"``, ``"lost"`` (external clock vanished), ``"tempo"``, ``"position"`` and ``"mode"``;
    they run on the thread that caused the change (MIDI input, watchdog or caller): keep them short.
    """

    def __init__(self, tempo_bpm: float = 120.0) -> None:
        self._lock = threading.RLock()
        self.mode = INTERNAL
        self.running = False
        self.epoch = 0  # grows on every start/continue/stop/relocation
        self._bpm = max(1.0, float(tempo_bpm))
        self._anchor_t = time.perf_counter()
        self._anchor_b = 0.0
        self._est = TempoEstimator()
        self._ext_pos = 0.0  # song position (beats) of tick 0 of the estimator
        self._ext_stop_beat = 0.0
        self.message = ""
        self._listeners: list[Callable[[str, Transport], None]] = []

    # ---------------------------------------------------------------- listeners
    def add_listener(self, fn: Callable[[str, Transport], None]) -> None:
        self._listeners.append(fn)

    def remove_listener(self, fn) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _emit(self, event: str) -> None:
        for fn in list(self._listeners):
            try:
                fn(event, self)
            except Exception:  # a listener must never break the clock
                import traceback

                traceback.print_exc()

    # ---------------------------------------------------------------- the grid
    @property
    def tempo_bpm(self) -> float:
        with self._lock:
            if self.mode == EXTERNAL and self._est.ready:
                return self._est.bpm
            return self._bpm

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / max(1.0, self.tempo_bpm)

    def beat_at(self, t: float | None = None) -> float:
        """The beat at ``perf_counter`` time ``t`` (constant while stopped)."""
        t = time.perf_counter() if t is None else t
        with self._lock:
            if self.mode == EXTERNAL:
                if not self.running or not self._est.ready:
                    return self._ext_stop_beat if not self.running else self._ext_pos
                return self._ext_pos + self._est.tick_at(t) / PPQN
            if not self.running:
                return self._anchor_b
            return self._anchor_b + (t - self._anchor_t) * self._bpm / 60.0

    def time_of(self, beat: float) -> float:
        """``perf_counter`` time of ``beat`` on the current grid (extrapolated)."""
        with self._lock:
            if self.mode == EXTERNAL:
                if self._est.ready:
                    return self._est.time_of_tick((beat - self._ext_pos) * PPQN)
                return self._est.last_t + (beat - self._ext_pos) * 60.0 / self._bpm
            return self._anchor_t + (beat - self._anchor_b) * 60.0 / self._bpm

    def next_grid(self, t: float | None = None, grid: float = 1.0) -> tuple[float, float]:
        """``(beat, time)`` of the first multiple of ``grid`` beats at or after time ``t``."""
        t = time.perf_counter() if t is None else t
        beat = self.beat_at(t)
        b = math.ceil(beat / grid - 1e-9) * grid if grid > 0 else beat
        return b, self.time_of(b)

    def start_position(self) -> float:
        """The beat the transport last started or continued from."""
        with self._lock:
            return self._ext_pos if self.mode == EXTERNAL else self._anchor_b

    @property
    def ready(self) -> bool:
        """Running with a known tempo (external: after the first few ticks)."""
        with self._lock:
            return self.running and (self.mode == INTERNAL or self._est.ready)

    # ---------------------------------------------------------------- internal control
    def set_mode(self, mode: str) -> None:
        with self._lock:
            if mode == self.mode:
                return
            was = self.running
            self.mode = mode
            self.running = False
            self.epoch += 1
            self._est.reset()
        if was:
            self._emit("stop")
        self._emit("mode")

    def set_tempo(self, bpm: float, t: float | None = None) -> None:
        """Internal tempo (from ``t`` on, keeping the position)."""
        t = time.perf_counter() if t is None else t
        with self._lock:
            if self.mode == INTERNAL and self.running:
                self._anchor_b = self.beat_at(t)
                self._anchor_t = t
            self._bpm = max(1.0, float(bpm))
        self._emit("tempo")

    def follow_grid(self, beat: float, t: float, bpm: float) -> None:
        """Internal transport on a grid kept elsewhere (an Ableton Link session): beat ``beat`` at
        ``t`` at ``bpm``, running; says only ``"tempo"`` (when it changed), never start/stop."""
        with self._lock:
            if self.mode != INTERNAL:
                return
            changed = abs(float(bpm) - self._bpm) > 0.01
            self._anchor_t = t
            self._anchor_b = float(beat)
            self._bpm = max(1.0, float(bpm))
            self.running = True
        if changed:
            self._emit("tempo")

    def start(self, beat: float = 0.0, t: float | None = None) -> None:
        """Internal transport: beat ``beat`` sounds at time ``t`` (default now)."""
        with self._lock:
            self._anchor_t = time.perf_counter() if t is None else t
            self._anchor_b = float(beat)
            self.running = True
            self.epoch += 1
        self._emit("start")

    def stop(self, t: float | None = None) -> None:
        with self._lock:
            if not self.running:
                return
            if self.mode == INTERNAL:
                self._anchor_b = self.beat_at(t)
            self.running = False
            self.epoch += 1
        self._emit("stop")

    # ---------------------------------------------------------------- external clock
    def external_start(self, position_beats: float, t: float) -> None:
        """Start (position 0) or Continue (the song position) arrived; the next tick is the
        position's first tick."""
        with self._lock:
            self.mode = EXTERNAL
            bpm = self._est.bpm if self._est.ready else self._bpm
            self._est.reset()
            self._ext_pos = float(position_beats)
            self._ext_stop_beat = float(position_beats)
            self._est.last_t = t
            self._bpm = bpm
            self.running = True
            self.epoch += 1
            self.message = ""

    def external_tick(self, t: float) -> None:
        emit_tempo = False
        with self._lock:
            if not self.running:
                return
            before = self._est.bpm
            est = self._est
            est.add(t)
            bpm = est.bpm
            if est.ready and not (MIN_BPM <= bpm <= MAX_BPM) and est.count > 12:
                self.message = (
                    f"external clock at {bpm:.0f} BPM is outside {MIN_BPM:.0f}–{MAX_BPM:.0f} BPM; ignoring it"
                )
                self.running = False
                self.epoch += 1
                lost = True
            else:
                lost = False
                if est.ready:
                    self._bpm = bpm
                emit_tempo = est.ready and abs(bpm - before) > 0.5
        if lost:
            self._emit("lost")
        elif emit_tempo:
            self._emit("tempo")

    def external_stop(self, t: float, lost: bool = False) -> None:
        with self._lock:
            if not self.running:
                return
            # the song position where it stopped: the ticks received so far
            self._ext_stop_beat = self._ext_pos + max(self._est.count, 0) / PPQN
            self.running = False
            self.epoch += 1
            if lost:
                self.message = "the external MIDI clock stopped without a Stop message: playback stopped"
        self._emit("lost" if lost else "stop")

    def external_position(self, position_beats: float) -> None:
        with self._lock:
            self._ext_stop_beat = float(position_beats)
            if not self.running:
                self._ext_pos = float(position_beats)
            self.epoch += 1
        self._emit("position")

    def last_tick_time(self) -> float:
        with self._lock:
            return self._est.last_t

    def tick_period(self) -> float:
        with self._lock:
            return self._est.b if self._est.ready else 60.0 / (PPQN * self._bpm)

    def estimator(self) -> TempoEstimator:
        return self._est


class ClockFollower:
    """Feeds a :class:`Transport` from raw MIDI bytes with arrival times (:meth:`feed`).

    A watchdog thread stops the transport with ``"lost"`` when no tick came for
    ``max(lost_ticks · tick period, lost_min_s)`` while running.
    """

    def __init__(
        self, transport: Transport, lost_ticks: float = 6.0, lost_min_s: float = 0.25, watchdog: bool = True
    ) -> None:
        self.transport = transport
        self.lost_ticks = lost_ticks
        self.lost_min_s = lost_min_s
        self._pending_start: tuple[str, float] | None = None
        self._song_position = 0.0
        self.ticks = 0
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._watch, name="gdl-clock-watchdog", daemon=True)
        if watchdog:
            self._thread.start()

    def feed(self, data, t: float) -> None:
        """One MIDI message (bytes) that arrived at ``perf_counter`` time ``t``."""
        if not data:
            return
        status = data[0]
        tr = self.transport
        if status == CLOCK:
            self.ticks += 1
            if self._pending_start is not None:  # the first tick after Start/Continue is the position
                kind, pos = self._pending_start
                self._pending_start = None
                tr.external_start(pos, t)
                tr.external_tick(t)
                tr._emit("start" if kind == "start" else "continue")
                self._wake.set()
                return
            tr.external_tick(t)
        elif status == START:
            self._song_position = 0.0
            self._pending_start = ("start", 0.0)
        elif status == CONTINUE:
            self._pending_start = ("continue", self._song_position)
        elif status == STOP:
            self._pending_start = None
            tr.external_stop(t)
            self._song_position = tr.beat_at(t)
        elif status == SONG_POSITION and len(data) >= 3:
            sixteenths = (data[1] & 0x7F) | ((data[2] & 0x7F) << 7)
            self._song_position = sixteenths / 4.0
            tr.external_position(self._song_position)

    def _watch(self) -> None:
        while not self._stop:
            tr = self.transport
            if tr.mode == EXTERNAL and tr.running:
                limit = max(self.lost_ticks * tr.tick_period(), self.lost_min_s)
                late = time.perf_counter() - tr.last_tick_time()
                if late > limit:
                    tr.external_stop(time.perf_counter(), lost=True)
                    self._song_position = tr.beat_at()
                    continue
                self._wake.wait(min(0.05, max(0.005, limit - late)))
            else:
                self._wake.wait(0.1)
            self._wake.clear()

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(1.0)


class ClockSource:
    """A scheduler source of 24-ppqn clock ticks on an internal transport's grid."""

    def __init__(self, transport: Transport, first_beat: float | None = None) -> None:
        self.transport = transport
        beat = transport.beat_at() if first_beat is None else first_beat
        self._next = math.ceil(beat * PPQN - 1e-9)  # next tick index (song ticks)

    def pull(self, until: float) -> list[tuple[float, tuple[int]]]:
        tr = self.transport
        if not tr.running:
            return []
        last = math.floor(tr.beat_at(until) * PPQN + 1e-9)
        out: list[tuple[float, tuple[int]]] = []
        while self._next <= last and len(out) < 4096:
            out.append((tr.time_of(self._next / PPQN), (CLOCK,)))
            self._next += 1
        return out


class ClockMaster:
    """Send MIDI clock through ``scheduler`` (tag ``"clock"``) while the app's transport runs."""

    TAG = "clock"

    def __init__(self, scheduler, transport: Transport) -> None:
        self.scheduler = scheduler
        self.transport = transport
        self.source: ClockSource | None = None

    def start(self, beat: float = 0.0, t: float | None = None, lead_s: float = 0.05) -> float:
        """Start the transport at ``beat`` ``lead_s`` from now (or at ``t``): Song Position (when not
        at 0), Start/Continue, then ticks. Returns the start time."""
        t = time.perf_counter() + lead_s if t is None else t
        self.stop(send=False)
        sixteenths = max(0, int(round(beat * 4)))
        if sixteenths:
            self.scheduler.post(t - 0.002, (SONG_POSITION, sixteenths & 0x7F, (sixteenths >> 7) & 0x7F), self.TAG)
        self.scheduler.post(t - 0.001, (CONTINUE if sixteenths else START,), self.TAG)
        self.transport.start(sixteenths / 4.0, t)
        self.source = ClockSource(self.transport, sixteenths / 4.0)
        self.scheduler.add_source(self.source, self.TAG)
        return t

    def stop(self, send: bool = True) -> None:
        if self.source is not None:
            self.scheduler.remove_source(self.source)
            self.scheduler.cancel(self.TAG)
            self.source = None
            if send:
                self.scheduler.send_now((STOP,), self.TAG)
        self.transport.stop()


def stop_notes_on_stop(transport: Transport, scheduler, tag: str) -> Callable:
    """When the transport stops or its clock is lost, cancel ``tag`` in ``scheduler`` (its queued
    events and sounding notes). Returns the listener (to remove it later)."""

    def listener(event: str, _tr: Transport) -> None:
        if event in ("stop", "lost", "mode"):
            scheduler.cancel(tag)

    transport.add_listener(listener)
    return listener
