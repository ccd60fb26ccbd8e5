"""Live MIDI and audio against a real JACK server (dummy driver), checked by independent clients."""

from __future__ import annotations

import os
import subprocess
import time
import wave

import numpy as np
import pytest
from jack_tools import MidiDump, RtReceiver, RtSender, jack_connect, jack_ports, retry, wait_for_port

from gdl_studio.live import midi_ports as mp
from gdl_studio.live.jam import JamSession
from gdl_studio.live.playback import Playback
from gdl_studio.live.recorder import Recorder
from gdl_studio.live.scheduler import MidiScheduler, note_off, note_on
from gdl_studio.live.session import SYNTH, VIRTUAL, LiveSession
from gdl_studio.music.notes import Note

pytestmark = pytest.mark.jack


@pytest.fixture
def jack(jack_server, monkeypatch):
    monkeypatch.setenv("GDL_STUDIO_MIDI_API", "jack")
    mp.reset_api()
    yield
    mp.reset_api()


def _note_msgs(events):
    return [d for _f, d in events if d[0] & 0xF0 in (0x80, 0x90)]


def test_playback_reaches_an_independent_client_in_order(jack):
    notes = [Note(60 + 2 * i, i * 0.25, 0.2, 40 + 10 * i, track=0) for i in range(8)]

    def check():
        dump = MidiDump(f"gdltest-dump-{os.getpid()}")
        out = mp.MidiOutput(dump.port)
        sched = MidiScheduler(out, realtime=False).start()
        try:
            pb = Playback(notes, tempo_bpm=300.0, latency_s=0.05)
            sched.add_source(pb, "playback")
            time.sleep(0.05 + 8 * 0.05 + 0.3)
        finally:
            sched.close()
            out.close()
        got = _note_msgs(dump.stop())
        expected = []
        for n in notes:
            expected += [(0x90, n.pitch, n.velocity), (0x80, n.pitch, 0)]
        assert got == expected

    retry(3, check)


def test_virtual_port_and_all_notes_off_on_stop(jack):
    def check():
        dump = MidiDump(f"gdltest-vdump-{os.getpid()}")
        out = mp.MidiOutput(virtual=True)
        try:
            port = next(p for p in jack_ports() if p.startswith("GDL Studio") and p.endswith(mp.VIRTUAL_PORT_NAME))
            jack_connect(port, dump.port)
            time.sleep(0.2)
            sched = MidiScheduler(out, realtime=False).start()
            now = time.perf_counter()
            sched.post(now, note_on(0, 64, 100), "playback")
            sched.post(now, note_on(3, 67, 90), "playback")
            sched.post(now + 30, note_off(0, 64), "playback")  # far away: stop must end it
            time.sleep(0.2)
            sched.cancel("playback")
            time.sleep(0.2)
            sched.close()
        finally:
            out.close()
        got = _note_msgs(dump.stop())
        assert got[:2] == [(0x90, 64, 100), (0x93, 67, 90)]
        assert sorted(got[2:]) == [(0x80, 64, 0), (0x83, 67, 0)]

    retry(3, check)


def test_midi_input_is_recorded(jack):
    def check():
        sender = RtSender(f"gdltest-send-{os.getpid()}")
        t0 = time.perf_counter()
        rec = Recorder(tempo_bpm=120.0, t0=t0)
        inp = mp.MidiInput(rec.feed, sender.port)
        sent = []
        try:
            time.sleep(0.3)
            for pitch, vel in ((60, 100), (64, 80), (67, 60)):
                on = time.perf_counter()
                sender.send((0x90, pitch, vel))
                time.sleep(0.12)
                off = time.perf_counter()
                sender.send((0x80, pitch, 0))
                sent.append((on, off))
                time.sleep(0.05)
            time.sleep(0.3)
        finally:
            inp.close()
            sender.close()
        notes = rec.finish(time.perf_counter())
        assert [(n.pitch, n.velocity) for n in notes] == [(60, 100), (64, 80), (67, 60)]
        # beats follow the arrival times at 120 BPM (2 beats a second), give or take JACK's cycles
        for n, (on, off) in zip(notes, sent):
            assert n.start == pytest.approx((on - t0) * 2.0, abs=0.2)
            assert n.duration == pytest.approx((off - on) * 2.0, abs=0.2)

    retry(3, check)


def test_jam_answers_through_jack_after_the_silence(jack):
    sender = RtSender(f"gdltest-jsend-{os.getpid()}")
    receiver = RtReceiver(f"gdltest-jrecv-{os.getpid()}")
    out = mp.MidiOutput(receiver.port)
    sched = MidiScheduler(out, realtime=False).start()

    def respond(phrase, n):
        end = max(x.end for x in phrase)
        for i, x in enumerate(phrase[:n]):
            yield Note(x.pitch + 7, end + i * 0.5, 0.4, 90)

    jam = JamSession(sched, respond, tempo_bpm=240.0, silence_beats=2.0, answer_notes=4).start()
    inp = mp.MidiInput(jam.feed, sender.port)
    try:
        time.sleep(0.3)
        for pitch in (60, 62, 64):
            sender.send((0x90, pitch, 90))
            time.sleep(0.1)
            sender.send((0x80, pitch, 0))
            time.sleep(0.05)
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline and len([e for e in receiver.events if e[1][0] & 0xF0 == 0x90]) < 3:
            time.sleep(0.02)
    finally:
        inp.close()
        jam.stop()
        sched.close()
        out.close()
        receiver.close()
        sender.close()
    ons = [(t, d[1]) for t, d in receiver.events if d[0] & 0xF0 == 0x90]
    assert [p for _t, p in ons] == [67, 69, 71]
    stats = jam.stats[0]
    assert stats.phrase_notes == 3
    # the answer starts at the end of the silence window, not before, and promptly after
    assert ons[0][0] >= stats.window_end - 0.001
    assert ons[0][0] - stats.window_end < 3.0  # promptly (the bench measures how promptly)


