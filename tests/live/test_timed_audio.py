"""Sample-accurate audio onsets for the built-in instrument, without an audio device: notes posted
with perf_counter deadlines start at their frame offset inside the block (to FluidSynth's 64-frame
grain), the callback allocates no arrays, and the block clock smooths a jittery callback."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sf2_tools import make_sf2

from gdl_studio.live import instrument as ins
from gdl_studio.live.scheduler import MidiScheduler
from gdl_studio.live.synth import AudioPreview, PolySynth
from gdl_studio.live.timed import BlockClock, TimedQueue

try:
    ins.fluidsynth_lib()
    HAVE_FLUID = True
except ins.InstrumentUnavailable:
    HAVE_FLUID = False

needs_fluid = pytest.mark.skipif(not HAVE_FLUID, reason="libfluidsynth/pyfluidsynth not installed")
RATE, N = 48000, 256
PERIOD = N / RATE


@pytest.fixture(scope="module")
def sf2(tmp_path_factory):
    return make_sf2(tmp_path_factory.mktemp("sf") / "test.sf2", programs=(0,))


def blocks(synth, queue, t0, n):
    out = np.zeros((N, 2), dtype=np.float32)
    got = []
    for c in range(n):
        synth.render_timed(out, queue, t0 + c * PERIOD, PERIOD)
        got.append(out.copy())
    return np.abs(np.concatenate(got)).max(axis=1)


def onset(env, threshold=1e-4):
    above = np.nonzero(env > threshold)[0]
    return int(above[0]) if above.size else -1


@needs_fluid
@pytest.mark.parametrize("frame", [0, 31, 100, 255, 300, 700, 1000])
def test_fluid_note_starts_at_its_frame_inside_the_block(sf2, frame):
    inst = ins.FluidInstrument(sf2, samplerate=RATE, blocksize=N, reverb=False, chorus=False)
    try:
        q = TimedQueue()
        t0 = 100.0
        q.post(t0 + frame / RATE, (0x90, 69, 110), "x")
        env = blocks(inst, q, t0, 6)
        got = onset(env)
        assert got >= 0
        # nearest 64-frame grain (± 32 frames) plus the sample's own attack (a few frames)
        assert abs(got - frame) <= ins.GRAIN // 2 + 8, (got, frame)
    finally:
        inst.close()


@needs_fluid
def test_fluid_onsets_no_longer_wait_for_the_block_boundary(sf2):
    """Deadlines spread over a period: the mean error is under a grain, not half a period."""
    inst = ins.FluidInstrument(sf2, samplerate=RATE, blocksize=N, reverb=False, chorus=False)
    try:
        q = TimedQueue()
        t0 = 10.0
        errs = []
        for i in range(12):
            frame = i * 4 * N + (i * 37) % N
            q.post(t0 + frame / RATE, (0x90, 69, 110), "x")
            q.post(t0 + (frame + 2 * N) / RATE, (0xB0, 120, 0), "x")  # silence before the next
        env = blocks(inst, q, t0, 12 * 4 + 2)
        for i in range(12):
            frame = i * 4 * N + (i * 37) % N
            lo = max(0, frame - 40)
            got = onset(env[lo:]) + lo
            errs.append(got - frame)
        assert max(abs(e) for e in errs) <= ins.GRAIN // 2 + 8, errs
    finally:
        inst.close()


@needs_fluid
def test_render_timed_allocates_no_arrays(sf2):
    inst = ins.FluidInstrument(sf2, samplerate=RATE, blocksize=N)
    try:
        q = TimedQueue()
        out = np.zeros((N, 2), dtype=np.float32)
        t0 = 5.0
        for c in range(4):
            inst.render_timed(out, q, t0 + c * PERIOD, PERIOD)
        tracemalloc.start()
        try:
            base = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
            for c in range(4, 300):
                if c % 3 == 0:
                    q.post(t0 + (c + 2) * PERIOD + 0.0011, (0x90, 60 + c % 20, 100), "x")
                    q.post(t0 + (c + 4) * PERIOD + 0.0023, (0x80, 60 + c % 20, 0), "x")
                inst.render_timed(out, q, t0 + c * PERIOD, PERIOD)
            peak = tracemalloc.get_traced_memory()[1] - base
        finally:
            tracemalloc.stop()
        assert inst.timed_events > 150
        assert peak < 12_000, peak  # the 256×2 block alone is 2 KB, the queue's buffers 64 KB
    finally:
        inst.close()


@needs_fluid
def test_cancel_ends_a_timed_note_and_skips_the_queued_one(sf2):
    inst = ins.FluidInstrument(sf2, samplerate=RATE, blocksize=N, reverb=False, chorus=False)
    try:
        q = TimedQueue()
        t0 = 1.0
        q.post(t0 + 0.001, (0x90, 69, 110), "a")
        q.post(t0 + 0.5, (0x80, 69, 0), "a")
        q.post(t0 + 0.1, (0x90, 72, 110), "a")
        blocks(inst, q, t0, 4)
        assert inst.active_voices > 0
        import gdl_studio.live.timed as tm

        real = tm.time.perf_counter
        tm.time.perf_counter = lambda: t0 + 4 * PERIOD
        try:
            q.cancel("a")
        finally:
            tm.time.perf_counter = real
        env = blocks(inst, q, t0 + 4 * PERIOD, int(0.8 / PERIOD))
        assert inst.active_voices == 0
        assert env[-N:].max() < 1e-4  # released at once, the queued note never started
    finally:
        inst.close()


def test_additive_synth_starts_a_timed_note_in_its_block():
    synth = PolySynth(samplerate=RATE, blocksize=N)
    q = TimedQueue()
    t0 = 3.0
    q.post(t0 + 2.5 * PERIOD, (0x90, 69, 110), "x")
    env = blocks(synth, q, t0, 4)
    assert 2 * N <= onset(env) < 3 * N


def test_block_clock_smooths_wakeup_jitter_and_restarts_after_a_gap():
    rng = np.random.default_rng(1)
    clock = BlockClock(RATE)
    t0 = 50.0
    errs = []
    for c in range(2000):
        true = t0 + c * PERIOD
        start, period = clock.tick(true + 0.0003 + rng.uniform(0, 0.002), N)  # late by 0.3–2.3 ms
        if c > 500:
            errs.append(start - (true + 0.0013))  # the mean lateness stays (it is a fixed delay)
    assert np.abs(errs).max() < 0.0006, np.abs(errs).max()
    resets = clock.resets
    start, period = clock.tick(t0 + 3000 * PERIOD, N)  # an xrun / stall: restart at the measurement
    assert clock.resets == resets + 1 and start == t0 + 3000 * PERIOD and period == pytest.approx(PERIOD)


def test_audio_preview_is_a_timed_sink_for_the_scheduler():
    audio = AudioPreview(instrument="additive")
    audio.synth = PolySynth(samplerate=RATE, blocksize=N)
    audio.clock = BlockClock(RATE)
    sched = MidiScheduler(audio, realtime=False).start()
    try:
        import time

        t = time.perf_counter() + 0.2
        sched.post(t, (0x90, 60, 100), "p")
        time.sleep(0.12)  # the scheduler forwards it ahead of its deadline (60 ms lookahead)
        deadline = time.perf_counter() + 1.0
        while audio.queue._w == 0 and time.perf_counter() < deadline:
            time.sleep(0.005)
        assert audio.queue._w == 1 and time.perf_counter() < t  # in the queue before it is due
        sched.cancel("p")
        assert sched.sounding() == []
    finally:
        sched.close()


class _FakeStream:
    """A PortAudio stream whose audio thread acknowledges a stop after ``ack_after`` polls of
    ``active`` (None: never), and whose stop() may time out."""

    def __init__(self, ack_after, stop_raises=False):
        self.ack_after, self.stop_raises = ack_after, stop_raises
        self.polls, self.closed, self.stopped = 0, False, False

    def stop(self):
        self.stopped = True
        if self.stop_raises:
            raise RuntimeError("Wait timed out [PaErrorCode -9987]")

    @property
    def active(self):
        self.polls += 1
        return self.ack_after is None or self.polls <= self.ack_after

    def close(self):
        assert not self.active, "closed while the audio thread still had the stream"
        self.closed = True


def test_stop_and_close_waits_for_the_audio_thread_and_never_frees_a_running_stream():
    from gdl_studio.live.synth import stop_and_close

    slow = _FakeStream(ack_after=20, stop_raises=True)  # stop timed out; the thread answers later
    assert stop_and_close(slow, wait_s=2.0) and slow.closed and slow.polls > 20
    gone = _FakeStream(ack_after=None)  # the thread never answers: left open, not freed
    assert not stop_and_close(gone, wait_s=0.05) and gone.stopped and not gone.closed
    quick = _FakeStream(ack_after=0)
    assert stop_and_close(quick) and quick.closed
