"""The canvas: mouse and tablet input become strokes in box units with pen-up marks; undo/redo."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent
from PySide6.QtWidgets import QApplication


def draw(qtbot, canvas, box_points):
    """Drag the mouse through ``box_points`` (KanjiVG units) on ``canvas``."""
    pts = [canvas.to_widget(x, y).toPoint() for x, y in box_points]
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(canvas, p)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=pts[-1])


def test_mouse_strokes_have_points_and_pen_up_marks(panel, qtbot):
    canvas = panel.canvas
    draw(qtbot, canvas, [(20, 20), (40, 22), (60, 25), (80, 30)])
    draw(qtbot, canvas, [(50, 40), (52, 60), (54, 80), (55, 95)])
    strokes = panel.document.strokes
    assert len(strokes) == 2
    first = strokes[0].points
    assert len(first) >= 4
    # box coordinates, not pixels: the first point is where we pressed (to a pixel's precision)
    assert np.allclose(first[0], (20, 20), atol=0.6)
    assert np.allclose(first[-1], (80, 30), atol=0.6)
    rows = panel.document.points()
    assert rows.shape == (len(first) + len(strokes[1].points), 3)
    ends = np.flatnonzero(rows[:, 2] == 1)
    assert list(ends) == [len(first) - 1, len(rows) - 1]
    assert panel.undo_stack.count() == 2
    assert panel.undo_stack.undoText() == "Draw stroke"
    assert panel.info_label.text().startswith("2 strokes")


def test_a_click_is_a_dot_and_points_outside_the_sheet_are_clamped(panel, qtbot):
    canvas = panel.canvas
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=canvas.to_widget(30, 30).toPoint())
    assert len(panel.document.strokes) == 1 and len(panel.document.strokes[0]) == 1
    x, y = canvas.to_box(QPointF(-500, -500))
    assert -10 <= x <= 0 and -10 <= y <= 0


def test_undo_redo_and_clear(panel, qtbot):
    canvas = panel.canvas
    draw(qtbot, canvas, [(20, 20), (60, 20)])
    draw(qtbot, canvas, [(20, 50), (60, 50)])
    assert len(panel.document.strokes) == 2
    panel.undo_stack.undo()
    assert len(panel.document.strokes) == 1
    panel.undo_stack.redo()
    assert len(panel.document.strokes) == 2
    panel.clear_button.click()
    assert panel.document.is_blank()
    assert panel.undo_stack.undoText() == "Clear"
    panel.undo_button.click()
    assert len(panel.document.strokes) == 2
    assert panel.redo_button.isEnabled()


def test_tablet_pressure_sets_stroke_width(panel, qtbot):
    canvas = panel.canvas
    device = QPointingDevice(
        "test pen",
        4242,
        QInputDevice.DeviceType.Stylus,
        QPointingDevice.PointerType.Pen,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
        1,
        2,
    )

    def send(kind, x, y, pressure, buttons):
        pos = canvas.to_widget(x, y)
        ev = QTabletEvent(
            kind,
            device,
            pos,
            canvas.mapToGlobal(pos),
            pressure,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            Qt.KeyboardModifier.NoModifier,
            Qt.MouseButton.LeftButton,
            buttons,
        )
        QApplication.sendEvent(canvas, ev)

    down = Qt.MouseButton.LeftButton
    send(QTabletEvent.Type.TabletPress, 20, 60, 0.1, down)
    send(QTabletEvent.Type.TabletMove, 40, 60, 0.5, down)
    send(QTabletEvent.Type.TabletMove, 60, 60, 0.9, down)
    send(QTabletEvent.Type.TabletMove, 80, 60, 1.0, down)
    send(QTabletEvent.Type.TabletRelease, 80, 60, 0.0, Qt.MouseButton.NoButton)
    strokes = panel.document.strokes
    assert len(strokes) == 1
    widths = strokes[0].widths
    assert widths is not None and len(widths) == len(strokes[0])
    assert widths[0] < widths[1] < widths[2], "harder pressure, wider stroke"
    assert panel.canvas.grab().toImage().width() > 0  # variable-width painting works


def test_rendering_is_anti_aliased_ink_on_paper(panel, qtbot):
    draw(qtbot, panel.canvas, [(10, 54), (54, 54), (100, 54)])
    img = panel.canvas.grab().toImage()
    p = panel.canvas.to_widget(54, 54).toPoint()
    dpr = img.devicePixelRatio()
    ink = img.pixelColor(int(p.x() * dpr), int(p.y() * dpr))
    paper = img.pixelColor(int(p.x() * dpr), int(panel.canvas.to_widget(54, 20).y() * dpr))
    assert ink.lightness() < 80 and paper.lightness() > 200
    # anti-aliasing: intermediate greys at the stroke's edge
    column = [
        img.pixelColor(int(p.x() * dpr), y).lightness() for y in range(int((p.y() - 20) * dpr), int((p.y() + 20) * dpr))
    ]
    lo, hi = min(column), max(column)
    assert any(lo + 10 < v < hi - 10 for v in column)
