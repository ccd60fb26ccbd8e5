"""Editing the piano roll with the mouse and keys; every edit is one undo step."""

from __future__ import annotations

from pathlib import Path

import pytest
from compose_helpers import close_panel, drag, make_panel, point
from PySide6.QtCore import QPoint, Qt

from gdl_studio.core.errors import UserError
from gdl_studio.music.notes import Note

ROOT = Path(__file__).resolve().parents[2]
CHORALE = ROOT / "resources" / "examples" / "chorale.mid"


@pytest.fixture
def panel(qtbot):
    panel, engine = make_panel(qtbot)
    yield panel
    close_panel(panel, engine)


def notes_of(panel):
    return sorted((n.pitch, n.start, n.duration, n.velocity) for n in panel.doc.notes.values())


def test_draw_move_resize_delete_with_undo(panel, qtbot):
    canvas = panel.roll.canvas
    panel.set_tool("draw")
    panel.roll.last_duration = 1.0
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=point(panel, 2.1, 60))
    assert [(p, s, d) for p, s, d, _v in notes_of(panel)] == [(60, 2.0, 1.0)]
    # draw a second note by dragging its length out to beat 6.5
    drag(qtbot, canvas, point(panel, 4.0, 64), point(panel, 6.5, 64, dx=0))
    assert (64, 4.0, 2.5) in [(p, s, d) for p, s, d, _v in notes_of(panel)]
    assert panel.undo_stack.count() == 2

    panel.set_tool("select")
    # move the first note right by 1 beat and up 2 semitones
    drag(qtbot, canvas, point(panel, 2.3, 60), point(panel, 3.3, 62))
    assert (62, 3.0, 1.0) in [(p, s, d) for p, s, d, _v in notes_of(panel)]
    # resize it from its right edge (beat 4) to beat 5.5
    drag(qtbot, canvas, point(panel, 4.0, 62, dx=-2), point(panel, 5.5, 62, dx=0))
    assert (62, 3.0, 2.5) in [(p, s, d) for p, s, d, _v in notes_of(panel)]
    assert panel.undo_stack.count() == 4

    panel.undo_stack.undo()  # resize
    assert (62, 3.0, 1.0) in [(p, s, d) for p, s, d, _v in notes_of(panel)]
    panel.undo_stack.undo()  # move
    assert (60, 2.0, 1.0) in [(p, s, d) for p, s, d, _v in notes_of(panel)]
    panel.undo_stack.redo()
    panel.undo_stack.redo()
    assert (62, 3.0, 2.5) in [(p, s, d) for p, s, d, _v in notes_of(panel)]

    # select with a click and delete with the Delete key
    qtbot.mouseClick(canvas, Qt.MouseButton.LeftButton, pos=point(panel, 4.5, 64))
    assert len(panel.roll.selected) == 1
    qtbot.keyClick(canvas, Qt.Key.Key_Delete)
    assert [p for p, *_ in notes_of(panel)] == [62]
    panel.undo_stack.undo()
    assert [p for p, *_ in notes_of(panel)] == [62, 64]
    # right-click deletes too
    qtbot.mouseClick(canvas, Qt.MouseButton.RightButton, pos=point(panel, 3.5, 62))
    assert [p for p, *_ in notes_of(panel)] == [64]


def test_rubber_band_selection_and_group_move(panel, qtbot):
    from gdl_studio.ui.compose.commands import AddNotes

    notes = [Note(60, 0.0, 1.0), Note(62, 1.0, 1.0), Note(64, 2.0, 1.0), Note(72, 8.0, 1.0)]
    panel.undo_stack.push(AddNotes(panel.doc, notes, "Add"))
    canvas = panel.roll.canvas
    # a band over the first three notes (beats 0-3, pitches 59-65) from an empty spot
    drag(qtbot, canvas, point(panel, 3.6, 66), point(panel, 0.2, 59))
    picked = sorted(panel.doc.notes[i].pitch for i in panel.roll.selected)
    assert picked == [60, 62, 64]
    # drag the group by its middle note: all three move
    drag(qtbot, canvas, point(panel, 1.4, 62), point(panel, 5.4, 62))
    starts = sorted((n.pitch, n.start) for n in panel.doc.notes.values())
    assert starts == [(60, 4.0), (62, 5.0), (64, 6.0), (72, 8.0)]
    panel.undo_stack.undo()
    assert sorted((n.pitch, n.start) for n in panel.doc.notes.values())[:3] == [(60, 0.0), (62, 1.0), (64, 2.0)]
    # arrow keys transpose the selection (one step each)
    panel.roll.canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Up, Qt.KeyboardModifier.ShiftModifier)
    assert sorted(panel.doc.notes[i].pitch for i in panel.roll.selected) == [72, 74, 76]
    panel.undo_stack.undo()
    assert sorted(panel.doc.notes[i].pitch for i in panel.roll.selected) == [60, 62, 64]


def test_velocity_lane_edit_is_undoable(panel, qtbot):
    from gdl_studio.ui.compose.commands import AddNotes

    panel.undo_stack.push(AddNotes(panel.doc, [Note(60, 1.0, 1.0, velocity=64)], "Add"))
    lane = panel.roll.velocity
    x = int(panel.roll.geo.x_of(1.0) + 1)
    top = lane._vel_y(120)
    drag(qtbot, lane, QPoint(x, int(lane._vel_y(64))), QPoint(x, int(top)))
    (note,) = panel.doc.notes.values()
    assert 115 <= note.velocity <= 125
    assert panel.undo_stack.undoText() == "Change velocity"
    panel.undo_stack.undo()
    (note,) = panel.doc.notes.values()
    assert note.velocity == 64


