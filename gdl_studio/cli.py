"""The ``gdl-studio`` command line: the app by default, headless subcommands otherwise.

Each area adds its own leaves through the ``register_cli`` of its
:class:`~gdl_studio.core.area.Area` (see :mod:`gdl_studio.areas`), the other packages through a
``register(commands)`` function (see :class:`Commands`); none of them may import torch or Qt at
module level, so that ``--help`` and ``--version`` stay instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass

from gdl_studio import __version__
from gdl_studio.core.errors import UserError

# Modules that provide ``register(commands)``, after the areas' own (gdl_studio.areas.AREAS);
# a module that is missing is skipped.
CLI_MODULES = (
    "gdl_studio.live.cli",
    "gdl_studio.finetune.cli",
    "gdl_studio.bench.cli",  # after live.cli: it completes `bench live`
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
        description="GDL Studio: compose, sketch and dream with generative models. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"gdl-studio {__version__}")
    root = parser.add_subparsers(dest="command", metavar="COMMAND")
    app = root.add_parser("app", help="open the app (the default)")
    app.add_argument("--screenshot", metavar="PNG", help="save a screenshot of the window once shown, then quit")
    app.add_argument(
        "--screenshot-after",
        type=float,
        default=1.5,
        metavar="S",
        help="seconds to wait before the screenshot (default 1.5)",
    )
    app.add_argument("--panel", choices=("compose", "sketch", "dream"), help="panel to show first")
    app.add_argument("files", nargs="*", metavar="FILE", help="MIDI (.mid) or SVG (.svg) files to open")
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
    from gdl_studio.areas import AREAS

    for area in AREAS:
        area.register_cli(commands)
    for module_name in CLI_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue
            raise
        module.register(commands)
    return parser


def _run_app(args: argparse.Namespace) -> int:
    from pathlib import Path

    from gdl_studio.ui.shell.launch import launch

    files = [str(Path(f).expanduser().resolve()) for f in getattr(args, "files", None) or []]
    missing = [f for f in files if not Path(f).is_file()]
    if missing:
        raise UserError(f"no such file: {missing[0]}")
    return launch(
        files=files,
        screenshot=getattr(args, "screenshot", None),
        panel=getattr(args, "panel", None),
        screenshot_after=getattr(args, "screenshot_after", 1.5),
    )


def with_app_command(argv: list[str], commands: set[str]) -> list[str]:
    """``gdl-studio song.mid …`` (as a file manager or the .desktop file's %F runs it) means
    ``gdl-studio app song.mid …``: put ``app`` in front when the first word names no command."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None or first in commands or "--help" in argv or "-h" in argv or "--version" in argv:
        return argv
    return ["app", *argv]


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``gdl-studio``."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    args = parser.parse_args(with_app_command(argv, set(commands.choices)))
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
