"""Streaming continuations in the panel: notes arrive one by one, accept/reject/regenerate,
attention for the selected generated note — with tiny untrained models of both kinds."""

from __future__ import annotations

from pathlib import Path

import pytest
from compose_helpers import close_panel, make_panel, wait_for

ROOT = Path(__file__).resolve().parents[2]
CHORALE = ROOT / "resources" / "examples" / "chorale.mid"


@pytest.fixture
def demo(monkeypatch, tmp_path):
    monkeypatch.setenv("GDL_STUDIO_COMPOSE_DEMO", "1")
    monkeypatch.setenv("GDL_STUDIO_MODELS", str(tmp_path / "no-models"))


@pytest.fixture
def panel(qtbot, demo):
    panel, engine = make_panel(qtbot)
    panel.audition_check.setChecked(False)
    yield panel
    close_panel(panel, engine)


def run_to_end(panel, n):
    assert wait_for(lambda: panel.gen is not None and not panel.gen.running, timeout=60)
    assert len(panel.gen.steps) == n


@pytest.mark.parametrize("model", ["music-lstm", "music-transformer"])
def test_continue_streams_pending_notes_then_accept_is_one_undo_step(panel, model):
    panel.open_path(str(CHORALE))
    before = len(panel.doc.notes)
    end = panel.doc.end_beat
    panel.model_combo.setCurrentIndex(panel.model_combo.findData(model))
    panel.length_spin.setValue(12)
    panel.continue_generation()
    assert panel.gen.running
    run_to_end(panel, 12)
    assert len(panel.roll.pending) == 12
    assert all(n.start >= end - 1e-6 for n in panel.roll.pending)  # after the primer
    assert len(panel.doc.notes) == before  # not part of the piece until accepted
    assert panel.accept_button.isEnabled()
    # attention: one row per generated note, over earlier notes
    m = panel.attention.matrix()
    assert m.shape[0] == 12 and m.sum() > 0
    panel.roll.select_pending(3)
    assert panel.attention.selected == 3
    assert panel.roll.attention and all(kind in ("doc", "pending") for kind, _i in panel.roll.attention)
    assert "generated note 4" in panel.attention.caption.text()

    panel.accept_generation()
    assert len(panel.doc.notes) == before + 12
    assert panel.roll.pending == []
    assert panel.undo_stack.count() == 1
    # an accepted generated note still shows its attention when selected
    accepted = panel.gen.accepted_ids
    panel.roll.set_selection({accepted[5]})
    assert panel.attention.selected == 5
    panel.undo_stack.undo()
    assert len(panel.doc.notes) == before


def test_continue_from_the_selection_uses_notes_up_to_its_end(panel):
    panel.open_path(str(CHORALE))
    early = {i for i, n in panel.doc.notes.items() if n.end <= 8.0}
    panel.roll.set_selection(early)
    panel.length_spin.setValue(4)
    panel.continue_generation()
    gen = panel.gen
    assert gen.cut == pytest.approx(8.0)
    assert all(n.start < 8.0 for n in gen.primer_notes)
    run_to_end(panel, 4)
    assert all(n.start >= 8.0 - 1e-6 for n in panel.roll.pending)


def test_reject_and_regenerate_cancel_the_running_request(panel):
    panel.open_path(str(CHORALE))
    panel.length_spin.setValue(200)
    panel.continue_generation()
    first = panel.gen.request_id
    assert wait_for(lambda: len(panel.gen.steps) >= 2, timeout=60)
    panel.regenerate()  # same primer, new seed: supersedes the running request
    second = panel.gen
    assert second.request_id != first
    assert not panel.engine.is_latest("compose", first)
    assert len(panel.roll.pending) == 0 or len(panel.roll.pending) == len(second.steps)
    assert wait_for(lambda: len(panel.gen.steps) >= 2, timeout=60)
    panel.reject_generation()
    assert panel.gen is None and panel.roll.pending == []
    assert not panel.accept_button.isEnabled()
    assert wait_for(lambda: not panel.engine.core.busy, timeout=10)


def test_missing_weights_give_a_clear_message(qtbot, monkeypatch, tmp_path):
    monkeypatch.delenv("GDL_STUDIO_COMPOSE_DEMO", raising=False)
    monkeypatch.setenv("GDL_STUDIO_MODELS", str(tmp_path / "no-models"))
    panel, engine = make_panel(qtbot)
    try:
        panel.model_combo.setCurrentIndex(panel.model_combo.findData("music-lstm"))
        assert "not installed" in panel.model_status.text()
        assert "gdl-studio train music-lstm" in panel.model_status.text()
        assert not panel.continue_button.isEnabled()
        panel.continue_generation()  # a shortcut still cannot start it
        assert panel.gen is None
    finally:
        close_panel(panel, engine)


def test_quality_choice_reaches_either_model_and_is_remembered(panel, monkeypatch):
    """The Quality row: its views go to the continuation job of the Transformer and of the LSTM
    (both draw from transposition views) and are remembered."""
    import gdl_studio.jobs.compose as composers
    from gdl_studio.ui.settings import Key

    asked: list = []
    real = composers.continuation_job

    def spy(*args, **kwargs):
        asked.append(args[7] if len(args) > 7 else kwargs.get("views"))
        return real(*args, **kwargs)

    monkeypatch.setattr(composers, "continuation_job", spy)
    panel.open_path(str(CHORALE))
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("music-transformer"))
    combo = panel.box.quality_combo
    assert combo.isEnabled() and panel.views() is None  # the model's own setting by default
    combo.setCurrentIndex(combo.findData(6))
    assert panel.views() == 6 and panel.settings.get(Key.COMPOSE_VIEWS) == 6
    panel.length_spin.setValue(4)
    panel.continue_generation()
    run_to_end(panel, 4)
    assert asked == [6]
    panel.reject_generation()
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("music-lstm"))
    assert combo.isEnabled()
    combo.setCurrentIndex(combo.findData(0))
    panel.continue_generation()
    run_to_end(panel, 4)
    assert asked == [6, 0]
