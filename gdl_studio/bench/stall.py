"""Measure how long the GUI event loop stalls: a 1 ms QTimer and the gaps between its ticks."""

from __future__ import annotations

import time

from PySide6.QtCore import QEventLoop, Qt, QTimer


def measure_stalls(seconds: float, during=None) -> list[float]:
    """Run the event loop for ``seconds`` with a 1 ms precise timer; return tick gaps in ms.

    ``during`` (optional) is called once after the timer starts, e.g. to submit engine work.
    A gap of 1 ms means no stall; anything larger is time the GUI thread could not react.
    """
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000.0)
        last[0] = now

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(1)
    timer.timeout.connect(tick)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    timer.start()
    last[0] = time.perf_counter()
    if during is not None:
        during()
    loop.exec()
    timer.stop()
    return gaps  # the first gap counts too: it holds whatever ``during`` set off at once
