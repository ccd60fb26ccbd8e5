"""Bounce to audio: render MIDI offline with the same instrument the app plays.

``gdl-studio render IN.mid -o OUT.wav|.flac [--soundfont F] [--program N]`` and the Compose
panel's File → Export audio… both end in :func:`render_events`: FluidSynth without an audio
driver (``fluid_synth_write_float`` between event times, so every event lands on its exact
frame), written with soundfile (WAV or FLAC, 16- or 24-bit) or, without soundfile, the standard
library's ``wave`` (WAV only). Without FluidSynth or a SoundFont the additive synth renders
instead and the result says so.

:func:`events_from_midi` keeps everything a MIDI file says (tempo changes, program changes,
sustain pedal, drums); :func:`events_from_notes` turns the panel's notes (beats) into events
with a program per track.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gdl_studio.core.errors import UserError
from gdl_studio.live.scheduler import DRUM_CHANNEL, channel_for_track, note_off, note_on

if TYPE_CHECKING:
    from gdl_studio.live.instrument import FluidInstrument

TAIL_MAX_S = 6.0  # render at most this long after the last event, until it is silent
SILENCE = 1e-4  # peak below which the tail counts as silent
CHUNK = 4096  # frames rendered per write_float call between events
MAX_SECONDS = 3 * 3600.0
FORMATS = {".wav": "WAV", ".flac": "FLAC"}


@dataclass
class RenderResult:
    """What :func:`render_events` produced."""

    path: str
    seconds: float  # length of the audio
    wall_s: float  # time it took
    samplerate: int
    instrument: str  # "FluidR3_GM: Acoustic Grand Piano" or "additive synth"
    rms: float
    peak: float
    message: str = ""  # why the additive synth rendered
    warnings: list[str] = field(default_factory=list)  # e.g. a program the SoundFont lacks
    load_s: float = 0.0  # of wall_s, loading the SoundFont

    @property
    def render_factor(self) -> float:
        """Like :attr:`realtime_factor`, without the SoundFont's loading time."""
        busy = self.wall_s - self.load_s
        return self.seconds / busy if busy > 0 else float("inf")

    @property
    def realtime_factor(self) -> float:
        """Seconds of audio per second of rendering (> 1: faster than real time)."""
        return self.seconds / self.wall_s if self.wall_s > 0 else float("inf")


# ------------------------------------------------------------------------------------ events
def events_from_midi(path: str | os.PathLike, program: int | None = None) -> list[tuple[float, tuple[int, ...]]]:
    """``(seconds, bytes)`` of every channel message of a MIDI file (its tempo map applied).

    ``program`` replaces the file's programs on every melodic channel.
    """
    import mido

    from gdl_studio.music.midi_io import read_midi

    read_midi(Path(path))  # the file's problems, as the app words them (UserError)
    mid = mido.MidiFile(str(path))
    events: list[tuple[float, tuple[int, ...]]] = []
    t = 0.0
    if program is not None:
        events += [(0.0, (0xC0 | ch, program)) for ch in range(16) if ch != DRUM_CHANNEL]
    for msg in mid:  # mido merges the tracks and converts ticks to seconds with the tempo map
        t += msg.time
        if msg.is_meta or msg.type == "sysex":
            continue
        data = tuple(msg.bytes())
        if program is not None and data[0] & 0xF0 == 0xC0 and (data[0] & 15) != DRUM_CHANNEL:
            continue
        if t > MAX_SECONDS:
            raise UserError(f"{Path(path).name}: longer than {MAX_SECONDS / 3600:.0f} hours")
        events.append((t, data))
    return events


