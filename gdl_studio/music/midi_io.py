"""Standard MIDI files ↔ :class:`~gdl_studio.music.notes.Score`, with mido.

:func:`read_midi` accepts type 0 and type 1 files with musical (ticks-per-beat) timing and
raises :class:`~gdl_studio.core.errors.UserError` with one line for anything else: not a MIDI
file, truncated or random bytes, type 2, SMPTE timing, no notes, only drums, more than
:data:`MAX_NOTES` notes. Fixable oddities are repaired, not refused: zero-length notes are
dropped, a note-on of a pitch that is already sounding on the same channel ends the earlier
note there, and notes left hanging at the end of a track end with the track.

The tempo map (the first tempo and its later changes) and each track's first program change
are kept (:class:`~gdl_studio.music.notes.Score` ``tempo_changes``, ``programs``), so a file
read and written again plays at the same speed with the same instruments.

:func:`write_midi` writes a type 1 file (tempo map and metre on track 0, one track per
``Note.track``, its program first where known) atomically: the target is never left half-written.
"""

from __future__ import annotations

from pathlib import Path

from gdl_studio.core.atomic import atomic_path
from gdl_studio.core.errors import UserError
from gdl_studio.music.notes import Note, Score

MAX_NOTES = 20_000
MAX_FILE_BYTES = 16 * 1024 * 1024
DRUM_CHANNEL = 9
WRITE_TICKS_PER_BEAT = 480


def read_midi(path: str | Path) -> Score:
    """Read a MIDI file into a :class:`Score` (times in beats); see the module docstring."""
    import mido

    path = Path(path)
    name = path.name
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise UserError(f"{name}: file too large for a MIDI file ({size / 1e6:.0f} MB)")
    try:
        mid = mido.MidiFile(str(path))
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError, … on bad bytes
        reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise UserError(f"{name}: not a readable MIDI file ({reason})") from None
    if mid.ticks_per_beat <= 0:
        raise UserError(
            f"{name}: SMPTE time-code timing is not supported; save it with musical timing (ticks per beat)"
        )
    if mid.type == 2:
        raise UserError(f"{name}: type 2 MIDI files (independent sequences) are not supported; use type 0 or 1")
    tpb = float(mid.ticks_per_beat)
    tempos: dict[int, float] = {}  # tick → bpm (the last of a tick wins)
    programs: dict[int, int] = {}  # track → its first program change
    beats_per_bar = None
    title = ""
    notes: list[Note] = []
    drums = zero = 0
    for ti, track in enumerate(mid.tracks):
        tick = 0
        active: dict[tuple[int, int], list[tuple[int, int]]] = {}

        def close(key, end_tick, _track=ti, _active=active):
            nonlocal zero
            start_tick, vel = _active[key].pop(0)
            if not _active[key]:
                del _active[key]
            if end_tick <= start_tick:
                zero += 1
                return
            ch, pitch = key
            notes.append(
                Note(
                    pitch,
                    start_tick / tpb,
                    (end_tick - start_tick) / tpb,
                    max(1, min(127, vel)),
                    _track if mid.type == 1 else ch,
                )
            )
            if len(notes) > MAX_NOTES:
                raise UserError(f"{name}: too many notes (more than {MAX_NOTES:,}); trim the file")

        for msg in track:
            tick += msg.time
            if msg.is_meta:
                if msg.type == "set_tempo" and msg.tempo > 0:
                    tempos[tick] = float(mido.tempo2bpm(msg.tempo))
                elif msg.type == "time_signature" and beats_per_bar is None:
                    beats_per_bar = max(1, round(msg.numerator * 4 / msg.denominator))
                elif msg.type == "track_name" and not title:
                    title = msg.name.strip()
                continue
            if msg.type == "program_change" and msg.channel != DRUM_CHANNEL:
                programs.setdefault(ti if mid.type == 1 else msg.channel, int(msg.program))
                continue
            if msg.type not in ("note_on", "note_off"):
                continue
            if msg.channel == DRUM_CHANNEL:
                if msg.type == "note_on" and msg.velocity > 0:
                    drums += 1
                continue
            key = (msg.channel, msg.note)
            if msg.type == "note_on" and msg.velocity > 0:
                if key in active:  # overlapping same pitch: the new note-on ends the sounding one
                    close(key, tick)
                active.setdefault(key, []).append((tick, msg.velocity))
            elif key in active:
                close(key, tick)
        for key in list(active):
            while key in active:
                close(key, tick)
    if not notes:
        if drums:
            raise UserError(f"{name}: only drum notes (channel 10); the music models need pitched notes")
        if zero:
            raise UserError(f"{name}: all {zero} notes have zero length")
        raise UserError(f"{name}: the file contains no notes")
    tempo_bpm, changes = _tempo_map(tempos, tpb)
    used = {n.track for n in notes}
    score = Score(
        notes=notes,
        tempo_bpm=tempo_bpm,
        beats_per_bar=int(beats_per_bar or 4),
        ticks_per_beat=int(mid.ticks_per_beat),
        title=title or path.stem,
        tempo_changes=changes,
        programs={t: p for t, p in programs.items() if t in used},
    )
    return score.sorted()


