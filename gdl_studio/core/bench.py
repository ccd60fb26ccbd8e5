"""Shared helpers for ``gdl-studio bench``: percentiles, RSS, table and JSON output."""

from __future__ import annotations

import json
import math
import resource
import sys
from collections.abc import Iterable
from typing import Any, TextIO

import numpy as np


def percentiles(samples: Iterable[float]) -> dict[str, float]:
    """p50/p90/p99/max/mean of ``samples`` (empty input gives NaNs)."""
    arr = np.asarray(list(samples), dtype=np.float64)
    if arr.size == 0:
        nan = float("nan")
        return {"p50": nan, "p90": nan, "p99": nan, "max": nan, "mean": nan, "n": 0}
    return {
        "p50": float(np.percentile(arr, 50)),
        "p90": float(np.percentile(arr, 90)),
        "p99": float(np.percentile(arr, 99)),
        "max": float(arr.max()),
        "mean": float(arr.mean()),
        "n": int(arr.size),
    }


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0


def current_rss_mb() -> float:
    """Current resident set size of this process in MiB (Linux /proc, else the peak)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        import os

        return pages * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except (OSError, ValueError, IndexError):
        return peak_rss_mb()


def flatten(results: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts into dotted keys: {"a": {"b": 1}} → {"a.b": 1}."""
    flat: dict[str, Any] = {}
    for key, value in results.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


TABLE_LIST_MAX = 8  # a longer list (e.g. every episode's return) is summarised in the table; --json has it whole


def _fmt(value: Any) -> str:
    if isinstance(value, (list, tuple)) and len(value) > TABLE_LIST_MAX:
        return f"{len(value)} values ({', '.join(_fmt(v) for v in value[:3])}, …; whole with --json)"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3f}"
    return str(value)


def print_table(
    title: str, rows: list[tuple[Any, ...]], header: tuple[Any, ...] | None = None, out: TextIO | None = None
) -> None:
    """Print a plain-text table; ``rows`` are tuples of cells."""
    out = out or sys.stdout
    cells = [tuple(_fmt(c) for c in row) for row in rows]
    if header:
        cells.insert(0, tuple(str(h) for h in header))
    if not cells:
        return
    widths = [max(len(r[i]) for r in cells if i < len(r)) for i in range(max(map(len, cells)))]
    print(f"\n{title}", file=out)
    for n, row in enumerate(cells):
        print("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row)), file=out)
        if header and n == 0:
            print("  " + "  ".join("-" * w for w in widths), file=out)


def json_safe(value: Any) -> Any:
    """``value`` (dicts and lists inside it too) with every NaN or infinite float as None: JSON
    has no NaN (Python would write the bare word ``NaN``, which strict parsers reject), and a
    figure that could not be computed is ``null``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def dump_json(results: Any, out: TextIO | None = None) -> None:
    """Write ``results`` to ``out`` (stdout) as strict JSON, sorted and indented, and a newline."""
    out = out or sys.stdout
    json.dump(json_safe(results), out, indent=2, sort_keys=True, allow_nan=False)
    print(file=out)


def emit(results: dict[str, Any], as_json: bool, title: str = "", out: TextIO | None = None) -> None:
    """Print ``results`` as JSON (flat dotted keys; a figure that is NaN is ``null``) or as a
    two-column table."""
    out = out or sys.stdout
    flat = flatten(results)
    if as_json:
        dump_json(flat, out)
    else:
        print_table(title or "results", [(k, v) for k, v in flat.items()], header=("figure", "value"), out=out)
