"""Per-point sampling latency of an installed ink model, measured on one CPU thread.

Run as ``python -m gdl_studio.ink.latency vrnn 1000`` (``gdl-studio bench ink`` does this in a
child process whose BLAS and torch thread pools are limited to one thread); prints JSON with
wall-clock (``latency_ms``) and thread-CPU (``cpu_ms``) percentiles per point and the child's
peak RSS. The gap between the two shows time lost to other processes on a busy machine.
"""

from __future__ import annotations

import json
import sys
import time

SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}


def measure(model, points: int = 1000, seed: int = 0) -> dict:
    """Time each ``next()`` of :func:`~gdl_studio.ink.sampling.generate`, drawing from scratch
    at temperature 1 (drawings of up to 250 points, seeds ``seed``, ``seed + 1``, …)."""
    from gdl_studio.core.bench import percentiles
    from gdl_studio.ink.sampling import generate

    for _ in generate(model, temperature=1.0, seed=seed + 10_000, max_points=50):  # warm-up
        pass
    wall: list[float] = []
    cpu: list[float] = []
    s = seed
    while len(wall) < points:
        gen = generate(model, temperature=1.0, seed=s, max_points=min(250, points - len(wall)))
        while True:
            c0 = time.thread_time_ns()
            t0 = time.perf_counter_ns()
            try:
                next(gen)
            except StopIteration:
                break
            wall.append((time.perf_counter_ns() - t0) / 1e6)
            cpu.append((time.thread_time_ns() - c0) / 1e6)
        s += 1
    keep = ("p50", "p90", "p99", "max", "mean")
    return {
        "latency_ms": {k: v for k, v in percentiles(wall).items() if k in keep},
        "cpu_ms": {k: v for k, v in percentiles(cpu).items() if k in keep},
        "points": len(wall),
    }


def _own_peak_rss_mb() -> float:
    """Peak RSS of this process's own address space (``VmHWM``). ``getrusage`` is not used: on
    Linux its ``ru_maxrss`` survives ``exec`` and would report the parent's peak."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    from gdl_studio.core.bench import peak_rss_mb

    return peak_rss_mb()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    import torch

    torch.set_num_threads(1)
    from gdl_studio.ink.models_io import load_ink_model

    kind, points = argv[0], int(argv[1]) if len(argv) > 1 else 1000
    model = load_ink_model(kind)
    result = measure(model, points)
    result["rss_mb"] = round(_own_peak_rss_mb(), 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
