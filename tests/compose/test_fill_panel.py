"""The Compose panel's Fill row and Steer group (pytest-qt), with a tiny random Transformer that
fills gaps installed as music-transformer."""

from __future__ import annotations

from pathlib import Path

import pytest
from compose_helpers import close_panel, make_panel, wait_for
from PySide6.QtCore import Qt

ROOT = Path(__file__).resolve().parents[2]
CHORALE = ROOT / "resources" / "examples" / "chorale.mid"


@pytest.fixture(scope="module")
def infill_models(tmp_path_factory):
    from gdl_studio.jobs.compose import save_tiny_infill_model

    root = tmp_path_factory.mktemp("models")
    save_tiny_infill_model(root)
    return root


@pytest.fixture
def panel(qtbot, monkeypatch, infill_models):
    from gdl_studio.core.registry import default_registry

    monkeypatch.setenv("GDL_STUDIO_MODELS", str(infill_models))
    monkeypatch.setenv("GDL_STUDIO_COMPOSE_DEMO", "1")  # the LSTM (not installed) as a random demo
    default_registry().forget()
    panel, engine = make_panel(qtbot)
    panel.audition_check.setChecked(False)
    panel.open_path(str(CHORALE))
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("music-transformer"))
    yield panel
    close_panel(panel, engine)
    default_registry().forget()


def finished(panel):
    assert wait_for(lambda: panel.gen is not None and not panel.gen.running, timeout=60)


def in_gap(panel, a_beat, b_beat):
    return {i for i, n in panel.doc.notes.items() if a_beat - 1e-6 <= n.start < b_beat - 1e-6}


def test_fill_streams_red_notes_into_the_gap_and_accept_is_one_undo_step(panel, qtbot):
    bpb = panel.doc.beats_per_bar
    before = dict(panel.doc.notes)
    replaced = in_gap(panel, 2 * bpb, 4 * bpb)
    assert replaced and panel.fill_button.isEnabled()
    panel.fill_row.set_bars(3, 5)
    qtbot.mouseClick(panel.fill_button, Qt.MouseButton.LeftButton)
    gen = panel.gen
    assert gen is not None and gen.fill is not None and (gen.fill.start_bar, gen.fill.end_bar) == (2, 4)
    assert panel.roll.gap == (2.0 * bpb, 4.0 * bpb) and panel.roll.hidden == frozenset(replaced)
    assert "Filling bars 3–4" in panel.progress_label.text()
    finished(panel)
    pending = list(panel.roll.pending)
    assert pending and all(2 * bpb - 1e-6 <= n.start < 4 * bpb for n in pending)
    assert panel.doc.notes == before  # nothing changes until Accept
    assert "Accept replaces" in panel.progress_label.text()
    assert panel.accept_button.isEnabled() and panel.regenerate_button.isEnabled()

    panel.accept_generation()
    assert panel.undo_stack.count() == 1
    kept = {i: n for i, n in before.items() if i not in replaced}
    assert all(panel.doc.notes.get(i) == n for i, n in kept.items())  # outside the gap: untouched
    assert sorted(n.start for i, n in panel.doc.notes.items() if i not in kept) == sorted(n.start for n in pending)
    assert panel.roll.gap is None and panel.roll.hidden == frozenset() and panel.roll.pending == []
    panel.undo_stack.undo()
    assert panel.doc.notes == before


def test_fill_regenerate_then_reject_leaves_the_piece(panel):
    before = dict(panel.doc.notes)
    panel.fill_gap((2, 4))
    finished(panel)
    first = panel.gen
    panel.regenerate()
    assert panel.gen is not first and panel.gen.fill.label == "bars 2–3"
    finished(panel)
    panel.reject_generation()
    assert panel.gen is None and panel.roll.pending == [] and panel.roll.gap is None
    assert panel.doc.notes == before and panel.undo_stack.count() == 0


@pytest.mark.parametrize(
    ("bars", "words"),
    [
        ((4, 4), "end after it starts"),
        ((1, 3), "nothing before bar 1"),
        ((90, 95), "outside the piece"),
        ((3, 90), "nothing after bar 89"),
    ],
)
def test_a_bad_gap_gives_one_message_and_changes_nothing(panel, bars, words):
    before = dict(panel.doc.notes)
    panel.fill_row.set_bars(*bars)
    panel.fill_gap()
    text = panel.progress_label.text()
    assert text.startswith("Cannot fill:") and words in text and "\n" not in text
    assert panel.gen is None and panel.doc.notes == before and panel.roll.gap is None


