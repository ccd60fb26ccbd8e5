"""The deadline scheduler and playback source, with an in-memory sink (no audio, no MIDI)."""

from __future__ import annotations

import time

import pytest

from gdl_studio.live.playback import Playback
from gdl_studio.live.scheduler import ListSink, MidiScheduler, channel_for_track, note_off, note_on
from gdl_studio.music.notes import Note


def wait_until(predicate, timeout=5.0):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        time.sleep(0.005)
    return predicate()


@pytest.fixture
def sched():
    sink = ListSink()
    s = MidiScheduler(sink, realtime=False).start()
    yield s, sink
    s.close()


def test_events_go_out_in_deadline_order(sched):
    s, sink = sched
    t0 = time.perf_counter() + 0.05
    # posted out of order; note-off before note-on at the same deadline
    s.post(t0 + 0.04, note_on(0, 64, 90))
    s.post(t0, note_on(0, 60, 100))
    s.post(t0 + 0.04, note_off(0, 60))
    s.post(t0 + 0.08, note_off(0, 64))
    assert wait_until(lambda: len(sink.events) == 4)
    data = [e[1] for e in sink.events]
    assert data == [(0x90, 60, 100), (0x80, 60, 0), (0x90, 64, 90), (0x80, 64, 0)]
    times = [e[0] for e in sink.events]
    assert times[0] >= t0 and times[2] >= t0 + 0.04  # never early


def test_cancel_tag_ends_its_sounding_notes_only(sched):
    s, sink = sched
    now = time.perf_counter()
    s.post(now, note_on(0, 60, 100), "playback")
    s.post(now, note_on(1, 72, 100), "jam")
    s.post(now + 5, note_off(0, 60), "playback")
    s.post(now + 5, note_off(1, 72), "jam")
    assert wait_until(lambda: len(sink.events) == 2)
    s.cancel("playback")
    assert sink.events[-1][1] == (0x80, 60, 0)
    assert s.sounding() == [(1, 72)]
    assert s.pending("playback") == 0 and s.pending("jam") == 1


def test_overlapping_notes_of_one_pitch_are_not_cut(sched):
    s, sink = sched
    now = time.perf_counter()
    s.post(now, note_on(0, 60, 100))
    s.post(now + 0.01, note_on(0, 60, 80))
    s.post(now + 0.02, note_off(0, 60))  # ends the first: the second still sounds
    s.post(now + 0.03, note_off(0, 60))
    assert wait_until(lambda: s.pending() == 0 and len(sink.events) >= 3)
    time.sleep(0.02)
    assert [e[1][0] & 0xF0 for e in sink.events] == [0x90, 0x90, 0x80]


def test_switching_sink_and_all_notes_off_leave_nothing_hanging(sched):
    s, sink = sched
    s.send_now(note_on(2, 50, 100))
    s.send_now(note_on(2, 55, 100))
    other = ListSink()
    s.set_sink(other)
    sent = [e[1] for e in sink.events]
    assert (0x82, 50, 0) in sent and (0x82, 55, 0) in sent
    assert (0xB2, 123, 0) in sent  # All Notes Off on the channel that was used
    s.send_now(note_on(0, 40, 100))
    s.panic()
    got = [e[1] for e in other.events]
    assert (0x80, 40, 0) in got
    assert sum(1 for d in got if d[0] & 0xF0 == 0xB0 and d[1] == 120) == 16
    assert s.sounding() == []


class BrokenSink:
    def __init__(self):
        self.n = 0

    def send(self, data):
        self.n += 1
        if self.n > 1:
            raise OSError("port vanished")


def test_a_failing_sink_is_reported_and_dropped():
    errors = []
    sink = BrokenSink()
    s = MidiScheduler(sink, on_error=errors.append, realtime=False).start()
    try:
        now = time.perf_counter()
        s.post(now, note_on(0, 60, 100))
        s.post(now + 0.01, note_on(0, 62, 100))
        s.post(now + 0.02, note_on(0, 64, 100))
        assert wait_until(lambda: errors)
        assert "port vanished" in errors[0]
        assert s.sink is None and s.sounding() == []
        time.sleep(0.05)
        assert len(errors) == 1
    finally:
        s.close()


def test_playback_times_notes_by_tempo():
    notes = [Note(60, 0.0, 1.0, 100), Note(64, 1.0, 0.5, 90, track=1), Note(67, 2.0, 1.0, 80)]
    t0 = 1000.0
    pb = Playback(notes, tempo_bpm=120.0, t0=t0)
    events = sorted(pb.pull(t0 + 10))
    assert events[0] == (t0, (0x90, 60, 100))
    assert (t0 + 0.5, (0x80, 60, 0)) in events
    ch = channel_for_track(1)
    assert (t0 + 0.5, (0x90 | ch, 64, 90)) in events and (t0 + 0.75, (0x80 | ch, 64, 0)) in events
    assert (t0 + 1.5, (0x80, 67, 0)) in events
    assert pb.pull(t0 + 20) == []  # nothing twice
    assert pb.finished(t0 + 1.6) and not pb.finished(t0 + 1.4)


def test_playback_pulls_incrementally_and_accepts_streamed_notes():
    t0 = 50.0
    pb = Playback([Note(60, 0.0, 1.0)], tempo_bpm=60.0, t0=t0)
    first = pb.pull(t0 + 0.5)
    assert [d for _t, d in first] == [(0x90, 60, 80), (0x80, 60, 0)]
    pb.add_notes([Note(62, 2.0, 1.0), Note(59, 0.25, 1.0)])  # the second is already past
    later = pb.pull(t0 + 5)
    assert [d[1] for _t, d in later] == [62, 62]
    assert pb.position(t0 + 2.5) == pytest.approx(2.5)


def test_playback_loops_a_region():
    notes = [Note(60, 0.0, 1.0), Note(62, 1.0, 2.0), Note(64, 3.0, 1.0)]
    t0 = 0.0
    pb = Playback(notes, tempo_bpm=60.0, start_beat=0.0, loop=(1.0, 3.0), t0=t0)
    events = sorted(pb.pull(t0 + 7.0))
    ons = [(round(t, 6), d[1]) for t, d in events if d[0] & 0xF0 == 0x90]
    # 60 once, then 62 at 1, 3, 5 (loop [1, 3) repeats); 64 (beat 3) is outside the loop
    assert ons == [(0.0, 60), (1.0, 62), (3.0, 62), (5.0, 62)]
    assert pb.position(t0 + 4.5) == pytest.approx(2.5)
    assert not pb.finished(t0 + 100)


def test_playback_tempo_change_keeps_position():
    pb = Playback([Note(60, 4.0, 1.0)], tempo_bpm=60.0, t0=0.0)
    pb.set_tempo(120.0, t=2.0)  # at beat 2
    assert pb.position(2.0) == pytest.approx(2.0)
    (t_on, _), (t_off, _) = sorted(pb.pull(10.0))
    assert t_on == pytest.approx(3.0) and t_off == pytest.approx(3.5)


def test_playback_through_the_scheduler(sched):
    s, sink = sched
    pb = Playback([Note(60 + i, i * 0.25, 0.2) for i in range(8)], tempo_bpm=240.0, latency_s=0.02)
    s.add_source(pb, "playback")
    assert wait_until(lambda: len(sink.events) == 16, timeout=5)
    pitches = [d[1] for _t, d in sink.events if d[0] & 0xF0 == 0x90]
    assert pitches == list(range(60, 68))
