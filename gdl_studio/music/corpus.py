"""The music training corpus: music21's bundled scores → grid notes → a compact ``.npz`` cache.

``build_corpus`` (needs music21; runs here) parses the scores in a process pool, puts every note
on the 12-ticks-per-beat grid, deals the notes into voices, tokenises each piece both ways
(:mod:`gdl_studio.music.tokens`) and writes one ``.npz``. ``load_corpus`` (numpy only; runs on
the training machine) reads it back.

The split is **by piece** and fixed: ``resources/splits/music/{train,valid,test}.txt`` list the
piece ids (``composer/file-stem``). The lists were drawn by a hash (80/10/10) of each piece's
*group* — all movements of one Palestrina mass, all versions of one Bach chorale — so related
files never straddle the split; a piece not listed (e.g. from a newer music21) is assigned the
same way, and the lists never move once written.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from gdl_studio.core import paths
from gdl_studio.core.atomic import atomic_path, write_text_atomic
from gdl_studio.core.errors import UserError
from gdl_studio.music import tokens as T

SPLITS = ("train", "valid", "test")
DEFAULT_CORPORA = ("bach", "palestrina")
KNOWN_CORPORA = ("bach", "palestrina", "monteverdi", "trecento", "josquin")
SOURCE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn")
MIN_NOTES = 16
CORPUS_FILE = "music.npz"


def splits_dir() -> Path:
    """Where the fixed split lists live in the repository."""
    return paths.ROOT_DIR / "resources" / "splits" / "music"


def default_corpus_path() -> Path:
    """``data/music.npz``."""
    return paths.data_dir() / CORPUS_FILE


def hash_split(group: str) -> str:
    """Split of a piece not in the recorded lists, from its group (:func:`piece_group`):
    10% test, 10% valid, 80% train, by a hash of the group name."""
    h = int(hashlib.sha1(group.encode("utf-8")).hexdigest(), 16) % 10
    return "test" if h == 0 else "valid" if h == 1 else "train"


def read_splits(directory: Path | None = None) -> dict[str, str]:
    """Recorded ``piece id → split`` (empty if no lists are recorded)."""
    directory = directory or splits_dir()
    out: dict[str, str] = {}
    for split in SPLITS:
        path = directory / f"{split}.txt"
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    out[line] = split
    return out


def write_splits(assignment: dict[str, str], directory: Path | None = None) -> None:
    """Record the split lists (one piece id per line, sorted)."""
    directory = directory or splits_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        ids = sorted(k for k, v in assignment.items() if v == split)
        header = f"# music corpus {split} pieces (fixed; see gdl_studio/music/corpus.py)\n"
        write_text_atomic(directory / f"{split}.txt", header + "".join(i + "\n" for i in ids))


def piece_group(piece_id: str, path: str | Path) -> str:
    """The unit of the split: pieces of one group never straddle train/valid/test.

    A Palestrina mass movement belongs to its mass (the ``!!!OPR`` record of the kern file:
    movements of a mass share their head motif); a Bach file to its BWV number (``bwv112.5``
    and ``bwv112.5-sc`` are versions of one chorale); anything else is its own group.
    """
    composer = piece_id.split("/", 1)[0]
    path = Path(path)
    if path.suffix.lower() == ".krn":
        try:
            with open(path, encoding="latin-1") as fh:
                for _, line in zip(range(40), fh):
                    if line.startswith("!!!OPR:"):
                        return f"{composer}/{line[7:].strip()}"
        except OSError:
            pass
    if composer == "bach":
        return piece_id.split("-", 1)[0]
    return piece_id


def corpus_files(corpora: Iterable[str]) -> list[tuple[str, str]]:
    """``(piece id, path)`` of the music21 corpus files of each composer, one file per piece."""
    from music21 import corpus

    out = []
    for composer in corpora:
        by_stem: dict[str, Path] = {}
        for path in corpus.getComposer(composer):
            path = Path(path)
            if path.suffix.lower() not in SOURCE_SUFFIXES:
                continue
            stem = path.name[: -len(path.suffix)]
            prev = by_stem.get(stem)
            if prev is None or SOURCE_SUFFIXES.index(path.suffix.lower()) < SOURCE_SUFFIXES.index(prev.suffix.lower()):
                by_stem[stem] = path
        out.extend((f"{composer}/{stem}", str(p)) for stem, p in sorted(by_stem.items()))
    return out


def extract_piece(path: str) -> dict | None:
    """Parse one score with music21 into grid-note arrays (``None`` if it has too few notes).

    Tied notes are merged (by hand: music21's ``stripTies`` takes ten times longer than the
    parse), grace notes and unpitched notes dropped, each part is a ``track``, onsets are shifted by the pickup so that bar lines fall on multiples of the bar length, and the
    velocity is kept where the source sets one (0 = none).
    """
    from music21 import converter, meter, stream

    score = converter.parse(path)
    if isinstance(score, stream.Opus):
        score = score.scores[0] if score.scores else None
        if score is None:
            return None
    ts = score.recurse().getElementsByClass(meter.TimeSignature).first()
    bar_ql = float(ts.barDuration.quarterLength) if ts is not None else 4.0
    parts = list(score.parts) or [score]
    first_measure = parts[0].getElementsByClass(stream.Measure).first()
    pad = float(first_measure.paddingLeft) if first_measure is not None else 0.0
    pitch, start, dur, vel, track = [], [], [], [], []
    for pi, part in enumerate(parts):
        open_ties: dict[int, int] = {}  # midi pitch → index of the note a tie continues
        for el in part.flatten().notes:
            ql = float(el.quarterLength)
            if ql <= 0 or el.duration.isGrace:
                continue
            offset = float(el.offset) + pad
            v = el.volume.velocity if el.volume is not None else None
            members = el.notes if el.isChord else [el]
            for m in members:
                if m.pitch is None or not hasattr(m.pitch, "midi"):
                    continue
                midi = int(m.pitch.midi)
                tie = m.tie.type if m.tie is not None else (el.tie.type if el.isChord and el.tie is not None else None)
                k = open_ties.get(midi)
                if tie in ("stop", "continue") and k is not None and abs(start[k] + dur[k] - offset) < 1e-6:
                    dur[k] += ql  # merge the tied note into the one it continues
                    if tie == "stop":
                        del open_ties[midi]
                    continue
                pitch.append(midi)
                start.append(offset)
                dur.append(ql)
                vel.append(int(v) if v else 0)
                track.append(pi)
                if tie in ("start", "continue"):
                    open_ties[midi] = len(pitch) - 1
                else:
                    open_ties.pop(midi, None)
    if len(pitch) < MIN_NOTES:
        return None
    start_t = np.rint(np.asarray(start) * T.TICKS_PER_BEAT).astype(np.int64)
    dur_t = np.rint(np.asarray(dur) * T.TICKS_PER_BEAT).astype(np.int64)
    return {
        "pitch": np.asarray(pitch, np.int32),
        "start": start_t - start_t.min() // T.bar_ticks_for(bar_ql) * T.bar_ticks_for(bar_ql),
        "dur": T.duration_class(dur_t).astype(np.int32),
        "velocity": np.clip(np.asarray(vel, np.int32), 0, 127),
        "track": np.asarray(track, np.int32),
        "bar_ticks": T.bar_ticks_for(bar_ql),
    }


def _extract_worker(item: tuple[str, str]) -> tuple[str, dict | None, str]:
    piece_id, path = item
    try:
        return piece_id, extract_piece(path), ""
    except Exception as exc:  # a score music21 cannot read: skip it, say why
        return piece_id, None, f"{type(exc).__name__}: {exc}"


@dataclass
class Piece:
    """One tokenised piece."""

    piece_id: str
    split: str
    bar_ticks: int
    notes: T.GridNotes
    voice: np.ndarray
    n_voices: int
    steps: T.Steps
    events: T.Events
    note_events: T.NoteEvents


def tokenise_piece(piece_id: str, split: str, raw: dict) -> Piece:
    """Voices, LSTM steps and events of one extracted piece (notes without a voice dropped)."""
    g = T.GridNotes.from_arrays(raw["pitch"], raw["start"], raw["dur"], raw["velocity"], raw["track"])
    voice, n_voices = T.assign_voices(g)
    keep = np.nonzero(voice >= 0)[0]
    g = g.take(keep)
    g.source = np.arange(len(g))
    voice = voice[keep]
    steps = T.encode_steps(g, voice, n_voices)
    events = T.encode_events(g, use_velocity=True)
    note_events = T.encode_note_events(g, use_velocity=True)
    return Piece(piece_id, split, int(raw["bar_ticks"]), g, voice, n_voices, steps, events, note_events)


def build_corpus(corpora: Iterable[str] = DEFAULT_CORPORA, out: Path | None = None, workers: int | None = None,
                 limit: int | None = None, record_splits: bool = True, log=print) -> dict:
    """Parse, tokenise and cache the corpus; returns a summary (counts, sizes, seconds)."""
    corpora = list(corpora)
    unknown = [c for c in corpora if c not in KNOWN_CORPORA]
    if unknown:
        raise UserError(f"unknown corpus {', '.join(unknown)} (choose from {', '.join(KNOWN_CORPORA)})")
    try:
        import music21  # noqa: F401
    except ImportError:
        raise UserError("building the music corpus needs music21 (pip install 'gdl-studio[data]')") from None
    out = Path(out) if out else default_corpus_path()
    t0 = time.perf_counter()
    files = corpus_files(corpora)
    if limit:
        per: dict[str, list] = {}
        for item in files:
            per.setdefault(item[0].split("/")[0], []).append(item)
        files = [it for items in per.values() for it in items[:limit]]
    if not files:
        raise UserError("no scores found in music21's corpus")
    recorded = read_splits()
    workers = workers or min(os.cpu_count() or 1, 8)
    log(f"parsing {len(files)} scores from music21 ({', '.join(corpora)}) with {workers} processes …")
    results: list[tuple[str, dict | None, str]] = []
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for i, r in enumerate(pool.map(_extract_worker, files, chunksize=4), 1):
                results.append(r)
                if i % 100 == 0 or i == len(files):
                    log(f"  {i}/{len(files)} parsed ({time.perf_counter() - t0:.0f}s)")
    else:
        for i, item in enumerate(files, 1):
            results.append(_extract_worker(item))
            if i % 100 == 0 or i == len(files):
                log(f"  {i}/{len(files)} parsed ({time.perf_counter() - t0:.0f}s)")
    failed = [(pid, err) for pid, raw, err in results if err]
    for pid, err in failed[:5]:
        log(f"  skipped {pid}: {err[:120]}")
    assignment = {}
    new_ids = []
    pieces = []
    paths_of = dict(files)
    for pid, raw, _ in results:
        if raw is None:
            continue
        split = recorded.get(pid)
        if split is None:
            split = hash_split(piece_group(pid, paths_of[pid]))
            new_ids.append(pid)
        assignment[pid] = split
        pieces.append(tokenise_piece(pid, split, raw))
    if record_splits and not limit and new_ids:
        merged = dict(recorded)
        merged.update(assignment)
        write_splits(merged)
        log(f"recorded the split of {len(new_ids)} new pieces in {splits_dir()}")
    summary = save_corpus(out, pieces, corpora)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary["skipped"] = len(failed)
    log(json.dumps(summary, indent=2))
    return summary


def save_corpus(out: Path, pieces: list[Piece], corpora: list[str]) -> dict:
    """Write pieces as one compressed ``.npz`` (atomically); returns a summary."""
    def offsets(lengths):
        return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    def cat(arrays, dtype):
        return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype)

    counts = {s: {"pieces": 0, "notes": 0} for s in SPLITS}
    for p in pieces:
        counts[p.split]["pieces"] += 1
        counts[p.split]["notes"] += len(p.notes)
    meta = {
        "signature": T.vocab_signature(),
        "corpora": corpora,
        "music21_version": _music21_version(),
        "counts": counts,
        "has_velocity": bool(any((p.notes.velocity > 0).any() for p in pieces)),
    }
    arrays = {
        "meta": np.array(json.dumps(meta)),
        "piece_id": np.array([p.piece_id for p in pieces]),
        "piece_split": np.array([SPLITS.index(p.split) for p in pieces], np.int8),
        "piece_bar_ticks": np.array([p.bar_ticks for p in pieces], np.int16),
        "piece_n_voices": np.array([p.n_voices for p in pieces], np.int8),
        "note_offsets": offsets([len(p.notes) for p in pieces]),
        "note_pitch": cat([p.notes.pitch for p in pieces], np.uint8),
        "note_start": cat([p.notes.start for p in pieces], np.int32),
        "note_dur": cat([p.notes.dur for p in pieces], np.uint8),
        "note_velocity": cat([p.notes.velocity for p in pieces], np.uint8),
        "note_voice": cat([p.voice for p in pieces], np.int8),
        "step_offsets": offsets([len(p.steps) for p in pieces]),
        "step_note": cat([p.steps.note for p in pieces], np.uint8),
        "step_dur": cat([p.steps.dur for p in pieces], np.uint8),
        "step_voice": cat([p.steps.voice for p in pieces], np.uint8),
        "step_onset": cat([p.steps.onset for p in pieces], np.int32),
        "event_offsets": offsets([len(p.events) for p in pieces]),
        "event_token": cat([p.events.tokens for p in pieces], np.int16),
        "event_time": cat([p.events.time for p in pieces], np.int32),
        "nev_offsets": offsets([len(p.note_events) for p in pieces]),
        "nev_shift": cat([p.note_events.shift for p in pieces], np.uint8),
        "nev_pitch": cat([p.note_events.pitch for p in pieces], np.uint8),
        "nev_dur": cat([p.note_events.dur for p in pieces], np.uint8),
        "nev_vel": cat([p.note_events.vel for p in pieces], np.uint8),
        "nev_time": cat([p.note_events.time for p in pieces], np.int32),
    }
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    return {"path": str(out), "size_bytes": out.stat().st_size, "pieces": len(pieces), "counts": counts,
            "has_velocity": meta["has_velocity"]}


def _music21_version() -> str:
    try:
        import music21

        return str(music21.__version__)
    except Exception:
        return "unknown"


@dataclass
class CorpusPiece:
    """A piece as read back from the cache (numpy arrays only)."""

    piece_id: str
    split: str
    bar_ticks: int
    n_voices: int
    pitch: np.ndarray
    start: np.ndarray
    dur: np.ndarray
    velocity: np.ndarray
    voice: np.ndarray
    step_note: np.ndarray
    step_dur: np.ndarray
    step_voice: np.ndarray
    step_onset: np.ndarray
    event_token: np.ndarray
    event_time: np.ndarray
    nev_shift: np.ndarray
    nev_pitch: np.ndarray
    nev_dur: np.ndarray
    nev_vel: np.ndarray
    nev_time: np.ndarray

    @property
    def n_notes(self) -> int:
        return int(self.pitch.size)

    def grid_notes(self) -> T.GridNotes:
        return T.GridNotes.from_arrays(self.pitch, self.start, self.dur, self.velocity, self.voice)

    def note_events(self, use_velocity: bool) -> dict[str, np.ndarray]:
        """The Transformer's compound events (``shift``, ``pitch``, ``dur``, ``vel``, ``time``);
        velocities are VEL_NONE unless ``use_velocity``."""
        vel = self.nev_vel if use_velocity else np.full_like(self.nev_vel, T.VEL_NONE)
        return {"shift": self.nev_shift, "pitch": self.nev_pitch, "dur": self.nev_dur, "vel": vel, "time": self.nev_time}

    def events(self, use_velocity: bool) -> tuple[np.ndarray, np.ndarray]:
        """Flat event tokens and times (the n-gram's stream), without velocity tokens unless
        ``use_velocity``."""
        if use_velocity:
            return self.event_token, self.event_time
        keep = (self.event_token < T.VEL0) | (self.event_token >= T.NOTE0)
        return self.event_token[keep], self.event_time[keep]


@dataclass
class Corpus:
    """All pieces of a cache plus its metadata."""

    pieces: list[CorpusPiece]
    meta: dict
    path: Path

    def split(self, name: str) -> list[CorpusPiece]:
        return [p for p in self.pieces if p.split == name]


def load_corpus(path: str | Path | None = None) -> Corpus:
    """Read the cache written by :func:`build_corpus`; raises :class:`UserError` if missing or
    built by an incompatible tokeniser."""
    path = Path(path) if path else default_corpus_path()
    if not path.is_file():
        raise UserError(f"music data cache {path} not found; build it with 'gdl-studio data music'")
    try:
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
    except Exception as exc:
        raise UserError(f"music data cache {path} is unreadable ({type(exc).__name__}); rebuild it with 'gdl-studio data music'") from None
    if meta.get("signature") != T.vocab_signature():
        raise UserError(f"music data cache {path} was built by another tokeniser version; rebuild it with 'gdl-studio data music'")
    a = {k: z[k] for k in z.files}
    no, so, eo, vo = a["note_offsets"], a["step_offsets"], a["event_offsets"], a["nev_offsets"]
    pieces = []
    for i, pid in enumerate(a["piece_id"]):
        n0, n1, s0, s1, e0, e1 = no[i], no[i + 1], so[i], so[i + 1], eo[i], eo[i + 1]
        pieces.append(CorpusPiece(
            piece_id=str(pid), split=SPLITS[int(a["piece_split"][i])], bar_ticks=int(a["piece_bar_ticks"][i]),
            n_voices=int(a["piece_n_voices"][i]),
            pitch=a["note_pitch"][n0:n1].astype(np.int32), start=a["note_start"][n0:n1].astype(np.int64),
            dur=a["note_dur"][n0:n1].astype(np.int32), velocity=a["note_velocity"][n0:n1].astype(np.int32),
            voice=a["note_voice"][n0:n1].astype(np.int32),
            step_note=a["step_note"][s0:s1].astype(np.int64), step_dur=a["step_dur"][s0:s1].astype(np.int64),
            step_voice=a["step_voice"][s0:s1].astype(np.int64), step_onset=a["step_onset"][s0:s1].astype(np.int64),
            event_token=a["event_token"][e0:e1].astype(np.int64), event_time=a["event_time"][e0:e1].astype(np.int64),
            nev_shift=a["nev_shift"][vo[i]:vo[i + 1]].astype(np.int64),
            nev_pitch=a["nev_pitch"][vo[i]:vo[i + 1]].astype(np.int64),
            nev_dur=a["nev_dur"][vo[i]:vo[i + 1]].astype(np.int64),
            nev_vel=a["nev_vel"][vo[i]:vo[i + 1]].astype(np.int64),
            nev_time=a["nev_time"][vo[i]:vo[i + 1]].astype(np.int64),
        ))
    return Corpus(pieces=pieces, meta=meta, path=path)


if __name__ == "__main__":  # pragma: no cover
    build_corpus(sys.argv[1:] or DEFAULT_CORPORA)
