"""The JACK output's process-callback logic without a server: frame offsets inside the period,
time order, cancellation that never drops a note-off, and no allocation per cycle."""

from __future__ import annotations

import tracemalloc

from gdl_studio.live.jack_midi import JackMidiOutput

RATE, FRAMES = 48000, 256
PERIOD = FRAMES / RATE


def queue():
    q = JackMidiOutput.__new__(JackMidiOutput)  # no JACK client: only the queue
    q._init_queue()
    return q


def cycles(q, t0, n):
    """Run ``n`` periods from ``t0``; returns [(absolute frame, bytes)]."""
    got = []
    for c in range(n):
        q._run_cycle(t0 + c * PERIOD, PERIOD, FRAMES, lambda off, msg, c=c: got.append((c * FRAMES + off, bytes(msg))))
    return got


def test_events_get_their_frame_offset_inside_the_period():
    q = queue()
    t0 = 1000.0
    times = [t0 + 0.0107 * i for i in range(20)]  # 513.6 frames apart: not on period boundaries
    for i, t in enumerate(reversed(times)):  # posted out of order
        q.post(t, (0x90, 60, 1 + len(times) - 1 - i), "x")
    got = cycles(q, t0, int(0.0107 * 20 / PERIOD) + 2)
    assert [m[2] for _f, m in got] == list(range(1, 21))  # in time order
    for (frame, _m), t in zip(got, times):
        assert abs(frame - (t - t0) * RATE) <= 1.0  # to the frame, independent of the 256-frame period
    assert q.late == 0 and q.written == 20


def test_late_events_go_first_and_offsets_never_decrease():
    q = queue()
    t0 = 50.0
    q.post(t0 + 0.002, (0x90, 61, 100), "x")
    q.post(t0 - 0.010, (0x90, 60, 100), "x")  # already late: offset 0
    got = cycles(q, t0, 1)
    assert [(f, m[1]) for f, m in got] == [(0, 60), (96, 61)]
    assert q.late == 1


def test_cancel_skips_queued_events_but_never_note_offs_and_ends_started_notes():
    q = queue()
    t0 = 10.0
    q.post(t0 + 0.001, (0x90, 70, 90), "a")
    q.post(t0 + 0.001, (0xB0, 64, 127), "a")
    q.post(t0 + 0.001, (0x90, 72, 90), "b")
    got = cycles(q, t0, 1)
    assert len(got) == 3
    q.post(t0 + 1.0, (0x80, 70, 0), "a")  # its off, much later
    q.post(t0 + 0.010, (0x90, 74, 90), "a")  # not started yet
    q.post(t0 + 0.010, (0xF8,), "a")
    import gdl_studio.live.jack_midi as jm

    real = jm.time.perf_counter
    jm.time.perf_counter = lambda: t0 + PERIOD + 0.0001
    try:
        q.cancel("a")
        q.all_notes_off()
    finally:
        jm.time.perf_counter = real
    got = [m for _f, m in cycles(q, t0 + PERIOD, 300)]
    assert bytes((0x90, 74, 90)) not in got and bytes((0xF8,)) not in got
    assert got.index(bytes((0x80, 70, 0))) == 0  # ended at once, not at t0 + 1 s
    assert bytes((0x80, 72, 0)) in got  # all notes off ended the other tag's note too
    assert bytes((0xB0, 64, 0)) in got  # and lifted the pedal
    assert bytes((0xB0, 123, 0)) in got


def test_a_cycle_allocates_no_arrays():
    q = queue()
    t0 = 5.0
    cycles(q, t0, 2)
    sink = []
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for c in range(200):
            if c % 4 == 0:
                q.post(t0 + (c + 3) * PERIOD, (0x90, 60 + c % 20, 100), "x")
                q.post(t0 + (c + 5) * PERIOD, (0x80, 60 + c % 20, 0), "x")
            q._run_cycle(t0 + c * PERIOD, PERIOD, FRAMES, lambda off, msg: sink.append(off))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert len(sink) > 90
    assert peak < 12_000, peak  # the 8192-slot pending buffer alone is 64 KB: nothing that size
