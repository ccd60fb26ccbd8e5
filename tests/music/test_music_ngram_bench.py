"""The n-gram baseline and ``gdl-studio bench music``."""

from __future__ import annotations

import json

import numpy as np

from gdl_studio.cli import main
from gdl_studio.music.ngram import KneserNey


def test_kneser_ney_is_a_distribution_and_learns():
    rng = np.random.default_rng(0)
    pattern = [1, 2, 3, 4] * 50
    noise = rng.integers(0, 10, 200).tolist()
    model = KneserNey(3, vocab=10).fit([pattern, noise])
    for history in ([], [1], [1, 2], [9, 9], [7, 3, 2]):
        p = model.distribution(history)
        assert abs(p.sum() - 1) < 1e-9 and (p > 0).all()
    assert model.distribution([1, 2]).argmax() == 3
    pitch_of = np.arange(10)
    nats_pattern, correct, predicted = model.score([1, 2, 3, 4] * 5, lambda s: True, pitch_of)
    nats_random, _, _ = model.score(rng.integers(0, 10, 20).tolist(), lambda s: True, pitch_of)
    assert nats_pattern < 0.5 * nats_random
    assert correct >= 16 and predicted == 20


def test_bench_json_has_the_issue_keys(tiny_models_dir, tmp_path, monkeypatch, corpus_path, capsys, request):
    """Every key of the issue, with a Transformer whose card lists its transposition views (as
    scripts/music_views.py writes them): every Transformer figure is of that ensemble."""
    import shutil

    from gdl_studio.core.registry import default_registry

    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    card_path = models / "music-transformer" / "card.json"
    card = json.loads(card_path.read_text())
    card["architecture"]["transpose_views"] = [0, 5, -5]
    card_path.write_text(json.dumps(card))
    monkeypatch.setenv("GDL_STUDIO_MODELS", str(models))
    default_registry().forget()
    request.addfinalizer(default_registry().forget)
    code = main(
        [
            "bench",
            "music",
            "--json",
            "--data",
            str(corpus_path),
            "--latency-notes",
            "6",
            "--ngram-order",
            "3",
            "--steer-pieces",
            "1",
        ]
    )
    assert code == 0
    results = json.loads(capsys.readouterr().out)
    for model in ("lstm", "transformer", "ngram", "ngram_steps"):
        assert results[f"{model}.nats_per_note"] > 0
        assert 0 <= results[f"{model}.next_note_accuracy"] <= 1
    for model in ("lstm", "transformer"):
        assert results[f"{model}.available"] is True
        for key in ("latency_ms.first_note", "latency_ms.p50", "latency_ms.p99", "real_time_factor_120bpm"):
            assert results[f"{model}.{key}"] > 0
    assert results["peak_rss_mb.total"] >= results["peak_rss_mb.generation"] > 0
    # round 2: infilling vs left to right on held-out gaps, steering, per-style figures
    assert results["infill.nats_per_note"] > 0 and results["infill.l2r_nats_per_note"] > 0
    assert results["infill.gaps"] >= 1
    assert results["infill.fim_nats_per_note"] > 0 and results["infill.no_suffix_nats_per_note"] > 0
    assert 0 < results["infill.fim_weight"] <= 1
    assert results["constraints.satisfied"] == 1.0 and results["constraints.notes"] > 0
    assert results["constraints.nats_cost"] >= 0
    assert results["transformer.nats_per_note_unknown_style"] > 0
    assert results["transformer.transpose_views"] == [0, 5, -5] and results["transformer.views"] == [0, 5, -5]
    single = results["transformer.nats_per_note_single_view"]
    assert single > 0 and single != results["transformer.nats_per_note"]
    assert results["lstm.views"] == [0] and "lstm.nats_per_note_single_view" not in results


def test_bench_skips_missing_models(tmp_path, monkeypatch, corpus_path, capsys):
    from gdl_studio.core.registry import default_registry

    monkeypatch.setenv("GDL_STUDIO_MODELS", str(tmp_path / "none"))
    default_registry().forget()
    code = main(["bench", "music", "--data", str(corpus_path), "--ngram-order", "2"])
    captured = capsys.readouterr()
    assert code == 0
    assert "skipping lstm" in captured.err and "skipping transformer" in captured.err
    assert "unavailable" in captured.out and "ngram" in captured.out
