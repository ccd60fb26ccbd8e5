"""The Compose panel's Sound and Tempo sync groups and File → Export audio… (offscreen, no audio
device needed): settings round trip, controls → the live session's config, sync mode switching,
playback on the external grid, and a WAV export checked on disk."""

from __future__ import annotations

import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
from compose_helpers import close_panel, make_panel, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))
from sf2_tools import make_sf2


@pytest.fixture
def panel(qtbot):
    panel, engine = make_panel(qtbot)
    yield panel
    close_panel(panel, engine)


def choose(combo, data) -> None:
    index = combo.findData(data)
    assert index >= 0, [combo.itemData(i) for i in range(combo.count())]
    combo.setCurrentIndex(index)


def add_notes(panel, notes) -> None:
    from gdl_studio.ui.compose.commands import AddNotes

    panel.undo_stack.push(AddNotes(panel.doc, notes, "Add"))


def test_keys_use_the_live_layer_names_and_round_trip(qtbot, tmp_path):
    from gdl_studio.live import clock as clk
    from gdl_studio.live import instrument as ins
    from gdl_studio.ui.settings import Key, Settings

    assert Key.AUDIO_SOUNDFONT.path == ins.SETTING_SOUNDFONT and Key.SYNC_ALIGN.path == clk.SETTING_SYNC_ALIGN
    assert len(Key.AUDIO_PROGRAMS.default) == 16 and Key.SYNC_MODE.default == "internal"
    sf2 = make_sf2(tmp_path / "tiny.sf2", programs=(0, 19))
    panel, engine = make_panel(qtbot)
    try:
        ic, sc = panel.sound_box.controls, panel.sync_box.controls
        choose(ic.program_combos[1], 19)
        ic.soundfont_chosen.emit(str(sf2))
        choose(sc.align_combo, "bar")
        choose(sc.mode_combo, "master")
    finally:
        close_panel(panel, engine)
    s = Settings()
    assert s.get(Key.SYNC_MODE) == "master" and s.get(Key.SYNC_ALIGN) == "bar"
    assert s.get(Key.AUDIO_SOUNDFONT) == str(sf2)
    panel, engine = make_panel(qtbot)  # a new panel reads them back
    try:
        assert panel.session.instrument.programs[:2] == [0, 19]
        assert panel.session.instrument.soundfont == str(sf2)
        assert panel.sound_box.controls.program_combos[1].currentData() == 19
        assert panel.sound_box.controls.soundfont_label.text() == "tiny.sf2"
        assert panel.live.session.sync_mode == "master" and panel.live.align == "bar"
        assert panel.sync_box.controls.mode_combo.currentData() == "master"
    finally:
        close_panel(panel, engine)


def test_instrument_controls_change_the_session_config(panel, tmp_path):
    audio = panel.live.session.audio
    ic = panel.sound_box.controls
    choose(ic.instrument_combo, "additive")
    assert audio.instrument == "additive" and not ic.program_combos[0].isEnabled()
    choose(ic.instrument_combo, "gm")
    assert audio.instrument == "gm"
    choose(ic.program_combos[2], 52)  # track 3 → MIDI channel 3 plays Choir Aahs
    assert audio.programs[2] == 52 and panel.session.instrument.programs[2] == 52
    ic.preset_chosen.emit("chorale-organ")
    assert audio.programs[:4] == panel.session.instrument.channel_programs()[:4]
    assert len(set(audio.programs[:4]) - {0}) >= 1
    bad = tmp_path / "broken.sf2"
    bad.write_bytes(b"RIFF\0\0\0\0not a soundfont")
    ic.soundfont_chosen.emit(str(bad))  # refused with a message; nothing changes
    assert panel.session.instrument.soundfont == "" and audio.soundfont in (None, "")
    assert ic.message_label.text() and "broken.sf2" in panel._last_status
    good = make_sf2(tmp_path / "ok.sf2")
    ic.soundfont_chosen.emit(str(good))
    assert audio.soundfont == str(good) and ic.message_label.text() == ""
    ic.soundfont_chosen.emit("")  # Automatic
    assert panel.session.instrument.soundfont == "" and audio.soundfont is None


