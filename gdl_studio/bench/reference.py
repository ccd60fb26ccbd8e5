"""Reference "user" data sets for ``gdl-studio bench finetune``, built from installed packages.

Both are deterministic and come from the models' held-out test splits, so the base models never
trained on them:

* music: test-split pieces of the music21 corpus (Bach chorales first, then Palestrina), written
  as MIDI files until they hold ``minutes`` of music at 120 quarter notes per minute;
* ink: test-split KanjiVG kanji redrawn in one consistent "hand" (slanted, with a small smooth
  wobble along each stroke) by :func:`gdl_studio.ink.finetune.write_reference_set`.
"""

from __future__ import annotations

from pathlib import Path

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
    return {
        "files": len(files),
        "minutes": round(seconds / 60, 1),
        "first": files[0],
        "source": "music21 corpus, test split",
    }


def ink_reference_set(out_dir: Path, count: int = 40, seed: int = 0) -> dict:
    """Write ``count`` test-split KanjiVG characters in the reference hand as SVG files (see
    :func:`gdl_studio.ink.finetune.write_reference_set`); returns a summary."""
    from gdl_studio.ink.finetune import write_reference_set
    from gdl_studio.ink.svgio import read_svg_strokes

    written = write_reference_set(out_dir, count=count, seed=seed)
    if not written:
        raise UserError("no test-split KanjiVG characters found")
    points = sum(len(s) for path in written for s in read_svg_strokes(path))
    return {"files": len(written), "points": points, "source": "KanjiVG test split (first kanji), slanted 0.3, wobble"}
