"""CLI leaves of the benchmarks that need the app: ``bench ui``, ``bench finetune``, and the GUI
figure of ``bench live``.

Nothing heavy is imported here (``--help`` stays instant). ``bench live`` is registered by
:mod:`gdl_studio.live.cli` (its headless figures); this module, registered after it, hands it the
GUI-stall measurement of :mod:`gdl_studio.bench.live` so that ``live`` never imports ``ui``.
"""

from __future__ import annotations


def register(commands) -> None:
    p = commands.bench.add_parser(
        "ui", help="GUI event-loop stall while the engine generates; RSS with all models loaded"
    )
    p.add_argument("--seconds", type=float, default=5.0, help="how long to drive the 1 ms timer (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON with flat keys")
    p.set_defaults(func=_bench_ui)

    b = commands.bench.add_parser(
        "finetune", help="seconds per epoch on a reference user set; GUI stall while training"
    )
    b.add_argument("--json", action="store_true")
    b.add_argument("--max-seconds", type=float, help="stop measuring after this long (default: when all jobs end)")
    b.add_argument("--epochs", type=int, default=3, help="epochs (generations) per job")
    b.set_defaults(func=_bench_finetune)

    live = commands.bench.choices.get("live")
    if live is not None:
        live.set_defaults(func=_bench_live)


def _bench_ui(args) -> int:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdl_studio.bench.ui import run_bench_ui

    return run_bench_ui(seconds=args.seconds, as_json=args.json)


def _bench_finetune(args) -> int:
    from gdl_studio.bench.finetune import run_bench

    return run_bench(as_json=args.json, stall_seconds=args.max_seconds, epochs=args.epochs)


def _bench_live(args) -> int:
    """``bench live`` with its GUI figure (the Compose panel streaming a continuation)."""
    from gdl_studio.bench.live import gui_stalls
    from gdl_studio.live.cli import run

    return run(args, gui_figure=gui_stalls)
