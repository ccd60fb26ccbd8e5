"""The load both live benchmarks put on the machine while they measure (``bench live`` and its
sync figures): a model generating notes on another thread, as in the app while notes play.

Its own module so that :mod:`gdl_studio.live.bench` and :mod:`gdl_studio.live.bench_sync` share
it without importing each other.
"""

from __future__ import annotations

import threading


class Generator(threading.Thread):
    """Keeps the model generating (as in the app while notes play)."""

    def __init__(self, composer, primer) -> None:
        super().__init__(name="gdl-bench-generate", daemon=True)
        self.composer = composer
        self.primer = primer
        self.stop_flag = threading.Event()
        self.notes = 0

    def run(self) -> None:
        seed = 0
        while not self.stop_flag.is_set():
            seed += 1
            for _step in self.composer.generate(self.primer, n_notes=64, temperature=1.0, seed=seed):
                self.notes += 1
                if self.stop_flag.is_set():
                    return
