"""The Compose status line's parts come from the headless session; where neither the built-in synth
nor MIDI can sound, they say so once instead of each advising the other way out."""

from __future__ import annotations

import pytest

from gdl_studio.live import midi_ports as mp
from gdl_studio.live.session import LiveSession
from gdl_studio.live.synth import AUDIO_ADVICE

NO_DEVICE = f"No audio output device (Error querying device -1): the built-in synth is silent. {AUDIO_ADVICE}"
NO_MIDI = f"No MIDI system found (no ALSA sequencer, CoreMIDI, Windows MIDI or JACK server). {mp.MIDI_ADVICE}"


@pytest.fixture
def session():
    s = LiveSession(realtime=False)
    yield s
    s.close()


def test_no_audio_and_no_midi_is_one_message_without_false_advice(session):
    session.audio_message, session.lister.error = NO_DEVICE, NO_MIDI
    (line,) = session.status_parts()[:1]
    assert line.startswith("No audio output device (Error querying device -1): the built-in synth is silent.")
    assert "No MIDI system found" in line and line.endswith("Notes cannot be heard here; everything else works.")
    assert AUDIO_ADVICE not in line and mp.MIDI_ADVICE not in line


def test_each_problem_alone_keeps_its_advice(session):
    session.audio_message, session.lister.error = NO_DEVICE, ""
    assert session.status_parts()[0] == NO_DEVICE
    session.audio_message, session.lister.error = "", NO_MIDI
    parts = session.status_parts()
    assert parts[0].startswith("Output: built-in synth") and parts[1] == f"MIDI: {NO_MIDI}"


def test_an_input_port_is_named_when_midi_works(session):
    session.audio_message, session.lister.error = "", ""
    session.input_choice = "Keyboard 1"
    assert "Input: Keyboard 1" in session.status_parts()
