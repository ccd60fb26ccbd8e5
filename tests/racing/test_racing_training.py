"""Resumable training steps: collection, CMA-ES checkpoints, and the V/M commands on tiny data."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

pytest.importorskip("gdl_studio.racing.fast_env")


def _cfg(tiny_models_dir, tmp_path, generations):
    from gdl_studio.racing.train_controller import ControllerTrainConfig

    return ControllerTrainConfig(
        models=tiny_models_dir,
        out=tmp_path / "out",
        ckpt=tmp_path / "ckpt",
        popsize=6,
        rollouts=1,
        generations=generations,
        workers=1,
        batch_envs=1,
        max_steps=12,
        patience=None,
        seed=3,
    )


def test_cmaes_resume_continues_from_saved_mean_and_sigma(tiny_models_dir, tmp_path):
    from gdl_studio.racing.models_io import CONTROLLER_NAME, load_dir
    from gdl_studio.racing.train_controller import load_strategy_state, read_log, train_controller

    quiet = lambda *a: None  # noqa: E731
    # two generations in one go …
    straight = tmp_path / "straight"
    train_controller(_cfg(tiny_models_dir, straight, 2), log=quiet)
    # … versus one generation, then a second run that resumes from the checkpoint
    resumed = tmp_path / "resumed"
    first = train_controller(_cfg(tiny_models_dir, resumed, 1), log=quiet)
    assert first["generation"] == 1
    state = json.loads((resumed / "ckpt" / "controller_state.json").read_text())
    assert state["generation"] == 1 and state["env_steps"] > 0
    mean1, sigma1 = load_strategy_state(resumed / "ckpt" / "cma_state.npz")  # plain arrays, no pickle
    # C is written after every generation: the distribution mean, 867 parameters
    ctrl = load_dir(resumed / "out" / CONTROLLER_NAME)
    assert ctrl.num_params == 867 and np.allclose(ctrl.get_params(), mean1, atol=1e-6)
    assert np.abs(mean1).max() > 0 and sigma1 > 0  # CMA-ES moved away from the zero start

    second = train_controller(_cfg(tiny_models_dir, resumed, 2), log=quiet)
    assert second["generation"] == 2
    log_a, log_b = read_log(straight / "ckpt"), read_log(resumed / "ckpt")
    assert [r["generation"] for r in log_b] == [1.0, 2.0]
    # the first generation is the same run; the second continues from the saved state
    assert log_a[0]["best"] == pytest.approx(log_b[0]["best"]) and log_a[0]["mean"] == pytest.approx(log_b[0]["mean"])
    mean2, _ = load_strategy_state(resumed / "ckpt" / "cma_state.npz")
    assert not np.allclose(mean2, mean1)
    # the step from the saved mean is of the saved σ's order (it resumed there, not from zeros)
    assert np.linalg.norm(mean2 - mean1) < 5 * sigma1 * np.sqrt(mean1.size)
    card = json.loads((resumed / "out" / CONTROLLER_NAME / "card.json").read_text())
    assert card["metrics"]["generations"] == 2 and len(card["training_runs"]) == 2
    # a finished run does nothing more
    again = train_controller(_cfg(tiny_models_dir, resumed, 2), log=quiet)
    assert again["generation"] == 2 and len(read_log(resumed / "ckpt")) == 2


def test_cmaes_can_start_from_a_saved_controller(tiny_models_dir, tmp_path):
    from gdl_studio.racing.models_io import CONTROLLER_NAME, load_dir
    from gdl_studio.racing.train_controller import load_strategy_state, train_controller

    quiet = lambda *a: None  # noqa: E731
    base = tmp_path / "base"
    train_controller(_cfg(tiny_models_dir, base, 1), log=quiet)
    start = load_dir(base / "out" / CONTROLLER_NAME).get_params()
    cfg = _cfg(tiny_models_dir, tmp_path / "cont", 2)
    cfg.init = base / "out" / CONTROLLER_NAME
    result = train_controller(cfg, log=quiet)
    # the saved controller had 1 generation: the continuation counts on from there
    assert result["generation"] == 2
    state = json.loads((tmp_path / "cont" / "ckpt" / "controller_state.json").read_text())
    assert state["env_steps"] > 0
    mean, sigma = load_strategy_state(tmp_path / "cont" / "ckpt" / "cma_state.npz")
    assert np.linalg.norm(mean - start) < 5 * sigma * np.sqrt(mean.size)
    assert np.linalg.norm(mean - start) < np.linalg.norm(mean)  # near the saved controller, not near zero


def test_cmaes_from_a_saved_controller_takes_an_explicit_sigma_and_keeps_snapshots(tiny_models_dir, tmp_path):
    from gdl_studio.racing.models_io import CONTROLLER_NAME
    from gdl_studio.racing.train_controller import load_strategy_state, train_controller

    quiet = lambda *a: None  # noqa: E731
    base = tmp_path / "base"
    train_controller(_cfg(tiny_models_dir, base, 1), log=quiet)
    card_sigma = json.loads((base / "out" / CONTROLLER_NAME / "card.json").read_text())["metrics"]["sigma"]
    runs = {}
    for name, sigma0 in (("card", None), ("small", card_sigma / 50)):
        cfg = _cfg(tiny_models_dir, tmp_path / name, 4)
        cfg.init, cfg.sigma0, cfg.snapshot_every = base / "out" / CONTROLLER_NAME, sigma0, 2
        train_controller(cfg, log=quiet)
        runs[name] = load_strategy_state(tmp_path / name / "ckpt" / "cma_state.npz")[1]
        with np.load(tmp_path / name / "ckpt" / "snapshots.npz") as snaps:
            # generations 2 … 4 ran (the base had 1): the means after generations 2 and 4
            assert sorted(snaps.files) == ["gen00002", "gen00004"]
            mean4 = snaps["gen00004"]
        assert np.allclose(mean4, load_strategy_state(tmp_path / name / "ckpt" / "cma_state.npz")[0], atol=1e-6)
    # without --sigma0 the run goes on with the card's σ; with it, from the σ given (3 generations of
    # CMA-ES change σ by far less than the factor 50 between them)
    assert runs["card"] > 10 * runs["small"]


def test_collect_is_resumable_and_deterministic(tmp_path):
    from gdl_studio.racing.collect import CollectConfig, collect, list_episodes

    cfg = CollectConfig(out=tmp_path / "r", episodes=2, max_steps=8, workers=1, policy="mix")
    s1 = collect(cfg, log=lambda *a: None)
    assert s1["new_episodes"] == 2
    files = list_episodes(tmp_path / "r")
    assert len(files) == 2
    with np.load(files[0]) as d:
        assert d["frames"].shape == (9, 64, 64, 3) and d["frames"].dtype == np.uint8
        assert d["actions"].shape == (8, 3) and d["rewards"].shape == (8,)
        first = d["frames"].copy()
    s2 = collect(cfg, log=lambda *a: None)
    assert s2["new_episodes"] == 0  # resumed: nothing to do
    files[0].unlink()
    collect(cfg, log=lambda *a: None)
    with np.load(files[0]) as d:
        assert np.array_equal(d["frames"], first)


def test_vae_and_mdn_commands_end_to_end_on_tiny_data(tmp_path):
    from gdl_studio.racing.collect import CollectConfig, collect
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME, load_dir
    from gdl_studio.racing.train_mdn import MDNTrainConfig, train_mdn
    from gdl_studio.racing.train_vae import VAETrainConfig, train_vae

    quiet = lambda *a: None  # noqa: E731
    collect(CollectConfig(out=tmp_path / "r", episodes=2, max_steps=20, workers=1), log=quiet)
    vcfg = VAETrainConfig(data=tmp_path / "r", out=tmp_path / "m", ckpt=tmp_path / "c", device="cpu", epochs=1, batch=8)
    result = train_vae(vcfg, log=quiet)
    assert result["epochs"] == 1
    card = json.loads((tmp_path / "m" / VAE_NAME / "card.json").read_text())
    assert card["family"] == "world-model/vae" and card["architecture"]["z_size"] == 32
    # resuming with more epochs continues from the checkpoint
    vcfg.epochs = 2
    assert train_vae(vcfg, log=quiet)["epochs"] == 2
    mcfg = MDNTrainConfig(
        data=tmp_path / "r",
        vae=tmp_path / "m" / VAE_NAME,
        out=tmp_path / "m",
        ckpt=tmp_path / "c",
        device="cpu",
        epochs=1,
        batch=4,
        seq_len=8,
    )
    assert train_mdn(mcfg, log=quiet)["epochs"] == 1
    mdn = load_dir(tmp_path / "m" / MDN_NAME)
    assert mdn.config.hidden == 256 and mdn.config.mixtures == 5
    assert (tmp_path / "c" / "series.npz").is_file()
    assert json.loads((tmp_path / "m" / MDN_NAME / "card.json").read_text())["training"]["latent"] == "sample"
    # a joint-mixture M from that per-dimension one: its LSTM and heads but the mixture's, which start afresh
    said = []
    mcfg_joint = dataclasses.replace(
        mcfg, out=tmp_path / "mj", ckpt=tmp_path / "cj", init=tmp_path / "m" / MDN_NAME, mixture="joint"
    )
    assert train_mdn(mcfg_joint, log=said.append)["epochs"] == 1
    assert any("mixture head" in line for line in said)
    joint = load_dir(tmp_path / "mj" / MDN_NAME)
    assert joint.config.mixture == "joint" and joint.mdn.out_features == 5 * (1 + 2 * 32)
    card = json.loads((tmp_path / "mj" / MDN_NAME / "card.json").read_text())
    assert card["architecture"]["mixture"] == card["training"]["mixture"] == "joint"


def test_early_stopping_keeps_the_best_weights_and_resumes(tmp_path):
    import torch

    from gdl_studio.racing.training import EarlyStopping

    model = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters())
    es = EarlyStopping(patience=2, min_delta=0.1)
    assert es.end_epoch(model, 5.0)
    best = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        model.weight.add_(1.0)
    assert not es.end_epoch(model, 4.95, extra=1.0)  # better, but by less than min_delta
    assert not es.exhausted
    assert not es.end_epoch(model, 6.0)
    assert es.exhausted and es.epoch == 3 and es.best_val == 5.0
    assert torch.equal(es.best_state["weight"], best["weight"])
    assert es.history[1] == {"epoch": 2, "val_loss": 4.95, "extra": 1.0}
    es.checkpoint(tmp_path / "c.pt", model, opt)
    fresh = torch.nn.Linear(2, 1)
    fresh_opt = torch.optim.Adam(fresh.parameters())
    again = EarlyStopping(patience=2, min_delta=0.1)
    assert again.resume(tmp_path / "c.pt", fresh, fresh_opt)
    assert (again.epoch, again.best_val, again.bad_epochs, again.exhausted) == (3, 5.0, 2, True)
    assert torch.equal(fresh.weight, model.weight) and again.history == es.history
    assert not EarlyStopping(2, 0.1).resume(tmp_path / "missing.pt", fresh, fresh_opt)
