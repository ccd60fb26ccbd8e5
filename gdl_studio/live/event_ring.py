"""Raw MIDI messages from any thread to an audio callback: one preallocated ring shared by the built-in
instruments (:mod:`gdl_studio.live.instrument`, :mod:`gdl_studio.live.synth`).

Producers (the scheduler, a keyboard, the UI) take a lock among themselves; the consumer, the audio
callback, takes none: it reads rows between two counters that only it (``_read``) or the producers
(``_write``) advance, and allocates nothing but the small ints it hands on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np


class EventRing:
    """A single-consumer ring of ``size`` three-byte MIDI messages."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._rows = np.zeros((size, 3), dtype=np.int32)
        self._write = 0
        self._read = 0
        self._producer_lock = threading.Lock()
        self.dropped = 0
        """Messages refused because the ring was full (the audio side stalled)."""

    def push(self, b0: int, b1: int, b2: int) -> bool:
        """Queue one message; any thread. False (and counted in :attr:`dropped`) when the ring is full."""
        with self._producer_lock:
            w = self._write
            if w - self._read >= self.size:
                self.dropped += 1
                return False
            row = self._rows[w % self.size]
            row[0] = b0
            row[1] = b1
            row[2] = b2
            self._write = w + 1
        return True

    @property
    def pending(self) -> bool:
        """Whether messages wait (the consumer's cheap check before :meth:`drain`)."""
        return self._read != self._write

    def drain(self, apply: Callable[[int, int, int], None]) -> None:
        """Hand every waiting message to ``apply(b0, b1, b2)`` in order; the consumer thread only."""
        r, w, rows, size = self._read, self._write, self._rows, self.size
        while r < w:
            row = rows[r % size]
            apply(int(row[0]), int(row[1]), int(row[2]))
            r += 1
        self._read = r
