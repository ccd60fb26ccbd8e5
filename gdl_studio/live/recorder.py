"""Recording MIDI input into notes in beats, with optional quantisation."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable
from dataclasses import replace

from gdl_studio.music.notes import Note


def quantise_notes(notes: Iterable[Note], grid: float, strength: float = 1.0) -> list[Note]:
    """Move note starts (and ends) towards the nearest multiple of ``grid`` beats.

    ``strength`` 1 snaps fully; 0.5 moves half way. Every note keeps at least one grid step.
    """
    if grid <= 0:
        return list(notes)
    out = []
    for n in notes:
        start = n.start + (round(n.start / grid) * grid - n.start) * strength
        end = n.end + (round(n.end / grid) * grid - n.end) * strength
        if end - start < grid * strength:
            end = start + max(grid * strength, 1e-3)
        out.append(replace(n, start=max(0.0, start), duration=end - start))
    return out


def message_note(msg) -> tuple[str, int, int, int] | None:
    """``("on"|"off", channel, pitch, velocity)`` of a mido message, or None."""
    kind = getattr(msg, "type", "")
    if kind == "note_on" and msg.velocity > 0:
        return "on", msg.channel, msg.note, msg.velocity
    if kind == "note_off" or (kind == "note_on" and msg.velocity == 0):
        return "off", msg.channel, msg.note, 0
    return None


class Recorder:
    """Turns note messages with arrival times into :class:`Note` objects (thread-safe).

    Beat ``beat0`` is at ``perf_counter`` time ``t0``; ``tempo_bpm`` converts seconds to
    beats. Sustained notes are closed by :meth:`finish`.

    With a ``transport`` (:class:`~gdl_studio.live.clock.Transport`, e.g. following a DAW's clock)
    beats come from its grid instead: beat ``beat0`` is the transport's beat at ``t0``.
    """

    def __init__(self, tempo_bpm: float, t0: float, beat0: float = 0.0, track: int = 0, transport=None) -> None:
        self.tempo_bpm = max(1.0, float(tempo_bpm))
        self.t0 = t0
        self.beat0 = beat0
        self.track = track
        self.transport = transport
        self._tb0 = transport.beat_at(t0) if transport is not None else 0.0
        self._lock = threading.Lock()
        self._open: dict[tuple[int, int], tuple[float, int]] = {}
        self._done: list[Note] = []
        self._new: list[Note] = []

    def beat_at(self, t: float) -> float:
        if self.transport is not None:
            return self.beat0 + self.transport.beat_at(t) - self._tb0
        return self.beat0 + (t - self.t0) * self.tempo_bpm / 60.0

    def feed(self, msg, t: float) -> Note | None:
        """Feed one message (any type; non-notes are ignored); returns a completed note."""
        info = message_note(msg)
        if info is None:
            return None
        kind, ch, pitch, vel = info
        beat = self.beat_at(t)
        with self._lock:
            key = (ch, pitch)
            if kind == "on":
                if key in self._open:  # re-struck without release: end the old one
                    self._close(key, beat)
                self._open[key] = (beat, vel)
                return None
            if key in self._open:
                return self._close(key, beat)
        return None

    def _close(self, key, beat: float) -> Note | None:
        start, vel = self._open.pop(key)
        if beat - start <= 1e-4:
            return None
        note = Note(key[1], start, beat - start, vel, self.track)
        self._done.append(note)
        self._new.append(note)
        return note

    def sounding(self, t: float) -> list[Note]:
        """Notes still held at time ``t``, drawn as if released then."""
        beat = self.beat_at(t)
        with self._lock:
            return [Note(p, s, max(beat - s, 1e-3), v, self.track) for (_c, p), (s, v) in self._open.items()]

    def drain_new(self) -> list[Note]:
        """Notes completed since the last call."""
        with self._lock:
            new, self._new = self._new, []
            return new

    def finish(self, t: float) -> list[Note]:
        """Close held notes at ``t`` and return every recorded note, sorted."""
        beat = self.beat_at(t)
        with self._lock:
            for key in list(self._open):
                self._close(key, beat)
            return sorted(self._done, key=lambda n: (n.start, n.pitch))

    @property
    def notes(self) -> list[Note]:
        with self._lock:
            return sorted(self._done, key=lambda n: (n.start, n.pitch))


def snap_up(t: float, origin: float, period: float) -> float:
    """The first time ``origin + k * period`` (k integer) at or after ``t``."""
    if period <= 0:
        return t
    k = math.ceil((t - origin) / period - 1e-9)
    return origin + k * period
