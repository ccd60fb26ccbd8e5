"""The KanjiVG pen-stroke data set: build (``gdl-studio data ink``) and load the ``.npz`` cache.

Pipeline: every SVG of the installed ``kanjivg`` distribution (found through
:mod:`importlib.metadata`, 11 662 files including variants such as ``04e00-Kaisho.svg``) →
strokes (:mod:`svg.path`, Béziers sampled about once per unit) → Ramer–Douglas–Peucker with
ε = 1 unit (vectorised over the whole data set at once) → stroke-3 rows → ``dx, dy`` divided by
the training-set scale (the RMS of the training offsets, one number for both axes).

The split is **by character**: all variants of a code point fall in the same part. The lists
are committed under ``resources/splits/ink/{train,valid,test}.txt`` (one code point in hex per
line); a character missing from them (a newer KanjiVG) is assigned by the same hash rule that
made them and counted in the build report.
"""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdl_studio.core import paths
from gdl_studio.core.errors import UserError

SPLITS = ("train", "valid", "test")
SPLIT_FRACTIONS = (0.90, 0.05, 0.05)
CACHE_NAME = "ink/kanjivg.npz"
FORMAT_VERSION = 1


def split_dir() -> Path:
    """Where the committed split lists live."""
    return paths.resources_dir() / "splits" / "ink"


def default_cache_path() -> Path:
    """``data/ink/kanjivg.npz``."""
    return paths.data_dir() / CACHE_NAME


def character_of(stem: str) -> str:
    """The character key of a KanjiVG file stem: ``"04e00-Kaisho"`` → ``"04e00"``."""
    return stem.split("-", 1)[0].lower()


def hash_split(char: str) -> str:
    """The split a character gets by the fixed hash rule (sha256 of its hex code point)."""
    u = int.from_bytes(hashlib.sha256(char.encode("ascii")).digest()[:8], "big") / 2.0**64
    edge = 0.0
    for name, frac in zip(SPLITS, SPLIT_FRACTIONS):
        edge += frac
        if u < edge:
            return name
    return SPLITS[-1]


def read_split_lists(directory: Path | None = None) -> dict[str, str]:
    """Character → split name, from the committed lists (empty when they are absent)."""
    directory = directory or split_dir()
    table: dict[str, str] = {}
    for name in SPLITS:
        f = directory / f"{name}.txt"
        if not f.is_file():
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            line = line.split("#", 1)[0].strip().lower()
            if line:
                if line in table and table[line] != name:
                    raise UserError(f"character {line} is in two split lists ({table[line]}, {name})")
                table[line] = name
    return table


def write_split_lists(chars: list[str], directory: Path | None = None) -> dict[str, int]:
    """Write the split lists for ``chars`` by :func:`hash_split` (done once, then committed)."""
    from gdl_studio.core.atomic import write_text_atomic

    directory = directory or split_dir()
    parts: dict[str, list[str]] = {s: [] for s in SPLITS}
    for c in sorted(set(chars)):
        parts[hash_split(c)].append(c)
    for name, items in parts.items():
        head = (
            f"# KanjiVG characters (hex code points) in the {name} split of the ink models.\n"
            "# Fixed split by character: every variant file of a character goes with it.\n"
            "# Made by gdl_studio.ink.dataset.hash_split (sha256 of the code point); do not edit.\n"
        )
        write_text_atomic(directory / f"{name}.txt", head + "".join(c + "\n" for c in items))
    return {k: len(v) for k, v in parts.items()}


def kanjivg_files() -> tuple[list[Path], str]:
    """The SVG files of the installed ``kanjivg`` distribution and its version."""
    import importlib.metadata as md

    try:
        dist = md.distribution("kanjivg")
    except md.PackageNotFoundError:
        raise UserError("the 'kanjivg' package is not installed (pip install kanjivg)") from None
    files = [f for f in (dist.files or []) if str(f).endswith(".svg")]
    found = [Path(str(dist.locate_file(f))) for f in files]
    found = sorted(p for p in found if p.is_file())
    if not found:
        raise UserError("the 'kanjivg' package has no SVG files")
    return found, dist.version


def _parse_file(path: str) -> tuple[str, list[np.ndarray] | None, str]:
    from gdl_studio.ink.svgio import parse_svg_strokes

    try:
        strokes = parse_svg_strokes(Path(path).read_bytes())
        return Path(path).stem, strokes, ""
    except Exception as exc:  # a broken file is skipped and reported
        return Path(path).stem, None, f"{type(exc).__name__}: {exc}"


def _parse_chunk(chunk: list[str]):
    return [_parse_file(p) for p in chunk]


@dataclass
class InkData:
    """The loaded cache: concatenated normalised stroke-3 rows and per-sequence metadata."""

    rows: np.ndarray  # (P, 3) float32: dx/scale, dy/scale, pen
    bounds: np.ndarray  # (S+1,) int64: sequence i is rows[bounds[i]:bounds[i+1]]
    split: np.ndarray  # (S,) int8: index into SPLITS
    names: np.ndarray  # (S,) str: KanjiVG file stem
    scale: float
    meta: dict

    def __len__(self) -> int:
        return len(self.split)

    def sequence(self, i: int) -> np.ndarray:
        """Normalised stroke-3 rows of sequence ``i``."""
        return self.rows[self.bounds[i] : self.bounds[i + 1]]

    def indices(self, split: str) -> np.ndarray:
        """Sequence indices of one split."""
        return np.flatnonzero(self.split == SPLITS.index(split))

    def sequences(self, split: str) -> list[np.ndarray]:
        """Normalised stroke-3 rows of every sequence of one split."""
        return [self.sequence(i) for i in self.indices(split)]

    def lengths(self) -> np.ndarray:
        return np.diff(self.bounds)


