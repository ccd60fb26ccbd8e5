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
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdl_studio.core import paths
from gdl_studio.core.atomic import atomic_path, write_text_atomic
from gdl_studio.core.errors import UserError
from gdl_studio.music import tokens as T

SPLITS = ("train", "valid", "test", "heldout")
ROUND1_SPLITS = ("train", "valid", "test")
DEFAULT_CORPORA = ("bach", "palestrina")
KNOWN_CORPORA = ("bach", "palestrina", "monteverdi", "trecento", "josquin")
SOURCE_SUFFIXES = (".mxl", ".xml", ".musicxml", ".krn", ".abc")
MIN_NOTES = 16
CORPUS_FILE = "music.npz"
EXTRACTOR_VERSION = 1  # bump when extract_piece changes what it returns (invalidates data/music_raw/)

# Styles: the conditioning token of the models (index = token id; 0 = unknown, the user's own
# music) and the music21 corpus folders each style is built from. The round-1 styles keep the
# round-1 split lists (train/valid/test.txt); every newer style has its own fixed lists
# (``<style>/{train,valid,heldout}.txt``), so the round-1 test split never changes.
STYLES = ("unknown", "chorale", "renaissance", "classical", "folk", "irish", "madrigal")
STYLE_SOURCES = {
    "chorale": ("bach",),
    "renaissance": ("palestrina",),
    "classical": ("beethoven", "haydn", "mozart", "schubert", "schumann_robert", "schumann_clara", "joplin", "chopin"),
    "folk": ("essenFolksong",),
    "irish": ("oneills1850", "ryansMammoth"),
    "madrigal": ("monteverdi",),
}
ROUND1_STYLES = ("chorale", "renaissance")
ALL_STYLES = tuple(s for s in STYLES if s != "unknown")
STYLE_OF_SOURCE = {src: style for style, srcs in STYLE_SOURCES.items() for src in srcs} | {
    "trecento": "madrigal",
    "josquin": "madrigal",
    "airdsAirs": "irish",
}
SKIP_FILES = {"essenFolksong": ("test",)}  # music21's test excerpts of the Essen collection (duplicates)
# The tune books are large and music21 parses ABC slowly (~0.1-0.2 s a tune): the cache takes a
# part of the two biggest collections (about 4,100 of the 8,500 Essen songs; O'Neill's tunes
# 1-500 and the one-tune book 731), which is still more folk music than there is of anything else.
ONLY_FILES = {
    "essenFolksong": (
        "altdeu10",
        "altdeu20",
        "ballad10",
        "ballad20",
        "ballad30",
        "ballad40",
        "ballad50",
        "ballad60",
        "ballad70",
        "ballad80",
        "boehme20",
        "dva0",
        "erk5",
        "erk20",
        "folkHaydn",
        "han1",
        "irl",
        "kinder0",
        "lux",
        "variant0",
    ),
    "oneills1850": (
        "0001-0050",
        "0051-0100",
        "0101-0200",
        "0201-0300",
        "0301-0350",
        "0351-0400",
        "0401-0486",
        "0487-0500",
        "0731-0731",
    ),
}


def style_id(style: str) -> int:
    """Token id of a style name (0 for unknown names)."""
    return STYLES.index(style) if style in STYLES else 0


def parse_styles(spec: str) -> list[str]:
    """``"all"``, style names or music21 folder names (comma-separated) → music21 sources."""
    out: list[str] = []
    for item in (x.strip() for x in spec.split(",")):
        if not item:
            continue
        if item == "all":
            srcs = [s for style in ALL_STYLES for s in STYLE_SOURCES[style]]
        elif item in STYLE_SOURCES:
            srcs = list(STYLE_SOURCES[item])
        elif item in STYLE_OF_SOURCE:
            srcs = [item]
        else:
            raise UserError(
                f"unknown corpus or style '{item}' (choose all, {', '.join(ALL_STYLES)}, "
                f"or a music21 folder: {', '.join(sorted(STYLE_OF_SOURCE))})"
            )
        out.extend(s for s in srcs if s not in out)
    return out


def splits_dir() -> Path:
    """Where the fixed split lists live in the repository."""
    return paths.ROOT_DIR / "resources" / "splits" / "music"


