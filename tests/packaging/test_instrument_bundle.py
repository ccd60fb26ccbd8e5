"""The GM instrument inside the bundle (issues #14 and #18), checked without building it.

The spec copies what ``packaging/bundle_config.py`` lists: libfluidsynth and the libraries it needs
that are not on every desktop, the FluidR3Mono GM SoundFont (MIT) where the app looks for
SoundFonts, and the licence file of each; the libraries left to the host are dropped, each with
its reason; GPL-only optional extras stay out.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))

import bundle_config as cfg  # noqa: E402


def test_bundle_lists_libfluidsynth_the_soundfont_and_their_licences():
    assert "libfluidsynth.so.3" in cfg.INSTRUMENT_LIBRARIES
    dests = set(cfg.INSTRUMENT_DATA)
    sf3 = f"gdl_studio/_bundled/resources/soundfonts/{cfg.SOUNDFONT_NAME}"
    assert cfg.SOUNDFONT_NAME == "FluidR3Mono_GM.sf3" and sf3 in dests
    src, deb = cfg.INSTRUMENT_DATA[sf3]
    assert deb == "fluidr3mono-gm-soundfont" and src.endswith("/FluidR3Mono_GM.sf3")
    # A licence file for the SoundFont and for every bundled library's Debian package.
    licences = {deb for dest, (_src, deb) in cfg.INSTRUMENT_DATA.items() if dest.endswith(".copyright")}
    assert "fluidr3mono-gm-soundfont" in licences
    for soname, (deb, licence, why) in cfg.INSTRUMENT_LIBRARIES.items():
        assert deb in licences, f"no licence file for {soname} ({deb})"
        assert licence and why, soname
        assert "GPL-3.0" not in licence or "exception" in licence.lower(), f"{soname}: GPL-only in the bundle"
    for dest, (src, _deb) in cfg.INSTRUMENT_DATA.items():
        if dest.endswith(".copyright"):
            assert src.startswith("/usr/share/doc/") and src.endswith("/copyright"), dest
    # Everything the build needs on the build machine is installed by packaging/build.
    assert set(cfg.INSTRUMENT_DEBS) <= set(cfg.build_debs())
    assert {"libfluidsynth3", "fluidr3mono-gm-soundfont"} <= set(cfg.INSTRUMENT_DEBS)


def test_the_soundfont_lands_where_the_app_looks_for_soundfonts():
    """``gdl_studio.live.instrument`` looks in ``resources_dir() / "soundfonts"``; in a bundle
    resources_dir() is ``gdl_studio/_bundled/resources`` (the spec's BUNDLED)."""
    spec = (PACKAGING / "gdl-studio.spec").read_text(encoding="utf-8")
    assert 'BUNDLED = "gdl_studio/_bundled"' in spec
    assert "cfg.instrument_binaries()" in spec and "cfg.instrument_datas(" in spec
    sf3 = next(d for d in cfg.INSTRUMENT_DATA if d.endswith(".sf3"))
    assert sf3.rsplit("/", 1)[0] == "gdl_studio/_bundled/resources/soundfonts"


def test_libfluidsynth_is_kept_and_found_first_at_run_time():
    import fnmatch

    assert any(fnmatch.fnmatchcase("libfluidsynth.so.3", p) for p in cfg.KEEP_TOP_LEVEL)
    assert not cfg.dropped("libfluidsynth.so.3") and not cfg.dropped("libinstpatch-1.0.so.2")
    rthook = (PACKAGING / "hooks" / "rthooks" / "pyi_rth_gdl_portaudio.py").read_text(encoding="utf-8")
    assert '"fluidsynth": ("libfluidsynth.so.3",)' in rthook


def test_host_libraries_are_dropped_with_a_reason():
    for soname, (deb, why) in cfg.INSTRUMENT_HOST_LIBRARIES.items():
        assert cfg.dropped(soname), soname
        assert deb and len(why) > 20, soname
        assert soname not in cfg.INSTRUMENT_LIBRARIES
    # readline is GPL-3.0 only: never in the bundle (the .deb Depends on libreadline8 instead).
    assert cfg.INSTRUMENT_HOST_LIBRARIES["libreadline.so.8"][0] == "libreadline8"


def test_every_library_libfluidsynth_links_is_decided():
    """Each DT_NEEDED of the installed libfluidsynth is bundled, left to the host with a reason, or
    one the bundle already handles (glibc, the C++ runtime, GLib/D-Bus as for Qt, ALSA, JACK as for
    PortAudio)."""
    import elf

    path = cfg._find_library_file("libfluidsynth.so.3")
    if path is None:
        pytest.skip("libfluidsynth3 is not installed")
    decided = set(cfg.INSTRUMENT_LIBRARIES) | set(cfg.INSTRUMENT_HOST_LIBRARIES) | set(cfg.SYSTEM_LIBRARIES)
    decided |= {"libgmodule-2.0.so.0", "libgobject-2.0.so.0"}  # GLib, as libglib-2.0.so.0 for Qt
    undecided = sorted(set(elf.needed(path)) - decided)
    assert not undecided, f"libfluidsynth links libraries nobody decided on: {undecided}"


def test_instrument_datas_stages_each_file_under_its_bundle_name(tmp_path, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    (src / "copyright").write_text("MIT\n")
    (src / "a.sf3").write_bytes(b"RIFF\0\0\0\0sfbk")
    monkeypatch.setattr(
        cfg,
        "INSTRUMENT_DATA",
        {
            "gdl_studio/_bundled/resources/soundfonts/a.sf3": (str(src / "a.sf3"), "x"),
            "licenses/x.copyright": (str(src / "copyright"), "x"),
        },
    )
    out = cfg.instrument_datas(str(tmp_path / "stage"))
    assert sorted((Path(s).relative_to(tmp_path / "stage").as_posix(), d) for s, d in out) == [
        ("gdl_studio/_bundled/resources/soundfonts/a.sf3", "gdl_studio/_bundled/resources/soundfonts"),
        ("licenses/x.copyright", "licenses"),
    ]
    monkeypatch.setattr(cfg, "INSTRUMENT_DATA", {"licenses/y.copyright": (str(src / "missing"), "some-deb")})
    with pytest.raises(SystemExit, match="some-deb"):
        cfg.instrument_datas(str(tmp_path / "stage2"))


def test_gpl_only_optional_extras_stay_out():
    """aalink (Ableton Link, GPL-3.0) is optional: excluded from the bundle, and the bundle's
    selftest checks it is absent."""
    from gdl_studio.selftest import MUST_NOT_BE_BUNDLED

    assert "aalink" in cfg.GPL_ONLY_OPTIONAL
    assert cfg.excluded("aalink") and cfg.excluded("aalink._aalink")
    assert "aalink" in MUST_NOT_BE_BUNDLED
    assert not set(cfg.GPL_ONLY_OPTIONAL) & set(cfg.OPTIONAL_AT_RUN_TIME)


def test_selftest_has_the_instrument_check_and_only():
    from gdl_studio.selftest import CHECK_NAMES, parse_only

    assert "instrument" in CHECK_NAMES
    assert parse_only(["instrument"]) == ("instrument",)
    assert parse_only(["version,instrument", "paths"]) == ("version", "instrument", "paths")
    assert parse_only(None) is None
    with pytest.raises(ValueError, match="unknown check"):
        parse_only(["nope"])


def test_instrument_check_runs_alone_and_tells_the_gm_synth_from_the_additive_one(monkeypatch):
    """``selftest --only instrument``: ok where FluidSynth and a SoundFont are installed (skip in a
    source tree without them); an "instrument" that is the additive synth in disguise fails."""
    from gdl_studio import selftest
    from gdl_studio.live import instrument
    from gdl_studio.live.synth import PolySynth

    report = selftest.run_selftest(window=False, echo=None, isolate=False, only=("instrument",))
    (check,) = report.checks
    assert check.name == "instrument" and check.status in ("ok", "skip"), check
    if check.status == "ok":
        assert "energy above the 3rd partial" in check.detail

    class Disguised(PolySynth):
        def __init__(self, samplerate=48000.0, blocksize=256, **_kwargs):
            super().__init__(samplerate=samplerate, blocksize=blocksize)
            self.info = instrument.InstrumentInfo("/x/Fake.sf2", presets=[])

        def close(self):
            pass

    monkeypatch.setattr(instrument, "FluidInstrument", Disguised)
    report = selftest.run_selftest(window=False, echo=None, isolate=False, only=("instrument",))
    assert report.checks[0].status == "FAIL" and "additive" in report.checks[0].detail
