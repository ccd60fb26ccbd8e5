"""The FluidSynth instrument (velocity, sustain pedal, no stuck notes, no allocation in render),
bad SoundFonts, and bouncing to WAV/FLAC — without an audio device."""

from __future__ import annotations

import tracemalloc
import wave

import numpy as np
import pytest
from sf2_tools import make_sf2

from gdl_studio.core.errors import UserError
from gdl_studio.live import instrument as ins
from gdl_studio.live.render import events_from_midi, events_from_notes, render_events, render_midi_file
from gdl_studio.music.notes import Note

try:
    ins.fluidsynth_lib()
    HAVE_FLUID = True
except ins.InstrumentUnavailable:
    HAVE_FLUID = False

needs_fluid = pytest.mark.skipif(not HAVE_FLUID, reason="libfluidsynth/pyfluidsynth not installed")
GM_SOUNDFONT = next((p for p in ins.soundfont_candidates() if p.is_file()), None)


@pytest.fixture(scope="module")
def sf2(tmp_path_factory):
    return make_sf2(tmp_path_factory.mktemp("sf") / "test.sf2", programs=(0, 19))


def run(inst, n):
    out = np.zeros((inst.blocksize, 2), dtype=np.float32)
    got = []
    for _ in range(n):
        inst.render(out)
        got.append(out.copy())
    return np.concatenate(got)


def rms(a):
    return float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))


def high_band_fraction(audio, rate, above_hz=4000.0):
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    spec = np.abs(np.fft.rfft(mono)) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1.0 / rate)
    return float(spec[freqs > above_hz].sum() / max(spec.sum(), 1e-30))


def assert_not_additive(audio, rate):
    """The additive synth is mono and has three harmonic partials (a chorale's top note 587 Hz:
    nothing above 1.8 kHz but tanh's faint distortion); a sampled GM instrument has stereo
    reverb/chorus and partials well above 4 kHz."""
    assert audio.ndim == 2 and audio.shape[1] == 2
    assert np.abs(audio[:, 0] - audio[:, 1]).mean() > 1e-4, "left == right: the additive synth"
    assert high_band_fraction(audio, rate) > 1e-4, "no energy above 4 kHz: the additive synth"


# ------------------------------------------------------------------------------------ instrument
@needs_fluid
def test_velocity_sustain_and_all_notes_off_with_the_pedal_down(sf2):
    inst = ins.FluidInstrument(sf2, blocksize=256, reverb=False, chorus=False)
    try:
        run(inst, 2)
        inst.note_on(69, 30)
        soft = rms(run(inst, 20))
        inst.note_off(69)
        run(inst, 200)
        inst.note_on(69, 120)
        loud = rms(run(inst, 20))
        assert loud > 2.0 * soft > 0
        inst.note_off(69)
        run(inst, 200)
        assert rms(run(inst, 4)) < 1e-4
        # sustain pedal: the note keeps sounding after its note-off until the pedal lifts
        inst.send((0xB0, 64, 127))
        inst.note_on(69, 100)
        run(inst, 10)
        inst.note_off(69)
        run(inst, 200)  # 1 s: without the pedal the 0.5 s release would have ended it
        assert rms(run(inst, 4)) > 0.01
        # stop with the pedal still down: All Notes Off lifts it, nothing is stuck
        inst.send((0xB0, 123, 0))
        run(inst, 200)
        assert rms(run(inst, 4)) < 1e-4
        assert inst.active_voices == 0
    finally:
        inst.close()


@needs_fluid
def test_render_callback_allocates_no_arrays(sf2):
    inst = ins.FluidInstrument(sf2, blocksize=256)
    out = np.zeros((256, 2), dtype=np.float32)
    try:
        inst.render(out)
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        for k in range(300):
            if k % 10 == 0:
                inst.note_on(48 + k % 30, 100)
            if k % 10 == 5:
                inst.note_off(48 + (k - 5) % 30)
            inst.render(out)
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
        assert peak < 4_000, peak  # a 256×2 float32 block alone would be 2 KB per call
        assert rms(out) > 0
    finally:
        inst.close()


@needs_fluid
def test_missing_program_falls_back_with_a_message(sf2):
    inst = ins.FluidInstrument(sf2, programs=[52] * 16)
    try:
        assert inst.info.programs[0] == 19  # nearest lower program it has
        assert "no program 52 (Choir Aahs)" in inst.info.warnings[0]
        warnings = inst.set_programs([0] * 16)
        assert warnings == [] and inst.info.programs[0] == 0
        inst.send((0xC0, 100, 0))  # a program change it lacks: resolved, never silent
        inst.note_on(69, 100)
        assert rms(run(inst, 20)) > 0.01
    finally:
        inst.close()


