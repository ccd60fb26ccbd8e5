"""The Compose panel's state without widgets (ui/compose/session.py): no Qt, no pytest-qt."""

from __future__ import annotations

from gdl_studio.music.notes import GenerationStep, Note
from gdl_studio.ui.compose.session import ComposeSession, primer_from

PIECE = [(10, Note(60, 0.0, 1.0)), (11, Note(62, 1.0, 1.0)), (12, Note(64, 2.0, 1.0)), (13, Note(65, 3.0, 2.0))]


def step(k: int) -> GenerationStep:
    return GenerationStep(Note(70 + k, 5.0 + k, 0.5), k)


def test_primer_is_the_piece_or_ends_with_the_selection():
    ids, notes, cut = primer_from(PIECE, [], end_beat=5.0)
    assert ids == [10, 11, 12, 13] and cut == 5.0
    ids, notes, cut = primer_from(PIECE, [11], end_beat=5.0)
    assert ids == [10, 11] and cut == 2.0 and notes[-1].pitch == 62
    assert primer_from(PIECE, [], 5.0, limit=2)[0] == [12, 13]
    assert primer_from(PIECE, [99], 5.0)[0] == [10, 11, 12, 13]  # a stale selection counts as none


def test_a_continuation_streams_then_is_accepted():
    s = ComposeSession()
    assert s.buttons(model_usable=True, piece_has_notes=True).regenerate is False
    gen = s.start("music-lstm", 7, [10, 11], [n for _i, n in PIECE[:2]], 2.0, seed=1)
    assert s.running and s.buttons(True, True) == s.buttons(True, True)
    assert not s.buttons(True, True).accept  # nothing to accept yet
    assert s.add_step(7, step(0)) and s.add_step(7, step(1))
    assert not s.add_step(6, step(9))  # an older request's result is ignored
    assert [st.index for st in s.take_incoming()] == [0, 1] and s.take_incoming() == []
    assert len(s.take_attention_backlog()) == 2
    assert s.progress_text(32) == "2/32 notes…"
    b = s.buttons(True, True)
    assert b.accept and b.reject and b.regenerate and b.continue_
    assert s.finish(7) and not s.running
    notes = s.accept()
    assert [n.pitch for n in notes] == [70, 71]
    s.accepted([20, 21])
    assert gen.key_for(0) == ("doc", 10) and gen.key_for(2) == ("doc", 20) and gen.key_for(4) is None
    assert s.accept() is None  # accepted once
    b = s.buttons(True, False)
    assert not (b.accept or b.reject or b.regenerate or b.drag) and b.continue_
    assert s.regenerate_primer({}) is None  # after Accept, Regenerate continues anew


def test_pending_keys_reject_and_regenerate():
    s = ComposeSession()
    gen = s.start("music-transformer", 3, [10, 12], [PIECE[0][1], PIECE[2][1]], 3.0, seed=2)
    s.add_step(3, step(0))
    assert gen.key_for(1) == ("doc", 12) and gen.key_for(2) == ("pending", 0) and gen.key_for(3) is None
    ids, notes, cut = s.regenerate_primer({10: PIECE[0][1]})  # note 12 was deleted meanwhile
    assert ids == [10] and cut == 3.0
    assert s.buttons(model_usable=False, piece_has_notes=True).regenerate is False
    dropped = s.drop()
    assert dropped is gen and s.generation is None and s.take_incoming() == []
    assert s.buttons(True, False).drag is False


def test_takes_go_to_the_next_track_and_jams_start_on_a_bar():
    s = ComposeSession()
    assert s.next_track([]) == 0 and s.next_track([0, 2]) == 3
    assert s.jam_start_beat(end_beat=5.0, cursor_beat=0.0, beats_per_bar=4) == 8.0
    assert s.jam_start_beat(end_beat=8.0, cursor_beat=2.0, beats_per_bar=4) == 8.0
    assert s.jam_start_beat(end_beat=3.0, cursor_beat=9.5, beats_per_bar=3) == 12.0
    s.jam_track = 2
    assert [n.track for n in s.answers_track([Note(60, 0, 1, 80, 0)])] == [3]
