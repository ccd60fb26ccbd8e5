"""The Dream panel's painted widgets: pixel-exact frames, bar colours."""

from __future__ import annotations

import numpy as np

from gdl_studio.ui.dream.views import AGENT_COLOURS, HUMAN_COLOURS, ActionBars, FrameView


def test_frame_view_scales_up_with_whole_pixels(qtbot):
    view = FrameView("Test", "8×8")
    qtbot.addWidget(view)
    view.resize(300, 330)
    board = np.zeros((8, 8, 3), np.uint8)
    board[(np.add.outer(np.arange(8), np.arange(8)) % 2) == 1] = (250, 200, 40)
    board[0, 0] = (10, 120, 230)
    view.set_frame(board)
    image = view.grab().toImage()
    rect = view.picture_rect()
    cell = rect.width() / 8
    for row in range(8):
        for col in range(8):
            # two pixels inside a cell's edge: smooth scaling would blend there, nearest does not
            x = int(rect.left() + col * cell + 2.5)
            y = int(rect.top() + row * cell + 2.5)
            if (row, col) == (0, 0):
                continue  # the rounded corner
            assert image.pixelColor(x, y).getRgb()[:3] == tuple(int(v) for v in board[row, col]), (row, col)
    assert view.image().size().toTuple() == (8, 8)


def test_action_bars_change_colour_while_a_person_drives(qtbot):
    bars = ActionBars()
    qtbot.addWidget(bars)
    bars.set_action((-0.5, 0.8, 0.0), human=False)
    assert bars.values() == {"steer": -0.5, "gas": 0.8, "brake": 0.0}
    assert [bars.bar_colour(n) for n in ("steer", "gas", "brake")] == [
        AGENT_COLOURS[n] for n in ("steer", "gas", "brake")
    ]
    bars.set_action((2.0, -1.0, 0.8), human=True)  # clamped to the valid ranges
    assert bars.values() == {"steer": 1.0, "gas": 0.0, "brake": 0.8}
    assert [bars.bar_colour(n) for n in ("steer", "gas", "brake")] == [
        HUMAN_COLOURS[n] for n in ("steer", "gas", "brake")
    ]
    assert bars.grab().size().width() > 0
