"""``gdl-studio continue`` and friends: exit 0 on success, 2 with one line on bad input, and
never a partial output file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gdl_studio.cli import main
from gdl_studio.music.midi_io import read_midi
from gdl_studio.music.notes import Note

ROOT = Path(__file__).resolve().parents[2]


def _run(argv, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("model", ["lstm", "transformer"])
def test_continue_writes_primer_and_continuation(use_tiny_models, write_mid, make_notes, tmp_path, capsys, model):
    primer = make_notes(bars=2, seed=1)
    src = write_mid("in.mid", primer)
    out = tmp_path / "out.mid"
    code, err = _run(
        [
            "continue",
            str(src),
            "--model",
            model,
            "--notes",
            "16",
            "--temperature",
            "0.9",
            "--seed",
            "3",
            "--top-k",
            "20",
            "--top-p",
            "0.95",
            "-o",
            str(out),
        ],
        capsys,
    )
    assert code == 0, err
    score = read_midi(out)
    primer_end = max(n.end for n in primer)
    key = lambda n: (round(n.start, 6), n.pitch, round(n.duration, 6))  # noqa: E731
    assert sorted(map(key, (n for n in score.notes if n.track == 1))) == sorted(map(key, primer))
    added = [n for n in score.notes if n.track == 2]  # the continuation's own track
    # 16 notes, fewer only where an untrained model repeats a pitch at one onset (one MIDI note)
    assert 8 <= len(added) <= 16 and min(n.start for n in added) >= primer_end - 1e-9
    again = tmp_path / "again.mid"
    assert (
        _run(
            [
                "continue",
                str(src),
                "--model",
                model,
                "--notes",
                "16",
                "--temperature",
                "0.9",
                "--seed",
                "3",
                "--top-k",
                "20",
                "--top-p",
                "0.95",
                "-o",
                str(again),
            ],
            capsys,
        )[0]
        == 0
    )
    assert again.read_bytes() == out.read_bytes()  # same seed, same file


def _bad_files(tmp_path, write_mid, raw):
    files = {
        "no notes": write_mid("empty.mid", []),
        "drums": write_mid("drums.mid", [Note(36, 0, 1)], channel=9),
        "type 2": write_mid("t2.mid", [Note(60, 0, 1)], midi_type=2),
        "zero length": write_mid("zero.mid", [Note(60, 0, 0.0)]),
    }
    smpte = tmp_path / "smpte.mid"
    smpte.write_bytes(raw(0xE728 - 0x10000, bytes([0, 0x90, 60, 100, 0x40, 0x80, 60, 0, 0, 0xFF, 0x2F, 0])))
    files["SMPTE"] = smpte
    huge = tmp_path / "huge.mid"
    huge.write_bytes(raw(480, bytes([0, 0x90, 60, 100, 1, 0x80, 60, 0]) * 100_000 + bytes([0, 0xFF, 0x2F, 0])))
    files["too many notes"] = huge
    rnd = tmp_path / "random.mid"
    rnd.write_bytes(os.urandom(512))
    files["not a readable"] = rnd
    good = write_mid("good.mid", [Note(60 + i % 12, i * 0.5, 0.5) for i in range(40)]).read_bytes()
    trunc = tmp_path / "truncated.mid"
    trunc.write_bytes(good[: len(good) // 2])
    files["truncated"] = trunc
    return files


def test_bad_inputs_exit_2_with_one_line(use_tiny_models, write_mid, raw_midi_bytes, tmp_path, capsys):
    for what, path in _bad_files(tmp_path, write_mid, raw_midi_bytes).items():
        out = tmp_path / f"out-{path.stem}.mid"
        code, err = _run(["continue", str(path), "--model", "lstm", "--notes", "8", "-o", str(out)], capsys)
        assert code == 2, (what, err)
        assert err.count("\n") == 1 and err.startswith("gdl-studio: error: "), (what, err)
        assert "Traceback" not in err
        assert not out.exists(), what
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]
    assert leftovers == []


def test_bad_arguments_exit_2(use_tiny_models, write_mid, tmp_path, capsys):
    src = write_mid("in.mid", [Note(60, 0, 1)])
    out = str(tmp_path / "o.mid")
    bad = (["--notes", "0"], ["--temperature", "-1"], ["--top-p", "0"], ["--top-k", "-2"], ["--model", "piano"])
    views = (["--views", "7"], ["--views", "-1"], ["--model", "lstm", "--views", "9"])
    for args in (*bad, *views):
        code, err = _run(["continue", str(src), "-o", out, *args], capsys)
        assert code == 2 and err.count("\n") == 1, (args, err)
    assert not Path(out).exists()


def test_missing_model_exit_2(tmp_path, monkeypatch, write_mid, capsys):
    from gdl_studio.core.registry import default_registry

    monkeypatch.setenv("GDL_STUDIO_MODELS", str(tmp_path / "no-models"))
    default_registry().forget()
    src = write_mid("in.mid", [Note(60, 0, 1)])
    code, err = _run(["continue", str(src), "--model", "transformer", "-o", str(tmp_path / "o.mid")], capsys)
    assert code == 2 and "not installed" in err and err.count("\n") == 1


def test_subprocess_exit_code_and_no_traceback(tiny_models_dir, tmp_path):
    env = {**os.environ, "GDL_STUDIO_MODELS": str(tiny_models_dir), "OMP_NUM_THREADS": "1"}
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    out = tmp_path / "o.mid"
    r = subprocess.run(
        [sys.executable, "-m", "gdl_studio", "continue", str(bad), "--model", "lstm", "-o", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert not out.exists()


def test_music_cli_imports_nothing_heavy():
    code = (
        "import sys, gdl_studio.music.cli as c; "
        "heavy = [m for m in ('torch', 'music21', 'mido', 'PySide6', 'numpy') if m in sys.modules]; "
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_help_lists_music_commands(capsys):
    for argv in (["data", "--help"], ["train", "--help"], ["bench", "--help"], ["continue", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
    out = capsys.readouterr().out
    assert "music-lstm" in out and "music-transformer" in out and "--top-p" in out


def test_views_flag_continues_and_fills(use_tiny_models, write_mid, make_notes, tmp_path, capsys):
    """--views R: the Transformer draws from its ensemble of that radius in continue and infill,
    and the LSTM in continue."""
    src = write_mid("in.mid", make_notes(bars=4, seed=2))
    for argv in (["continue", "--notes", "8"], ["infill", "--bars", "2:3"], ["continue", "--model", "lstm"]):
        out = tmp_path / f"{argv[0]}-{len(argv)}.mid"
        code, err = _run([argv[0], str(src), *argv[1:], "--views", "2", "--seed", "1", "-o", str(out)], capsys)
        assert code == 0 and out.is_file(), err
