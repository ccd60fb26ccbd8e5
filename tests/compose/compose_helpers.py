"""Helpers for the Compose panel tests: build a panel with a real engine, find points on the roll."""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtWidgets import QApplication


def make_panel(qtbot):
    from gdl_studio.engine.worker import Engine
    from gdl_studio.ui.compose.panel import ComposePanel
    from gdl_studio.ui.settings import Settings

    # Destroy the panels of earlier tests (pytest-qt closes them and calls deleteLater) and
    # collect their Python wrappers now, before this panel allocates anything. Otherwise the
    # deferred deletes of many panels run together in some later event loop and leave
    # thousands of wrappers (pyqtgraph items, menus) as cyclic garbage for whichever full
    # collection comes next; one such collection in the middle of building a panel crashed.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    engine = Engine()
    engine.start()
    panel = ComposePanel(engine, Settings())
    qtbot.addWidget(panel)
    panel.resize(1300, 800)
    panel.show()
    qtbot.waitExposed(panel)
    # a deterministic view: 40 px per beat from beat 0, pitch 72 near the top
    roll = panel.roll
    roll.geo.px_per_beat = 40.0
    roll.geo.key_h = 12.0
    roll.geo.x0 = 0.0
    roll.geo.y0 = (127 - 80) * 12.0
    roll.refresh()
    return panel, engine


def close_panel(panel, engine):
    panel.shutdown()
    engine.shutdown(3.0)


def point(panel, beat: float, pitch: int, dx: float = 2.0) -> QPoint:
    """Canvas coordinates of ``beat`` (plus ``dx`` px) in the row of ``pitch``."""
    geo = panel.roll.geo
    return QPoint(int(geo.x_of(beat) + dx), int(geo.y_of(pitch) + geo.key_h / 2))


def drag(qtbot, widget, start: QPoint, end: QPoint, modifier=Qt.KeyboardModifier.NoModifier, steps: int = 5):
    qtbot.mousePress(widget, Qt.MouseButton.LeftButton, modifier, start)
    for k in range(1, steps + 1):
        p = QPoint(start.x() + (end.x() - start.x()) * k // steps, start.y() + (end.y() - start.y()) * k // steps)
        qtbot.mouseMove(widget, p)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, modifier, end)


def wait_for(predicate, timeout: float = 20.0) -> bool:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        QApplication.processEvents()
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()
