"""A General MIDI instrument: FluidSynth (libfluidsynth through pyfluidsynth) with a SoundFont.

:class:`FluidInstrument` is a scheduler *sink* with the same shape as
:class:`~gdl_studio.live.synth.PolySynth`: :meth:`FluidInstrument.send` takes raw MIDI bytes from any
thread and writes them into a preallocated ring; :meth:`FluidInstrument.render` (the body of the
audio callback) drains the ring into libfluidsynth and renders with ``fluid_synth_write_float``
straight into a preallocated float32 buffer, through ctypes. pyfluidsynth's ``get_samples``
allocates a fresh buffer (``create_string_buffer`` + ``numpy.frombuffer`` + a copy) on every call,
so the audio thread never uses it. Only the audio thread touches the synth once it plays
(``synth.threadsafe-api`` off: no lock inside FluidSynth either); loading, preset checks and
program defaults happen before.

Stopping is safe with the pedal down: All Notes Off (CC 123) from the scheduler also lifts the
sustain (CC 64) and sostenuto (CC 66) pedals of that channel before the notes are released.

:func:`find_soundfont` looks for a SoundFont: the path given, ``$GDL_STUDIO_SOUNDFONT``, the
app's ``resources/soundfonts`` (in a bundle: the FluidR3Mono GM SoundFont it ships), then the
usual system places (Debian's ``fluid-soundfont-gm`` / ``fluidr3mono-gm-soundfont``, Homebrew,
MuseScore). libfluidsynth is the bundle's own copy when frozen (:func:`bundled_library`), else the
one pyfluidsynth finds. :func:`load_instrument` returns the instrument or a one-line message saying
why the built-in additive synth plays instead.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gdl_studio.live.event_ring import EventRing
from gdl_studio.live.scheduler import DRUM_CHANNEL, channel_for_track

RING_SIZE = 4096
GRAIN = 64  # frames: FluidSynth renders in 64-frame blocks, so a timed note starts on one of them
DEFAULT_PROGRAM = 0  # Acoustic Grand Piano
DEFAULT_GAIN = 0.8

# Settings keys (QSettings paths) for the instrument; the UI's settings ``Key`` enum mirrors them.
SETTING_INSTRUMENT = "audio/instrument"  # "gm" (FluidSynth) or "additive"
SETTING_SOUNDFONT = "audio/soundfont"  # path of a .sf2/.sf3, "" = find one
SETTING_PROGRAMS = "audio/programs"  # list of 16 GM programs, one per MIDI channel

GM_PROGRAMS = (
    "Acoustic Grand Piano",
    "Bright Acoustic Piano",
    "Electric Grand Piano",
    "Honky-tonk Piano",
    "Electric Piano 1",
    "Electric Piano 2",
    "Harpsichord",
    "Clavinet",
    "Celesta",
    "Glockenspiel",
    "Music Box",
    "Vibraphone",
    "Marimba",
    "Xylophone",
    "Tubular Bells",
    "Dulcimer",
    "Drawbar Organ",
    "Percussive Organ",
    "Rock Organ",
    "Church Organ",
    "Reed Organ",
    "Accordion",
    "Harmonica",
    "Tango Accordion",
    "Acoustic Guitar (nylon)",
    "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)",
    "Electric Guitar (clean)",
    "Electric Guitar (muted)",
    "Overdriven Guitar",
    "Distortion Guitar",
    "Guitar Harmonics",
    "Acoustic Bass",
    "Electric Bass (finger)",
    "Electric Bass (pick)",
    "Fretless Bass",
    "Slap Bass 1",
    "Slap Bass 2",
    "Synth Bass 1",
    "Synth Bass 2",
    "Violin",
    "Viola",
    "Cello",
    "Contrabass",
    "Tremolo Strings",
    "Pizzicato Strings",
    "Orchestral Harp",
    "Timpani",
    "String Ensemble 1",
    "String Ensemble 2",
    "Synth Strings 1",
    "Synth Strings 2",
    "Choir Aahs",
    "Voice Oohs",
    "Synth Choir",
    "Orchestra Hit",
    "Trumpet",
    "Trombone",
    "Tuba",
    "Muted Trumpet",
    "French Horn",
    "Brass Section",
    "Synth Brass 1",
    "Synth Brass 2",
    "Soprano Sax",
    "Alto Sax",
    "Tenor Sax",
    "Baritone Sax",
    "Oboe",
    "English Horn",
    "Bassoon",
    "Clarinet",
    "Piccolo",
    "Flute",
    "Recorder",
    "Pan Flute",
    "Blown Bottle",
    "Shakuhachi",
    "Whistle",
    "Ocarina",
    "Lead 1 (square)",
    "Lead 2 (sawtooth)",
    "Lead 3 (calliope)",
    "Lead 4 (chiff)",
    "Lead 5 (charang)",
    "Lead 6 (voice)",
    "Lead 7 (fifths)",
    "Lead 8 (bass + lead)",
    "Pad 1 (new age)",
    "Pad 2 (warm)",
    "Pad 3 (polysynth)",
    "Pad 4 (choir)",
    "Pad 5 (bowed)",
    "Pad 6 (metallic)",
    "Pad 7 (halo)",
    "Pad 8 (sweep)",
    "FX 1 (rain)",
    "FX 2 (soundtrack)",
    "FX 3 (crystal)",
    "FX 4 (atmosphere)",
    "FX 5 (brightness)",
    "FX 6 (goblins)",
    "FX 7 (echoes)",
    "FX 8 (sci-fi)",
    "Sitar",
    "Banjo",
    "Shamisen",
    "Koto",
    "Kalimba",
    "Bagpipe",
    "Fiddle",
    "Shanai",
    "Tinkle Bell",
    "Agogo",
    "Steel Drums",
    "Woodblock",
    "Taiko Drum",
    "Melodic Tom",
    "Synth Drum",
    "Reverse Cymbal",
    "Guitar Fret Noise",
    "Breath Noise",
    "Seashore",
    "Bird Tweet",
    "Telephone Ring",
    "Helicopter",
    "Applause",
    "Gunshot",
)

# Instrument presets per track (track 0, 1, …); the last entry repeats for further tracks.
PRESETS: dict[str, tuple[int, ...]] = {
    "piano": (0,),
    "chorale-organ": (19,),  # Church Organ on every voice
    "chorale-choir": (52, 52, 53, 53),  # Choir Aahs on soprano/alto, Voice Oohs on tenor/bass
    "strings": (40, 41, 42, 43),  # violin, viola, cello, contrabass
}

SYSTEM_SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",  # Debian/Ubuntu fluid-soundfont-gm (MIT)
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",  # Fedora/Arch
    "/usr/share/soundfonts/default.sf2",
    "/usr/share/sounds/sf3/FluidR3Mono_GM.sf3",  # Debian fluidr3mono-gm-soundfont (MIT)
    "/usr/share/sounds/sf3/default-GM.sf3",
    "/usr/share/soundfonts/FluidR3Mono_GM.sf3",
    "/opt/homebrew/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "~/Library/Audio/Sounds/Banks/FluidR3_GM.sf2",
    "C:/soundfonts/FluidR3_GM.sf2",
)


class InstrumentUnavailable(RuntimeError):
    """FluidSynth or the SoundFont cannot be used; the message is one line for a person."""


def program_name(program: int) -> str:
    return GM_PROGRAMS[program] if 0 <= program < 128 else f"program {program}"


def preset_programs(preset: str, tracks: int = 16) -> list[int]:
    """GM programs for ``tracks`` tracks from a :data:`PRESETS` name (unknown → piano)."""
    table = PRESETS.get(preset, PRESETS["piano"])
    return [table[min(i, len(table) - 1)] for i in range(tracks)]


def channel_programs(track_programs: list[int] | dict[int, int] | None) -> list[int]:
    """The program of each of the 16 MIDI channels, from programs per *track* (the scheduler
    plays track ``k`` on :func:`~gdl_studio.live.scheduler.channel_for_track`)."""
    programs = [DEFAULT_PROGRAM] * 16
    if not track_programs:
        return programs
    items = track_programs.items() if isinstance(track_programs, dict) else enumerate(track_programs)
    for track, prog in items:
        ch = channel_for_track(int(track))
        if int(track) < 15:
            programs[ch] = max(0, min(127, int(prog)))
    return programs


# ------------------------------------------------------------------------------------ finding
def _resources_soundfonts() -> list[Path]:
    try:
        from gdl_studio.core.paths import resources_dir

        folder = resources_dir() / "soundfonts"
    except Exception:
        return []
    if not folder.is_dir():
        return []
    return sorted([*folder.glob("*.sf2"), *folder.glob("*.sf3")])


def _bundle_dir() -> Path | None:
    """The bundle's ``_internal`` folder when running frozen (PyInstaller), else None."""
    base = getattr(sys, "_MEIPASS", None) if getattr(sys, "frozen", False) else None
    return Path(base) if base else None


