"""The Dream panel's painted widgets: pixel-exact frames, bar colours."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF

from gdl_studio.ui.dream.plots import MIN_PLOT_HEIGHT, PLOT_SPACING, DreamPlots
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


def test_a_long_message_fits_a_small_frame(qtbot):
    """A short window (the Training dock open on a laptop) makes the frames small; the episode-over
    message shrinks to stay inside the picture instead of running off it."""
    view = FrameView("Real game", "96×96")
    qtbot.addWidget(view)
    view.set_message("Episode over after 976 steps: 902.4 points.\nN for a new track, R to drive this one again.")
    for size in ((170, 200), (400, 430)):
        view.resize(*size)
        rect = view.picture_rect()
        font, box = view.message_layout(rect)
        assert rect.contains(box), (size, box, rect)
    assert font.pointSizeF() >= 9.0  # a large frame keeps the full size
    cramped = QRectF(0, 0, 150, 70)
    small, box = view.message_layout(cramped)
    assert small.pointSizeF() < font.pointSizeF() and box.height() <= cramped.height()
    view.grab()  # paints


def test_plots_stack_when_tall_and_take_turns_when_short(qtbot):
    plots = DreamPlots()
    qtbot.addWidget(plots)
    plots.resize(300, 480)
    plots.show()
    qtbot.waitUntil(lambda: plots.height() == 480)
    assert not plots.compact and plots.visible_plots() == [0, 1, 2] and plots.choices.isHidden()
    plots.resize(300, 200)  # too short for three readable plots
    qtbot.waitUntil(lambda: plots.compact)
    assert plots.visible_plots() == [0] and not plots.choices.isHidden()
    plots.choice_group.button(2).click()  # "z"
    assert plots.visible_plots() == [2]
    qtbot.waitUntil(lambda: plots.widgets[2].height() > plots.height() // 2)  # it takes the room
    plots.resize(300, 480)
    qtbot.waitUntil(lambda: not plots.compact)
    assert plots.visible_plots() == [0, 1, 2] and plots.choices.isHidden()
    need = 3 * MIN_PLOT_HEIGHT + 2 * PLOT_SPACING
    assert DreamPlots.fit_height(need) and not DreamPlots.fit_height(need - 1)
