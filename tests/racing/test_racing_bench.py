"""`gdl-studio bench racing --speed --json` runs and reports identical frames."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("gdl_studio.racing.fast_env")


def test_bench_speed_json(capsys):
    from gdl_studio.cli import main

    assert main(["bench", "racing", "--speed", "--steps", "15", "--tracks", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    for key in ("speedup", "stock.steps_per_s", "fast.steps_per_s", "frames_compared", "frames_different"):
        assert key in data
    assert data["frames_different"] == 0 and data["frames_compared"] == 16
    assert data["speedup"] > 0
    from gdl_studio.racing import native_raster

    assert data["renderer"] == ("native" if native_raster.load() is not None else "pygame")
    assert data["fast_path_frames"] > 0


def test_bench_speed_with_the_pygame_drawing_path(capsys):
    from gdl_studio.cli import main

    assert main(["bench", "racing", "--speed", "--steps", "10", "--tracks", "1", "--renderer", "pygame", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["renderer"] == "pygame" and data["frames_different"] == 0


def test_bench_score_and_dream_latency_with_tiny_models(tiny_models_dir, capsys):
    from gdl_studio.racing.bench import dream_latency, score
    from gdl_studio.racing.models_io import load_world_model_from

    result = score(2, str(tiny_models_dir), workers=1, max_steps=10, log=lambda *a: None)
    assert result["episodes"] == 2 and result["env_steps"] == 20
    assert result["std"] >= 0
    assert len(result["returns"]) == 2  # each episode's return, in track order
    assert abs(sum(result["returns"]) / 2 - result["mean"]) < 0.01
    lat = dream_latency(load_world_model_from(tiny_models_dir), frames=5)
    assert lat["n"] == 5 and lat["p99"] > 0


def test_bench_fidelity_cli_passes_the_track_count_and_prints_only_json(tiny_models_dir, capsys, monkeypatch):
    """`bench racing --fidelity --real-tracks N --dreams M` asks for N real tracks and M dreams per
    controller (the full benchmark; --quick keeps its own short settings); --json prints only JSON
    on stdout."""
    from gdl_studio.cli import main
    from gdl_studio.racing import fidelity

    seen = []

    def fake_run(models_dir, base, cfg, log=print):
        seen.append(cfg)
        log("fidelity: progress goes to stderr")
        return {"rank_corr": 0.5, "real_reliability": 0.9}

    monkeypatch.setattr(fidelity, "run_fidelity", fake_run)
    common = ["bench", "racing", "--fidelity", "--models", str(tiny_models_dir), "--controllers", "5", "--json"]
    assert main([*common, "--real-tracks", "24", "--dreams", "64"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["fidelity.real_reliability"] == 0.9
    assert "progress" in out.err and "progress" not in out.out
    assert main([*common, "--quick", "--real-tracks", "24", "--dreams", "64"]) == 0
    capsys.readouterr()
    assert [c.real_episodes for c in seen] == [24, 2]
    assert [c.dreams for c in seen] == [64, 4]
    assert seen[0].controllers == 5


def test_dream_road_record_writes_the_figure_into_the_drivers_card(tiny_models_dir, tmp_path, capsys):
    """`bench racing --dream-road --record` measures the dreams and stores the figure in the controller's card, where
    the Dream panel reads it; the JSON on stdout is the same figure."""
    import shutil

    from gdl_studio.cli import main
    from gdl_studio.racing.fidelity import DREAM_ROAD_METRIC

    models = tmp_path / "models"
    shutil.copytree(tiny_models_dir, models)
    args = ["bench", "racing", "--dream-road", "--models", str(models), "--starts", "2", "--device", "cpu", "--json"]
    assert main(args) == 0
    card = models / "carracing-controller" / "card.json"
    assert DREAM_ROAD_METRIC not in json.loads(card.read_text())["metrics"]  # measured, not recorded
    measured = json.loads(capsys.readouterr().out)
    assert main([*args, "--record"]) == 0
    out = capsys.readouterr()
    figure = json.loads(card.read_text())["metrics"][DREAM_ROAD_METRIC]
    assert figure["starts"] == 2 and figure["tau"] == 1.0 and figure["measured_by"].endswith("--record")
    assert (
        figure["on_road"]
        == round(json.loads(out.out)["dream_road.on_road"], 4)
        == round(measured["dream_road.on_road"], 4)
    )
    assert 0.0 <= figure["on_road_frames"] <= 1.0
    assert "recorded" in out.err
