"""The dream and real-driving generators, the registry loader and the CLI's clean skips."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from gdl_studio.racing.dream import DriveControls, dream_frames


def _run(world, n, **kw):
    return [f for _, f in zip(range(n), dream_frames(world, stop_on_done=False, **kw))]


def test_dream_is_deterministic_with_a_seed(tiny_world):
    a = _run(tiny_world, 6, seed=11, temperature=1.2)
    b = _run(tiny_world, 6, seed=11, temperature=1.2)
    c = _run(tiny_world, 6, seed=12, temperature=1.2)
    assert len(a) == 6
    for fa, fb in zip(a, b):
        assert np.array_equal(fa.frame, fb.frame) and np.array_equal(fa.action, fb.action)
    assert not all(np.array_equal(fa.frame, fc.frame) for fa, fc in zip(a, c))
    f = a[0]
    assert f.frame.shape == (64, 64, 3) and f.frame.dtype == np.uint8
    assert f.z.shape == (32,) and f.action.shape == (3,) and not f.human
    assert 0.0 <= f.done_probability <= 1.0


def test_dream_override_and_live_temperature(tiny_world):
    controls = DriveControls(temperature=0.5)
    it = dream_frames(tiny_world, seed=0, controls=controls, stop_on_done=False)
    first = next(it)
    assert not first.human and first.temperature == 0.5
    controls.set_action((-1.0, 0.0, 1.0))
    controls.temperature = 1.5
    second = next(it)
    assert second.human and np.allclose(second.action, [-1, 0, 1]) and second.temperature == 1.5
    controls.set_action(None)
    assert not next(it).human
    it.close()  # cancelling is just not pulling / closing
    # a callable override wins over the controller for the steps it answers
    frames = _run(tiny_world, 4, seed=0, override=lambda step: (0.5, 0.5, 0.0) if step % 2 else None)
    assert [f.human for f in frames] == [False, True, False, True]


def test_dream_starts_from_a_real_frame(tiny_world):
    obs = np.full((96, 96, 3), 120, np.uint8)
    frame = next(dream_frames(tiny_world, seed=0, start_obs=obs))
    assert np.allclose(frame.z, tiny_world.encode_obs(obs), atol=1e-5)


def test_real_frames(tiny_world):
    pytest.importorskip("gdl_studio.racing.fast_env")
    from gdl_studio.racing.dream import real_frames

    frames = list(real_frames(tiny_world, seed=0, max_steps=5))
    assert len(frames) == 5 and frames[-1].done
    f = frames[1]
    assert f.obs.shape == (96, 96, 3) and f.reconstruction.shape == (64, 64, 3)
    assert f.action.shape == (3,) and np.isfinite(f.predicted_reward)
    assert frames[-1].total == pytest.approx(sum(x.reward for x in frames))


def test_registry_loader_dispatches_world_model_families(tiny_models_dir, monkeypatch):
    from gdl_studio.areas import load_model
    from gdl_studio.core import registry
    from gdl_studio.racing.controller import LinearController
    from gdl_studio.racing.mdn_rnn import MDNRNN
    from gdl_studio.racing.vae import ConvVAE

    monkeypatch.setattr(registry, "_default", registry.Registry(roots=[tiny_models_dir]))
    assert isinstance(load_model("carracing-vae"), ConvVAE)
    assert isinstance(load_model("carracing-mdnrnn"), MDNRNN)
    assert isinstance(load_model("carracing-controller"), LinearController)


def test_corrupt_weights_are_reported(tiny_models_dir, tmp_path):
    import shutil

    from gdl_studio.core.registry import ModelUnavailable
    from gdl_studio.racing.models_io import load_world_model_from

    copy = tmp_path / "models"
    shutil.copytree(tiny_models_dir, copy)
    weights = copy / "carracing-vae" / "carracing-vae.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ModelUnavailable, match="corrupt"):
        load_world_model_from(copy)


def test_cli_skips_cleanly_without_weights(tmp_path, monkeypatch, capsys):
    from gdl_studio.cli import main

    monkeypatch.setenv("GDL_STUDIO_MODELS", str(tmp_path / "none"))
    assert main(["dream", "--dream", "--episodes", "1"]) == 0
    assert "skipped" in capsys.readouterr().err
    assert main(["bench", "racing", "--episodes", "2", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"score.skipped"' in out


def test_cli_dream_with_models_writes_a_gif(tiny_models_dir, tmp_path, capsys):
    from gdl_studio.cli import main

    gif = tmp_path / "d.gif"
    rc = main(
        ["dream", "--dream", "--models", str(tiny_models_dir), "--max-steps", "6", "--seed", "1", "--gif", str(gif)]
    )
    assert rc == 0 and gif.stat().st_size > 0
    assert "episode 1 (dream" in capsys.readouterr().out


def test_cli_rejects_bad_temperature():
    from gdl_studio.cli import main

    assert main(["dream", "--dream", "--temperature", "-1"]) == 2


def test_help_does_not_import_heavy_modules():
    code = (
        "import sys; from gdl_studio.cli import build_parser; build_parser();"
        "heavy = [m for m in ('torch', 'gymnasium', 'pygame', 'Box2D') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_missing_simulator_gives_the_install_step(monkeypatch):
    import importlib

    from gdl_studio.racing import deps

    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "Box2D":
            raise ImportError("No module named 'Box2D'")
        return real(name, *a, **k)

    monkeypatch.setattr(deps.importlib, "import_module", fake)
    with pytest.raises(deps.MissingDependency, match=r"pip install"):
        deps.require_simulator()
    assert not deps.simulator_available()
