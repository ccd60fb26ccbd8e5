"""View-models of the instrument and sync controls (no Qt): plain values in, plain values out.

:class:`InstrumentModel` holds the built-in output's instrument (GM via FluidSynth or the
additive synth), the SoundFont path and a GM program per track, checks a chosen SoundFont,
and turns them into what :meth:`gdl_studio.live.session.LiveSession.configure_instrument` takes.
:class:`SyncModel` holds the sync mode (internal / follow an external MIDI clock / send clock as
master), the clock ports and where playback lands on an external grid, and words the transport's
state for a status line.

Both read and write settings through two callables, ``get(key, default)`` and ``set(key, value)``
(e.g. a QSettings wrapper), under the keys of :mod:`gdl_studio.live.instrument` and
:mod:`gdl_studio.live.clock`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdl_studio.live import clock as clk
from gdl_studio.live import instrument as ins

Getter = Callable[[str, Any], Any]
Setter = Callable[[str, Any], None]

INSTRUMENTS = (("gm", "General MIDI (FluidSynth)"), ("additive", "Built-in additive synth"))
SYNC_MODES = (
    ("internal", "Internal tempo"),
    ("follow", "Follow external MIDI clock"),
    ("master", "Send MIDI clock (master)"),
    ("link", "Ableton Link"),
)
ALIGNS = (("song", "Song position"), ("beat", "Next beat"), ("bar", "Next bar"))
MAX_TRACKS = 16


def _int_list(value, n: int, default: int) -> list[int]:
    if isinstance(value, str):
        value = [v for v in value.replace(";", ",").split(",") if v.strip()]
    try:
        items = [max(0, min(127, int(v))) for v in (value or [])]
    except (TypeError, ValueError):
        items = []
    return (items + [default] * n)[:n]


@dataclass
class InstrumentModel:
    instrument: str = "gm"
    soundfont: str = ""  # "" = the GM SoundFont found on the system
    programs: list[int] = field(default_factory=lambda: [ins.DEFAULT_PROGRAM] * MAX_TRACKS)  # per track
    message: str = ""  # the last problem, for the status line

    # ---------------------------------------------------------------- settings
    @classmethod
    def load(cls, get: Getter) -> InstrumentModel:
        instrument = str(get(ins.SETTING_INSTRUMENT, "gm") or "gm")
        if instrument not in dict(INSTRUMENTS):
            instrument = "gm"
        return cls(
            instrument=instrument,
            soundfont=str(get(ins.SETTING_SOUNDFONT, "") or ""),
            programs=_int_list(get(ins.SETTING_PROGRAMS, []), MAX_TRACKS, ins.DEFAULT_PROGRAM),
        )

    def save(self, set_: Setter) -> None:
        set_(ins.SETTING_INSTRUMENT, self.instrument)
        set_(ins.SETTING_SOUNDFONT, self.soundfont)
        set_(ins.SETTING_PROGRAMS, list(self.programs))

    # ---------------------------------------------------------------- choices
    @staticmethod
    def program_choices() -> list[tuple[int, str]]:
        """``(program, "1 Acoustic Grand Piano")`` for a combo box (GM numbers 1–128 shown)."""
        return [(p, f"{p + 1} {name}") for p, name in enumerate(ins.GM_PROGRAMS)]

    @staticmethod
    def preset_choices() -> list[tuple[str, str]]:
        labels = {
            "piano": "Piano",
            "chorale-organ": "Chorale: organ",
            "chorale-choir": "Chorale: choir",
            "strings": "String quartet",
        }
        return [(name, labels.get(name, name)) for name in ins.PRESETS]

    def soundfont_label(self) -> str:
        if self.soundfont:
            return Path(self.soundfont).name
        found = ins.find_soundfont()
        return f"{found.name} (found)" if found else "none found"

    # ---------------------------------------------------------------- intents
    def set_instrument(self, instrument: str) -> None:
        if instrument in dict(INSTRUMENTS):
            self.instrument = instrument

    def set_soundfont(self, path: str) -> str:
        """Choose a SoundFont file ('' = automatic); returns '' or why it cannot be used (then
        nothing changes)."""
        if not path:
            self.soundfont, self.message = "", ""
            return ""
        try:
            ins.check_soundfont_file(Path(path).expanduser())
        except ins.InstrumentUnavailable as exc:
            self.message = str(exc)
            return self.message
        self.soundfont, self.message = str(Path(path).expanduser()), ""
        return ""

    def set_program(self, track: int, program: int) -> None:
        if 0 <= track < MAX_TRACKS:
            self.programs[track] = max(0, min(127, int(program)))

    def use_file_programs(self, programs: dict[int, int]) -> int:
        """Take the programs a MIDI file names for its tracks (track → GM program); returns how
        many tracks changed (tracks past the controls' count are left to the default)."""
        before = list(self.programs)
        for track, program in programs.items():
            self.set_program(track, program)
        return sum(a != b for a, b in zip(before, self.programs))

    def apply_preset(self, preset: str, tracks: int = 4) -> None:
        """Programs for the first ``tracks`` tracks from a preset (e.g. chorale voices → choir)."""
        progs = ins.preset_programs(preset, tracks)
        for t, p in enumerate(progs):
            self.set_program(t, p)

    # ---------------------------------------------------------------- to the session
    def channel_programs(self) -> list[int]:
        return ins.channel_programs(self.programs)

    def session_config(self) -> dict:
        """Keyword arguments of ``LiveSession.configure_instrument``."""
        return {"instrument": self.instrument, "soundfont": self.soundfont, "programs": self.channel_programs()}

    def render_kwargs(self) -> dict:
        """Keyword arguments of :func:`gdl_studio.live.render.render_notes` for Export audio…"""
        return {
            "instrument": self.instrument,
            "soundfont": self.soundfont or None,
            "programs": {t: p for t, p in enumerate(self.programs)},
        }


@dataclass
class SyncModel:
    mode: str = "internal"
    clock_in: str = ""
    clock_out: str = ""
    align: str = "song"

    @classmethod
    def load(cls, get: Getter) -> SyncModel:
        mode = str(get(clk.SETTING_SYNC_MODE, "internal") or "internal")
        align = str(get(clk.SETTING_SYNC_ALIGN, "song") or "song")
        return cls(
            mode=mode if mode in dict(SYNC_MODES) else "internal",
            clock_in=str(get(clk.SETTING_SYNC_CLOCK_IN, "") or ""),
            clock_out=str(get(clk.SETTING_SYNC_CLOCK_OUT, "") or ""),
            align=align if align in dict(ALIGNS) else "song",
        )

    def save(self, set_: Setter) -> None:
        set_(clk.SETTING_SYNC_MODE, self.mode)
        set_(clk.SETTING_SYNC_CLOCK_IN, self.clock_in)
        set_(clk.SETTING_SYNC_CLOCK_OUT, self.clock_out)
        set_(clk.SETTING_SYNC_ALIGN, self.align)

    def set_mode(self, mode: str) -> None:
        if mode in dict(SYNC_MODES):
            self.mode = mode

    def set_align(self, align: str) -> None:
        if align in dict(ALIGNS):
            self.align = align

    @property
    def follows(self) -> bool:
        return self.mode == "follow"

    @staticmethod
    def status(transport: clk.Transport | None, mode: str) -> str:
        """One line about the grid: tempo, running, waiting or lost."""
        if mode == "internal" or transport is None:
            return ""
        if mode == "link":
            return f"Ableton Link: {transport.tempo_bpm:.1f} BPM, beat {transport.beat_at() + 1:.0f}"
        if mode == "master":
            return (
                f"Sending MIDI clock: {transport.tempo_bpm:.1f} BPM"
                if transport.running
                else "MIDI clock master: stopped"
            )
        if transport.message and not transport.running:
            return transport.message
        if transport.mode != clk.EXTERNAL or (not transport.running and transport.estimator().count == 0):
            return "Waiting for an external MIDI clock…"
        if transport.running and transport.ready:
            return f"Following external clock: {transport.tempo_bpm:.1f} BPM, beat {transport.beat_at() + 1:.0f}"
        if transport.running:
            return "External clock started: measuring the tempo…"
        return f"External clock stopped at beat {transport.beat_at() + 1:.0f}"