def test_tempo_edits_merge_into_one_undo_step(panel):
    panel.tempo_spin.setValue(90.0)
    panel.tempo_spin.setValue(96.0)
    assert panel.doc.tempo_bpm == 96.0
    assert panel.undo_stack.count() == 1
    panel.undo_stack.undo()
    assert panel.doc.tempo_bpm == 100.0 and panel.tempo_spin.value() == 100.0


def test_quantise_and_duplicate(panel):
    from gdl_studio.ui.compose.commands import AddNotes

    panel.undo_stack.push(AddNotes(panel.doc, [Note(60, 0.1, 0.9), Note(64, 1.05, 0.4)], "Add"))
    panel.roll.snap = 0.5
    panel.roll.select_all()
    panel.roll.quantise_selection()
    assert sorted((n.start, n.duration) for n in panel.doc.notes.values()) == [(0.0, 1.0), (1.0, 0.5)]
    panel.roll.duplicate_selection()
    assert len(panel.doc.notes) == 4
    assert sorted(n.start for n in panel.doc.notes.values())[2:] == [4.0, 5.0]
    panel.undo_stack.undo()
    panel.undo_stack.undo()
    assert sorted((n.start, n.duration) for n in panel.doc.notes.values()) == [(0.1, 0.9), (1.05, 0.4)]


def test_open_save_round_trip(panel, tmp_path):
    from gdl_studio.music.midi_io import read_midi

    panel.open_path(str(CHORALE))
    original = read_midi(CHORALE)
    assert len(panel.doc.notes) == len(original.notes)
    assert panel.tempo_spin.value() == pytest.approx(original.tempo_bpm, abs=0.01)
    assert panel.undo_stack.count() == 0
    # edit, save, read back
    some = next(iter(panel.doc.notes))
    panel.roll.set_selection({some})
    panel.roll.canvas.setFocus()
    panel.roll.handle_key(
        type("E", (), {"key": lambda s: Qt.Key.Key_Delete, "modifiers": lambda s: Qt.KeyboardModifier.NoModifier})()
    )
    assert len(panel.doc.notes) == len(original.notes) - 1
    out = tmp_path / "round"
    panel.save_path(str(out))
    saved = read_midi(tmp_path / "round.mid")
    assert sorted((n.pitch, n.start, n.duration) for n in saved.notes) == sorted(
        (n.pitch, n.start, n.duration) for n in panel.doc.notes.values()
    )
    assert saved.tempo_bpm == pytest.approx(panel.doc.tempo_bpm, abs=0.01)
    assert panel.undo_stack.isClean()


def test_opening_uses_and_saving_keeps_the_files_tempo_changes_and_instruments(panel, tmp_path):
    from gdl_studio.music.midi_io import read_midi, write_midi
    from gdl_studio.music.notes import Note, Score

    source = Score(
        notes=[Note(60 + i, float(i), 1.0, track=1 + i % 2) for i in range(8)],
        tempo_bpm=90.0,
        tempo_changes=((4.0, 132.0),),
        programs={1: 73, 2: 32},
    )
    write_midi(source, tmp_path / "in.mid")
    panel.open_path(str(tmp_path / "in.mid"))
    assert panel.title_label.text().endswith("90 BPM · 1 tempo change (not played, kept on save)")
    # the file's instruments become the tracks' programs in the Sound group (flute, acoustic bass)
    assert panel.sound_io.instrument.programs[1:3] == [73, 32]
    combos = panel.sound_box.controls.program_combos
    assert [combos[t].currentData() for t in (1, 2)] == [73, 32]
    panel.save_path(str(tmp_path / "out"))
    saved = read_midi(tmp_path / "out.mid")
    assert saved.tempo_bpm == pytest.approx(90.0, abs=0.01)
    assert [(b, round(t, 2)) for b, t in saved.tempo_changes] == [(4.0, 132.0)]
    assert sorted(saved.programs.values()) == [32, 73]


def test_opening_a_bad_file_says_so(panel, tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    with pytest.raises(UserError):
        panel.open_path(str(bad))


def test_drag_out_writes_a_midi_file(panel):
    from gdl_studio.music.midi_io import read_midi

    panel.open_path(str(CHORALE))
    path = panel.export_for_drag()
    assert path is not None and path.suffix == ".mid"
    assert len(read_midi(path).notes) == len(panel.doc.notes)


def test_loop_region_from_the_ruler_and_play_stop_all_notes_off(panel, qtbot):
    from gdl_studio.live.scheduler import ListSink

    panel.open_path(str(CHORALE))
    ruler = panel.roll.ruler
    geo = panel.roll.geo
    geo.x0 = 0.0
    drag(qtbot, ruler, QPoint(int(geo.x_of(4.0)) + 1, 12), QPoint(int(geo.x_of(8.0)) + 1, 12))
    assert panel.roll.loop == (4.0, 8.0) and panel.roll.loop_enabled
    assert panel.loop_button.isChecked()
    sink = ListSink()
    session = panel.live.session
    session._audio_tried = True
    session.scheduler.set_sink(sink)
    panel.play()
    qtbot.waitUntil(lambda: any(d[0] & 0xF0 == 0x90 for _t, d in sink.events), timeout=5000)
    assert panel.live.playing
    panel.stop()
    assert not panel.live.playing
    assert session.scheduler.sounding() == []
    ons = sum(1 for _t, d in sink.events if d[0] & 0xF0 == 0x90 and d[2] > 0)
    offs = sum(1 for _t, d in sink.events if d[0] & 0xF0 == 0x80)
    assert offs >= ons  # every note that started was ended
