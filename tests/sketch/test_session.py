"""The Sketch panel's state without widgets (ui/sketch/session.py): no Qt, no pytest-qt."""

from __future__ import annotations

from gdl_studio.jobs.sketch import GenPoint
from gdl_studio.ui.sketch.session import SketchSession

MODELS = (("vrnn", "VRNN-GMM"), ("rnn-gmm", "RNN-GMM"))


def test_an_extension_streams_and_stale_points_are_ignored():
    s = SketchSession()
    assert s.buttons(blank=True, model_ok=True).generate and not s.buttons(True, True).clear
    s.start("extend", 5, "vrnn")
    assert s.streaming and "vrnn" in s.warmed and s.has_suggestion
    assert not s.buttons(False, True).accept  # nothing streamed yet
    assert s.add_point(5, GenPoint(0, 1.0, 2.0, False))
    assert not s.add_point(4, GenPoint(0, 9.0, 9.0, False))
    b = s.buttons(False, True)
    assert b.accept and b.reject and b.extending and b.clear
    assert s.stop() and not s.stop()
    s.end()
    assert not s.has_suggestion and s.pending == [] and not s.buttons(False, True).reject


def test_endings_take_no_single_points():
    s = SketchSession()
    s.start("endings", 1, "vrnn")
    assert not s.add_point(1, GenPoint(2, 0.0, 0.0, True))  # endings go to the endings view
    assert s.buttons(False, True).reject and not s.buttons(False, True).accept


def test_model_problems_banner_and_fallbacks():
    s = SketchSession()
    assert s.problem_text("vrnn", "VRNN-GMM", MODELS, shipped=True) == ""
    s.model_problem("vrnn", "weights missing")
    assert not s.available("vrnn") and not s.buttons(False, False).generate
    text = s.problem_text("vrnn", "VRNN-GMM", MODELS, shipped=True)
    assert "weights missing" in text and "Choose RNN-GMM" in text and "gdl-studio train vrnn" in text
    assert "fine-tune it again" in s.problem_text("vrnn", "mine", MODELS, shipped=False)
    assert s.model_ready("vrnn") and s.available("vrnn") and not s.model_ready("vrnn")
    assert s.needs_warm_up("rnn-gmm")
    s.start("dream", 2, "rnn-gmm")
    assert not s.needs_warm_up("rnn-gmm")
    s.bases["my-hand"] = "vrnn"
    assert s.fallback("my-hand") == "vrnn" and s.fallback("vrnn") is None


def test_a_replaced_personal_model_is_loaded_afresh():
    s = SketchSession()
    assert not s.personal_model_seen("my-hand", "aaa")  # new: nothing to forget yet
    s.warmed.add("my-hand")
    assert not s.personal_model_seen("my-hand", "aaa")
    assert "my-hand" in s.warmed
    s.problems["my-hand"] = "old problem"
    assert s.personal_model_seen("my-hand", "bbb")  # fine-tuned again
    assert "my-hand" not in s.warmed and "my-hand" not in s.problems
