"""The ``gdl-studio`` command line: the app by default, headless subcommands otherwise.

Each area adds its own leaves through a ``register(commands)`` function (see
:class:`Commands`); area modules are imported here but must not import torch or Qt at module
level, so that ``--help`` and ``--version`` stay instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass

from gdl_studio import __version__
from gdl_studio.core.errors import UserError

# Modules that provide ``register(commands)``; a module that is missing is skipped.
AREA_CLI_MODULES = (
    "gdl_studio.music.cli",
    "gdl_studio.ink.cli",
    "gdl_studio.racing.cli",
    "gdl_studio.live.cli",
    "gdl_studio.ui.cli",
    "gdl_studio.finetune.cli",
    "gdl_studio.selftest",
    "gdl_studio.bench.soak",  # benchmarks that drive the whole app live above ui/
)


@dataclass
class Commands:
    """The sub-parser groups areas hang their commands on.

    ``root`` takes top-level commands (``continue``, ``sketch``, ``dream``); the others take
    the leaves of ``train``, ``finetune``, ``bench`` and ``data``. Each leaf parser calls
    ``set_defaults(func=handler)`` where ``handler(args) -> int``.
    """

    root: argparse._SubParsersAction
    train: argparse._SubParsersAction
    finetune: argparse._SubParsersAction
    bench: argparse._SubParsersAction
    data: argparse._SubParsersAction


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(
        prog="gdl-studio",
        description="GDL Studio: compose, sketch and dream with generative models. "
        "With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"gdl-studio {__version__}")
    root = parser.add_subparsers(dest="command", metavar="COMMAND")
    app = root.add_parser("app", help="open the app (the default)")
    app.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window once shown, then quit")
    app.add_argument("--screenshot-after", type=float, default=1.5, metavar="S", help="seconds to wait before the screenshot (default 1.5)")
    app.add_argument("--panel", choices=("compose", "sketch", "dream"), help="panel to show first")
    app.set_defaults(func=_run_app)

    groups = {}
    for name, help_text in (
        ("train", "train a shipped model from scratch"),
        ("finetune", "adapt a model to your own data"),
        ("bench", "measure speed, memory and model quality"),
        ("data", "build the training data caches"),
    ):
        group = root.add_parser(name, help=help_text)
        groups[name] = group.add_subparsers(dest="target", metavar="TARGET", required=True)
    commands = Commands(root=root, **groups)
    for module_name in AREA_CLI_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        module.register(commands)
    return parser


def _run_app(args: argparse.Namespace) -> int:
    from gdl_studio.ui.launch import launch

    return launch(
        screenshot=getattr(args, "screenshot", None),
        panel=getattr(args, "panel", None),
        screenshot_after=getattr(args, "screenshot_after", 1.5),
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``gdl-studio``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        func = _run_app
    try:
        return int(func(args) or 0)
    except UserError as exc:
        print(f"gdl-studio: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gdl-studio: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
