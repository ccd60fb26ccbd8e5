"""The Sketch panel with tiny random models: Extend, Endings, Dream up, files, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from gdl_studio.core.errors import UserError
from gdl_studio.core.registry import ModelUnavailable
from gdl_studio.ink.svgio import read_svg_strokes
from gdl_studio.ui.sketch import commands
from gdl_studio.ui.sketch.drawing import Stroke


def add(panel, *strokes):
    panel.undo_stack.push(commands.add_strokes(panel.document, [Stroke.make(s) for s in strokes], "Draw stroke"))


def primer(panel):
    add(panel, [(20, 30), (50, 32), (85, 35)], [(54, 20), (54, 60), (52, 95)])


def wait_done(qtbot, panel, timeout=10_000):
    qtbot.waitUntil(lambda: not panel.streaming, timeout=timeout)


def test_extend_streams_points_then_accept_adds_them(panel, qtbot):
    primer(panel)
    panel.pace_s = 0.01  # slow enough to see the stream arrive point by point
    seen = []
    panel.engine.result.connect(lambda pid, rid, item: seen.append(item))
    panel.extend_button.click()
    assert panel.streaming
    qtbot.waitUntil(lambda: len(panel.pending_points) >= 1, timeout=10_000)
    assert not panel.accept_button.isEnabled() or panel.pending_points
    wait_done(qtbot, panel)
    points = panel.pending_points
    assert len(points) >= 1
    assert sum(1 for it in seen if type(it).__name__ == "GenPoint") >= len(points)
    # the canvas shows them in the generated colour, the document is unchanged until accepted
    assert len(panel.canvas.overlay) >= 1
    assert len(panel.document.strokes) == 2
    n_new = sum(1 for p in points if p.pen_up) + (0 if points[-1].pen_up else 1)
    assert panel.accept_button.isEnabled()
    panel.accept_button.click()
    assert len(panel.document.strokes) == 2 + n_new
    assert panel.undo_stack.undoText() == "Accept extension"
    assert not panel.canvas.overlay and not panel.has_suggestion()
    added = panel.document.strokes[2]
    assert np.allclose(added.points[0], (points[0].x, points[0].y))
    panel.undo_stack.undo()
    assert len(panel.document.strokes) == 2


def test_extend_adds_the_requested_number_of_strokes_and_reject_discards(panel, qtbot):
    primer(panel)
    panel.strokes_spin.setValue(2)
    panel.seed_spin.setValue(7)
    panel.extend()
    wait_done(qtbot, panel)
    points = panel.pending_points
    assert sum(p.pen_up for p in points) == 2 or len(points) == 250
    first = [(p.x, p.y) for p in points]
    panel.reject_button.click()
    assert not panel.has_suggestion() and not panel.canvas.overlay
    assert len(panel.document.strokes) == 2 and panel.undo_stack.count() == 1
    # the same seed gives the same continuation
    panel.extend()
    wait_done(qtbot, panel)
    assert [(p.x, p.y) for p in panel.pending_points] == first


def test_a_new_request_cancels_the_running_one(panel, qtbot):
    primer(panel)
    panel.pace_s = 0.05
    panel.strokes_spin.setValue(20)
    finished = []
    panel.engine.finished.connect(finished.append)
    panel.extend()
    first = panel.session.request
    qtbot.waitUntil(lambda: len(panel.pending_points) >= 1, timeout=10_000)
    panel.pace_s = 0.0
    panel.dream_up()
    assert panel.session.request != first
    wait_done(qtbot, panel)
    qtbot.waitUntil(lambda: any(f.request_id == first for f in finished), timeout=5000)
    assert [f.cancelled for f in finished if f.request_id == first] == [True]
    # drawing a stroke while a suggestion is shown throws the suggestion away
    assert panel.has_suggestion()
    add(panel, [(10, 10), (20, 20)])
    assert not panel.has_suggestion()


def test_endings_give_n_candidates_and_clicking_one_keeps_it(panel, qtbot):
    primer(panel)
    panel.endings_spin.setValue(3)
    panel.strokes_spin.setValue(1)
    panel.endings_button.click()
    wait_done(qtbot, panel)
    assert panel.endings.count() == 3
    candidates = [panel.endings.candidate(i) for i in range(3)]
    assert all(len(c) >= 1 for c in candidates)
    assert not all(np.allclose(candidates[0][0][:1], c[0][:1]) for c in candidates[1:]), (
        "different seeds, different endings"
    )
    thumb = panel.endings.thumbs[1]
    assert thumb.isVisible() and thumb.width() > 60
    qtbot.mouseClick(thumb, Qt.MouseButton.LeftButton)
    assert len(panel.document.strokes) == 2 + len(candidates[1])
    assert np.allclose(panel.document.strokes[2].points, candidates[1][0])
    assert panel.undo_stack.undoText() == "Accept ending 2"
    assert panel.endings.count() == 0
    panel.undo_stack.undo()
    assert len(panel.document.strokes) == 2


def test_dream_up_draws_from_scratch_and_accept_replaces_the_drawing(panel, qtbot):
    primer(panel)
    panel.set_model("rnn-gmm")
    assert panel.active_model() == "ink-rnn-gmm"
    panel.dream_button.click()
    wait_done(qtbot, panel)
    points = panel.pending_points
    assert points
    panel.accept()
    assert len(panel.document.strokes) == sum(p.pen_up for p in points) + (0 if points[-1].pen_up else 1)
    assert all(s.source == "model" for s in panel.document.strokes)
    assert panel.undo_stack.undoText() == "Dream up"
    panel.undo_stack.undo()
    assert len(panel.document.strokes) == 2


def test_open_kanjivg_then_export_svg_and_png_round_trip(panel, qtbot, kanji_file, tmp_path):
    panel.open_path(str(kanji_file))
    original = read_svg_strokes(kanji_file)
    assert len(panel.document.strokes) == len(original) == 5
    assert panel.undo_stack.undoText().startswith("Open ")
    svg = tmp_path / "out.svg"
    panel.save_path(str(svg))
    back = read_svg_strokes(svg)
    assert len(back) == 5
    for a, b in zip(original, back):
        assert len(a) == len(b) and np.allclose(a, b, atol=0.01)
    png = tmp_path / "out.png"
    panel.save_path(str(png))
    img = QImage(str(png))
    assert img.width() == 1024 and img.height() == 1024
    dark = sum(img.pixelColor(x, y).lightness() < 100 for x in range(0, 1024, 8) for y in range(0, 1024, 8))
    assert 100 < dark < 0.3 * 128 * 128
    # a pending extension is exported too, in its own group
    panel.extend()
    wait_done(qtbot, panel)
    panel.save_path(str(svg))
    assert 'id="generated"' in svg.read_text()
    with pytest.raises(UserError, match=r"\.svg or \.png"):
        panel.save_path(str(tmp_path / "out.txt"))


@pytest.mark.parametrize(
    "content, match",
    [
        ("<svg xmlns='http://www.w3.org/2000/svg'><path d='M 10 10 L", "malformed"),
        ("", "empty"),
        ("<svg xmlns='http://www.w3.org/2000/svg'></svg>", "no strokes"),
        ("<html><body/></html>", "not an SVG"),
    ],
)
def test_bad_svg_gives_a_message_and_leaves_the_drawing(panel, tmp_path, content, match):
    primer(panel)
    path = tmp_path / "bad.svg"
    path.write_text(content)
    with pytest.raises(UserError, match=match):
        panel.open_path(str(path))
    assert len(panel.document.strokes) == 2 and panel.undo_stack.count() == 1


def test_blank_canvas_extend_and_endings_say_why(panel):
    seen = []
    panel.engine.result.connect(lambda *a: seen.append(a))
    panel.extend()
    assert "blank" in panel.message and not panel.streaming and not panel.has_suggestion()
    panel.show_endings()
    assert "blank" in panel.message and panel.endings.count() == 0
    with pytest.raises(UserError, match="blank"):
        panel.save_path("/tmp/never-written.svg")


def test_a_stroke_of_100000_points(panel, qtbot, tmp_path):
    rng = np.random.default_rng(0)
    # scribble: too many points even after simplification -> a clear message, no crash
    add(panel, rng.uniform(10, 100, size=(100_000, 2)))
    panel.extend()
    assert "too long" in panel.message and not panel.streaming
    assert panel.canvas.grab().width() > 0
    # a smooth 100 000-point circle is simplified and extended normally
    panel.clear()
    t = np.linspace(0, 2 * np.pi, 100_000)
    add(panel, np.stack([54 + 40 * np.cos(t), 54 + 40 * np.sin(t)], axis=1))
    panel.extend()
    wait_done(qtbot, panel)
    assert panel.pending_points
    panel.save_path(str(tmp_path / "big.svg"))
    assert len(read_svg_strokes(tmp_path / "big.svg")[0]) == 100_000


def test_missing_model_shows_a_banner_and_only_disables_generation(make_panel, qtbot):
    def loader(kind):
        raise ModelUnavailable(f"model 'ink-{kind}' is not installed")

    panel = make_panel(loader=loader)
    qtbot.waitUntil(lambda: panel.banner.isVisible(), timeout=10_000)
    assert "unavailable" in panel.banner.text() and "not installed" in panel.banner.text()
    assert not panel.extend_button.isEnabled() and not panel.dream_button.isEnabled()
    primer(panel)  # drawing still works
    panel.extend()
    assert "unavailable" in panel.message and not panel.streaming
    assert len(panel.document.strokes) == 2


def test_shipped_models_missing_are_detected_from_the_registry(make_panel, monkeypatch, tmp_path):
    from gdl_studio.core import registry

    monkeypatch.setattr(registry, "_default", registry.Registry(roots=[tmp_path]))
    panel = make_panel(loader=None)
    assert panel.banner.isVisible() and "not installed" in panel.banner.text()
    assert not panel.extend_button.isEnabled()


def test_temperature_and_model_persist(panel):
    from gdl_studio.ui.settings import Key

    panel.set_temperature(1.2)
    panel.set_model("rnn-gmm")
    assert panel.temperature == pytest.approx(1.2)
    assert panel.settings.get(Key.SKETCH_TEMPERATURE) == pytest.approx(1.2)
    assert panel.settings.get(Key.SKETCH_MODEL) == "rnn-gmm"
    assert panel.temperature_label.text() == "1.20"


def test_keyboard_extend_accept_and_reject(panel, qtbot):
    primer(panel)
    panel.canvas.setFocus()
    qtbot.keyClick(panel.canvas, Qt.Key.Key_E)
    wait_done(qtbot, panel)
    assert panel.pending_points
    qtbot.keyClick(panel.canvas, Qt.Key.Key_Escape)
    assert not panel.has_suggestion() and len(panel.document.strokes) == 2
    qtbot.keyClick(panel.canvas, Qt.Key.Key_E)
    wait_done(qtbot, panel)
    qtbot.keyClick(panel.canvas, Qt.Key.Key_Return)
    assert len(panel.document.strokes) > 2 and panel.undo_stack.undoText() == "Accept extension"
