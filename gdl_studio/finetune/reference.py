"""Reference "user" data sets for ``gdl-studio bench finetune``, built from installed packages.

Both are deterministic and come from the models' held-out test splits, so the base models never
trained on them:

* music: test-split pieces of the music21 corpus (Bach chorales first, then Palestrina), written
  as MIDI files until they hold ``minutes`` of music at 120 quarter notes per minute;
* ink: test-split KanjiVG characters redrawn in one consistent "hand": slanted (shear 0.3),
  slightly narrower and with a small smooth wobble, written as SVG files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from gdl_studio.core.errors import UserError

REFERENCE_TEMPO_QPM = 120.0


def music_reference_set(out_dir: Path, minutes: float = 30.0) -> dict:
    """Write test-split corpus pieces as MIDI into ``out_dir``; returns a summary."""
    try:
        from music21 import corpus
    except ImportError:
        raise UserError("the music reference set needs music21 (pip install music21)") from None
    from gdl_studio.music.corpus import read_splits

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    test = sorted(pid for pid, split in read_splits().items() if split == "test")
    test.sort(key=lambda pid: (not pid.startswith("bach/"), pid))
    seconds = 0.0
    files = []
    for pid in test:
        if seconds >= minutes * 60:
            break
        try:
            score = corpus.parse(pid)
        except Exception:
            continue
        path = out_dir / (pid.replace("/", "_") + ".mid")
        score.write("midi", fp=str(path))
        seconds += float(score.highestTime) * 60.0 / REFERENCE_TEMPO_QPM
        files.append(path.name)
    if not files:
        raise UserError("no test-split pieces found in the music21 corpus")
    return {"files": len(files), "minutes": round(seconds / 60, 1), "first": files[0], "source": "music21 corpus, test split"}


def _style(points: np.ndarray, rng: np.random.Generator, phase: float) -> np.ndarray:
    """The reference hand: shear 0.3 about the box centre, 0.85× width, a smooth ±1.2 unit wobble."""
    p = np.asarray(points, dtype=np.float64).copy()
    c = 54.5
    x, y = p[:, 0] - c, p[:, 1] - c
    x = 0.85 * x - 0.3 * y
    t = np.linspace(0, 1, len(p))
    x += 1.2 * np.sin(2 * np.pi * (1.5 * t + phase))
    y += 1.2 * np.cos(2 * np.pi * (1.1 * t + phase))
    return np.stack([x + c, y + c], axis=1)


def ink_reference_set(out_dir: Path, count: int = 40, seed: int = 0) -> dict:
    """Write ``count`` test-split KanjiVG characters in the reference hand as SVG files."""
    from gdl_studio.ink.dataset import _parse_file, character_of, kanjivg_files, read_split_lists
    from gdl_studio.ink.svgio import strokes_to_svg

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    splits = read_split_lists()
    files, _version = kanjivg_files()
    candidates = [f for f in files if "-" not in f.stem and splits.get(character_of(f.stem)) == "test"]
    rng = np.random.default_rng(seed)
    picked = rng.choice(len(candidates), size=min(count, len(candidates)), replace=False)
    written = points = 0
    for k in sorted(picked):
        stem, strokes, err = _parse_file(str(candidates[k]))
        if not strokes:
            continue
        styled = [_style(s, rng, rng.uniform()) for s in strokes]
        (out_dir / f"{stem}.svg").write_text(strokes_to_svg(styled), encoding="utf-8")
        written += 1
        points += sum(len(s) for s in styled)
    if not written:
        raise UserError("no test-split KanjiVG characters found")
    return {"files": written, "points": points, "source": "KanjiVG test split, sheared 0.3, 0.85 width, wobble"}
