"""The panel's live MIDI against a real JACK server: record from an input port, jam with a
(tiny) model, and play through the virtual "GDL Studio" port to an independent client."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from compose_helpers import close_panel, make_panel, wait_for

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))
from jack_tools import MidiDump, RtReceiver, RtSender, jack_connect, jack_ports, retry

pytestmark = pytest.mark.jack
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def jack_panel(qtbot, jack_server, monkeypatch, tmp_path):
    from gdl_studio.live import midi_ports

    monkeypatch.setenv("GDL_STUDIO_MIDI_API", "jack")
    monkeypatch.setenv("GDL_STUDIO_COMPOSE_DEMO", "1")
    monkeypatch.setenv("GDL_STUDIO_MODELS", str(tmp_path / "no-models"))
    midi_ports.reset_api()
    panel, engine = make_panel(qtbot)
    panel.audition_check.setChecked(False)
    yield panel
    close_panel(panel, engine)
    midi_ports.reset_api()


def choose(combo, data) -> None:
    index = combo.findData(data)
    assert index >= 0, [combo.itemData(i) for i in range(combo.count())]
    combo.setCurrentIndex(index)
    combo.activated.emit(index)


def test_record_from_a_midi_input_port(jack_panel):
    panel = jack_panel

    def check():
        sender = RtSender(f"gdltest-psend-{os.getpid()}")
        before = set(panel.doc.notes)
        try:
            panel.live.poll_ports()
            choose(panel.in_combo, sender.port)
            assert panel.live.input_active
            time.sleep(0.3)
            panel.record_button.setChecked(True)
            assert panel._recording
            for pitch in (60, 64, 67):
                sender.send((0x90, pitch, 100))
                wait_for(lambda: False, timeout=0.15)
                sender.send((0x80, pitch, 0))
                wait_for(lambda: False, timeout=0.05)
            wait_for(lambda: False, timeout=0.3)
        finally:
            panel.record_button.setChecked(False)
            sender.close()
        pitches = sorted(panel.doc.notes[k].pitch for k in set(panel.doc.notes) - before)
        assert pitches == [60, 64, 67]
        assert panel.undo_stack.undoText().startswith("Record")

    retry(3, check)


def test_jam_mode_answers_after_the_silence(jack_panel):
    panel = jack_panel
    panel.tempo_spin.setValue(240.0)
    panel.jam_silence.setValue(2.0)

    def check():
        sender = RtSender(f"gdltest-pjs-{os.getpid()}")
        receiver = RtReceiver(f"gdltest-pjr-{os.getpid()}")
        try:
            panel.live.poll_ports()
            choose(panel.in_combo, sender.port)
            choose(panel.out_combo, receiver.port)
            panel.jam_button.setChecked(True)
            assert panel._jamming
            wait_for(lambda: False, timeout=0.5)  # the model loads
            played = (60, 62, 64, 65)
            for pitch in played:
                sender.send((0x90, pitch, 90))
                wait_for(lambda: False, timeout=0.1)
                sender.send((0x80, pitch, 0))
                wait_for(lambda: False, timeout=0.03)
            jam = panel.live.jam

            def answered():
                if not jam.stats:
                    return []
                end = jam.stats[0].window_end
                return [e for e in receiver.events if e[1][0] & 0xF0 == 0x90 and e[1][2] > 0 and e[0] > end - 0.002]

            assert wait_for(lambda: len(answered()) >= 2, timeout=20)
            stats = jam.stats[0]
            assert stats.phrase_notes == len(played)
            assert answered()[0][0] - stats.window_end < 3.0  # promptly (the bench measures how promptly)
            # MIDI thru: what the player played was echoed to the output too
            echoed = {e[1][1] for e in receiver.events if e[1][0] & 0xF0 == 0x90 and e[0] < stats.window_end}
            assert set(played) <= echoed
            before = len(panel.doc.notes)
            panel.jam_button.setChecked(False)
            assert panel.undo_stack.undoText() == "Jam take"
            assert len(panel.doc.notes) >= before + len(played) + 2
        finally:
            panel.jam_button.setChecked(False)
            receiver.close()
            sender.close()

    retry(3, check)


def test_virtual_output_port_plays_the_piece(jack_panel):
    panel = jack_panel
    panel.open_path(str(ROOT / "resources" / "examples" / "melody.mid"))
    choose(panel.out_combo, "\x00virtual")
    ports = [p for p in jack_ports() if p.startswith("GDL Studio") and p.endswith(":GDL Studio")]
    assert ports, jack_ports()
    melody = sorted(panel.doc.notes.values(), key=lambda n: (n.start, n.pitch))[:6]

    def check():
        dump = MidiDump(f"gdltest-pdump-{os.getpid()}")
        jack_connect(ports[0], dump.port)
        wait_for(lambda: False, timeout=0.2)
        panel.tempo_spin.setValue(300.0)
        panel.roll.set_cursor_beat(0.0)
        panel.play()
        end = melody[-1].start
        wait_for(lambda: (panel.live.position() or 0) > end + 0.2, timeout=10)
        panel.stop()
        got = [d for _f, d in dump.stop() if d[0] & 0xF0 == 0x90]
        assert [d[1] for d in got[:6]] == [n.pitch for n in melody]

    retry(3, check)