def test_sync_modes_switch_the_grid_and_playback_follows_it(panel):
    from gdl_studio.live import clock as clk
    from gdl_studio.music.notes import Note

    session, sc, spin = panel.live.session, panel.sync_box.controls, panel.bar.tempo_spin
    add_notes(panel, [Note(60 + i, float(i), 0.5) for i in range(8)])
    choose(sc.mode_combo, "follow")
    assert session.sync_mode == "follow" and session.clock_follower is not None
    assert spin.isReadOnly() and sc.clock_in_combo.isEnabled() and not sc.clock_out_combo.isEnabled()
    assert "Waiting" in sc.status_label.text()
    assert [sc.clock_in_combo.itemData(i) for i in range(sc.clock_in_combo.count())][0] == ""
    panel.play()
    playback = panel.live.playback
    assert playback is not None and playback.transport is session.transport
    assert playback.pull(time.perf_counter() + 1.0) == []  # nothing plays before the clock starts
    t = time.perf_counter()
    follower = session.clock_follower
    follower.feed((clk.START,), t)
    for k in range(1, 49):  # two beats of clock at 120 BPM
        follower.feed((clk.CLOCK,), t + k * 0.5 / 24)
    assert session.transport.running
    assert playback.pull(t + 1.0), "notes play on the external grid once it runs"
    panel.sound_io.poll()
    assert "BPM" in sc.status_label.text() or "measuring" in sc.status_label.text()
    follower.feed((clk.STOP,), t + 1.01)  # the clock stops: the playback's notes end
    assert not session.transport.running
    panel.stop()
    assert panel.live._stop_listener is None

    choose(sc.mode_combo, "master")  # switching stops playback and opens the clock master
    assert session.sync_mode == "master" and session.clock_follower is None and not spin.isReadOnly()
    panel.play()
    assert session.clock_master.source is not None and session.transport.running
    assert "Sending MIDI clock" in session.sync_status()
    panel.stop()
    assert session.clock_master.source is None and not session.transport.running

    choose(sc.mode_combo, "internal")
    assert session.sync_mode == "internal" and session.clock_master is None
    panel.play()
    assert panel.live.playback.transport is None
    panel.stop()


def test_recording_and_jam_take_the_transport_when_following(panel):
    choose(panel.sync_box.controls.mode_combo, "follow")
    panel.live.start_recording(120.0, 0.0, 1)
    assert panel.live.recorder.transport is panel.live.session.transport
    panel.live.stop_recording()
    choose(panel.sync_box.controls.mode_combo, "internal")
    panel.live.start_recording(120.0, 0.0, 1)
    assert panel.live.recorder.transport is None
    panel.live.stop_recording()


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, channels)
    return rate, data.astype(np.float64) / 32768.0


def test_export_audio_writes_a_wav_of_the_piece(panel, qtbot, tmp_path):
    from gdl_studio.music.notes import Note

    assert not panel.export_audio(str(tmp_path / "empty.wav"))  # nothing to render
    assert "no notes" in panel._last_status
    panel.sound_box.controls.soundfont_chosen.emit(str(make_sf2(tmp_path / "tone.sf2")))
    add_notes(panel, [Note(57 + 2 * i, i * 0.5, 0.5, velocity=100) for i in range(8)])  # 4 beats at 120 BPM
    panel.tempo_spin.setValue(120.0)
    out = tmp_path / "piece.wav"
    with qtbot.waitSignal(panel.audio_export.finished, timeout=30000) as blocker:
        assert panel.export_audio(str(out))
    result, message = blocker.args
    assert result is not None, message
    assert message.startswith("Exported piece.wav") and panel._last_status == message
    rate, audio = read_wav(out)
    seconds = len(audio) / rate
    assert 2.0 <= seconds <= 2.0 + 6.5, seconds  # the notes, then the tail until silent
    assert abs(seconds - result.seconds) < 0.01
    first = audio[: int(2.0 * rate)]
    assert np.sqrt(np.mean(first**2)) > 0.005  # not silent while the notes play
    assert result.instrument != "additive synth"  # the chosen SoundFont rendered it


def test_export_audio_can_be_cancelled(panel, qtbot, tmp_path):
    from gdl_studio.music.notes import Note

    panel.sound_box.controls.instrument_combo.setCurrentIndex(
        panel.sound_box.controls.instrument_combo.findData("additive")
    )
    add_notes(panel, [Note(48 + i % 24, i * 0.25, 0.25) for i in range(6000)])  # 25 minutes at 60 BPM
    panel.tempo_spin.setValue(60.0)
    out = tmp_path / "long.flac"
    with qtbot.waitSignal(panel.audio_export.finished, timeout=30000) as blocker:
        assert panel.export_audio(str(out))
        panel.audio_export.cancel()
    result, message = blocker.args
    assert result is None and "cancelled" in message
    assert not out.exists() and wait_for(lambda: not panel.audio_export.running, 5.0)