def bundled_library() -> Path | None:
    """The bundle's own libfluidsynth (``packaging/bundle_config.INSTRUMENT_LIBRARIES``) when
    frozen and present, else None."""
    base = _bundle_dir()
    if base is None:
        return None
    names = (
        ("libfluidsynth.so.3",)
        if sys.platform.startswith("linux")
        else ("libfluidsynth.3.dylib", "libfluidsynth-3.dll")
    )
    return next((base / n for n in names if (base / n).is_file()), None)


def soundfont_candidates() -> list[Path]:
    """Every place looked at, in order (the user's choice comes first, see :func:`find_soundfont`)."""
    out: list[Path] = []
    env = os.environ.get("GDL_STUDIO_SOUNDFONT", "").strip()
    if env:
        out.append(Path(env).expanduser())
    out += _resources_soundfonts()
    out += [Path(p).expanduser() for p in SYSTEM_SOUNDFONTS]
    return out


def find_soundfont(path: str | os.PathLike | None = None) -> Path | None:
    """The SoundFont to use: ``path`` if given (even if it does not exist, so the caller can say
    so), else the first candidate that exists, else None."""
    if path:
        return Path(path).expanduser()
    for cand in soundfont_candidates():
        if cand.is_file():
            return cand
    return None


def check_soundfont_file(path: Path) -> None:
    """Raise :class:`InstrumentUnavailable` unless ``path`` looks like a SoundFont (RIFF sfbk)."""
    if not path.is_file():
        raise InstrumentUnavailable(f"SoundFont {path} does not exist")
    if path.suffix.lower() not in (".sf2", ".sf3"):
        raise InstrumentUnavailable(f"{path.name} is not a SoundFont (.sf2 or .sf3)")
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise InstrumentUnavailable(f"cannot read SoundFont {path.name} ({exc.strerror or exc})") from None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
        raise InstrumentUnavailable(f"{path.name} is not a valid SoundFont (no RIFF 'sfbk' header)")


