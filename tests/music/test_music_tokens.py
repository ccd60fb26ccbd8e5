"""Tokenisations: lossless on the grid, triplets exact, rests kept, voices sensible."""

from __future__ import annotations

import numpy as np
import pytest

from gdl_studio.music import tokens as T
from gdl_studio.music.notes import Note


def _key(n):
    return (round(n.start, 6), n.pitch, round(n.duration, 6))


@pytest.mark.parametrize("seed", range(4))
def test_steps_and_events_are_lossless(make_notes, seed):
    notes = make_notes(bars=6, seed=seed)
    g = T.quantise(notes)
    voice, n_voices = T.assign_voices(g)
    assert n_voices == 4 and (voice >= 0).all()
    steps = T.encode_steps(g, voice, n_voices)
    assert sorted(map(_key, T.decode_steps(steps.note, steps.dur, n_voices))) == sorted(map(_key, notes))
    ev = T.encode_events(g)
    assert ev.tokens[0] == T.BOS
    assert sorted(map(_key, T.decode_events(ev.tokens))) == sorted(map(_key, notes))
    # the schedule in step_inputs agrees with the onsets stored by encode_steps
    clock = T.VoiceClock(n_voices)
    for v, t, d in zip(steps.voice, steps.onset, steps.dur):
        assert clock.advance(int(d)) == (int(v), int(t))


def test_triplets_and_sixteenths_are_exact():
    third = 1 / 3
    notes = [Note(60, i * third, third) for i in range(6)] + [Note(48, i * 0.25, 0.25) for i in range(8)]
    g = T.quantise(notes)
    assert set(g.dur_ticks.tolist()) == {4, 3}
    assert sorted(map(_key, T.decode_events(T.encode_events(g).tokens))) == sorted(map(_key, notes))


def test_durations_snap_down_and_are_bounded():
    assert T.DURATION_TICKS[T.duration_class(25)] == 24
    assert T.DURATION_TICKS[T.duration_class(0)] == 1
    assert T.DURATION_TICKS[T.duration_class(10_000)] == T.MAX_DUR_TICKS
    assert all(T.DURATION_TICKS[T.duration_class(d)] == d for d in T.DURATION_TICKS)


def test_rests_are_steps_and_shifts():
    notes = [Note(60, 0, 1), Note(62, 3, 1)]  # two beats of silence
    g = T.quantise(notes)
    voice, n = T.assign_voices(g)
    steps = T.encode_steps(g, voice, n)
    assert steps.note.tolist() == [60, T.REST, 62]
    assert T.DURATION_TICKS[steps.dur[1]] == 24
    ev = T.encode_events(g)
    assert ev.tokens.tolist() == [
        T.BOS,
        T.note_token(60, T.duration_class(12)),
        T.SHIFT0 + 35,
        T.note_token(62, T.duration_class(12)),
    ]


def test_long_rests_split_exactly():
    for ticks in (1, 25, 193, 1000):
        assert sum(int(T.DURATION_TICKS[c]) for c in T.split_rest(ticks)) == ticks


def test_voices_follow_tracks_and_order_by_pitch():
    # the bass part (track 1) enters late; it must get its own voice, numbered below the soprano
    notes = [Note(72, 0, 2, track=0), Note(74, 2, 2, track=0), Note(48, 1, 3, track=1)]
    g = T.quantise(notes)
    voice, n = T.assign_voices(g)
    assert n == 2
    by_pitch = dict(zip(g.pitch.tolist(), voice.tolist()))
    assert by_pitch[72] == by_pitch[74] == 0 and by_pitch[48] == 1


def test_more_than_max_voices_are_dropped_not_crashing():
    notes = [Note(40 + 2 * i, 0, 1) for i in range(T.MAX_VOICES + 3)]
    g = T.quantise(notes)
    voice, n = T.assign_voices(g)
    assert n == T.MAX_VOICES
    assert (voice < 0).sum() == 3


def test_velocity_tokens_only_when_asked():
    notes = [Note(60, 0, 1, velocity=100), Note(62, 1, 1, velocity=30)]
    g = T.quantise(notes)
    with_vel = T.encode_events(g, use_velocity=True).tokens
    without = T.encode_events(g, use_velocity=False).tokens
    assert ((with_vel >= T.VEL0) & (with_vel < T.NOTE0)).sum() == 2
    assert ((without >= T.VEL0) & (without < T.NOTE0)).sum() == 0
    assert [n.velocity for n in T.decode_events(with_vel)] == [T.bin_velocity(6), T.bin_velocity(1)]


def test_vocabulary_layout():
    assert T.EVENT_VOCAB == T.NOTE0 + 128 * T.N_DUR
    tok = T.note_token(127, T.N_DUR - 1)
    assert tok == T.EVENT_VOCAB - 1
    assert T.token_pitch(tok) == 127 and T.token_dur(tok) == T.N_DUR - 1
    assert np.all(T.metric_index(np.array([0, 47, 48, 100]), 48) == [0, 47, 0, 4])


@pytest.mark.parametrize("seed", range(3))
def test_note_events_are_lossless_one_per_note(make_notes, seed):
    notes = make_notes(bars=5, seed=seed)
    g = T.quantise(notes)
    ev = T.encode_note_events(g)
    assert ev.pitch[0] == T.EV_BOS and len(ev) == len(notes) + 1  # no silence > 4 beats here
    assert (ev.shift[1:] <= T.MAX_SHIFT).all() and (ev.shift[1:] >= 0).all()
    decoded = T.decode_note_events(ev.shift, ev.pitch, ev.dur)
    assert sorted(map(_key, decoded)) == sorted(map(_key, notes))


def test_long_silences_become_gap_events():
    g = T.quantise([Note(60, 0, 1), Note(62, 9, 1)])  # 108 ticks apart
    ev = T.encode_note_events(g)
    assert ev.pitch.tolist() == [T.EV_BOS, 60, T.GAP, T.GAP, 62]
    assert ev.shift.tolist() == [0, 0, 48, 48, 12]
    assert ev.time.tolist() == [0, 0, 48, 96, 108]
    assert [_key(n) for n in T.decode_note_events(ev.shift, ev.pitch, ev.dur)] == [(0.0, 60, 1.0), (9.0, 62, 1.0)]
