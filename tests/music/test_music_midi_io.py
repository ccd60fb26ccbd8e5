"""MIDI reading and writing: every bad input of issue 3 gives one line, round trips are exact."""

from __future__ import annotations

import os

import mido
import pytest

from gdl_studio.core.errors import UserError
from gdl_studio.music import tokens as T
from gdl_studio.music.midi_io import read_midi, write_midi
from gdl_studio.music.notes import Note, Score


def _one_line_error(path, match):
    with pytest.raises(UserError) as info:
        read_midi(path)
    message = str(info.value)
    assert "\n" not in message and message
    assert match in message, message
    return message


def _key(n: Note):
    return (round(n.start, 6), n.pitch, round(n.duration, 6))


def test_roundtrip_midi_tokens_midi(tmp_path, write_mid, make_notes):
    notes = make_notes(bars=4, seed=3)
    src = write_mid("in.mid", notes)
    score = read_midi(src)
    assert sorted(map(_key, score.notes)) == sorted(map(_key, notes))
    assert sorted(n.velocity for n in score.notes) == sorted(n.velocity for n in notes)

    grid = T.quantise(score.notes)
    events = T.encode_events(grid, use_velocity=True)
    from_events = T.decode_events(events.tokens)
    voice, n_voices = T.assign_voices(grid)
    steps = T.encode_steps(grid, voice, n_voices)
    from_steps = T.decode_steps(steps.note, steps.dur, n_voices)
    assert sorted(map(_key, from_events)) == sorted(map(_key, notes))
    assert sorted(map(_key, from_steps)) == sorted(map(_key, notes))
    assert (steps.note == T.REST).any(), "rests must be kept"

    out = tmp_path / "out.mid"  # the step decoding keeps voices as tracks, so unisons survive
    write_midi(Score(notes=from_steps, tempo_bpm=score.tempo_bpm), out)
    again = read_midi(out)
    assert sorted(map(_key, again.notes)) == sorted(map(_key, notes))
    # velocity survives the event tokens' 8 bins to within half a bin
    by_key = {(_key(n)): n.velocity for n in notes}
    assert all(abs(by_key[_key(n)] - n.velocity) <= 8 for n in from_events)


def test_tempo_and_metre_are_read(tmp_path):
    score = Score(notes=[Note(60, 0, 1), Note(64, 1, 0.5)], tempo_bpm=90, beats_per_bar=3, title="t")
    path = write_midi(score, tmp_path / "x.mid")
    back = read_midi(path)
    assert back.beats_per_bar == 3
    assert abs(back.tempo_bpm - 90) < 0.01
    assert [_key(n) for n in back.notes] == [_key(n) for n in score.notes]


def test_no_notes(write_mid):
    _one_line_error(write_mid("empty.mid", []), "no notes")


def test_only_drums(write_mid):
    _one_line_error(write_mid("drums.mid", [Note(36, 0, 1), Note(38, 1, 1)], channel=9), "drum")


def test_type_2(write_mid):
    _one_line_error(write_mid("t2.mid", [Note(60, 0, 1)], midi_type=2), "type 2")


def test_smpte_timing(tmp_path, raw_midi_bytes):
    division = 0xE728 - 0x10000  # top bit set: -25 frames per second, 40 ticks per frame
    track = bytes([0x00, 0x90, 60, 100, 0x40, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00])
    path = tmp_path / "smpte.mid"
    path.write_bytes(raw_midi_bytes(division, track))
    _one_line_error(path, "SMPTE")


def test_zero_length_notes_are_dropped(tmp_path, write_mid):
    only_zero = write_mid("zero.mid", [Note(60, 0, 0.0), Note(62, 1, 0.0)])
    _one_line_error(only_zero, "zero length")
    mixed = write_mid("mixed.mid", [Note(60, 0, 0.0), Note(62, 1, 1.0)])
    score = read_midi(mixed)
    assert [_key(n) for n in score.notes] == [(1.0, 62, 1.0)]


def test_overlapping_same_pitch_notes(tmp_path):
    mid = mido.MidiFile(type=0, ticks_per_beat=480)
    tr = mido.MidiTrack()
    tr += [
        mido.Message("note_on", note=60, velocity=90, time=0),
        mido.Message("note_on", note=60, velocity=70, time=480),  # again, before any note-off
        mido.Message("note_off", note=60, velocity=0, time=480),
        mido.Message("note_off", note=60, velocity=0, time=480),  # a stray second note-off
        mido.Message("note_on", note=64, velocity=80, time=0),
    ]  # never ended: ends with the track
    tr.append(mido.MetaMessage("end_of_track", time=480))
    mid.tracks.append(tr)
    path = tmp_path / "overlap.mid"
    mid.save(str(path))
    score = read_midi(path)
    assert [_key(n) for n in score.notes] == [(0.0, 60, 1.0), (1.0, 60, 1.0), (3.0, 64, 1.0)]
    # written back, every note keeps its own note-on/note-off pair
    out = write_midi(Score(notes=[Note(60, 0, 2), Note(60, 1, 2)]), tmp_path / "w.mid")
    assert [_key(n) for n in read_midi(out).notes] == [(0.0, 60, 1.0), (1.0, 60, 2.0)]