def events_from_notes(
    notes: Iterable,
    tempo_bpm: float,
    programs: list[int] | dict[int, int] | None = None,
) -> list[tuple[float, tuple[int, ...]]]:
    """Events for ``notes`` (beats, with ``track``) at ``tempo_bpm``; ``programs`` per track."""
    spb = 60.0 / max(1.0, float(tempo_bpm))
    events: list[tuple[float, tuple[int, ...]]] = []
    tracks = sorted({n.track for n in notes})
    table = programs or {}
    for track in tracks:
        prog = table.get(track) if isinstance(table, dict) else (table[track] if track < len(table) else None)
        if prog is not None:
            events.append((0.0, (0xC0 | channel_for_track(track), int(prog))))
    for n in notes:
        ch = channel_for_track(n.track)
        events.append((n.start * spb, note_on(ch, n.pitch, n.velocity)))
        events.append((n.end * spb, note_off(ch, n.pitch)))
    # at one time: program changes, then note-offs, then note-ons
    rank = {0xC0: 0, 0x80: 1, 0xB0: 2, 0x90: 3}
    events.sort(key=lambda e: (e[0], rank.get(e[1][0] & 0xF0, 2)))
    return events


# ------------------------------------------------------------------------------------ rendering
class _AdditiveOffline:
    """The additive synth driven offline (it renders fixed blocks)."""

    def __init__(self, samplerate: int) -> None:
        from gdl_studio.live.synth import PolySynth

        self.synth = PolySynth(samplerate=samplerate, blocksize=256, voices=48)
        self.block = np.zeros((256, 2), dtype=np.float32)
        self.info = None

    def apply_now(self, data) -> None:
        if data[0] & 0xF0 in (0x80, 0x90, 0xB0):
            self.synth.send(data)

    def render_frames(self, frames: int, out: np.ndarray) -> np.ndarray:
        # whole blocks only: the caller asks for multiples of 256 (events snap to the block)
        for k in range(0, frames, 256):
            self.synth.render(self.block)
            m = min(256, frames - k)
            out[k : k + m] = self.block[:m]
        return out

    def close(self) -> None:
        pass


def render_events(
    events: list[tuple[float, tuple[int, ...]]],
    out_path: str | os.PathLike,
    soundfont: str | None = None,
    programs: list[int] | None = None,
    samplerate: int = 44100,
    instrument: str = "gm",
    subtype: str | None = None,
    on_progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> RenderResult:
    """Render ``events`` (seconds, bytes) to ``out_path`` (.wav or .flac); see the module docstring.

    ``programs``: GM program per MIDI channel before the events (the events' own program changes
    still apply). ``on_progress(fraction)`` is called now and then; ``cancelled()`` stops early
    (raises :class:`UserError`).
    """
    from gdl_studio.live.instrument import load_instrument

    out_path = Path(out_path)
    fmt = FORMATS.get(out_path.suffix.lower())
    if fmt is None:
        raise UserError(f"{out_path.name}: choose a .wav or .flac file name")
    if not events:
        raise UserError("nothing to render: no notes")
    if samplerate < 8000 or samplerate > 192000:
        raise UserError(f"sample rate {samplerate} Hz is out of range (8000–192000)")
    t_start = time.perf_counter()
    message = ""
    warnings: list[str] = []
    fluid: FluidInstrument | None = None
    if instrument == "gm":
        fluid, message = load_instrument(
            soundfont, samplerate=float(samplerate), blocksize=CHUNK, programs=programs, reverb=True, chorus=True
        )
        if soundfont and fluid is None:
            raise UserError(message.removesuffix("; using the built-in additive synth."))
    load_s = time.perf_counter() - t_start
    synth: FluidInstrument | _AdditiveOffline
    if fluid is not None:
        synth = fluid
        name = fluid.info.describe()
        warnings = list(fluid.info.warnings)
        quantum = 1
    else:
        synth = _AdditiveOffline(samplerate)
        name = "additive synth"
        quantum = 256
    events = sorted(events, key=lambda e: e[0])
    last = events[-1][0]
    total = int(np.ceil((last + TAIL_MAX_S) * samplerate)) + quantum
    audio = np.zeros((total, 2), dtype=np.float32)
    pos = 0
    try:
        frames = [int(round(t * samplerate)) // quantum * quantum for t, _d in events]
        i = 0
        n_events = len(events)
        while i < n_events:
            frame = frames[i]
            while pos < frame:  # render up to the event's frame
                m = min(CHUNK, frame - pos)
                synth.render_frames(m, audio[pos : pos + m])
                pos += m
            while i < n_events and frames[i] <= pos:
                data = events[i][1]
                if data[0] & 0xF0 == 0xC0 and hasattr(synth, "resolve_program") and (data[0] & 15) != DRUM_CHANNEL:
                    warning = synth.resolve_program(data[1])[1]
                    if warning and warning not in warnings:
                        warnings.append(warning)
                synth.apply_now(data)
                i += 1
                if on_progress is not None and i % 512 == 0:
                    on_progress(min(1.0, pos / max(1, total)))
            if cancelled is not None and cancelled():
                raise UserError("rendering cancelled")
        # all notes off (pedals up) after the last event, then the tail until silent
        for ch in range(16):
            synth.apply_now((0xB0 | ch, 123, 0))
        quiet = 0
        while pos + CHUNK <= total:
            synth.render_frames(CHUNK, audio[pos : pos + CHUNK])
            peak = float(np.abs(audio[pos : pos + CHUNK]).max())
            pos += CHUNK
            quiet = quiet + 1 if peak < SILENCE else 0
            if quiet >= 2:
                break
        if fluid is not None:
            name = fluid.info.describe()
    finally:
        synth.close()
    audio = audio[:pos]
    _write(out_path, audio, samplerate, fmt, subtype)
    wall = time.perf_counter() - t_start
    if on_progress is not None:
        on_progress(1.0)
    rms = float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))) if audio.size else 0.0
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return RenderResult(str(out_path), pos / samplerate, wall, samplerate, name, rms, peak, message, warnings, load_s)


