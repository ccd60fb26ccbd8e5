"""Starting the app: ``gdl-studio FILE…`` opens files in the right panel, and the message shown
when there is no display prints commands that work as printed."""

from __future__ import annotations

import importlib.util
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gdl_studio.cli import build_parser, main, with_app_command
from gdl_studio.core.paths import resources_dir
from gdl_studio.ui.shell.launch import command_name, no_display_message

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {"app", "continue", "sketch", "dream", "train", "bench"}


def test_files_without_a_command_open_the_app():
    assert with_app_command(["song.mid"], COMMANDS) == ["app", "song.mid"]
    assert with_app_command(["a.mid", "b.svg", "--panel", "sketch"], COMMANDS)[0] == "app"
    for argv in (["continue", "x.mid"], ["--version"], ["--help"], [], ["app", "x.mid"]):
        assert with_app_command(argv, COMMANDS) == argv
    args = build_parser().parse_args(with_app_command(["a.mid", "b.svg"], COMMANDS))
    assert args.command == "app" and args.files == ["a.mid", "b.svg"]


def test_a_missing_file_is_a_one_line_error(capsys):
    assert main(["/no/such/song.mid"]) == 2
    assert "no such file: /no/such/song.mid" in capsys.readouterr().err


def test_the_desktop_file_passes_the_files():
    desktop = (ROOT / "packaging" / "linux" / "gdl-studio.desktop").read_text()
    assert "Exec=gdl-studio %F" in desktop


def test_no_display_commands_name_this_program(tmp_path, monkeypatch):
    script = tmp_path / "venv" / "bin" / "gdl-studio"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the venv is not active
    assert command_name(str(script)) == str(script)
    message = no_display_message(str(script))
    assert f"{script} continue {resources_dir() / 'examples' / 'chorale.mid'}" in message
    assert "gdl-studio continue" not in message.replace(str(script), "")
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}/usr/bin")  # activated
    assert command_name(str(script)) == "gdl-studio"
    assert command_name("gdl-studio") == "gdl-studio"
    assert command_name(str(ROOT / "gdl_studio" / "__main__.py")).endswith("-m gdl_studio")


def test_the_printed_command_runs(tmp_path):
    """The no-display message's first example, run exactly as printed (the --help of it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run([sys.executable, "-m", "gdl_studio"], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 3
    line = next(s.strip() for s in out.stderr.splitlines() if " continue " in s)
    command = line.split(" continue ")[0]
    run = subprocess.run(f"{command} continue --help", shell=True, capture_output=True, text=True, env=env, timeout=60)
    assert run.returncode == 0 and "usage:" in run.stdout


def test_opened_files_go_to_their_panel(qtbot):
    from gdl_studio.engine.worker import Engine
    from gdl_studio.ui.settings import Settings
    from gdl_studio.ui.shell.main_window import MainWindow

    engine = Engine()
    engine.start()
    window = MainWindow(engine, Settings())
    qtbot.addWidget(window)
    window.show()
    try:
        window.show_panel("dream")
        assert window.open_path(str(resources_dir() / "examples" / "melody.mid"))
        assert window.current_panel().panel_id == "compose" and window.panels["compose"].doc.notes
        spec = importlib.util.find_spec("kanji")
        if spec is None:
            pytest.skip("kanjivg is not installed")
        svg = Path(list(spec.submodule_search_locations)[0]) / "06c38.svg"
        assert window.open_path(str(svg))
        assert window.current_panel().panel_id == "sketch" and window.panels["sketch"].document.strokes
    finally:
        window.close()
