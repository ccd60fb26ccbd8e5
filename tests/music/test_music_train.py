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
