"""``gdl-studio bench finetune``: seconds per epoch on reference user sets, and the GUI stall
while the Training dock trains.

The whole app is built offscreen (main window, engine thread, Training dock). Jobs run exactly
as in the app — one after another in the dock's child process, with torch on all cores but one
— on the reference sets of :mod:`gdl_studio.bench.reference`: 30 minutes of held-out music
for the LSTM and the Transformer, 40 held-out characters in a slanted hand for the VRNN, and a
dream CMA-ES run for the controller. A 1 ms QTimer on the GUI thread measures the stalls the
whole time. Epoch seconds come from the jobs' progress reports (median over epochs ≥ 1).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

from gdl_studio.core import bench

TARGETS = {"stall_ms.p99": 16.0, "music_epoch_s": 60.0}


def _jobs(music_dir: Path, ink_dir: Path, epochs: int) -> list:
    from gdl_studio.core.finetuning import FinetuneSpec

    return [
        FinetuneSpec(
            "music",
            "music-lstm",
            [str(music_dir)],
            "bench-music-lstm",
            {"epochs": epochs, "patience": epochs, "lr": 3e-4, "seed": 0},
        ),
        FinetuneSpec(
            "music",
            "music-transformer",
            [str(music_dir)],
            "bench-music-transformer",
            {"epochs": epochs, "patience": epochs, "lr": 3e-4, "seed": 0},
        ),
        FinetuneSpec(
            "ink",
            "vrnn",
            [str(ink_dir)],
            "bench-ink-vrnn",
            {"epochs": epochs, "patience": epochs, "lr": 3e-4, "seed": 0},
        ),
        FinetuneSpec(
            "controller",
            "carracing-controller",
            [],
            "bench-controller",
            {"generations": epochs, "mode": "dream", "population": 16, "rollouts": 2, "seed": 0},
        ),
    ]


def _run_jobs(tmp: Path, epochs: int, stall_seconds: float | None):
    """Submit the bench's jobs to the Training dock of a fresh app (reference sets in ``tmp``)
    and wait for them while the GUI timer runs; returns what :func:`run_bench` reports."""
    from gdl_studio.bench.reference import ink_reference_set, music_reference_set
    from gdl_studio.bench.stall import measure_stalls
    from gdl_studio.bench.ui import open_app
    from gdl_studio.core.finetuning import Progress

    music_info = music_reference_set(tmp / "music")
    ink_info = ink_reference_set(tmp / "ink")

    app, engine, window = open_app(tmp)
    dock = window.training_dock
    dock.show()
    app.processEvents()

    specs = _jobs(tmp / "music", tmp / "ink", epochs)
    names = {spec.id: spec.name for spec in specs}
    times: dict[str, list[tuple[int, float]]] = {spec.name: [] for spec in specs}
    outcome: dict[str, dict] = {}
    dock.service.progress.connect(
        lambda job_id, ev: (
            times[names[job_id]].append((ev.step, time.perf_counter()))
            if job_id in names and isinstance(ev, Progress)
            else None
        )
    )
    dock.service.finished.connect(lambda ev: outcome.__setitem__(names.get(ev.job_id, "?"), {"ok": True, **ev.summary}))
    dock.service.failed.connect(
        lambda ev: outcome.__setitem__(names.get(ev.job_id, "?"), {"ok": False, "error": ev.message})
    )

    gaps: list[float] = []
    t0 = time.perf_counter()
    for spec in specs:
        dock.submit(spec)
    while dock.service.runner.busy or len(outcome) < len(specs):
        gaps.extend(measure_stalls(1.0))
        if stall_seconds and time.perf_counter() - t0 > stall_seconds:
            break
        if time.perf_counter() - t0 > 3600:
            break
    elapsed = time.perf_counter() - t0
    window.close()
    engine.shutdown()
    return music_info, ink_info, specs, times, outcome, gaps, elapsed


def run_bench(as_json: bool = False, stall_seconds: float | None = None, epochs: int = 3) -> int:
    """Run the benchmark; print a table or JSON. ``stall_seconds`` caps the whole run (None: all jobs)."""
    user_dir = os.environ.get("GDL_STUDIO_USER_DIR")
    with tempfile.TemporaryDirectory(prefix="gdl-bench-finetune-", ignore_cleanup_errors=True) as scratch:
        tmp = Path(scratch)
        try:
            # the personal models the bench trains go to a scratch user directory, not the user's own
            os.environ["GDL_STUDIO_USER_DIR"] = str(tmp / "user")
            music_info, ink_info, specs, times, outcome, gaps, elapsed = _run_jobs(tmp, epochs, stall_seconds)
        finally:
            if user_dir is None:
                os.environ.pop("GDL_STUDIO_USER_DIR", None)
            else:
                os.environ["GDL_STUDIO_USER_DIR"] = user_dir

    results: dict = {"reference": {"music": music_info, "ink": ink_info}, "jobs": {}}
    for spec in specs:
        marks = times[spec.name]
        per_epoch = [b[1] - a[1] for a, b in zip(marks, marks[1:]) if b[0] >= 1]
        entry: dict[str, Any] = {"unit": "generation" if spec.family == "controller" else "epoch"}
        if per_epoch:
            entry["epoch_s"] = round(float(sorted(per_epoch)[len(per_epoch) // 2]), 2)
        got = outcome.get(spec.name, {"ok": False, "error": "not finished"})
        entry["ok"] = got.get("ok", False)
        if not entry["ok"]:
            entry["error"] = got.get("error", "")
        entry["metrics"] = {k: v for k, v in got.get("metrics", {}).items() if isinstance(v, (int, float, str))}
        results["jobs"][spec.name.removeprefix("bench-")] = entry
    stall = bench.percentiles(gaps)
    results["stall_ms"] = {k: stall[k] for k in ("p50", "p99", "max")}
    results["ticks"] = stall["n"]
    results["seconds"] = round(elapsed, 1)
    music = results["jobs"].get("music-lstm", {})
    results["epoch_s"] = music.get("epoch_s")
    results["targets"] = TARGETS
    if as_json:
        bench.emit(results, as_json=True)
        return 0
    rows = []
    for name, entry in results["jobs"].items():
        m = entry["metrics"]
        before = next((m[k] for k in m if k.startswith("base_valid")), "")
        after = next(
            (m[k] for k in m if k.startswith("valid") and not k.startswith("valid_first") and k != "valid_rollouts"), ""
        )
        rows.append(
            (
                name,
                entry.get("epoch_s", "–"),
                entry["unit"],
                before,
                after,
                "ok" if entry["ok"] else entry.get("error", ""),
            )
        )
    bench.print_table(
        f"bench finetune: jobs in the Training dock's child process; music set {music_info['minutes']} min "
        f"({music_info['files']} files), ink set {ink_info['files']} drawings",
        rows,
        header=("job", "s per epoch", "unit", "base on user valid", "fine-tuned", "result"),
    )
    bench.print_table(
        "GUI stall while training (1 ms timer)",
        [
            ("p50 (ms)", stall["p50"], ""),
            ("p99 (ms)", stall["p99"], "≤ 16"),
            ("max (ms)", stall["max"], ""),
            ("ticks", stall["n"], ""),
            ("wall time (s)", round(elapsed, 1), ""),
        ],
        header=("figure", "value", "target"),
    )
    return 0
