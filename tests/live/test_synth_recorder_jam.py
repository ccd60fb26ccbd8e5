"""The synth's render loop, the recorder and jam mode's timing, without audio or MIDI devices."""

from __future__ import annotations

import time
import tracemalloc

import mido
import numpy as np
import pytest

from gdl_studio.live.jam import ANSWERING, LISTENING, JamSession
from gdl_studio.live.recorder import Recorder, quantise_notes
from gdl_studio.live.scheduler import ListSink, MidiScheduler
from gdl_studio.live.synth import PolySynth
from gdl_studio.music.notes import Note


def blocks(synth, n):
    out = np.zeros((synth.blocksize, 2), dtype=np.float32)
    rendered = []
    for _ in range(n):
        synth.render(out)
        rendered.append(out.copy())
    return np.concatenate(rendered)


def test_synth_sounds_while_held_and_falls_silent_after_release():
    synth = PolySynth(samplerate=48000, blocksize=256, voices=8)
    assert np.abs(blocks(synth, 4)).max() == 0.0
    synth.note_on(69, 110)
    audio = blocks(synth, 40)
    rms = float(np.sqrt(np.mean(audio[:, 0] ** 2)))
    assert rms > 0.01
    assert np.allclose(audio[:, 0], audio[:, 1])
    # the fundamental is 440 Hz
    spectrum = np.abs(np.fft.rfft(audio[4096:8192, 0]))
    peak_hz = np.argmax(spectrum) * 48000 / 4096
    assert abs(peak_hz - 440) < 15
    synth.note_off(69)
    blocks(synth, 60)
    assert np.abs(blocks(synth, 2)).max() < 1e-6
    assert synth.active_voices == 0


def test_synth_polyphony_steals_and_all_notes_off():
    synth = PolySynth(voices=4)
    for p in range(60, 70):
        synth.note_on(p, 100)
    blocks(synth, 2)
    assert synth.active_voices == 4
    synth.send((0xB0, 123, 0))
    blocks(synth, 60)
    assert synth.active_voices == 0


def test_synth_render_allocates_no_arrays():
    synth = PolySynth(samplerate=48000, blocksize=256, voices=24)
    out = np.zeros((256, 2), dtype=np.float32)
    synth.render(out)  # warm up
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for k in range(200):
            if k % 10 == 0:
                synth.note_on(48 + k % 30, 100)
            if k % 10 == 5:
                synth.note_off(48 + (k - 5) % 30)
            synth.render(out)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    # one (24, 256) float64 temporary would be 49 KB; only small Python objects are allowed
    assert peak < 8_000, peak


def test_recorder_turns_messages_into_notes_in_beats():
    rec = Recorder(tempo_bpm=120.0, t0=10.0, beat0=4.0)
    rec.feed(mido.Message("note_on", note=60, velocity=90), 10.0)
    rec.feed(mido.Message("note_on", note=64, velocity=70), 10.5)
    rec.feed(mido.Message("note_off", note=60), 11.0)
    rec.feed(mido.Message("note_on", note=64, velocity=0), 11.25)  # running-status style off
    rec.feed(mido.Message("control_change", control=64, value=127), 11.3)
    rec.feed(mido.Message("note_on", note=67, velocity=100), 11.5)
    notes = rec.finish(12.0)
    assert [(n.pitch, n.start, n.duration, n.velocity) for n in notes] == [
        (60, 4.0, 2.0, 90),
        (64, 5.0, 1.5, 70),
        (67, 7.0, 1.0, 100),
    ]


def test_quantise_snaps_to_the_grid():
    notes = [Note(60, 0.12, 0.4), Note(62, 0.93, 0.05)]
    q = quantise_notes(notes, 0.25)
    assert [(n.start, n.duration) for n in q] == [(0.0, 0.5), (1.0, 0.25)]
    half = quantise_notes(notes, 0.25, strength=0.5)
    assert half[0].start == pytest.approx(0.06)


def fake_responder(phrase, n):
    """Answers with the phrase transposed up an octave, quickly."""
    end = max(x.end for x in phrase)
    for _i, x in enumerate(phrase[:n]):
        yield Note(x.pitch + 12, end + (x.start - phrase[0].start), x.duration, 100)


def test_jam_answers_after_the_silence_in_tempo():
    sink = ListSink()
    sched = MidiScheduler(sink, realtime=False).start()
    events = []
    jam = JamSession(
        sched,
        fake_responder,
        tempo_bpm=240.0,
        silence_beats=2.0,
        answer_notes=8,
        on_event=lambda kind, payload: events.append((kind, payload)),
    )
    jam.start()
    try:
        t = time.perf_counter()
        spb = 0.25
        played = [(60, 0), (62, 1), (64, 2)]
        for pitch, beat in played:
            jam.feed(mido.Message("note_on", note=pitch, velocity=80), t + beat * spb)
            jam.feed(mido.Message("note_off", note=pitch), t + beat * spb + 0.2)
        window_end = jam.window_end()
        # last release at beat 2 + 0.8 beats; + 2 beats silence = 4.8 → snapped up to beat 5
        assert window_end == pytest.approx(t + 5 * spb)
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline and sum(1 for _t, d in sink.events if d[0] & 0xF0 == 0x90) < 3:
            time.sleep(0.01)
        ons = [(tt, d[1]) for tt, d in sink.events if d[0] & 0xF0 == 0x90]
        assert [p for _t, p in ons] == [72, 74, 76]
        assert ons[0][0] >= window_end - 1e-4
        stats = jam.stats[0]
        assert stats.first_note_t == pytest.approx(window_end)
        # in tempo: scheduled one beat apart, like the phrase
        answers = [payload for kind, payload in events if kind == "answer"]
        assert answers[1].t_on - answers[0].t_on == pytest.approx(spb, abs=1e-6)
        assert ("state", ANSWERING) in events and any(k == "answer" for k, _ in events)
        # then it listens again
        deadline = time.perf_counter() + 3
        while time.perf_counter() < deadline and jam.state != LISTENING:
            time.sleep(0.01)
        assert jam.state == LISTENING
    finally:
        jam.stop()
        sched.close()
    assert sched.sounding() == []


def test_jam_playing_during_an_answer_cuts_it_off():
    sink = ListSink()
    sched = MidiScheduler(sink, realtime=False).start()

    def slow(phrase, n):
        for i in range(n):
            yield Note(72, 8.0 + i, 1.0, 100)

    jam = JamSession(sched, slow, tempo_bpm=600.0, silence_beats=1.0, answer_notes=50).start()
    try:
        t = time.perf_counter()
        jam.feed(mido.Message("note_on", note=60, velocity=80), t)
        jam.feed(mido.Message("note_off", note=60), t + 0.05)
        deadline = time.perf_counter() + 3
        while time.perf_counter() < deadline and not any(d[0] & 0xF0 == 0x90 for _t, d in sink.events):
            time.sleep(0.005)
        assert jam.state == ANSWERING
        jam.feed(mido.Message("note_on", note=65, velocity=80), time.perf_counter())
        assert jam.state == LISTENING
        time.sleep(0.05)
        assert sched.pending("jam") == 0
        assert sched.sounding() == []
    finally:
        jam.stop()
        sched.close()
