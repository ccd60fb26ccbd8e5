"""The benchmarks that need the UI are registered from :mod:`gdl_studio.bench` (above the UI)."""

from __future__ import annotations

from gdl_studio.cli import build_parser


def test_ui_benchmarks_come_from_the_bench_package():
    parser = build_parser()
    for argv in (["bench", "ui"], ["bench", "finetune"], ["bench", "live", "--tiny"]):
        args = parser.parse_args(argv)
        assert args.func.__module__ == "gdl_studio.bench.cli", argv


def test_bench_live_keeps_its_headless_figures_without_the_bench_package():
    import argparse

    from gdl_studio.cli import Commands
    from gdl_studio.live.cli import register, run

    p = argparse.ArgumentParser()
    root = p.add_subparsers(dest="command")
    groups = {
        n: root.add_parser(n).add_subparsers(dest="target", required=True)
        for n in ("train", "finetune", "bench", "data")
    }
    register(Commands(root=root, **groups))
    assert p.parse_args(["bench", "live"]).func is run