def _write(path: Path, audio: np.ndarray, samplerate: int, fmt: str, subtype: str | None) -> None:
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 1.0:  # never clip: scale the whole piece down
        audio = audio / peak * 0.999
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        try:
            import soundfile as sf
        except (ImportError, OSError):
            sf = None
        if sf is not None:
            sf.write(str(tmp), audio, samplerate, format=fmt, subtype=subtype or "PCM_16")
        elif fmt == "WAV":
            import wave

            pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype("<i2")
            with wave.open(str(tmp), "wb") as w:
                w.setnchannels(2)
                w.setsampwidth(2)
                w.setframerate(samplerate)
                w.writeframes(pcm.tobytes())
        else:
            raise UserError("FLAC needs the soundfile package (pip install soundfile); write a .wav instead")
        os.replace(tmp, path)
    except OSError as exc:
        raise UserError(f"cannot write {path} ({exc.strerror or exc})") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def render_midi_file(
    midi_path: str | os.PathLike,
    out_path: str | os.PathLike,
    soundfont: str | None = None,
    program: int | None = None,
    samplerate: int = 44100,
    instrument: str = "gm",
    **kwargs,
) -> RenderResult:
    """``gdl-studio render``: a MIDI file to WAV/FLAC."""
    if program is not None and not 0 <= program <= 127:
        raise UserError(f"--program must be a GM program 0–127, not {program}")
    events = events_from_midi(midi_path, program)
    return render_events(events, out_path, soundfont=soundfont, samplerate=samplerate, instrument=instrument, **kwargs)


def render_notes(
    notes: Iterable,
    tempo_bpm: float,
    out_path: str | os.PathLike,
    soundfont: str | None = None,
    programs: list[int] | dict[int, int] | None = None,
    samplerate: int = 44100,
    instrument: str = "gm",
    **kwargs,
) -> RenderResult:
    """The panel's File → Export audio…: ``notes`` (beats) at ``tempo_bpm``, programs per track."""
    notes = list(notes)
    return render_events(
        events_from_notes(notes, tempo_bpm, programs),
        out_path,
        soundfont=soundfont,
        samplerate=samplerate,
        instrument=instrument,
        **kwargs,
    )