# ------------------------------------------------------------------------------------ libfluidsynth
_lib_lock = threading.Lock()
_lib: dict[str, object] = {}


class _Lib:
    """Our own ctypes handle on libfluidsynth (pyfluidsynth finds and loads it; our function
    objects carry their own argtypes, independent of pyfluidsynth's)."""

    def __init__(self, name: str) -> None:
        dll = ctypes.CDLL(name)
        vp, i, d, cp = ctypes.c_void_p, ctypes.c_int, ctypes.c_double, ctypes.c_char_p

        def fn(fname, res, *args):
            func = getattr(dll, fname)
            func.restype = res
            func.argtypes = list(args)
            return func

        self.new_settings = fn("new_fluid_settings", vp)
        self.delete_settings = fn("delete_fluid_settings", None, vp)
        self.setint = fn("fluid_settings_setint", i, vp, cp, i)
        self.setnum = fn("fluid_settings_setnum", i, vp, cp, d)
        self.setstr = fn("fluid_settings_setstr", i, vp, cp, cp)
        self.new_synth = fn("new_fluid_synth", vp, vp)
        self.delete_synth = fn("delete_fluid_synth", None, vp)
        self.sfload = fn("fluid_synth_sfload", i, vp, cp, i)
        self.get_sfont_by_id = fn("fluid_synth_get_sfont_by_id", vp, vp, i)
        self.sfont_get_preset = fn("fluid_sfont_get_preset", vp, vp, i, i)
        self.sfont_iteration_start = fn("fluid_sfont_iteration_start", None, vp)
        self.sfont_iteration_next = fn("fluid_sfont_iteration_next", vp, vp)
        self.preset_get_name = fn("fluid_preset_get_name", cp, vp)
        self.preset_get_banknum = fn("fluid_preset_get_banknum", i, vp)
        self.preset_get_num = fn("fluid_preset_get_num", i, vp)
        self.program_select = fn("fluid_synth_program_select", i, vp, i, i, i, i)
        self.noteon = fn("fluid_synth_noteon", i, vp, i, i, i)
        self.noteoff = fn("fluid_synth_noteoff", i, vp, i, i)
        self.cc = fn("fluid_synth_cc", i, vp, i, i, i)
        self.program_change = fn("fluid_synth_program_change", i, vp, i, i)
        self.pitch_bend = fn("fluid_synth_pitch_bend", i, vp, i, i)
        self.channel_pressure = fn("fluid_synth_channel_pressure", i, vp, i, i)
        self.all_notes_off = fn("fluid_synth_all_notes_off", i, vp, i)
        self.all_sounds_off = fn("fluid_synth_all_sounds_off", i, vp, i)
        self.system_reset = fn("fluid_synth_system_reset", i, vp)
        self.write_float = fn("fluid_synth_write_float", i, vp, i, vp, i, i, vp, i, i)
        self.get_active_voice_count = fn("fluid_synth_get_active_voice_count", i, vp)
        self.set_log_function = fn("fluid_set_log_function", vp, i, vp, vp)
        self.version = fn("fluid_version_str", cp)
        self.LOG_CB = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)
        self.log_messages: list[str] = []
        self._log_cb = self.LOG_CB(self._on_log)
        for level in (0, 1, 2, 3):  # panic, error, warning, info: keep them, print nothing
            self.set_log_function(level, ctypes.cast(self._log_cb, ctypes.c_void_p), None)

    def _on_log(self, level, message, _data) -> None:
        if len(self.log_messages) < 200:
            self.log_messages.append((message or b"").decode("utf-8", "replace"))


