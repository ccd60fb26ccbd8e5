"""Made-up four-voice music for the music tests (a module of its own, not conftest: test files
import it by name, and ``conftest`` is a name every test folder has)."""

from __future__ import annotations

import numpy as np


def chorale_like_notes(bars: int = 4, seed: int = 0):
    """Four voices of notes on the grid (quarters, eighths, triplets), some rests."""
    from gdl_studio.music.notes import Note

    rng = np.random.default_rng(seed)
    notes = []
    for v, base in enumerate((72, 65, 57, 48)):
        t = 0
        while t < bars * 48:
            d = int(rng.choice([4, 6, 8, 12, 12, 24]))
            d = min(d, bars * 48 - t)
            if rng.random() > 0.15:
                notes.append(Note(int(base + rng.integers(-4, 5)), t / 12, d / 12, int(rng.integers(40, 110)), v))
            t += d
    return sorted(notes, key=lambda n: (n.start, -n.pitch))
