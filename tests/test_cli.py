"""The command line: version, help, the no-display message, the one-line error path."""

from __future__ import annotations

import os
import subprocess
import sys

from gdl_studio import __version__
from gdl_studio.cli import main


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "gdl_studio", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"gdl-studio {__version__}"


def test_help_lists_the_command_groups():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("train", "finetune", "bench", "data"):
        assert name in result.stdout


def test_help_does_not_import_torch_or_qt():
    code = (
        "import sys; from gdl_studio.cli import build_parser; build_parser(); "
        "print(sorted(m for m in ('torch', 'PySide6', 'music21', 'gymnasium') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr


def test_no_display_says_so_and_points_to_cli():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = run_cli(env=env)
    assert result.returncode == 3
    assert "no display" in result.stderr and " -m gdl_studio continue " in result.stderr  # run as python -m: printed so
    assert "Traceback" not in result.stderr


def test_user_error_is_one_line(capsys):
    import gdl_studio.cli as cli
    from gdl_studio.core.errors import UserError

    def boom(args):
        raise UserError("the file has no notes")

    original = cli.build_parser

    def patched():
        p = original()
        p.set_defaults(func=boom)
        return p

    cli.build_parser = patched
    try:
        code = main([])
    finally:
        cli.build_parser = original
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.strip() == "gdl-studio: error: the file has no notes"
