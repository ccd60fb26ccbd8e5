"""``gdl-studio train music-*`` end to end on a tiny corpus: card, weights, resume, loading."""

from __future__ import annotations

import json

import pytest

from gdl_studio.cli import main
from gdl_studio.core.registry import Registry, sha256_file
from gdl_studio.music.models_io import load_music_model


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_tiny_training_writes_a_loadable_model(kind, corpus_path, tmp_path, capsys):
    out = tmp_path / "models" / f"music-{kind}"
    ckpt = tmp_path / "ckpt"
    argv = [
        "train",
        f"music-{kind}",
        "--tiny",
        "--device",
        "cpu",
        "--data",
        str(corpus_path),
        "--out",
        str(out),
        "--checkpoint-dir",
        str(ckpt),
        "--max-epochs",
        "3",
    ]
    assert main(argv) == 0
    log = capsys.readouterr().out
    assert "epoch 1:" in log and "ETA" in log and "valid" in log
    card = json.loads((out / "card.json").read_text())
    assert card["name"] == f"music-{kind}" and card["family"] == "music"
    assert card["sha256"] == sha256_file(out / card["weights"])
    assert card["architecture"]["kind"] == kind
    assert card["split"]["by"] == "piece"
    for split in ("valid", "test"):
        assert card["metrics"][split]["nats_per_note"] > 0
    history = card["training"]["history"]
    assert len(history) == 3 and history[-1]["valid"] < history[0]["valid"]
    assert (ckpt / "checkpoint.pt").is_file()

    composer = load_music_model(kind, registry=Registry([out.parent]))
    assert len(list(composer.generate([], n_notes=5, seed=0))) == 5

    # the same command again resumes from the checkpoint (already at max epochs: nothing to train)
    assert main(argv) == 0
    assert "resuming" in capsys.readouterr().out


def test_training_without_data_is_a_user_error(tmp_path, capsys):
    code = main(
        [
            "train",
            "music-lstm",
            "--tiny",
            "--device",
            "cpu",
            "--data",
            str(tmp_path / "none.npz"),
            "--out",
            str(tmp_path / "m"),
        ]
    )
    assert code == 2
    assert "gdl-studio data music" in capsys.readouterr().err


def test_style_weights_repeat_crops_and_bad_specs_are_user_errors():
    import numpy as np

    from gdl_studio.core.errors import UserError
    from gdl_studio.music.train import crop_windows, parse_style_names, parse_style_weights

    lengths = np.array([1000, 1000, 100])  # 2, 2 and 1 crops of 512 per epoch
    plain = crop_windows(lengths, 512, np.random.default_rng(0))
    assert sorted(i for i, _, _ in plain) == [0, 0, 1, 1, 2]
    weighted = crop_windows(lengths, 512, np.random.default_rng(0), np.array([3.0, 0.0, 1.0]))
    assert sorted(i for i, _, _ in weighted) == [0] * 6 + [2]
    # a fractional weight is one more crop with that probability: 2 × 1.5 = 3 crops exactly,
    # 1 × 0.5 = one crop in about half the epochs
    counts = [
        sum(i == 2 for i, _, _ in crop_windows(lengths, 512, np.random.default_rng(s), np.array([1.5, 1.0, 0.5])))
        for s in range(400)
    ]
    assert 0.4 < np.mean(counts) < 0.6
    assert parse_style_weights("chorale=3, renaissance=0.5") == {"chorale": 3.0, "renaissance": 0.5}
    assert parse_style_names("chorale,renaissance") == ["chorale", "renaissance"]
    for bad in ("chorale", "chorale=x", "jazz=2", "chorale=-1", "chorale=inf", "chorale=nan"):
        with pytest.raises(UserError):
            parse_style_weights(bad)
    with pytest.raises(UserError):
        parse_style_names("chorale,jazz")


def test_training_keeps_the_weights_best_on_the_styles_asked_for(tmp_path, capsys):
    from conftest import tiny_corpus
    from gdl_studio.music.corpus import load_corpus

    corpus_path = tiny_corpus(tmp_path / "music.npz", n_pieces=18, style="folk")
    assert load_corpus(corpus_path).split("valid", "folk")
    style = "folk"
    out = tmp_path / "m"
    argv = ["train", "music-transformer", "--tiny", "--device", "cpu", "--data", str(corpus_path)]
    argv += ["--out", str(out), "--checkpoint-dir", str(tmp_path / "c"), "--max-epochs", "1"]
    assert main([*argv, "--style-weights", f"{style}=2", "--valid-styles", style]) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["training"]["style_weights"] == f"{style}=2" and card["training"]["valid_styles"] == style
    assert main([*argv, "--restart", "--valid-styles", "jazz"]) == 2
    assert "unknown style 'jazz'" in capsys.readouterr().err