def test_missing_and_corrupt_soundfonts_give_one_line_messages(tmp_path):
    inst, message = ins.load_instrument(str(tmp_path / "nope.sf2"))
    assert inst is None and "does not exist" in message and "additive" in message
    (tmp_path / "song.sf2").write_bytes(b"MThd not a soundfont at all")
    inst, message = ins.load_instrument(str(tmp_path / "song.sf2"))
    assert inst is None and "not a valid SoundFont" in message and "\n" not in message
    (tmp_path / "notes.txt").write_text("x")
    assert "not a SoundFont" in ins.load_instrument(str(tmp_path / "notes.txt"))[1]
    if HAVE_FLUID:  # a RIFF sfbk header with garbage inside: FluidSynth refuses it, we say so
        (tmp_path / "cut.sf2").write_bytes(b"RIFF\x20\x00\x00\x00sfbkLIST" + b"\x01" * 24)
        inst, message = ins.load_instrument(str(tmp_path / "cut.sf2"))
        assert inst is None and "could not load the SoundFont cut.sf2" in message


def test_channel_programs_and_presets():
    progs = ins.channel_programs(ins.preset_programs("chorale-choir", 4))
    assert progs[:4] == [52, 52, 53, 53] and progs[9] == 0
    assert ins.channel_programs({10: 40})[11] == 40  # track 10 plays on channel 11 (9 is drums)
    assert len(ins.GM_PROGRAMS) == 128 and ins.program_name(19) == "Church Organ"


# ------------------------------------------------------------------------------------ bounce
@needs_fluid
def test_render_notes_to_wav_and_flac(sf2, tmp_path):
    notes = [Note(60 + i, i * 0.5, 0.5, 100) for i in range(8)]
    events = events_from_notes(notes, 120.0, programs={0: 19})
    res = render_events(events, tmp_path / "out.wav", soundfont=str(sf2), samplerate=44100)
    assert res.instrument.startswith("test: Church Organ")
    assert 2.0 <= res.seconds < 2.0 + 6.5  # 2 s of notes + a tail that stops once silent
    assert res.rms > 0.005 and res.peak <= 1.0
    assert res.realtime_factor > 1.0
    with wave.open(str(tmp_path / "out.wav")) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 44100
        assert abs(w.getnframes() / 44100 - res.seconds) < 1e-3
    sf = pytest.importorskip("soundfile")
    res = render_events(events, tmp_path / "out.flac", soundfont=str(sf2))
    audio, rate = sf.read(str(tmp_path / "out.flac"))
    assert rate == 44100 and audio.shape[1] == 2 and rms(audio) > 0.005


def test_render_rejects_bad_requests(tmp_path):
    events = [(0.0, (0x90, 60, 100)), (0.5, (0x80, 60, 0))]
    with pytest.raises(UserError, match="wav or .flac"):
        render_events(events, tmp_path / "out.mp3")
    with pytest.raises(UserError, match="no notes"):
        render_events([], tmp_path / "out.wav")
    with pytest.raises(UserError, match="does not exist"):
        render_events(events, tmp_path / "out.wav", soundfont=str(tmp_path / "missing.sf2"))
    with pytest.raises(UserError, match="program"):
        render_midi_file("x.mid", tmp_path / "o.wav", program=200)


@needs_fluid
@pytest.mark.skipif(GM_SOUNDFONT is None, reason="no General MIDI SoundFont installed")
def test_chorale_bounce_is_the_gm_instrument_not_the_additive_synth(tmp_path):
    from gdl_studio.core.paths import resources_dir

    chorale = resources_dir() / "examples" / "chorale.mid"
    events = [e for e in events_from_midi(chorale) if e[0] < 8.0]  # the first bars are enough
    gm = render_events(events, tmp_path / "gm.wav", samplerate=22050)
    additive = render_events(events, tmp_path / "add.wav", samplerate=22050, instrument="additive")

    def load(path):
        with wave.open(str(path)) as w:
            return np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2) / 32768.0

    assert gm.instrument.endswith("Acoustic Grand Piano") and additive.instrument == "additive synth"
    assert 8.0 < gm.seconds < 15.0 and gm.rms > 0.01
    assert_not_additive(load(tmp_path / "gm.wav"), 22050)
    with pytest.raises(AssertionError):
        assert_not_additive(load(tmp_path / "add.wav"), 22050)


def test_render_cli(tmp_path, capsys):
    from gdl_studio.cli import main
    from gdl_studio.core.paths import resources_dir

    chorale = resources_dir() / "examples" / "chorale.mid"
    sf2_path = make_sf2(tmp_path / "t.sf2")
    rc = main(
        [
            "render",
            str(chorale),
            "-o",
            str(tmp_path / "c.wav"),
            "--soundfont",
            str(sf2_path),
            "--program",
            "0",
            "--rate",
            "22050",
            "--json",
        ]
        if HAVE_FLUID
        else ["render", str(chorale), "-o", str(tmp_path / "c.wav"), "--additive", "--rate", "22050", "--json"]
    )
    assert rc == 0
    import json

    info = json.loads(capsys.readouterr().out)
    assert info["seconds"] > 28 and info["realtime_factor"] > 1 and (tmp_path / "c.wav").stat().st_size > 1e6
    assert main(["render", str(chorale), "-o", str(tmp_path / "x.wav"), "--soundfont", str(tmp_path / "no.sf2")]) == 2
