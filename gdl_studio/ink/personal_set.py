"""The user's personal drawing set: SVG files in the user data directory (no Qt).

Drawings the user keeps from the Sketch canvas ("Add to my set") or imports from SVG files live
in ``<user dir>/ink-set/`` as small SVG documents in KanjiVG units (a 109 × 109 viewBox, one
polyline path per stroke), written atomically. Fine-tuning the ink models with no explicit
inputs reads this folder (see :mod:`gdl_studio.ink.finetune`). File names start with a UTC time
stamp, so that listing them by name lists them in the order they were added.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from gdl_studio.core import paths
from gdl_studio.core.errors import UserError

SET_FOLDER = "ink-set"
MIN_DRAWINGS = 5
"""Fewest drawings a fine-tune accepts (at least one is held out for early stopping)."""


def set_dir() -> Path:
    """``<user dir>/ink-set`` (created on demand)."""
    path = paths.user_dir() / SET_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def _new_path(folder: Path, stem_hint: str = "") -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    hint = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem_hint)[:40].strip("-")
    return folder / f"{stamp}-{uuid.uuid4().hex[:8]}{'-' + hint if hint else ''}.svg"


def add(strokes: Sequence[np.ndarray], name_hint: str = "") -> Path:
    """Save one drawing (a list of ``(N, 2)`` strokes in KanjiVG units); returns its file.

    Raises :class:`UserError` for a blank drawing or non-finite points.
    """
    from gdl_studio.ink.strokes import validate_strokes
    from gdl_studio.ink.svgio import write_svg

    arrays = validate_strokes(list(strokes))
    path = _new_path(set_dir(), name_hint)
    write_svg(path, arrays)
    return path


def list_drawings() -> list[Path]:
    """The set's SVG files, oldest first (hidden and temporary files are skipped)."""
    folder = paths.user_dir() / SET_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.svg") if p.is_file() and not p.name.startswith("."))


def count() -> int:
    """How many drawings the set holds."""
    return len(list_drawings())


def remove(drawing: str | Path) -> None:
    """Delete one drawing of the set (by path or file name)."""
    folder = set_dir().resolve()
    path = Path(drawing)
    path = (folder / path.name) if not path.is_absolute() else path
    if path.resolve().parent != folder or path.suffix.lower() != ".svg":
        raise UserError(f"{Path(drawing).name} is not a drawing of your set")
    try:
        path.unlink()
    except FileNotFoundError:
        raise UserError(f"{path.name} is not in your set (already removed?)") from None


def clear() -> int:
    """Delete every drawing of the set; returns how many were removed."""
    removed = 0
    for path in list_drawings():
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def svg_files(inputs: Iterable[str | Path]) -> list[Path]:
    """SVG files of ``inputs``: files as given, folders searched recursively for ``*.svg``.

    Raises :class:`UserError` for a path that does not exist.
    """
    out: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            found = [
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() == ".svg"
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
            out.extend(sorted(found))
        elif path.is_file():
            out.append(path)
        else:
            raise UserError(f"no such file or folder: {path}")
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def import_svgs(inputs: Iterable[str | Path]) -> tuple[list[Path], list[str]]:
    """Copy SVG drawings (files or folders) into the set, normalised to the 109-unit box.

    Each file is read as the Sketch panel opens it (see :func:`gdl_studio.ink.svgio.read_svg_strokes`)
    and written back as a plain polyline SVG. Returns ``(added files, one-line errors)``; a file
    that cannot be read is reported and skipped, the others are still imported.
    """
    from gdl_studio.ink.svgio import read_svg_strokes

    added: list[Path] = []
    errors: list[str] = []
    for path in svg_files(inputs):
        try:
            strokes = read_svg_strokes(path)
            added.append(add(strokes, name_hint=path.stem))
        except UserError as exc:
            text = str(exc)
            errors.append(text if text.startswith(path.name) else f"{path.name}: {text}")
    return added, errors