def test_hundred_thousand_notes(tmp_path, raw_midi_bytes):
    one = bytes([0x00, 0x90, 60, 100, 0x01, 0x80, 60, 0])  # a one-tick note
    track = one * 100_000 + bytes([0x00, 0xFF, 0x2F, 0x00])
    path = tmp_path / "huge.mid"
    path.write_bytes(raw_midi_bytes(480, track))
    _one_line_error(path, "too many notes")


def test_truncated_file(tmp_path, write_mid, make_notes):
    good = write_mid("good.mid", make_notes())
    data = good.read_bytes()
    bad = tmp_path / "truncated.mid"
    bad.write_bytes(data[: len(data) // 2])
    _one_line_error(bad, "not a readable MIDI file")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_bytes(tmp_path, seed):
    path = tmp_path / f"random{seed}.mid"
    path.write_bytes(os.urandom(2000) if seed else b"")
    _one_line_error(path, "not a readable MIDI file")


def test_random_bytes_after_a_valid_header(tmp_path, raw_midi_bytes):
    import random

    rnd = random.Random(5)
    path = tmp_path / "garbage.mid"
    path.write_bytes(raw_midi_bytes(480, bytes(rnd.randrange(256) for _ in range(3000))))
    with pytest.raises(UserError) as info:
        read_midi(path)
    assert "\n" not in str(info.value)


def test_missing_file(tmp_path):
    _one_line_error(tmp_path / "nope.mid", "no such file")


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "keep.mid"
    target.write_bytes(b"old")

    def boom(self, filename=None, file=None):
        with open(filename, "wb") as fh:
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(mido.MidiFile, "save", boom)
    with pytest.raises(OSError):
        write_midi(Score(notes=[Note(60, 0, 1)]), target)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mid"]


def _waltz(path):
    """Two instruments (violin, cello), 3/4, 100 BPM then 140 from beat 6, 48 notes."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0))
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(100), time=0))
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(140), time=480 * 6))
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(140), time=480 * 3))  # no change
    mid.tracks.append(meta)
    for ch, base, program in ((0, 60, 40), (1, 48, 42)):
        tr = mido.MidiTrack()
        tr.append(mido.Message("program_change", program=program, channel=ch, time=0))
        for i in range(24):
            pitch = base + (0, 4, 7, 12, 7, 4)[i % 6]
            tr.append(mido.Message("note_on", note=pitch, velocity=80, channel=ch, time=0))
            tr.append(mido.Message("note_off", note=pitch, velocity=0, channel=ch, time=480))
        mid.tracks.append(tr)
    mid.save(str(path))
    return path


def test_tempo_changes_and_programs_survive_a_round_trip(tmp_path):
    score = read_midi(_waltz(tmp_path / "waltz.mid"))
    assert score.tempo_bpm == pytest.approx(100.0) and score.beats_per_bar == 3
    ((beat, bpm),) = score.tempo_changes
    assert beat == 6.0 and bpm == pytest.approx(140.0, abs=1e-3)
    assert score.programs == {1: 40, 2: 42}
    write_midi(score, tmp_path / "again.mid", ticks_per_beat=score.ticks_per_beat)
    again = read_midi(tmp_path / "again.mid")
    assert again.tempo_bpm == pytest.approx(100.0) and again.tempo_changes == score.tempo_changes
    assert sorted(again.programs.values()) == [40, 42]
    # the file plays for as long as the original: 6 beats at 100 BPM, then 18 at 140
    assert mido.MidiFile(str(tmp_path / "again.mid")).length == pytest.approx(6 * 0.6 + 18 * 60 / 140, abs=1e-3)


def test_continuing_a_file_keeps_its_tempo_map_and_instruments(tmp_path):
    from gdl_studio.music.generate import LSTMComposer
    from gdl_studio.music.lstm import AttentionLSTM, LSTMConfig

    score = read_midi(_waltz(tmp_path / "waltz.mid"))
    composer = LSTMComposer(AttentionLSTM(LSTMConfig(hidden=16, layers=1, window=4, duration_hidden=16)))
    out = composer.continued(score, 4, seed=0)
    assert out.tempo_changes == score.tempo_changes and out.programs == score.programs
    assert len(out.notes) == len(score.notes) + 4