def build(
    out: Path | None = None,
    epsilon: float | None = None,
    workers: int = 0,
    limit: int = 0,
    log=print,
) -> dict:
    """Build the ``.npz`` cache from the installed KanjiVG; returns a report of what was done."""
    from gdl_studio.core.atomic import atomic_path
    from gdl_studio.ink.rdp import rdp_mask
    from gdl_studio.ink.strokes import RDP_EPSILON, strokes_to_stroke3

    eps = RDP_EPSILON if epsilon is None else float(epsilon)
    out = Path(out) if out else default_cache_path()
    t0 = time.perf_counter()
    files, version = kanjivg_files()
    if limit:
        files = files[:limit]
    log(f"kanjivg {version}: {len(files):,} SVG files")
    import os

    workers = workers or min(8, os.cpu_count() or 1)
    strs = [str(f) for f in files]
    chunks = [strs[i : i + 256] for i in range(0, len(strs), 256)]
    if workers > 1 and len(chunks) > 1:
        with ProcessPoolExecutor(workers) as pool:
            parsed = [r for part in pool.map(_parse_chunk, chunks) for r in part]
    else:
        parsed = [r for c in chunks for r in _parse_chunk(c)]
    bad = [(stem, err) for stem, s, err in parsed if s is None]
    parsed = [(stem, s) for stem, s, _ in parsed if s]
    t_parse = time.perf_counter() - t0
    log(f"parsed {len(parsed):,} files in {t_parse:.1f} s ({len(bad)} unreadable)")

    # One RDP pass over every stroke of every file.
    all_strokes = [s for _, strokes in parsed for s in strokes]
    per_file = [len(strokes) for _, strokes in parsed]
    lengths = np.array([len(s) for s in all_strokes])
    bounds = np.concatenate([[0], np.cumsum(lengths)])
    pts = np.concatenate(all_strokes)
    t1 = time.perf_counter()
    keep = rdp_mask(pts, bounds, eps)
    t_rdp = time.perf_counter() - t1
    simplified = [pts[a:b][keep[a:b]] for a, b in zip(bounds[:-1], bounds[1:])]
    log(f"RDP (eps={eps:g}) {len(pts):,} → {int(keep.sum()):,} points in {t_rdp:.2f} s")

    seqs, names, chars, stroke_counts = [], [], [], []
    k = 0
    for (stem, _), n in zip(parsed, per_file):
        seqs.append(strokes_to_stroke3(simplified[k : k + n]))
        k += n
        names.append(stem)
        chars.append(character_of(stem))
        stroke_counts.append(n)

    table = read_split_lists()
    unlisted = sorted({c for c in chars if c not in table})
    split_names = [table.get(c) or hash_split(c) for c in chars]
    split = np.array([SPLITS.index(s) for s in split_names], dtype=np.int8)
    seq_len = np.array([len(s) for s in seqs])
    rows = np.concatenate(seqs)
    seq_bounds = np.concatenate([[0], np.cumsum(seq_len)]).astype(np.int64)
    train_rows = np.concatenate([s for s, sp in zip(seqs, split) if sp == 0])
    scale = float(np.sqrt(np.mean(train_rows[:, :2] ** 2)))
    norm = rows.astype(np.float64).copy()
    norm[:, :2] /= scale
    counts = {s: int((split == i).sum()) for i, s in enumerate(SPLITS)}
    char_counts = {s: len({c for c, sp in zip(chars, split_names) if sp == s}) for s in SPLITS}
    meta = {
        "format_version": FORMAT_VERSION,
        "source": f"kanjivg {version} (installed Python package)",
        "files": len(files),
        "unreadable": len(bad),
        "rdp_epsilon": eps,
        "units": "KanjiVG units (109x109 box), offsets divided by scale",
        "origin": [54.5, 54.5],
        "scale": scale,
        "sequences": counts,
        "characters": char_counts,
        "unlisted_characters": len(unlisted),
        "points_median": float(np.median(seq_len)),
        "points_mean": float(seq_len.mean()),
        "points_max": int(seq_len.max()),
        "points_total": int(seq_len.sum()),
        "stroke_count_hist": np.bincount(np.array(stroke_counts)).tolist(),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                rows=norm.astype(np.float32),
                bounds=seq_bounds,
                split=split,
                names=np.array(names),
                scale=np.float64(scale),
                meta=np.array(__import__("json").dumps(meta)),
            )
    meta["seconds"] = round(time.perf_counter() - t0, 2)
    meta["path"] = str(out)
    meta["size_bytes"] = out.stat().st_size
    if bad:
        meta["unreadable_examples"] = bad[:3]
    return meta


def load(path: Path | None = None) -> InkData:
    """Load the cache written by :func:`build`; :class:`UserError` when it is missing or stale."""
    import json

    path = Path(path) if path else default_cache_path()
    if not path.is_file():
        raise UserError(f"ink data cache missing: {path} (run `gdl-studio data ink`)")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            data = InkData(
                rows=z["rows"].astype(np.float32),
                bounds=z["bounds"].astype(np.int64),
                split=z["split"].astype(np.int8),
                names=z["names"],
                scale=float(z["scale"]),
                meta=meta,
            )
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"ink data cache unreadable: {path} ({exc}); rebuild with `gdl-studio data ink`") from None
    if meta.get("format_version") != FORMAT_VERSION:
        raise UserError(f"ink data cache {path} has an old format; rebuild with `gdl-studio data ink`")
    return data