def fluidsynth_lib() -> _Lib:
    """libfluidsynth, loaded once; raises :class:`InstrumentUnavailable` with a clear message."""
    with _lib_lock:
        if "lib" in _lib:
            return _lib["lib"]  # type: ignore[return-value]
        if "error" in _lib:
            raise InstrumentUnavailable(str(_lib["error"]))
        try:
            bundled = bundled_library()
            if bundled is not None:  # frozen: the bundle's copy first, not a system one
                try:
                    lib = _Lib(str(bundled))
                except (OSError, AttributeError) as exc:
                    raise InstrumentUnavailable(f"the bundled FluidSynth could not be loaded ({exc})") from None
                _lib["lib"] = lib
                return lib
            try:
                import contextlib
                import io

                with contextlib.redirect_stdout(io.StringIO()):  # it prints where it found the library when $CI is set
                    import fluidsynth  # pyfluidsynth: finds libfluidsynth on every platform
            except ImportError as exc:
                raise InstrumentUnavailable(
                    f"FluidSynth is not available ({str(exc).splitlines()[0]}): install libfluidsynth3 and pyfluidsynth"
                ) from None
            except OSError as exc:
                raise InstrumentUnavailable(f"FluidSynth could not be loaded ({exc})") from None
            name = getattr(getattr(fluidsynth, "_fl", None), "_name", None)
            if not name:
                raise InstrumentUnavailable("pyfluidsynth did not find libfluidsynth")
            try:
                lib = _Lib(name)
            except (OSError, AttributeError) as exc:
                msg = f"libfluidsynth is too old or broken ({exc}); FluidSynth 2.x is needed"
                raise InstrumentUnavailable(msg) from None
        except InstrumentUnavailable as exc:
            _lib["error"] = str(exc)
            raise
        _lib["lib"] = lib
        return lib


# ------------------------------------------------------------------------------------ instrument
@dataclass
class Preset:
    bank: int
    program: int
    name: str


@dataclass
class InstrumentInfo:
    """What was loaded, for a status line and the instrument controls."""

    soundfont: str
    presets: list[Preset] = field(default_factory=list)
    programs: list[int] = field(default_factory=lambda: [DEFAULT_PROGRAM] * 16)
    warnings: list[str] = field(default_factory=list)

    def has(self, program: int, bank: int = 0) -> bool:
        return any(p.bank == bank and p.program == program for p in self.presets)

    def describe(self) -> str:
        name = Path(self.soundfont).stem
        progs = sorted({self.programs[c] for c in range(16) if c != DRUM_CHANNEL})
        first = program_name(self.programs[0])
        return f"{name}: {first}" + (f" (+{len(progs) - 1} more)" if len(progs) > 1 else "")


