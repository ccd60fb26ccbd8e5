"""CLI commands of the app shell: ``gdl-studio bench ui``."""

from __future__ import annotations


def register(commands) -> None:
    p = commands.bench.add_parser("ui", help="GUI event-loop stall while the engine generates; RSS with all models loaded")
    p.add_argument("--seconds", type=float, default=5.0, help="how long to drive the 1 ms timer (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON with flat keys")
    p.set_defaults(func=_bench_ui)


def _bench_ui(args) -> int:
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gdl_studio.ui.bench_ui import run_bench_ui

    return run_bench_ui(seconds=args.seconds, as_json=args.json)