def test_vanished_output_port_gives_a_message_and_no_stuck_notes(jack):
    receiver = RtReceiver(f"gdltest-vanish-{os.getpid()}")
    messages = []
    session = LiveSession(on_message=messages.append, realtime=False)
    try:
        session.refresh()
        assert receiver.port in session.outputs
        assert session.set_output(receiver.port) == ""
        pb = Playback([Note(60, 0.0, 50.0), Note(64, 0.0, 50.0)], tempo_bpm=120.0, latency_s=0.02)
        session.scheduler.add_source(pb, "playback")
        time.sleep(0.3)
        assert len(session.scheduler.sounding()) == 2
        receiver.close()
        assert wait_for_port(receiver.port, present=False)
        assert session.poll_ports()
        assert any("disappeared" in m for m in messages)
        assert session.output_choice == SYNTH
        assert session.scheduler.sounding() == []
    finally:
        session.close()


def test_session_lists_ports_live_and_opens_the_virtual_port(jack):
    session = LiveSession(realtime=False)
    try:
        session.refresh()
        assert (VIRTUAL, 'Virtual port "GDL Studio"') in session.output_choices()
        assert not any(p.startswith("GDL Studio") for p in session.outputs)  # never ourselves
        sender = RtSender(f"gdltest-live-{os.getpid()}")
        try:
            assert session.poll_ports()
            assert sender.port in session.inputs
        finally:
            sender.close()
        assert session.set_output(VIRTUAL) == ""
        assert any(p.startswith("GDL Studio") for p in jack_ports())
    finally:
        session.close()


@pytest.mark.parametrize("instrument", ["additive", "gm"])
def test_synth_audio_reaches_jack_and_is_not_silent(jack, tmp_path, instrument):
    from gdl_studio.live.instrument import InstrumentUnavailable, find_soundfont, fluidsynth_lib
    from gdl_studio.live.synth import AudioPreview, PolySynth

    if instrument == "gm":
        try:
            fluidsynth_lib()
        except InstrumentUnavailable as exc:
            pytest.skip(str(exc))
        if find_soundfont() is None:
            pytest.skip("no General MIDI SoundFont installed")
    before = set(jack_ports())
    audio = AudioPreview(instrument=instrument)
    message = audio.open()
    assert message == "", message
    try:
        assert audio.loaded.wait(30)
        assert audio.instrument_message == ""
        assert isinstance(audio.synth, PolySynth) == (instrument == "additive")
        time.sleep(0.3)
        new = [p for p in jack_ports() if p not in before]
        ports = [p for p in new if "out" in p.split(":")[-1]]
        assert ports, new
        wav = tmp_path / "synth.wav"
        # The chord is struck again every 0.4 s until jack_rec is done, so it sounds whenever
        # jack_rec gets going: on main it was held 0.8 s from a fixed 0.3 s after jack_rec's start,
        # and on a loaded machine jack_rec could connect after it ended (or the piano decayed).
        rec = subprocess.Popen(
            ["jack_rec", "-f", str(wav), "-d", "1.0", "-b", "16", ports[0]],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.perf_counter() + 20.0
        while rec.poll() is None and time.perf_counter() < deadline:
            for pitch in (57, 60, 64):
                audio.synth.note_on(pitch, 110)
            time.sleep(0.4)
            for pitch in (57, 60, 64):
                audio.synth.note_off(pitch)
        rec.wait(timeout=5)
    finally:
        audio.close()
    with wave.open(str(wav)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float64) / 32768
    rms = float(np.sqrt(np.mean(frames**2)))
    assert rms > 0.01, rms
    assert audio.synth.blocks > 10


def test_output_process_plays_in_order_and_stop_ends_notes(jack):
    """The app's MIDI output runs in a child process (own interpreter lock); the scheduler hands it
    events ahead of time and stop/cancel still ends every note."""
    from gdl_studio.live.midi_process import ProcessMidiOutput

    notes = [Note(48 + 3 * i, i * 0.25, 0.2, 50 + 5 * i) for i in range(6)]

    def check():
        dump = MidiDump(f"gdltest-pdump2-{os.getpid()}")
        errors = []
        out = ProcessMidiOutput(dump.port, on_error=errors.append)
        assert out.timed and out.name == dump.port
        sched = MidiScheduler(out, realtime=False).start()
        try:
            sched.add_source(Playback(notes, tempo_bpm=300.0, latency_s=0.1), "playback")
            time.sleep(0.1 + 6 * 0.05 + 0.3)
            long = Playback([Note(90, 0.0, 100.0, 77)], tempo_bpm=120.0, latency_s=0.05)
            sched.add_source(long, "playback")
            time.sleep(0.3)
            assert sched.sounding() == [(0, 90)]
            sched.cancel("playback")
            time.sleep(0.3)
        finally:
            sched.close()
            out.close()
        got = _note_msgs(dump.stop())
        expected = []
        for n in notes:
            expected += [(0x90, n.pitch, n.velocity), (0x80, n.pitch, 0)]
        assert got == expected + [(0x90, 90, 77), (0x80, 90, 0)]
        assert errors == []

    retry(3, check)


def test_output_process_reports_a_missing_port(jack):
    from gdl_studio.live.midi_process import ProcessMidiOutput

    with pytest.raises(mp.MidiUnavailable, match="not available"):
        ProcessMidiOutput("no-such-client:in")