class FluidInstrument:
    """FluidSynth with one SoundFont, rendering ``blocksize`` frames per :meth:`render` call.

    ``programs``: the GM program of each MIDI channel (see :func:`channel_programs`); a program the
    SoundFont lacks falls back to the nearest one it has (with a warning in ``info.warnings``).
    """

    def __init__(
        self,
        soundfont: str | os.PathLike | None = None,
        samplerate: float = 48000.0,
        blocksize: int = 256,
        programs: list[int] | None = None,
        gain: float = DEFAULT_GAIN,
        polyphony: int = 256,
        reverb: bool = True,
        chorus: bool = True,
    ) -> None:
        lib = fluidsynth_lib()
        path = find_soundfont(soundfont)
        if path is None:
            raise InstrumentUnavailable(
                "no General MIDI SoundFont found (install fluid-soundfont-gm or choose a .sf2/.sf3 file)"
            )
        check_soundfont_file(path)
        self.lib = lib
        self.samplerate = float(samplerate)
        self.blocksize = int(blocksize)
        self.channels = 2
        self._settings = lib.new_settings()
        lib.setnum(self._settings, b"synth.sample-rate", self.samplerate)
        lib.setnum(self._settings, b"synth.gain", float(gain))
        lib.setint(self._settings, b"synth.polyphony", int(polyphony))
        lib.setint(self._settings, b"synth.midi-channels", 16)
        lib.setint(self._settings, b"synth.threadsafe-api", 0)  # one thread (the audio one) plays it
        lib.setint(self._settings, b"synth.reverb.active", int(reverb))
        lib.setint(self._settings, b"synth.chorus.active", int(chorus))
        lib.setint(self._settings, b"synth.cpu-cores", 1)
        self._synth = lib.new_synth(self._settings)
        if not self._synth:
            lib.delete_settings(self._settings)
            raise InstrumentUnavailable("FluidSynth could not create a synthesiser")
        del lib.log_messages[:]
        sfid = lib.sfload(self._synth, str(path).encode(), 1)
        if sfid < 0:
            detail = next((m for m in reversed(lib.log_messages) if m), "")
            self.close()
            raise InstrumentUnavailable(
                f"FluidSynth could not load the SoundFont {path.name}" + (f" ({detail})" if detail else "")
            )
        self.sfont_id = sfid
        self.info = InstrumentInfo(str(path), presets=self._list_presets())
        if not any(p.bank == 0 for p in self.info.presets):
            self.close()
            raise InstrumentUnavailable(f"the SoundFont {path.name} has no melodic presets (bank 0)")
        self._prog_map = [self.resolve_program(prog)[0] for prog in range(128)]  # for the audio thread
        self.set_programs(programs if programs is not None else [DEFAULT_PROGRAM] * 16, apply_now=True)
        n = self.blocksize
        self._buf = np.zeros((n, 2), dtype=np.float32)
        self._buf_ptr = ctypes.c_void_p(self._buf.ctypes.data)
        self._ring = EventRing(RING_SIZE)
        self.blocks = 0
        self._closed = False
        self._pos = 0  # frames of the current block rendered so far (render_timed)
        self._frames = n
        self.timed_events = 0

    # ---------------------------------------------------------------- presets
    def _list_presets(self) -> list[Preset]:
        lib = self.lib
        sfont = lib.get_sfont_by_id(self._synth, self.sfont_id)
        out: list[Preset] = []
        if not sfont:
            return out
        lib.sfont_iteration_start(sfont)
        for _ in range(65536):
            preset = lib.sfont_iteration_next(sfont)
            if not preset:
                break
            name = (lib.preset_get_name(preset) or b"").decode("latin-1", "replace").strip()
            out.append(Preset(lib.preset_get_banknum(preset), lib.preset_get_num(preset), name))
        out.sort(key=lambda p: (p.bank, p.program))
        return out

    def resolve_program(self, program: int) -> tuple[int, str]:
        """``(program to use, warning or '')``: the program itself if the SoundFont has it in
        bank 0, else the nearest lower (then higher) one it has."""
        program = max(0, min(127, int(program)))
        have = sorted(p.program for p in self.info.presets if p.bank == 0)
        if program in have:
            return program, ""
        lower = [p for p in have if p < program]
        sub = lower[-1] if lower else have[0]
        return sub, (
            f"{Path(self.info.soundfont).name} has no program {program} ({program_name(program)}); "
            f"playing {sub} ({program_name(sub)}) instead"
        )

    def set_programs(self, programs: list[int], apply_now: bool = False) -> list[str]:
        """Set the program of each channel (16 values; missing ones are piano). Returns warnings.
        While playing, the changes reach the audio thread as program-change messages."""
        warnings = []
        progs = list(programs)[:16] + [DEFAULT_PROGRAM] * (16 - len(programs))
        for ch in range(16):
            if ch == DRUM_CHANNEL:
                self.info.programs[ch] = 0
                continue
            prog, warning = self.resolve_program(progs[ch])
            if warning and warning not in warnings:
                warnings.append(warning)
            self.info.programs[ch] = prog
            if apply_now:
                self.lib.program_select(self._synth, ch, self.sfont_id, 0, prog)
            else:
                self.send((0xC0 | ch, prog, 0))
        self.info.warnings = warnings
        return warnings

    # ---------------------------------------------------------------- producer side
    def send(self, data) -> None:
        """Queue raw MIDI bytes; any thread. Program changes are checked against the SoundFont."""
        b0 = int(data[0])
        b1 = int(data[1]) if len(data) > 1 else 0
        b2 = int(data[2]) if len(data) > 2 else 0
        if b0 & 0xF0 == 0xC0 and (b0 & 15) != DRUM_CHANNEL:
            b1 = self.resolve_program(b1)[0]
        self._ring.push(b0, b1, b2)  # dropped (and counted) if the audio side stalled

    def note_on(self, pitch: int, velocity: int = 100, channel: int = 0) -> None:
        self.send((0x90 | channel, pitch, velocity))

    def note_off(self, pitch: int, channel: int = 0) -> None:
        self.send((0x80 | channel, pitch, 0))

    def all_notes_off(self) -> None:
        for ch in range(16):
            self.send((0xB0 | ch, 123, 0))

    @property
    def active_voices(self) -> int:
        return int(self.lib.get_active_voice_count(self._synth)) if self._synth else 0

    # ---------------------------------------------------------------- audio side
    def _apply(self, b0: int, b1: int, b2: int) -> None:
        lib, synth = self.lib, self._synth
        status, ch = b0 & 0xF0, b0 & 15
        if status == 0x90:
            if b2 > 0:
                lib.noteon(synth, ch, b1, b2)
            else:
                lib.noteoff(synth, ch, b1)
        elif status == 0x80:
            lib.noteoff(synth, ch, b1)
        elif status == 0xB0:
            if b1 == 123 or b1 == 120:  # all notes / sound off: lift the pedals first (no stuck notes)
                lib.cc(synth, ch, 64, 0)
                lib.cc(synth, ch, 66, 0)
                if b1 == 120:
                    lib.all_sounds_off(synth, ch)
                else:
                    lib.all_notes_off(synth, ch)
            else:
                lib.cc(synth, ch, b1, b2)
        elif status == 0xC0:
            lib.program_select(synth, ch, self.sfont_id, 128 if ch == DRUM_CHANNEL else 0, b1)
        elif status == 0xE0:
            lib.pitch_bend(synth, ch, b1 | (b2 << 7))
        elif status == 0xD0:
            lib.channel_pressure(synth, ch, b1)
        elif b0 == 0xFF:  # system reset
            lib.system_reset(synth)

    @property
    def dropped(self) -> int:
        """Messages lost because the audio side stalled (the ring was full)."""
        return self._ring.dropped

    def render(self, out: np.ndarray) -> None:
        """Fill ``out`` (frames × 2, float32) with the next block; the audio callback.

        No array is allocated, no lock taken, no I/O done: the ring is read with plain index
        arithmetic and FluidSynth writes into the preallocated buffer, which is copied to ``out``.
        """
        if self._closed or out.shape[0] != self.blocksize:
            out.fill(0.0)
            return
        if self._ring.pending:
            self._ring.drain(self._apply)
        self.lib.write_float(self._synth, self.blocksize, self._buf_ptr, 0, 2, self._buf_ptr, 1, 2)
        if out.shape[1] == 2:
            np.copyto(out, self._buf)
        else:
            np.copyto(out, self._buf[:, :1])
        self.blocks += 1

    def render_timed(self, out: np.ndarray, queue, start: float, period: float) -> None:
        """Like :meth:`render`, plus the events of ``queue`` (a :class:`~gdl_studio.live.timed.TimedQueue`)
        due in this block, each from its own frame offset: the block ``[start, start + period)``
        (perf_counter seconds) is rendered in pieces split at the events, each offset rounded to
        the nearest :data:`GRAIN` frames (FluidSynth's own block; ±0.67 ms at 48 kHz).

        The same real-time rules as :meth:`render`: FluidSynth writes into the preallocated buffer
        at a sample offset, the queue hands out events without allocating.
        """
        n = self.blocksize
        if self._closed or out.shape[0] != n:
            out.fill(0.0)
            return
        if self._ring.pending:
            self._ring.drain(self._apply)  # untimed messages (send) first, at the block start
        self._pos = 0
        self._frames = n
        queue._run_cycle(start, period, n, self._timed_write)
        if self._pos < n:
            self._write_frames(self._pos, n)
        if out.shape[1] == 2:
            np.copyto(out, self._buf)
        else:
            np.copyto(out, self._buf[:, :1])
        self.blocks += 1

    def _write_frames(self, a: int, b: int) -> None:
        """Render frames ``a`` … ``b`` − 1 of the block into the buffer (audio thread)."""
        self.lib.write_float(self._synth, b - a, self._buf_ptr, 2 * a, 2, self._buf_ptr, 2 * a + 1, 2)
        self._pos = b

    def _timed_write(self, off: int, msg) -> None:
        """One event of the block at frame ``off`` (called by the queue inside :meth:`render_timed`)."""
        q = (off + GRAIN // 2) // GRAIN * GRAIN
        if q > self._frames:
            q = self._frames
        if q > self._pos:
            self._write_frames(self._pos, q)
        size = len(msg)
        b0 = msg[0]
        b1 = msg[1] if size > 1 else 0
        b2 = msg[2] if size > 2 else 0
        if b0 & 0xF0 == 0xC0 and (b0 & 15) != DRUM_CHANNEL:
            b1 = self._prog_map[b1 & 127]
        self._apply(b0, b1, b2)
        self.timed_events += 1

    def callback(self, outdata, frames, time_info, status) -> None:
        """sounddevice callback."""
        self.render(outdata)

    # ---------------------------------------------------------------- offline
    def render_frames(self, frames: int, out: np.ndarray | None = None) -> np.ndarray:
        """Render ``frames`` frames now (offline use, no ring): a (frames × 2) float32 array."""
        if out is None:
            out = np.zeros((frames, 2), dtype=np.float32)
        ptr = ctypes.c_void_p(out.ctypes.data)
        self.lib.write_float(self._synth, int(frames), ptr, 0, 2, ptr, 1, 2)
        return out

    def apply_now(self, data) -> None:
        """Apply MIDI bytes immediately on the calling thread (offline rendering only)."""
        b = list(data) + [0, 0]
        if (b[0] & 0xF0) == 0xC0 and (b[0] & 15) != DRUM_CHANNEL:
            b[1] = self.resolve_program(b[1])[0]
            self.info.programs[b[0] & 15] = b[1]
        self._apply(int(b[0]), int(b[1]), int(b[2]))

    def close(self) -> None:
        """Free the synth (call only once the audio stream no longer renders it)."""
        self._closed = True
        synth, self._synth = getattr(self, "_synth", None), None
        if synth:
            self.lib.delete_synth(synth)
        settings, self._settings = getattr(self, "_settings", None), None
        if settings:
            self.lib.delete_settings(settings)

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass


def load_instrument(
    soundfont: str | None = None,
    samplerate: float = 48000.0,
    blocksize: int = 256,
    programs: list[int] | None = None,
    **kwargs,
) -> tuple[FluidInstrument | None, str]:
    """``(instrument, '')`` or ``(None, one-line message)`` saying why the additive synth plays."""
    try:
        return FluidInstrument(soundfont, samplerate, blocksize, programs, **kwargs), ""
    except InstrumentUnavailable as exc:
        return None, f"{exc}; using the built-in additive synth."


def platform_hint() -> str:
    """How to get FluidSynth and a SoundFont on this platform (one line)."""
    if sys.platform.startswith("linux"):
        return "sudo apt install libfluidsynth3 fluid-soundfont-gm && pip install pyfluidsynth"
    if sys.platform == "darwin":
        return "brew install fluid-synth && pip install pyfluidsynth, then choose a .sf2 SoundFont"
    return "install FluidSynth (fluidsynth.org) and pip install pyfluidsynth, then choose a .sf2 SoundFont"