def _tempo_map(tempos: dict[int, float], tpb: float) -> tuple[float, tuple[tuple[float, float], ...]]:
    """The tempo from beat 0 (the first one set, wherever it is: a file that sets it a little
    late still plays at it; 120 if none) and its later changes as (beat, bpm), leaving out a
    change to the tempo already in force."""
    ticks = sorted(tempos)
    first = tempos[ticks[0]] if ticks else 120.0
    changes: list[tuple[float, float]] = []
    current = first
    for tick in ticks:
        if tempos[tick] == current:  # the first tempo, or no change
            continue
        current = tempos[tick]
        changes.append((tick / tpb, current))
    return float(first), tuple(changes)


def write_midi(score: Score, path: str | Path, ticks_per_beat: int | None = None) -> Path:
    """Write ``score`` as a type 1 MIDI file, atomically; returns the path.

    Overlapping notes of one pitch in one track are shortened so that every note keeps its own
    note-on/note-off pair. ``ticks_per_beat`` (default 480): pass the resolution a file was read
    with to write its notes back at exactly the same ticks.
    """
    import mido

    path = Path(path)
    tpb = int(ticks_per_beat) if ticks_per_beat and ticks_per_beat > 0 else WRITE_TICKS_PER_BEAT
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb)
    meta = mido.MidiTrack()
    meta.append(mido.MetaMessage("track_name", name=score.title or "gdl-studio", time=0))
    meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(max(1.0, float(score.tempo_bpm))), time=0))
    meta.append(mido.MetaMessage("time_signature", numerator=max(1, int(score.beats_per_bar)), denominator=4, time=0))
    last = 0
    for beat, bpm in sorted(score.tempo_changes):
        tick = max(0, round(beat * tpb))
        meta.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(max(1.0, float(bpm))), time=tick - last))
        last = tick
    meta.append(mido.MetaMessage("end_of_track", time=0))
    mid.tracks.append(meta)
    tracks = sorted({n.track for n in score.notes})
    for k, tr in enumerate(tracks):
        channel = k % 15
        channel = channel + 1 if channel >= DRUM_CHANNEL else channel
        events = []  # (tick, order, message); note-offs sort before note-ons at one tick
        by_pitch: dict[int, list[tuple[int, int, int]]] = {}
        for n in score.notes:
            if n.track != tr or not (0 <= n.pitch <= 127) or n.duration <= 0:
                continue
            s = max(0, round(n.start * tpb))
            e = max(s + 1, round(n.end * tpb))
            by_pitch.setdefault(n.pitch, []).append((s, e, max(1, min(127, int(n.velocity)))))
        for pitch, spans in by_pitch.items():
            spans.sort()
            for i, (s, e, v) in enumerate(spans):
                if i + 1 < len(spans) and spans[i + 1][0] < e:
                    e = spans[i + 1][0]
                if e <= s:
                    continue
                events.append((s, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=v)))
                events.append((e, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
        events.sort(key=lambda x: (x[0], x[1], x[2].note))
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=f"voice {tr}", time=0))
        if tr in score.programs:
            track.append(mido.Message("program_change", channel=channel, program=int(score.programs[tr]) & 127, time=0))
        last = 0
        for tick, _, msg in events:
            track.append(msg.copy(time=tick - last))
            last = tick
        track.append(mido.MetaMessage("end_of_track", time=0))
        mid.tracks.append(track)
    with atomic_path(path) as tmp:
        mid.save(str(tmp))
    return path