def test_fill_is_disabled_with_a_reason_for_a_left_to_right_model(panel):
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("music-lstm"))
    assert not panel.fill_button.isEnabled()
    assert "left to right only" in panel.fill_button.toolTip()
    assert panel.continue_button.isEnabled()
    panel.fill_gap((3, 5))  # the shortcut, when the button is off: says why, starts nothing
    assert panel.gen is None and "left to right only" in panel.progress_label.text()
    panel.model_combo.setCurrentIndex(panel.model_combo.findData("music-transformer"))
    assert panel.fill_button.isEnabled() and "Ctrl+Shift+Enter" in panel.fill_button.toolTip()


def test_a_ruler_bar_range_and_the_shortcut_fill_it(panel, qtbot):
    bpb = panel.doc.beats_per_bar
    panel.roll.set_loop((2.0 * bpb + 1, 3.0 * bpb + 1), enabled=True)  # part of bar 3 to part of bar 4
    assert panel.fill_row.bars() == (3, 5)
    panel.roll.canvas.setFocus()
    qtbot.keyClick(
        panel.roll.canvas, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    assert panel.gen is not None and panel.gen.fill is not None and panel.gen.fill.label == "bars 3–4"
    finished(panel)


def test_steering_every_filled_and_continued_note_obeys(panel):
    from gdl_studio.music.steering import SCALES

    box = panel.steering_box
    box.setChecked(True)
    box.tonic_combo.setCurrentIndex(box.tonic_combo.findData("D"))
    box.mode_combo.setCurrentIndex(box.mode_combo.findData("dorian"))
    box.range_edit.setText("C4:C5")
    dorian = {(2 + i) % 12 for i in SCALES["dorian"]}
    panel.fill_gap((3, 5))
    assert "steered: key D dorian, range 60:72" in panel.progress_label.text()
    finished(panel)
    notes = list(panel.roll.pending)
    panel.length_spin.setValue(12)
    panel.continue_generation()
    finished(panel)
    notes += panel.roll.pending
    assert len(notes) > 12 and all(n.pitch % 12 in dorian and 60 <= n.pitch <= 72 for n in notes)
    # kept in the settings
    from gdl_studio.ui.settings import Key

    assert panel.settings.get(Key.COMPOSE_STEER_TONIC) == "D" and panel.settings.get(Key.COMPOSE_STEER_ON)
    assert panel.settings.get(Key.COMPOSE_STEER_RANGE) == "C4:C5"


@pytest.mark.parametrize(
    ("chords", "rng", "words"),
    [("C G7 Xq", "", "cannot read the chord symbol 'Xq'"), ("C", "C#4:C#4", "impossible constraints")],
)
def test_bad_steering_gives_one_message_and_starts_nothing(panel, chords, rng, words):
    box = panel.steering_box
    box.setChecked(True)
    box.chords_edit.setText(chords)
    box.range_edit.setText(rng)
    for start in (panel.continue_generation, lambda: panel.fill_gap((3, 5))):
        start()
        text = panel.progress_label.text()
        assert text.startswith("Steering:") and words in text and "Nothing was generated" in text
        assert panel.gen is None and panel.roll.gap is None
    box.setChecked(False)  # steering off: the same values are ignored
    panel.continue_generation()
    assert panel.gen is not None
    finished(panel)


def test_chords_from_primer(panel, qtbot):
    box = panel.steering_box
    assert not box.chords_button.isEnabled()  # the group is off
    box.setChecked(True)
    qtbot.mouseClick(box.chords_button, Qt.MouseButton.LeftButton)
    symbols = box.chords_edit.text().split()
    assert len(symbols) == 4  # the last 4 bars before the end of the piece
    bpb = panel.doc.beats_per_bar
    panel.roll.set_loop((0.0, 2.0 * bpb), enabled=True)  # bars 1-2 picked in the ruler
    qtbot.mouseClick(box.chords_button, Qt.MouseButton.LeftButton)
    assert len(box.chords_edit.text().split()) == 2
    assert panel.progress_label.text().startswith("Chords of the bars picked in the ruler")
    assert box.model().constraints() is not None


def test_a_fill_that_fails_before_any_note_unshades_the_gap(panel):
    from types import SimpleNamespace

    before = dict(panel.doc.notes)
    panel.fill_gap((3, 5))
    assert panel.roll.gap is not None and panel.roll.hidden
    panel.on_error(SimpleNamespace(request_id=panel.gen.request_id, message="the model failed"))
    assert panel.gen is None and panel.roll.gap is None and panel.roll.hidden == frozenset()
    assert panel.model_status.text() == "the model failed" and panel.doc.notes == before