def default_corpus_path() -> Path:
    """``data/music.npz``."""
    return paths.data_dir() / CORPUS_FILE


def raw_cache_dir() -> Path:
    """``data/music_raw/``: music21's parse of each source file (parsing is the slow part)."""
    return paths.data_dir() / "music_raw"


def hash_split(group: str) -> str:
    """Split of a piece not in the recorded lists, from its group (:func:`piece_group`):
    10% test, 10% valid, 80% train, by a hash of the group name."""
    h = int(hashlib.sha1(group.encode("utf-8")).hexdigest(), 16) % 10
    return "test" if h == 0 else "valid" if h == 1 else "train"


def _read_list(path: Path) -> list[str]:
    if not path.is_file():
        return []
    return [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip() and not x.startswith("#")]


def read_splits(directory: Path | None = None) -> dict[str, str]:
    """Recorded ``piece id → split`` (empty if no lists are recorded): the round-1 lists and
    each newer style's lists."""
    directory = directory or splits_dir()
    out: dict[str, str] = {}
    for split in ROUND1_SPLITS:
        for pid in _read_list(directory / f"{split}.txt"):
            out[pid] = split
    for style in ALL_STYLES:
        if style in ROUND1_STYLES:
            continue
        for split in ("train", "valid", "heldout"):
            for pid in _read_list(directory / style / f"{split}.txt"):
                out[pid] = split
    return out


def write_splits(
    assignment: dict[str, str], directory: Path | None = None, style_of: dict[str, str] | None = None
) -> None:
    """Record the split lists (one piece id per line, sorted): round-1 pieces in
    ``{train,valid,test}.txt``, pieces of newer styles (``style_of``) in ``<style>/…``."""
    directory = directory or splits_dir()
    directory.mkdir(parents=True, exist_ok=True)
    style_of = style_of or {}
    groups: dict[tuple[str, str], list[str]] = {}
    for pid, split in assignment.items():
        style = style_of.get(pid)
        folder = "" if style is None or style in ROUND1_STYLES else style
        groups.setdefault((folder, split), []).append(pid)
    folders = {f for f, _ in groups} | {""}
    for folder in folders:
        names = ROUND1_SPLITS if folder == "" else ("train", "valid", "heldout")
        for split in names:
            ids = sorted(groups.get((folder, split), []))
            where = directory / folder if folder else directory
            where.mkdir(parents=True, exist_ok=True)
            what = f"{folder} " if folder else ""
            header = f"# music corpus {what}{split} pieces (fixed; see gdl_studio/music/corpus.py)\n"
            write_text_atomic(where / f"{split}.txt", header + "".join(i + "\n" for i in ids))


