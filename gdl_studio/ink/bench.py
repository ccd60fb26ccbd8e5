"""``gdl-studio bench ink``: test-set log-likelihood, per-point sampling latency, peak RSS.

Log-likelihoods are per test sequence, in nats, with offsets in normalised units (divided by the
training-set scale); higher is better. RNN-GMM: exact. VRNN: the ELBO and an importance-sampled
estimate with ``K`` posterior samples (see :mod:`gdl_studio.ink.evaluate`). Latency: wall time of
each ``next()`` of the point generator on one CPU thread, drawing from scratch at temperature 1.
A model whose weights are not installed is skipped with a note.
"""

from __future__ import annotations

import time

import numpy as np

from gdl_studio.core.bench import emit, peak_rss_mb, print_table
from gdl_studio.core.errors import UserError

KEYS = {"vrnn": "vrnn", "rnn-gmm": "rnn_gmm"}


def measure_latency(kind: str, points: int) -> dict:
    """Run :mod:`gdl_studio.ink.latency` in a child process limited to one thread."""
    import json
    import os
    import subprocess
    import sys

    from gdl_studio.ink.latency import SINGLE_THREAD_ENV

    env = dict(os.environ, **SINGLE_THREAD_ENV)
    from pathlib import Path

    src = str(Path(__file__).resolve().parents[2])  # the folder holding the gdl_studio package
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.run(
        [sys.executable, "-m", "gdl_studio.ink.latency", kind, str(points)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise UserError(f"latency measurement of {kind} failed: {last}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run(args) -> int:
    """Handler of ``gdl-studio bench ink``."""
    import os

    import torch

    from gdl_studio.core.registry import ModelUnavailable
    from gdl_studio.ink import dataset, evaluate
    from gdl_studio.ink.models_io import load_ink_model

    torch.set_num_threads(max(1, args.threads))
    say = (lambda *a: None) if args.json else (lambda m: print(m, flush=True))
    data = dataset.load()
    test = data.sequences("test")
    n_all = len(test)
    if args.limit and args.limit < n_all:
        pick = np.random.default_rng(0).choice(n_all, args.limit, replace=False)
        test = [test[i] for i in sorted(pick)]
    mean_pts = float(np.mean([len(s) for s in test]))
    results: dict = {
        "test_sequences": len(test),
        "test_sequences_total": n_all,
        "test_points_per_sequence": round(mean_pts, 2),
        "scale_units": round(data.scale, 4),
        "is_samples": args.k,
        "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }
    rows, notes = [], []
    kinds = [k.strip() for k in args.models.split(",") if k.strip()]
    for kind in kinds:
        if kind not in KEYS:
            raise UserError(f"unknown ink model {kind!r} (vrnn, rnn-gmm)")
        key = KEYS[kind]
        try:
            model = load_ink_model(kind)
        except ModelUnavailable as exc:
            notes.append(f"{kind}: skipped ({exc})")
            results[f"{key}.skipped"] = str(exc)
            continue
        if abs(model.scale - data.scale) > 1e-6 * data.scale:
            notes.append(f"{kind}: trained with scale {model.scale:.4f}, data cache has {data.scale:.4f}")
        card_m = model.card.get("metrics", {})
        module = model.module
        t0 = time.perf_counter()
        if kind == "vrnn":
            say(f"scoring {kind} on {len(test)} test sequences (K={args.k}) …")
            elbo, ll_is = evaluate.vrnn_estimates(module, test, k=args.k, max_rows=args.max_rows, seed=0)
            r = {
                "elbo": float(elbo.mean()),
                "ll_is": float(ll_is.mean()),
                "ll_is_per_point": float(ll_is.mean() / mean_pts),
                "elbo_per_point": float(elbo.mean() / mean_pts),
            }
            rows.append(
                (kind, "importance-sampled log p(x)", r["ll_is"], r["ll_is_per_point"], card_m.get("test_ll_is", ""))
            )
            rows.append((kind, "ELBO (lower bound)", r["elbo"], r["elbo_per_point"], card_m.get("test_elbo", "")))
        else:
            say(f"scoring {kind} on {len(test)} test sequences …")
            ll = evaluate.rnn_log_likelihood(module, test)
            r = {"ll": float(ll.mean()), "ll_per_point": float(ll.mean() / mean_pts)}
            rows.append((kind, "exact log p(x)", r["ll"], r["ll_per_point"], card_m.get("test_ll", "")))
        r["score_seconds"] = round(time.perf_counter() - t0, 2)
        say(f"timing {kind} sampling on one thread ({args.latency_points} points) …")
        lat = measure_latency(kind, args.latency_points)
        r["latency_ms"] = lat["latency_ms"]
        r["cpu_ms"] = lat["cpu_ms"]
        r["sampling_rss_mb"] = lat["rss_mb"]
        r["parameters"] = int(sum(p.numel() for p in module.parameters()))
        results[key] = r
    results["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if args.json:
        emit(results, as_json=True)
        return 0
    subset = (
        f"a random subset of {len(test)} of the {n_all} test sequences (seed 0)"
        if len(test) < n_all
        else f"all {n_all} test sequences"
    )
    print_table(
        f"Ink test-set log-likelihood, nats per sequence: HIGHER IS BETTER\n"
        f"  on {subset}, {mean_pts:.1f} points each on average; offsets in normalised units "
        f"(KanjiVG units / {data.scale:.3f}),\n  so figures compare models on this data only. "
        f"Last column: the same figure on the full test set, from the model card.",
        rows,
        header=("model", "estimate", "nats/sequence", "nats/point", "card (full test)"),
    )
    lat_rows = [
        (
            kind,
            results[KEYS[kind]]["latency_ms"]["p50"],
            results[KEYS[kind]]["latency_ms"]["p99"],
            results[KEYS[kind]]["cpu_ms"]["p99"],
            results[KEYS[kind]]["parameters"],
        )
        for kind in kinds
        if KEYS[kind] in results
    ]
    print_table(
        "Sampling latency per point on one CPU thread, ms (target p99 <= 1 ms)",
        lat_rows,
        header=("model", "wall p50", "wall p99", "cpu p99", "parameters"),
    )
    print(
        f"\n  peak RSS {results['peak_rss_mb']:.0f} MiB (scoring process); load average "
        f"{results['load_average_1min']} during the run; VRNN importance sampling with K = {args.k}"
    )
    for n in notes:
        print(f"  note: {n}")
    return 0
