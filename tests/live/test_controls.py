"""The instrument/sync view-models (settings round trip, checks, status lines) and the
self-contained Qt controls that show and emit their plain values."""

from __future__ import annotations

import pytest
from sf2_tools import make_sf2

from gdl_studio.live import clock as clk
from gdl_studio.live import instrument as ins
from gdl_studio.live.controls_model import InstrumentModel, SyncModel


def test_instrument_model_settings_round_trip_and_checks(tmp_path):
    store: dict = {}
    model = InstrumentModel.load(lambda k, d: store.get(k, d))
    assert model.instrument == "gm" and model.programs[:2] == [0, 0] and model.soundfont == ""
    assert "does not exist" in model.set_soundfont(str(tmp_path / "nope.sf2"))
    assert model.soundfont == ""  # unchanged
    good = make_sf2(tmp_path / "ok.sf2")
    assert model.set_soundfont(str(good)) == "" and model.soundfont == str(good)
    model.apply_preset("chorale-choir", 4)
    model.set_program(5, 300)
    model.set_instrument("additive")
    model.save(store.__setitem__)
    assert set(store) == {ins.SETTING_INSTRUMENT, ins.SETTING_SOUNDFONT, ins.SETTING_PROGRAMS}
    again = InstrumentModel.load(lambda k, d: store.get(k, d))
    assert again == model and again.programs[:6] == [52, 52, 53, 53, 0, 127]
    cfg = again.session_config()
    assert cfg["instrument"] == "additive" and cfg["programs"][:4] == [52, 52, 53, 53] and len(cfg["programs"]) == 16
    assert again.render_kwargs()["programs"][0] == 52
    # QSettings may hand back strings
    assert InstrumentModel.load(lambda k, d: {"audio/programs": "19,19,x"}.get(k, d)).programs[0] == 0
    assert InstrumentModel.load(lambda k, d: {"audio/programs": "19, 40"}.get(k, d)).programs[:3] == [19, 40, 0]


def test_sync_model_and_status_lines():
    store: dict = {}
    model = SyncModel.load(lambda k, d: store.get(k, d))
    assert model.mode == "internal"
    model.set_mode("follow")
    model.set_mode("bogus")
    model.set_align("bar")
    model.save(store.__setitem__)
    assert store[clk.SETTING_SYNC_MODE] == "follow" and SyncModel.load(lambda k, d: store.get(k, d)) == model
    tr = clk.Transport(120.0)
    assert SyncModel.status(tr, "follow").startswith("Waiting")
    fol = clk.ClockFollower(tr, watchdog=False)
    fol.feed(bytes([clk.START]), 0.0)
    for k in range(30):
        fol.feed(bytes([clk.CLOCK]), 1.0 + k * 0.5 / 24)
    assert "120.0 BPM" in SyncModel.status(tr, "follow")
    fol.feed(bytes([clk.STOP]), 2.0)
    assert "stopped" in SyncModel.status(tr, "follow")
    tr.external_stop(3.0)
    assert SyncModel.status(tr, "internal") == ""


def test_qt_controls_show_and_emit_plain_values(qtbot):
    pytest.importorskip("PySide6")
    from gdl_studio.ui.widgets.instrument_controls import InstrumentControls
    from gdl_studio.ui.widgets.sync_controls import SyncControls

    w = InstrumentControls(tracks=4)
    qtbot.addWidget(w)
    got = []
    w.program_changed.connect(lambda t, p: got.append(("program", t, p)))
    w.instrument_changed.connect(lambda v: got.append(("instrument", v)))
    w.preset_chosen.connect(lambda v: got.append(("preset", v)))
    w.set_state("gm", "FluidR3_GM.sf2 (found)", [19, 52, 0, 0], "")
    assert got == []  # showing state emits nothing
    assert w.program_combos[0].currentData() == 19 and w.soundfont_label.text().startswith("FluidR3")
    w.program_combos[2].setCurrentIndex(w.program_combos[2].findData(40))
    w.instrument_combo.setCurrentIndex(w.instrument_combo.findData("additive"))
    w.preset_combo.setCurrentIndex(w.preset_combo.findData("chorale-organ"))
    w.preset_combo.activated.emit(w.preset_combo.currentIndex())
    assert got == [("program", 2, 40), ("instrument", "additive"), ("preset", "chorale-organ")]
    w.set_state("additive", "—", [0] * 4)
    assert not w.program_combos[0].isEnabled()

    s = SyncControls()
    qtbot.addWidget(s)
    modes = []
    s.mode_changed.connect(modes.append)
    s.set_state(
        "follow",
        "DAW:out",
        "",
        "song",
        [("", "None"), ("DAW:out", "DAW:out")],
        [("", "Note output")],
        "Following external clock: 120.0 BPM",
    )
    assert modes == [] and s.clock_in_combo.currentData() == "DAW:out" and not s.clock_out_combo.isEnabled()
    s.mode_combo.setCurrentIndex(s.mode_combo.findData("master"))
    assert modes == ["master"]