def piece_group(piece_id: str, path: str | Path, title: str = "") -> str:
    """The unit of the split: pieces of one group never straddle train/valid/test.

    A Palestrina mass movement belongs to its mass (the ``!!!OPR`` record of the kern file:
    movements of a mass share their head motif); a Bach file to its BWV number (``bwv112.5``
    and ``bwv112.5-sc`` are versions of one chorale); a movement of a quartet or sonata to its
    work (its folder); a folk tune to its normalised title (the same tune appears in several
    collections and as variants); anything else is its own group.
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
    style = STYLE_OF_SOURCE.get(composer)
    if style in ("folk", "irish") and title:
        return f"{style}/{normalise_title(title)}"
    if style == "classical":
        parts = piece_id.split("/")
        return "/".join(parts[:2]) if len(parts) > 2 else piece_id
    return piece_id.split("#", 1)[0] if style == "madrigal" else piece_id


_TUNE_TYPES = (
    "jig",
    "reel",
    "hornpipe",
    "clog",
    "strathspey",
    "polka",
    "waltz",
    "march",
    "slide",
    "air",
    "set dance",
    "fling",
    "quickstep",
    "schottische",
    "highland",
)


def normalise_title(title: str) -> str:
    """``"LANIGAN'S BALL -- JIG"`` and ``"Lanigan's Ball"`` → ``"lanigansball"``."""
    t = title.split("--")[0].lower()
    t = re.sub(r"\(.*?\)", " ", t)
    words = re.sub(r"[^a-z0-9 ]+", "", t).split()
    while words and words[0] == "the":
        words = words[1:]
    while words and words[-1] in _TUNE_TYPES:
        words = words[:-1]
    return "".join(words) or title.strip().lower()


def corpus_files(corpora: Iterable[str]) -> list[tuple[str, str]]:
    """``(file id, path)`` of the music21 corpus files of each source folder, one file per
    piece (the preferred format where a piece comes in several). A file id is the path under
    the corpus without its suffix (``bach/bwv10.7``, ``beethoven/opus59no1/movement1``); an
    ABC file can hold many tunes (see :func:`extract_file`)."""
    from music21 import corpus

    out: list[tuple[str, str]] = []
    for composer in corpora:
        by_stem: dict[str, Path] = {}
        skip = SKIP_FILES.get(composer, ())
        for path in corpus.getComposer(composer):
            path = Path(path)
            if path.suffix.lower() not in SOURCE_SUFFIXES or path.name.startswith(skip or ("\0",)):
                continue
            parts = path.parts
            rel = parts[len(parts) - 1 - parts[::-1].index(composer) :] if composer in parts else (composer, path.name)
            stem = "/".join(rel[1:])[: -len(path.suffix)]
            if composer in ONLY_FILES and stem not in ONLY_FILES[composer]:
                continue
            prev = by_stem.get(stem)
            if prev is None or SOURCE_SUFFIXES.index(path.suffix.lower()) < SOURCE_SUFFIXES.index(prev.suffix.lower()):
                by_stem[stem] = path
        out.extend((f"{composer}/{stem}", str(p)) for stem, p in sorted(by_stem.items()))
    return out


def extract_piece(path: str) -> dict | None:
    """Parse one score with music21 into grid-note arrays (``None`` if it has too few notes);
    for a file of several scores (an ABC tune book), the first one (see :func:`extract_file`)."""
    tunes = extract_file(path, first_only=True)
    return tunes[0][1] if tunes else None


def extract_file(path: str, first_only: bool = False) -> list[tuple[str, dict, str]]:
    """Parse a music21 corpus file into ``[(suffix, raw arrays, title)]``: one entry per score
    with at least :data:`MIN_NOTES` notes. ``suffix`` is ``""`` for a single score, ``"#<X>"``
    (the tune's number, or its index where numbers repeat) for each tune of a tune book."""
    from music21 import converter, stream

    parsed = converter.parse(path)
    if isinstance(parsed, stream.Opus):
        scores = list(parsed.scores)[:1] if first_only else list(parsed.scores)
        numbers = [str(getattr(sc.metadata, "number", "") or "") if sc.metadata else "" for sc in scores]
        unique = len(set(numbers)) == len(numbers) and all(numbers)
        keys = [f"#{n}" if unique else f"#{i + 1}" for i, n in enumerate(numbers)]
    else:
        scores, keys = [parsed], [""]
    out = []
    for key, sc in zip(keys, scores):
        raw = _extract_score(sc)
        if raw is not None:
            title = str(sc.metadata.title or "") if sc.metadata is not None else ""
            out.append((key, raw, title))
    return out


def _extract_score(score) -> dict | None:
    """Grid-note arrays of one music21 score (``None`` if it has too few notes).

    Tied notes are merged (by hand: music21's ``stripTies`` takes ten times longer than the
    parse), grace notes and unpitched notes dropped, each part is a ``track``, onsets are shifted by
    the pickup so that bar lines fall on multiples of the bar length, and the velocity is kept where
    the source sets one (0 = none).
    """
    from music21 import meter, stream

    ts = score.recurse().getElementsByClass(meter.TimeSignature).first()
    bar_ql = float(ts.barDuration.quarterLength) if ts is not None else 4.0
    parts = list(score.parts) or [score]
    first_measure = parts[0].getElementsByClass(stream.Measure).first()
    pad = float(first_measure.paddingLeft) if first_measure is not None else 0.0
    pitch: list[int] = []
    start: list[float] = []
    dur: list[float] = []
    vel: list[int] = []
    track: list[int] = []
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
    keep = (np.asarray(pitch) >= 0) & (np.asarray(pitch) < T.N_PITCH)
    if keep.sum() < MIN_NOTES:
        return None
    bar = T.bar_ticks_for(bar_ql)
    return {
        "pitch": np.asarray(pitch, np.int32)[keep],
        "start": (start_t - start_t.min() // bar * bar)[keep],
        "dur": T.duration_class(dur_t).astype(np.int32)[keep],
        "velocity": np.clip(np.asarray(vel, np.int32), 0, 127)[keep],
        "track": np.asarray(track, np.int32)[keep],
        "bar_ticks": bar,
    }


RAW_KEYS = ("pitch", "start", "dur", "velocity", "track")


def _raw_cache_path(file_id: str) -> Path:
    return raw_cache_dir() / (file_id.replace("/", "__") + ".npz")


def _stamp(path: str) -> str:
    st = os.stat(path)
    return f"{EXTRACTOR_VERSION}:{st.st_size}:{int(st.st_mtime)}"


def read_raw_cache(file_id: str, path: str) -> list[tuple[str, dict, str]] | None:
    """The cached parse of a corpus file, if it is there and still matches the file."""
    cache = _raw_cache_path(file_id)
    if not cache.is_file():
        return None
    try:
        z = np.load(cache, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        if meta.get("stamp") != _stamp(path):
            return None
        out = []
        off = z["offsets"]
        for i, (key, title, bar) in enumerate(zip(meta["keys"], meta["titles"], meta["bar_ticks"])):
            raw = {k: z[k][off[i] : off[i + 1]].astype(np.int64 if k == "start" else np.int32) for k in RAW_KEYS}
            raw["bar_ticks"] = int(bar)
            out.append((key, raw, title))
        return out
    except Exception:
        return None


def write_raw_cache(file_id: str, path: str, tunes: list[tuple[str, dict, str]]) -> None:
    cache = _raw_cache_path(file_id)
    cache.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "stamp": _stamp(path),
        "keys": [k for k, _, _ in tunes],
        "titles": [t for _, _, t in tunes],
        "bar_ticks": [int(r["bar_ticks"]) for _, r, _ in tunes],
    }
    arrays: dict[str, np.ndarray] = {
        k: (np.concatenate([r[k] for _, r, _ in tunes]) if tunes else np.zeros(0, np.int32)) for k in RAW_KEYS
    }
    arrays["offsets"] = np.concatenate([[0], np.cumsum([len(r["pitch"]) for _, r, _ in tunes])]).astype(np.int64)
    with atomic_path(cache) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, allow_pickle=False, meta=np.array(json.dumps(meta)), **arrays)


def _extract_worker(item: tuple[str, str]) -> tuple[str, list[tuple[str, dict, str]], str]:
    file_id, path = item
    try:
        tunes = read_raw_cache(file_id, path)
        if tunes is None:
            tunes = extract_file(path)
            write_raw_cache(file_id, path, tunes)
        return file_id, tunes, ""
    except Exception as exc:  # a score music21 cannot read: skip it, say why
        return file_id, [], f"{type(exc).__name__}: {exc}"


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
    style: int = 0


def tokenise_piece(piece_id: str, split: str, raw: dict, style: int = 0) -> Piece:
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
    return Piece(piece_id, split, int(raw["bar_ticks"]), g, voice, n_voices, steps, events, note_events, style)


def assign_new_style_splits(groups: dict[str, list[str]]) -> dict[str, str]:
    """Fixed split of the pieces of a newer style, by group: the groups ordered by a hash of
    their name; the first 10% (at least one) held out, the next 10% (at least one) validation,
    the rest training. ``groups``: group name → piece ids."""
    names = sorted(groups, key=lambda g: hashlib.sha1(g.encode("utf-8")).hexdigest())
    n = len(names)
    n_held = max(1, round(0.1 * n)) if n >= 3 else 0
    n_valid = max(1, round(0.1 * n)) if n >= 3 else 0
    out = {}
    for i, g in enumerate(names):
        split = "heldout" if i < n_held else "valid" if i < n_held + n_valid else "train"
        for pid in groups[g]:
            out[pid] = split
    return out


def build_corpus(
    corpora: Iterable[str] = DEFAULT_CORPORA,
    out: Path | None = None,
    workers: int | None = None,
    limit: int | None = None,
    record_splits: bool = True,
    log=print,
) -> dict:
    """Parse, tokenise and cache the corpus; returns a summary (counts, sizes, seconds).

    ``corpora``: music21 source folders (see :data:`STYLE_SOURCES` and :func:`parse_styles`).
    Each file's parse is kept in ``data/music_raw/`` so that a rebuild (another tokeniser, more
    styles) parses only what is new."""
    corpora = list(corpora)
    unknown = [c for c in corpora if c not in STYLE_OF_SOURCE]
    if unknown:
        raise UserError(f"unknown corpus {', '.join(unknown)} (choose from {', '.join(sorted(STYLE_OF_SOURCE))})")
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
    log(f"parsing {len(files)} files from music21 ({', '.join(corpora)}) with {workers} processes …")
    # big files (tune books, quartets) first, so that the pool ends evenly
    order = sorted(files, key=lambda it: -os.path.getsize(it[1]))
    results: list[tuple[str, list, str]] = []
    if workers > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for i, r in enumerate(pool.map(_extract_worker, order, chunksize=1), 1):
                results.append(r)
                if i % 100 == 0 or i == len(files):
                    log(f"  {i}/{len(files)} parsed ({time.perf_counter() - t0:.0f}s)")
    else:
        for i, item in enumerate(order, 1):
            results.append(_extract_worker(item))
            if i % 100 == 0 or i == len(files):
                log(f"  {i}/{len(files)} parsed ({time.perf_counter() - t0:.0f}s)")
    results.sort(key=lambda r: r[0])
    failed = [(fid, err) for fid, _, err in results if err]
    for fid, err in failed[:5]:
        log(f"  skipped {fid}: {err[:120]}")
    paths_of = dict(files)
    entries = []  # (piece id, raw, style, group)
    for fid, tunes, _ in results:
        source = fid.split("/", 1)[0]
        for key, raw, title in tunes:
            pid = fid + key
            entries.append((pid, raw, STYLE_OF_SOURCE[source], piece_group(pid, paths_of[fid], title)))
    assignment: dict[str, str] = {}
    new_ids = []
    by_style_groups: dict[str, dict[str, list[str]]] = {}
    for pid, _raw, style, group in entries:
        split = recorded.get(pid)
        if split is None and style in ROUND1_STYLES:
            split = hash_split(group)
        if split is None:
            by_style_groups.setdefault(style, {}).setdefault(group, []).append(pid)
            new_ids.append(pid)
        else:
            assignment[pid] = split
            if pid not in recorded:
                new_ids.append(pid)
    for style, groups in by_style_groups.items():
        # a style seen for the first time gets its fixed lists; later additions to a style
        # whose lists exist go by hash (test → heldout), so recorded pieces never move
        if any(s == style for s in (STYLE_OF_SOURCE.get(r.split("/", 1)[0]) for r in recorded)):
            for g, ids in groups.items():
                h = hash_split(g)
                for pid in ids:
                    assignment[pid] = "heldout" if h == "test" else h
        else:
            assignment.update(assign_new_style_splits(groups))
    style_of = {pid: style for pid, _, style, _ in entries}
    pieces = [tokenise_piece(pid, assignment[pid], raw, style_id(style)) for pid, raw, style, _ in entries]
    if record_splits and not limit and new_ids:
        merged = dict(recorded)
        merged.update(assignment)
        all_style = {pid: STYLE_OF_SOURCE.get(pid.split("/", 1)[0], "") for pid in merged}
        all_style.update(style_of)
        write_splits(merged, style_of=all_style)
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
        "velocity_share": float(
            sum(int((p.notes.velocity > 0).sum()) for p in pieces) / max(1, sum(len(p.notes) for p in pieces))
        ),
        "styles": list(STYLES),
        "style_counts": {
            STYLES[i]: {
                s: {
                    "pieces": sum(1 for p in pieces if p.style == i and p.split == s),
                    "notes": sum(len(p.notes) for p in pieces if p.style == i and p.split == s),
                }
                for s in SPLITS
            }
            for i in sorted({p.style for p in pieces})
        },
    }
    arrays = {
        "meta": np.array(json.dumps(meta)),
        "piece_id": np.array([p.piece_id for p in pieces]),
        "piece_split": np.array([SPLITS.index(p.split) for p in pieces], np.int8),
        "piece_bar_ticks": np.array([p.bar_ticks for p in pieces], np.int16),
        "piece_style": np.array([p.style for p in pieces], np.int8),
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
    return {
        "path": str(out),
        "size_bytes": out.stat().st_size,
        "pieces": len(pieces),
        "counts": counts,
        "has_velocity": meta["has_velocity"],
    }


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
    style: int = 0  # index into STYLES (0: unknown)

    @property
    def style_name(self) -> str:
        return STYLES[self.style] if 0 <= self.style < len(STYLES) else "unknown"

    @property
    def n_notes(self) -> int:
        return int(self.pitch.size)

    def grid_notes(self) -> T.GridNotes:
        return T.GridNotes.from_arrays(self.pitch, self.start, self.dur, self.velocity, self.voice)

    def note_events(self, use_velocity: bool) -> dict[str, np.ndarray]:
        """The Transformer's compound events (``shift``, ``pitch``, ``dur``, ``vel``, ``time``);
        velocities are VEL_NONE unless ``use_velocity``."""
        vel = self.nev_vel if use_velocity else np.full_like(self.nev_vel, T.VEL_NONE)
        return {
            "shift": self.nev_shift,
            "pitch": self.nev_pitch,
            "dur": self.nev_dur,
            "vel": vel,
            "time": self.nev_time,
        }

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

    def split(self, name: str, style: str | Iterable[str] | None = None) -> list[CorpusPiece]:
        """Pieces of split ``name`` ("train", "valid", "test" — the round-1 test, unchanged — or
        "heldout", the newer styles' test pieces), optionally of one style or several."""
        styles = None if style is None else ({style} if isinstance(style, str) else set(style))
        return [p for p in self.pieces if p.split == name and (styles is None or p.style_name in styles)]

    def styles(self) -> list[str]:
        """The styles present, in :data:`STYLES` order."""
        have = {p.style for p in self.pieces}
        return [s for i, s in enumerate(STYLES) if i in have]


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
        raise UserError(
            f"music data cache {path} is unreadable ({type(exc).__name__}); rebuild it with 'gdl-studio data music'"
        ) from None
    if meta.get("signature") != T.vocab_signature():
        raise UserError(
            f"music data cache {path} was built by another tokeniser version; rebuild it with 'gdl-studio data music'"
        )
    a = {k: z[k] for k in z.files}
    no, so, eo, vo = a["note_offsets"], a["step_offsets"], a["event_offsets"], a["nev_offsets"]
    pieces = []
    for i, pid in enumerate(a["piece_id"]):
        n0, n1, s0, s1, e0, e1 = no[i], no[i + 1], so[i], so[i + 1], eo[i], eo[i + 1]
        pieces.append(
            CorpusPiece(
                piece_id=str(pid),
                split=SPLITS[int(a["piece_split"][i])],
                bar_ticks=int(a["piece_bar_ticks"][i]),
                n_voices=int(a["piece_n_voices"][i]),
                pitch=a["note_pitch"][n0:n1].astype(np.int32),
                start=a["note_start"][n0:n1].astype(np.int64),
                dur=a["note_dur"][n0:n1].astype(np.int32),
                velocity=a["note_velocity"][n0:n1].astype(np.int32),
                voice=a["note_voice"][n0:n1].astype(np.int32),
                step_note=a["step_note"][s0:s1].astype(np.int64),
                step_dur=a["step_dur"][s0:s1].astype(np.int64),
                step_voice=a["step_voice"][s0:s1].astype(np.int64),
                step_onset=a["step_onset"][s0:s1].astype(np.int64),
                event_token=a["event_token"][e0:e1].astype(np.int64),
                event_time=a["event_time"][e0:e1].astype(np.int64),
                nev_shift=a["nev_shift"][vo[i] : vo[i + 1]].astype(np.int64),
                nev_pitch=a["nev_pitch"][vo[i] : vo[i + 1]].astype(np.int64),
                nev_dur=a["nev_dur"][vo[i] : vo[i + 1]].astype(np.int64),
                nev_vel=a["nev_vel"][vo[i] : vo[i + 1]].astype(np.int64),
                nev_time=a["nev_time"][vo[i] : vo[i + 1]].astype(np.int64),
                style=int(a["piece_style"][i]) if "piece_style" in a else 0,
            )
        )
    return Corpus(pieces=pieces, meta=meta, path=path)


if __name__ == "__main__":  # pragma: no cover
    build_corpus(sys.argv[1:] or DEFAULT_CORPORA)
