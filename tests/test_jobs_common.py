"""What every panel's engine job shares (gdl_studio.jobs.common): no Qt needed."""

from __future__ import annotations

import time

from gdl_studio.engine.core import Sleep
from gdl_studio.jobs.common import rested


def _slow(n: int, seconds: float):
    for i in range(n):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass
        yield i


def test_rested_passes_every_step_on_and_rests_after_a_burst():
    items = list(rested(_slow(6, 0.005), burst_s=0.012, rest_s=0.004))
    steps = [x for x in items if not isinstance(x, Sleep)]
    sleeps = [x for x in items if isinstance(x, Sleep)]
    assert steps == list(range(6))
    assert 1 <= len(sleeps) <= len(steps)  # 30 ms of work, rests after each 12 ms burst
    assert not any(isinstance(a, Sleep) and isinstance(b, Sleep) for a, b in zip(items, items[1:]))


def test_rested_does_not_rest_a_quick_stream():
    items = list(rested(iter(range(100)), burst_s=10.0))
    assert items == list(range(100))
