"""End to end through the CLI: tiny training into a temporary registry, sketch, bench."""

import json

import numpy as np
import pytest

from gdl_studio.cli import main


@pytest.fixture
def env(tmp_path, tiny_cache, monkeypatch, fresh_registry):
    models = tmp_path / "models"
    monkeypatch.setenv("GDL_STUDIO_MODELS", str(models))
    monkeypatch.setenv("GDL_STUDIO_DATA", str(tiny_cache.parent.parent))
    return tmp_path


def test_bench_skips_models_that_are_not_installed(env, capsys):
    assert main(["bench", "ink", "--json", "--limit", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert "vrnn.skipped" in out and "rnn_gmm.skipped" in out and out["peak_rss_mb"] > 0


def test_sketch_without_model_is_a_user_error(env, capsys):
    assert main(["sketch", "--model", "vrnn", "-o", str(env / "x.svg")]) == 2
    assert "not installed" in capsys.readouterr().err
    assert not (env / "x.svg").exists()


def test_train_sketch_bench_end_to_end(env, capsys, kanjivg_dir):
    from gdl_studio.core.registry import read_card
    from gdl_studio.ink import svgio

    ck = env / "ck.pt"
    args = ["--tiny", "--device", "cpu", "--eval-k", "4", "--batch-size", "32"]
    models = env / "models"
    assert (
        main(
            [
                "train",
                "rnn-gmm",
                *args,
                "--epochs",
                "1",
                "--checkpoint",
                str(ck) + ".rnn",
                "--out",
                str(models / "ink-rnn-gmm"),
            ]
        )
        == 0
    )
    vrnn = [*args, "--checkpoint", str(ck), "--out", str(models / "ink-vrnn")]
    assert main(["train", "vrnn", *vrnn, "--epochs", "1"]) == 0
    # Same command with more epochs resumes from the checkpoint.
    assert main(["train", "vrnn", *vrnn, "--epochs", "2"]) == 0
    log = capsys.readouterr().out
    assert "resumed from" in log and "epoch   2" in log
    card = read_card(env / "models" / "ink-vrnn").data
    assert card["metrics"]["test_ll_is"] >= card["metrics"]["test_elbo"] - 1.0
    assert card["preprocessing"]["scale"] > 0
    cmd = card["training_command"]
    assert cmd.startswith("python -m gdl_studio train vrnn ") and f"--checkpoint {ck}" in cmd
    assert "--epochs 2" in cmd and "--tiny" in cmd and "--max-minutes" not in cmd
    assert np.isfinite(card["metrics"]["test_elbo"])

    out = env / "out.svg"
    prime = kanjivg_dir / "06728.svg"
    for model in ("vrnn", "rnn-gmm"):
        assert (
            main(
                [
                    "sketch",
                    "--prime",
                    str(prime),
                    "--model",
                    model,
                    "--temperature",
                    "0.5",
                    "--seed",
                    "3",
                    "--strokes",
                    "2",
                    "-o",
                    str(out),
                ]
            )
            == 0
        )
        strokes = svgio.read_svg_strokes(out)
        assert len(strokes) >= 5  # 4 primer strokes + at least one new point
    first = out.read_bytes()
    assert (
        main(
            [
                "sketch",
                "--prime",
                str(prime),
                "--model",
                "rnn-gmm",
                "--temperature",
                "0.5",
                "--seed",
                "3",
                "--strokes",
                "2",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_bytes() == first  # same seed, same drawing
    assert main(["sketch", "--model", "vrnn", "--seed", "1", "-o", str(env / "p.json")]) == 0
    assert json.loads((env / "p.json").read_text())["generated"]
    capsys.readouterr()

    assert main(["bench", "ink", "--json", "--limit", "4", "-k", "4", "--latency-points", "20"]) == 0
    res = json.loads(capsys.readouterr().out)
    for key in ("vrnn.ll_is", "vrnn.elbo", "rnn_gmm.ll", "vrnn.latency_ms.p99", "rnn_gmm.latency_ms.p99"):
        assert np.isfinite(res[key]), key
    assert res["vrnn.ll_is"] >= res["vrnn.elbo"] - 1.0


@pytest.mark.parametrize(
    "argv, words",
    [
        (["sketch", "--temperature", "0", "-o", "x.svg"], "temperature"),
        (["sketch", "-o", "x.png"], ".svg or .json"),
        (["sketch", "--prime", "missing.svg", "-o", "x.svg"], "no such file"),
    ],
)
def test_sketch_bad_input(env, capsys, argv, words, monkeypatch):
    monkeypatch.chdir(env)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_sketch_empty_svg_primer(env, capsys):
    p = env / "empty.svg"
    p.write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    assert main(["sketch", "--prime", str(p), "-o", str(env / "x.svg")]) == 2
    assert "no strokes" in capsys.readouterr().err
