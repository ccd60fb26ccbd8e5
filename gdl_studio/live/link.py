"""Optional Ableton Link: share tempo, beat phase and start/stop with other apps on the network.

Uses the ``aalink`` binding (``pip install "gdl-studio[link]"``; GPLv3 like Link itself, so it is
an optional extra that the app never bundles). :class:`LinkSync` joins a Link session and keeps a
:class:`~gdl_studio.live.clock.Transport` (internal mode) on the session's grid: the same tempo
and the same beat at the same ``perf_counter`` time, its phase aligned to the session's
``quantum`` (beats per bar). Our tempo changes go to the session (:meth:`LinkSync.set_tempo`);
with start/stop sync on, a peer that starts or stops playing calls ``on_start(t)`` /
``on_stop()`` (on the Link thread: hand them on to the GUI thread), ``t`` being when the next
bar begins.

A poll thread reads Link every ``poll_s`` (no asyncio loop is needed); Link's clock is mapped to
``perf_counter`` by the tightest of a few paired reads, re-measured each poll. (aalink wants an
asyncio loop: it gets one of its own on a thread.)
"""

from __future__ import annotations

import asyncio
import importlib
import math
import threading
import time
from collections.abc import Callable

from gdl_studio.live.clock import Transport


class LinkUnavailable(RuntimeError):
    """aalink is not installed or Link could not start; the message is one line for a person."""


def _aalink():
    try:  # by name: PyInstaller must not see it (GPLv3: never bundled)
        aalink = importlib.import_module("aalink")
    except (ImportError, OSError) as exc:
        raise LinkUnavailable(
            f'Ableton Link is not available ({str(exc).splitlines()[0]}): pip install "gdl-studio[link]"'
        ) from None
    return aalink


def available() -> str:
    """'' when Link can be used, else why not (one line)."""
    try:
        _aalink()
        return ""
    except LinkUnavailable as exc:
        return str(exc)


class LinkSync:
    """A Link session peer driving ``transport`` (see the module docstring)."""

    def __init__(
        self,
        transport: Transport,
        quantum: float = 4.0,
        start_stop_sync: bool = True,
        on_start: Callable[[float], None] | None = None,
        on_stop: Callable[[], None] | None = None,
        poll_s: float = 0.01,
    ) -> None:
        aalink = _aalink()
        self.transport = transport
        self.quantum = float(quantum)
        self.on_start = on_start or (lambda t: None)
        self.on_stop = on_stop or (lambda: None)
        self.poll_s = poll_s
        # aalink wants an asyncio loop for its callbacks: one of its own, on a thread, though we poll
        self._loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self._loop.run_forever, name="gdl-link-loop", daemon=True)
        self._loop_thread.start()

        async def make():
            return aalink.Link(transport.tempo_bpm)

        try:
            self.link = asyncio.run_coroutine_threadsafe(make(), self._loop).result(10)
            self.link.quantum = self.quantum
            self.link.start_stop_sync_enabled = bool(start_stop_sync)
            self.link.enabled = True
        except Exception as exc:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise LinkUnavailable(f"Ableton Link could not start ({exc})") from None
        self.offset = 0.0  # perf_counter − Link time
        self.playing = bool(self.link.playing)
        self.tempo_bpm = float(self.link.tempo)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._measure()
        self._align(time.perf_counter())
        self._thread = threading.Thread(target=self._run, name="gdl-link", daemon=True)
        self._thread.start()

    # ---------------------------------------------------------------- clock
    def _measure(self) -> None:
        best, off = 1.0, self.offset
        for _ in range(3):
            a = time.perf_counter()
            lt = self.link.time.total_seconds()
            b = time.perf_counter()
            if b - a < best:
                best, off = b - a, (a + b) * 0.5 - lt
        self.offset = off

    def beat_at(self, t: float) -> float:
        """The session's beat at ``perf_counter`` time ``t`` (the grid shared with the peers)."""
        with self._lock:
            now = time.perf_counter()
            beat = float(self.link.beat)  # at Link's "now"
            tempo = float(self.link.tempo)
        return beat + (t - now) * tempo / 60.0

    @property
    def peers(self) -> int:
        return int(self.link.num_peers)

    @property
    def phase(self) -> float:
        return float(self.link.phase)

    # ---------------------------------------------------------------- control
    def set_tempo(self, bpm: float) -> None:
        """Our tempo box changed: the whole session takes it."""
        with self._lock:
            self.link.tempo = float(bpm)
        self.tempo_bpm = float(bpm)
        self._align(time.perf_counter())

    def set_start_stop_sync(self, enabled: bool) -> None:
        self.link.start_stop_sync_enabled = bool(enabled)

    def play(self, playing: bool = True) -> None:
        """Start (or stop) playing in the session, at the next bar (with start/stop sync on)."""
        with self._lock:
            self.link.playing = bool(playing)

    def _align(self, now: float) -> None:
        """Put the transport on the session's grid (tempo and beat at ``now``), silently."""
        with self._lock:
            beat = float(self.link.beat)
            tempo = float(self.link.tempo)
        self.transport.follow_grid(beat, now, tempo)

    def next_bar_time(self, t: float | None = None) -> float:
        """``perf_counter`` time of the session's next bar (multiple of ``quantum`` beats)."""
        t = time.perf_counter() if t is None else t
        beat = self.beat_at(t)
        nxt = math.ceil(beat / self.quantum - 1e-9) * self.quantum
        return t + (nxt - beat) * 60.0 / max(1.0, self.tempo_bpm)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self._measure()
                now = time.perf_counter()
                self.tempo_bpm = float(self.link.tempo)
                self._align(now)
                playing = bool(self.link.playing)
            except Exception:  # a closing Link: stop polling
                return
            if playing != self.playing:
                self.playing = playing
                try:
                    if playing and self.link.start_stop_sync_enabled:
                        self.on_start(self.next_bar_time(now))
                    elif not playing and self.link.start_stop_sync_enabled:
                        self.on_stop()
                except Exception:
                    import traceback

                    traceback.print_exc()

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(1.0)
        try:
            self.link.enabled = False
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
