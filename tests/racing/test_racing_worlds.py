"""Shipping an iteration round (V, M and the dream-trained controller as a new world), resolving which
V and M a controller drives with, and the dream-road bench."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gdl_studio.core.errors import UserError
from gdl_studio.core.registry import ModelUnavailable, Registry, read_card, sha256_file


@pytest.fixture(scope="module")
def round_dir(tmp_path_factory) -> Path:
    """A round folder as `train world-model iterate` leaves it: fp32 V and M, a dream controller, round.json."""
    import torch

    from gdl_studio.core.registry import save_model
    from gdl_studio.racing.controller import param_count
    from gdl_studio.racing.mdn_rnn import MDNRNN
    from gdl_studio.racing.models_io import FAMILY_CONTROLLER, save_mdn, save_vae
    from gdl_studio.racing.vae import ConvVAE

    root = tmp_path_factory.mktemp("work") / "round2"
    models = root / "models"
    torch.manual_seed(2)
    card = {"data": {}, "metrics": {"val_loss": 1.0}, "training_command": "test round", "iteration": {"round": 2}}
    save_vae(ConvVAE(), models, dict(card), fp16=False)
    save_mdn(MDNRNN(), models, dict(card), fp16=False)
    params = np.random.default_rng(2).normal(0, 0.1, param_count()).astype(np.float32)
    params[-2] += 1.0
    save_model(
        models / "carracing-controller-dream",
        {"params": torch.from_numpy(params)},
        {
            "name": "carracing-controller-dream",
            "display_name": "Dream-trained driver",
            "family": FAMILY_CONTROLLER,
            "architecture": {"kind": "linear", "z_size": 32, "hidden": 256},
            "dtype": "float32",
            "metrics": {"real_env_steps_during_training": 0},
            "data": {},
        },
    )
    (root / "round.json").write_text(
        json.dumps(
            {
                "round": 2,
                "steps": {
                    "collect": {"episodes_total": 800, "new_episodes": 400, "seconds": 9.0},
                    "mdn": {"val_z_nll": 0.9, "history": [1, 2, 3]},
                },
            }
        )
    )
    return root


def _ship(round_dir, out, **kw):
    from gdl_studio.racing.ship import ship

    return ship(round_dir / "models", "v2", out, log=lambda m: None, **kw)


def _tree(directory: Path) -> dict[str, str]:
    return {str(p.relative_to(directory)): sha256_file(p) for p in sorted(directory.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- ship
def test_ship_round_trip_fp16_cards_and_world(round_dir, tmp_path):
    from safetensors import safe_open

    from gdl_studio.racing.models_io import load_dir

    out = tmp_path / "models"
    summary = _ship(round_dir, out)
    assert sorted(summary["models"]) == ["carracing-controller-dream", "carracing-mdnrnn-v2", "carracing-vae-v2"]
    assert sorted(p.name for p in out.iterdir()) == sorted(summary["models"])  # no staging left
    src_models = round_dir / "models"
    for name, role in (("carracing-vae-v2", "carracing-vae"), ("carracing-mdnrnn-v2", "carracing-mdnrnn")):
        card = read_card(out / name)
        assert card.name == name and card.data["dtype"] == "float16"
        assert card.data["sha256"] == sha256_file(card.weights_path)  # the registry's check holds
        with safe_open(str(card.weights_path), "pt") as f:
            assert {str(f.get_tensor(k).dtype) for k in f.keys() if f.get_tensor(k).is_floating_point()} == {
                "torch.float16"
            }
        src = read_card(src_models / role)
        assert card.data["shipped_from"]["sha256"] == src.data["sha256"]
        assert card.data["shipped_from"]["round"]["round"] == 2
        assert card.data["shipped_from"]["round"]["collect"]["episodes_total"] == 800
        assert "history" not in card.data["shipped_from"]["round"]["mdn"]  # the record briefly
        assert card.data["metrics"]["val_loss"] == 1.0 and card.data["iteration"] == {
            "round": 2
        }  # the round's card kept
        assert card.data["fp16_check"]["passed"] is True
        assert max(card.data["fp16_check"]["max_abs_diff"].values()) < 1e-3
    # the shipped fp16 V decodes like the round's fp32 V
    import torch

    z = torch.randn(4, 32, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        diff = (
            (load_dir(out / "carracing-vae-v2").decode(z) - load_dir(src_models / "carracing-vae").decode(z))
            .abs()
            .max()
        )
    assert float(diff) < 4 / 255
    ctrl = read_card(out / "carracing-controller-dream")
    assert ctrl.data["world"] == {
        "vae": "carracing-vae-v2",
        "mdn": "carracing-mdnrnn-v2",
        "vae_sha256": read_card(out / "carracing-vae-v2").data["sha256"],
        "mdn_sha256": read_card(out / "carracing-mdnrnn-v2").data["sha256"],
    }
    assert ctrl.data["metrics"]["real_env_steps_during_training"] == 0
    assert ctrl.data["shipped_from"]["name"] == "carracing-controller-dream"
    np.testing.assert_array_equal(
        load_dir(out / "carracing-controller-dream").get_params(),
        load_dir(src_models / "carracing-controller-dream").get_params(),
    )


def test_ship_refuses_to_overwrite_without_replace(round_dir, tmp_path):
    out = tmp_path / "models"
    _ship(round_dir, out)
    before = _tree(out)
    with pytest.raises(UserError, match="--replace"):
        _ship(round_dir, out)
    assert _tree(out) == before
    # the command: exit 2, one clear line, nothing on stdout, nothing written
    cmd = [
        sys.executable,
        "-m",
        "gdl_studio",
        "train",
        "world-model",
        "ship",
        str(round_dir / "models"),
        "--name",
        "v2",
        "--out",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "already in" in proc.stderr and "--replace" in proc.stderr
    assert _tree(out) == before
    # --replace (and --fp32): written again, nothing set aside left over
    proc = subprocess.run(cmd + ["--replace", "--fp32"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "carracing-vae-v2" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == [
        "carracing-controller-dream",
        "carracing-mdnrnn-v2",
        "carracing-vae-v2",
    ]
    assert read_card(out / "carracing-vae-v2").data["dtype"] == "float32"
    assert "world-model ship" in read_card(out / "carracing-vae-v2").data["ship_command"]


def test_ship_failure_leaves_the_target_as_it_was(round_dir, tmp_path, monkeypatch):
    from gdl_studio.core import registry

    out = tmp_path / "models"
    _ship(round_dir, out)
    before = _tree(out)
    real_save = registry.save_model

    def failing(directory, tensors, card, *a, **k):
        if card["name"] == "carracing-controller-dream":
            raise OSError("disk full")
        return real_save(directory, tensors, card, *a, **k)

    monkeypatch.setattr(registry, "save_model", failing)
    with pytest.raises(OSError):
        _ship(round_dir, out, replace=True)
    assert _tree(out) == before and sorted(p.name for p in out.iterdir()) == sorted(
        ["carracing-controller-dream", "carracing-mdnrnn-v2", "carracing-vae-v2"]
    )
    with pytest.raises(OSError):
        _ship(round_dir, tmp_path / "fresh")
    assert list((tmp_path / "fresh").iterdir()) == []


def test_ship_keeps_fp32_when_fp16_does_not_hold(round_dir, tmp_path, monkeypatch):
    from gdl_studio.racing import ship

    monkeypatch.setattr(ship, "FP16_TOLERANCE", {k: -1.0 for k in ship.FP16_TOLERANCE})
    out = tmp_path / "models"
    _ship(round_dir, out)
    card = read_card(out / "carracing-mdnrnn-v2")
    assert card.data["dtype"] == "float32" and card.data["fp16_check"]["passed"] is False


def test_ship_needs_a_round_folder(tmp_path):
    from gdl_studio.racing.ship import ship

    with pytest.raises(UserError, match="no such round"):
        ship(tmp_path / "nope", "v2", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="carracing-vae"):
        ship(tmp_path / "empty", "v2", tmp_path / "out")


# ---------------------------------------------------------------- world resolution
@pytest.fixture(scope="module")
def shipped(round_dir, tiny_models_dir, tmp_path_factory) -> Path:
    """A models directory with the old world (carracing-vae/-mdnrnn/-controller) and the shipped v2 round."""
    import shutil

    from gdl_studio.racing.ship import ship

    out = tmp_path_factory.mktemp("shipped")
    for d in tiny_models_dir.iterdir():
        shutil.copytree(d, out / d.name)
    ship(round_dir / "models", "v2", out, log=lambda m: None)
    return out


def test_resolve_world_by_card_and_default(shipped, round_dir):
    from gdl_studio.racing.worlds import driver_label, resolve_world, shipped_controllers

    reg = Registry(roots=[shipped])
    ref = resolve_world("carracing-controller-dream", registry=reg)
    assert ref.names == ("carracing-vae-v2", "carracing-mdnrnn-v2") and not ref.default and ref.note == ""
    assert ref.vae_dir == shipped / "carracing-vae-v2"
    ref = resolve_world("carracing-controller", registry=reg)
    assert ref.default and ref.vae_dir == shipped / "carracing-vae"
    assert resolve_world(None, registry=reg).default
    # a round's controller (no world field) drives with the V and M beside it
    ref = resolve_world(round_dir / "models" / "carracing-controller-dream", registry=reg)
    assert ref.default and ref.vae_dir == round_dir / "models" / "carracing-vae"
    names = [c.name for c in shipped_controllers(reg)]
    assert names == ["carracing-controller", "carracing-controller-dream"]
    assert driver_label(read_card(shipped / "carracing-controller-dream")) == "Dream-trained driver (v2 world)"
    mixed = read_card(shipped / "carracing-controller-dream")  # V of one round, M of another
    mixed.data["world"] = {**mixed.data["world"], "mdn": "carracing-mdnrnn-v3"}
    assert driver_label(mixed) == "Dream-trained driver (V v2, M v3)"
    with pytest.raises(ModelUnavailable, match="not installed"):
        resolve_world("nobody", registry=reg)
    with pytest.raises(ModelUnavailable, match="not a driving controller"):
        resolve_world("carracing-vae", registry=reg)


def test_resolve_world_missing_v_and_sha_preference(shipped, tmp_path):
    import shutil

    from gdl_studio.racing.worlds import resolve_world

    only_c = tmp_path / "only"
    shutil.copytree(shipped / "carracing-controller-dream", only_c / "carracing-controller-dream")
    with pytest.raises(ModelUnavailable, match="carracing-vae-v2, which is not installed"):
        resolve_world("carracing-controller-dream", registry=Registry(roots=[only_c]))
    # a stale carracing-vae-v2 earlier in the search order loses to the one with the card's sha256
    stale = tmp_path / "stale"
    shutil.copytree(shipped / "carracing-vae", stale / "carracing-vae-v2")
    card = json.loads((stale / "carracing-vae-v2" / "card.json").read_text())
    card["name"] = "carracing-vae-v2"
    (stale / "carracing-vae-v2" / "card.json").write_text(json.dumps(card))
    shutil.copytree(shipped / "carracing-mdnrnn-v2", stale / "carracing-mdnrnn-v2")
    ref = resolve_world("carracing-controller-dream", models=stale, registry=Registry(roots=[shipped]))
    assert ref.vae_dir == shipped / "carracing-vae-v2"
    assert (
        ref.note
        == f"carracing-vae-v2 in {stale} is not the one carracing-controller-dream names; {ref.vae_dir} is used"
    )
    ref = resolve_world("carracing-controller-dream", models=stale, registry=Registry(roots=[only_c]))
    assert ref.vae_dir == stale / "carracing-vae-v2" and "differs" in ref.note


def test_load_world_for_and_models_dir_layout(shipped):
    from gdl_studio.racing.models_io import load_world_model_from
    from gdl_studio.racing.worlds import load_world_for, resolve_world

    reg = Registry(roots=[shipped])
    world = load_world_for("carracing-controller-dream", registry=reg)
    assert world.cards["carracing-vae"].name == "carracing-vae-v2"
    assert world.cards["carracing-controller"].name == "carracing-controller-dream"
    assert world.controller is not None
    ref = resolve_world("carracing-controller-dream", registry=reg)
    d = ref.models_dir()
    assert read_card(d / "carracing-vae").name == "carracing-vae-v2"
    assert read_card(d / "carracing-mdnrnn").name == "carracing-mdnrnn-v2"
    assert ref.models_dir() == d  # made once, reused
    assert load_world_model_from(d, need_controller=False).mdn is not None
    assert resolve_world("carracing-controller", registry=reg).models_dir() == shipped


# ---------------------------------------------------------------- commands
def _env(tmp_path):
    return {**os.environ, "GDL_STUDIO_USER_DIR": str(tmp_path / "user")}


def test_bench_dream_road_json_is_pure_json(shipped, tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "gdl_studio",
        "bench",
        "racing",
        "--dream-road",
        "--starts",
        "2",
        "--tau",
        "1.0",
        "--controller",
        "carracing-controller-dream",
        "--models",
        str(shipped),
        "--device",
        "cpu",
        "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # nothing but JSON on stdout
    assert data["controller"] == "carracing-controller-dream"
    assert data["world"] == "carracing-vae-v2 + carracing-mdnrnn-v2"
    assert 0.0 <= data["dream_road.on_road"] <= 1.0 and 0.0 <= data["dream_road.on_road_frames"] <= 1.0
    assert data["dream_road.starts"] == 2 and data["dream_road.steps_max"] == 1000
    assert data["dream_road.dream_steps"] == 2000  # all 1,000 frames, whatever M's episode-end head says
    assert "speedup" not in proc.stdout  # only what was asked


def test_dream_road_reuses_the_fidelity_road_figures(tiny_world):
    from gdl_studio.racing.fidelity import dream_road, road_figures

    assert road_figures(np.array([1.0, 0.96, 0.5, 0.0])) == {"on_road": 0.5, "on_road_frames": pytest.approx(0.615)}
    assert np.isnan(road_figures(None)["on_road_frames"])
    res = dream_road(tiny_world, tiny_world.controller.get_params(), starts=2, steps=30, road_every=5, device="cpu")
    assert res["starts"] == 2 and res["dream_steps"] == 60 and 0 <= res["on_road"] <= 1


def test_dream_command_drives_with_the_controllers_world(shipped, tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "gdl_studio",
        "dream",
        "--dream",
        "--controller",
        "carracing-controller-dream",
        "--models",
        str(shipped),
        "--max-steps",
        "5",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "carracing-controller-dream drives with carracing-vae-v2 + carracing-mdnrnn-v2" in proc.stderr
    assert "5 steps" in proc.stdout
    proc = subprocess.run(
        cmd[:6] + ["nobody", "--models", str(shipped)], capture_output=True, text=True, timeout=300, env=_env(tmp_path)
    )
    assert proc.returncode == 2 and "'nobody' is not installed" in proc.stderr


def test_replace_model_swaps_one_model_in_and_leaves_no_staging(tmp_path):
    """``ship.replace_model`` (the ship scripts' one-model replacement) writes a new model and replaces an old one
    whole: no file of the old one and no staging directory is left."""
    import torch

    from gdl_studio.core.registry import load_tensors, read_card
    from gdl_studio.racing.ship import replace_model

    first = replace_model(
        tmp_path, "m", {"w": torch.zeros(3)}, {"name": "m", "family": "x", "architecture": {}, "note": "…"}
    )
    (first.directory / "stale.txt").write_text("old")
    second = replace_model(tmp_path, "m", {"w": torch.ones(3)}, {"name": "m", "family": "x", "architecture": {}})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]
    assert not (second.directory / "stale.txt").exists()
    assert torch.equal(load_tensors(read_card(tmp_path / "m"))["w"], torch.ones(3))
    assert "note" not in read_card(tmp_path / "m").data and first.data["note"] == "…"
