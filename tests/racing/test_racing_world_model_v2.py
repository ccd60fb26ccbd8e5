"""The dream as a place to learn: batched dreams, dream-only CMA-ES, the fidelity figures, iteration."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch


# ---------------------------------------------------------------- fidelity statistics
def test_spearman_known_values_and_ties():
    from gdl_studio.racing.fidelity import spearman

    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ties get average ranks: x ranks (1, 2.5, 2.5, 4), y ranks (1, 2, 3, 4)
    rx = np.array([1, 2.5, 2.5, 4]) - 2.5
    ry = np.array([1, 2, 3, 4]) - 2.5
    expected = (rx * ry).sum() / np.sqrt((rx**2).sum() * (ry**2).sum())
    assert spearman([0, 5, 5, 9], [1, 2, 3, 4]) == pytest.approx(expected)
    assert np.isnan(spearman([1, 2], [1, 2]))


def test_split_half_reliability_of_the_real_ranking():
    """Even vs odd episodes, stepped up by Spearman–Brown: 1 when every track ranks the controllers
    alike, about 0 when the tracks' noise swamps the differences, a negative correlation as it is,
    NaN with one episode."""
    from gdl_studio.racing.fidelity import split_half_reliability

    rng = np.random.default_rng(0)
    skill = np.arange(20.0)[:, None]
    assert split_half_reliability(skill + np.zeros((20, 8))) == pytest.approx(1.0)
    noisy = skill * 0.001 + rng.normal(0, 1, (20, 8))
    assert abs(split_half_reliability(noisy)) < 0.6
    # a half-way case by hand: r between the halves, then 2r / (1 + r)
    per_ep = skill + rng.normal(0, 6, (20, 4))
    from gdl_studio.racing.fidelity import spearman

    r = spearman(per_ep[:, [0, 2]].mean(1), per_ep[:, [1, 3]].mean(1))
    assert split_half_reliability(per_ep) == pytest.approx(2 * r / (1 + r))
    keep = np.arange(20) >= 10
    r_top = spearman(per_ep[keep][:, [0, 2]].mean(1), per_ep[keep][:, [1, 3]].mean(1))
    assert split_half_reliability(per_ep, keep) == pytest.approx(2 * r_top / (1 + r_top))
    assert np.isnan(split_half_reliability(per_ep[:, :1]))
    # halves that rank the controllers in opposite orders: the correlation itself, not 2r / (1 + r) < −1
    opposite = np.concatenate([skill, -skill], axis=1)
    assert split_half_reliability(opposite) == pytest.approx(-1.0)
    assert split_half_reliability(np.concatenate([skill, -skill + rng.normal(0, 8, (20, 1))], axis=1)) >= -1.0


def test_controller_set_spans_scales_and_keeps_base_and_extra():
    from gdl_studio.racing.fidelity import controller_set

    base = np.zeros(867)
    extra = [np.ones(867)]
    ctrls = controller_set(base, 33, seed=0, extra=extra)
    assert len(ctrls) == 33
    assert np.array_equal(ctrls[0], base)
    assert np.array_equal(ctrls[-1], extra[0])
    spreads = [np.std(c) for c in ctrls[1:-1]]
    assert min(spreads) < 0.05 and max(spreads) > 1.0  # tiny to destructive steps
    again = controller_set(base, 33, seed=0, extra=extra)
    assert all(np.array_equal(a, b) for a, b in zip(ctrls, again))


# ---------------------------------------------------------------- pooling several Ms
def test_pool_returns_rules():
    from gdl_studio.racing.pooling import POOLS, pool_returns

    per_m = np.array([[10.0, 0.0], [30.0, 0.0], [20.0, 60.0]])  # 3 Ms × 2 controllers
    sd = np.std([10.0, 30.0, 20.0])
    assert pool_returns(per_m, "min").tolist() == [10.0, 0.0]
    assert pool_returns(per_m, "mean").tolist() == [20.0, 20.0]
    assert pool_returns(per_m, "mean-std") == pytest.approx([20.0 - sd, 20.0 - np.std([0.0, 0.0, 60.0])])
    assert pool_returns(per_m, "mean-2std")[0] == pytest.approx(20.0 - 2 * sd)
    for rule in POOLS:  # one M: every rule is its mean
        assert pool_returns(per_m[:1], rule).tolist() == [10.0, 0.0]
    with pytest.raises(ValueError, match="unknown pooling rule"):
        pool_returns(per_m, "max")


# ---------------------------------------------------------------- batched dreams
def test_dream_batch_controller_matches_numpy_and_is_deterministic(tiny_world):
    from gdl_studio.racing.controller import squash
    from gdl_studio.racing.dream_batch import controller_tensors, dream_batch, squash_torch

    rng = np.random.default_rng(1)
    params = rng.normal(0, 0.2, (5, 867))
    x = rng.normal(0, 1, (5, 32 + 256)).astype(np.float32)
    w, b = controller_tensors(params, 32, 256)
    got = squash_torch(torch.einsum("bij,bj->bi", w, torch.from_numpy(x)) + b).numpy()
    want = np.stack(
        [squash(x[i].astype(np.float64) @ params[i, :864].reshape(3, 288).T + params[i, 864:]) for i in range(5)]
    )
    np.testing.assert_allclose(got, want, atol=1e-5)

    z0 = rng.normal(0, 1, (5, 32)).astype(np.float32)
    a = dream_batch(tiny_world.mdn, params, z0, tau=1.0, seed=3, max_steps=40)
    b2 = dream_batch(tiny_world.mdn, params, z0, tau=1.0, seed=3, max_steps=40)
    c = dream_batch(tiny_world.mdn, params, z0, tau=1.0, seed=4, max_steps=40)
    np.testing.assert_array_equal(a.returns, b2.returns)
    assert not np.array_equal(a.returns, c.returns)
    assert a.returns.shape == (5,) and (a.lengths <= 40).all() and a.steps == int(a.lengths.sum())


def test_dream_batch_starts_mid_episode_from_a_given_state(tiny_world):
    """state0 puts every row's LSTM where M was after some real steps: zeros are M's initial state,
    and the first step from a given state is M's step from that state with the controller's action."""
    from gdl_studio.racing.dream_batch import controller_tensors, dream_batch, squash_torch

    mdn = tiny_world.mdn
    rng = np.random.default_rng(2)
    params = rng.normal(0, 0.2, (3, 867))
    z0 = rng.normal(0, 1, (3, 32)).astype(np.float32)
    zeros = (np.zeros((3, 256), np.float32), np.zeros((3, 256), np.float32))
    a = dream_batch(mdn, params, z0, tau=1.0, seed=5, max_steps=30)
    b = dream_batch(mdn, params, z0, tau=1.0, seed=5, max_steps=30, state0=zeros)
    np.testing.assert_array_equal(a.returns, b.returns)

    h0 = rng.normal(0, 0.5, (3, 256)).astype(np.float32)
    c0 = rng.normal(0, 0.5, (3, 256)).astype(np.float32)
    got = dream_batch(mdn, params, z0, tau=1.0, seed=5, max_steps=1, state0=(h0, c0))
    with torch.no_grad():
        w, bias = controller_tensors(params, 32, 256)
        z, h, c = (torch.from_numpy(v) for v in (z0, h0, c0))
        act = squash_torch(torch.einsum("bij,bj->bi", w, torch.cat([z, h], 1)) + bias)
        out, _ = mdn.step(z, act, (h[None], c[None]))
    np.testing.assert_allclose(got.returns, out.reward.double().numpy(), rtol=1e-5, atol=1e-6)
    assert not np.allclose(got.returns, dream_batch(mdn, params, z0, tau=1.0, seed=5, max_steps=1).returns)


def test_on_road_on_real_frames():
    """The road check agrees with the simulator: a car standing at the start is on the road, grass is not."""
    from gdl_studio.racing.dream_batch import on_road
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import preprocess, to_tensor

    env = make_env()
    obs, _ = env.reset(seed=123)
    for _ in range(60):  # the camera has zoomed in by then
        obs = env.step(np.zeros(3, np.float32))[0]
    env.close()
    frame = preprocess(obs)
    grass = frame.copy()
    grass[:, :] = (102, 204, 102)
    assert on_road(to_tensor(np.stack([frame, grass]))).tolist() == [True, False]


# ---------------------------------------------------------------- M training options
def test_scheduled_forward_without_sampling_is_teacher_forcing(tiny_world):
    from gdl_studio.racing.train_mdn import scheduled_forward

    mdn = tiny_world.mdn
    rng = np.random.default_rng(0)
    z = torch.from_numpy(rng.normal(0, 1, (2, 12, 32)).astype(np.float32))
    a = torch.from_numpy(rng.uniform(0, 1, (2, 12, 3)).astype(np.float32))
    with torch.no_grad():
        ref = mdn(z, a)[0]
        got = scheduled_forward(mdn, z, a, 0.0, torch.Generator().manual_seed(0))
        own = scheduled_forward(mdn, z, a, 1.0, torch.Generator().manual_seed(0))
    for r, g in zip(ref, got):
        torch.testing.assert_close(g, r, atol=1e-5, rtol=1e-5)
    # feeding its own samples changes every step after the first
    assert torch.allclose(own.mu[:, 0], ref.mu[:, 0], atol=1e-5)
    assert not torch.allclose(own.mu[:, 5:], ref.mu[:, 5:], atol=1e-3)


def test_rollout_loss_scores_own_samples_against_the_real_steps_with_their_gradient(monkeypatch):
    """Horizon 1 is the teacher-forced loss at the drawn start step; longer horizons feed M its own
    samples and pass the gradient through them (unlike scheduled sampling)."""
    import gdl_studio.racing.dream_batch as dream_batch
    from gdl_studio.racing.mdn_rnn import MDNRNN, MDNConfig, mdn_loss
    from gdl_studio.racing.train_mdn import rollout_loss

    torch.manual_seed(0)
    mdn = MDNRNN(MDNConfig(hidden=16, mixture="joint"))
    rng = np.random.default_rng(1)
    z = torch.from_numpy(rng.normal(0, 1, (3, 12, 32)).astype(np.float32))
    a = torch.from_numpy(rng.uniform(0, 1, (3, 12, 3)).astype(np.float32))
    zn = torch.from_numpy(rng.normal(0, 1, (3, 12, 32)).astype(np.float32))
    r, d, m = torch.zeros(3, 12), torch.zeros(3, 12), torch.ones(3, 12)
    with torch.no_grad():
        ref = mdn(z, a)[0]
        t0 = int(torch.randint(0, 12, (1,), generator=torch.Generator().manual_seed(4)))
        one = rollout_loss(mdn, z, a, zn, r, d, m, 1, torch.Generator().manual_seed(4))
        at_t0 = type(ref)(*(x[:, t0 : t0 + 1] for x in ref))
        torch.testing.assert_close(one[1], mdn_loss(at_t0, zn[:, t0 : t0 + 1], r[:, :1], d[:, :1], m[:, :1])[1])
        # the squared error of the mixture's expected latent, weighted by mse_weight, adds to the total
        with_mse = rollout_loss(mdn, z, a, zn, r, d, m, 1, torch.Generator().manual_seed(4), mse_weight=2.0)
        expected = (torch.softmax(ref.logpi[:, t0, 0], -1)[:, None, :] * ref.mu[:, t0]).sum(-1)
        gap = (expected - zn[:, t0]).pow(2).mean()
        torch.testing.assert_close(with_mse[0] - one[0], 2.0 * gap, atol=1e-5, rtol=1e-4)

    def grads():
        mdn.zero_grad()
        rollout_loss(mdn, z, a, zn, r, d, m, 8, torch.Generator().manual_seed(5))[0].backward()
        return mdn.mdn.weight.grad.clone()

    with_path = grads()
    detached = dream_batch._sample
    monkeypatch.setattr(dream_batch, "_sample", lambda out, tau, gen: detached(out, tau, gen).detach())
    without_path = grads()
    mdn.zero_grad()
    assert not torch.allclose(with_path, without_path, atol=1e-7)


def test_windows_around_departures_put_one_inside_the_rollout_stretch():
    """A departure is the first frame off the road after one on it; focused windows hold it 1 to H steps
    after the rollout's start position."""
    from gdl_studio.racing.train_mdn import SeriesSampler

    lengths = np.array([40, 30])
    frames = int((lengths + 1).sum())
    series = {
        "mu": np.arange(frames, dtype=np.float32)[:, None].repeat(32, 1),  # each frame holds its own index
        "logvar": np.zeros((frames, 32), np.float32),
        "actions": np.zeros((int(lengths.sum()), 3), np.float32),
        "rewards": np.zeros(int(lengths.sum()), np.float32),
        "terminated": np.zeros(int(lengths.sum()), bool),
        "lengths": lengths,
    }
    road = np.ones(frames, bool)
    road[25:28] = False  # episode 0: off from frame 25
    road[41 + 12 :] = False  # episode 1 (frames 41…71): off from its frame 12 to the end
    sampler = SeriesSampler(series, [0, 1], seq_len=16)
    assert sampler.departures(road).tolist() == [[0, 25], [1, 12]]
    events = sampler.departures(road)
    w = sampler.windows_around(np.random.default_rng(0), events, 200, at=4, horizon=6)
    first = w["mu"][:, 0, 0]
    assert (first < 41).any() and (first >= 41).any()  # both departures are drawn
    for row, f0 in enumerate(first):
        held = w["mu"][row, : int(w["mask"][row].sum()) + 1, 0]
        departure = 25 if f0 < 41 else 41 + 12
        pos = int(np.flatnonzero(held == departure)[0]) if departure in held else -1
        assert 4 + 1 <= pos <= 4 + 6


def test_road_flags_are_cached_under_the_series_key(tiny_models_dir, tmp_path, monkeypatch):
    import gdl_studio.racing.models_io as models_io
    from gdl_studio.racing.train_mdn import road_flags

    rng = np.random.default_rng(0)
    series = {"key": np.array("v:3"), "mu": rng.normal(0, 1, (5, 32)).astype(np.float16)}
    cache = tmp_path / "road.npz"
    first = road_flags(series, tiny_models_dir / "carracing-vae", torch.device("cpu"), cache, log=lambda *_: None)
    assert first.shape == (5,) and first.dtype == bool and cache.is_file()

    def no_decoding(*_a, **_k):
        raise AssertionError("decoded again")

    monkeypatch.setattr(models_io, "load_dir", no_decoding)
    again = road_flags(series, tiny_models_dir / "carracing-vae", torch.device("cpu"), cache)
    assert again.tolist() == first.tolist()
    with pytest.raises(AssertionError, match="decoded again"):  # another series (new V or data) decodes afresh
        road_flags({**series, "key": np.array("w:3")}, tiny_models_dir / "carracing-vae", "cpu", cache)


def test_open_loop_runs_keep_the_share_and_have_the_span():
    """Scheduled sampling in runs: the share of own-sample steps is p whatever the span, every run
    lasts exactly ``span`` steps (unless the window ends), and span 1 draws steps alone."""
    from gdl_studio.racing.train_mdn import open_loop_mask

    for span in (1, 5, 25):
        m = open_loop_mask(400, 300, 0.3, span, torch.Generator().manual_seed(span)).numpy()
        assert not m[:, 0].any()
        assert m[:, 1:].mean() == pytest.approx(0.3, abs=0.02)
        runs = []
        for row in m:
            edges = np.flatnonzero(np.diff(np.r_[0, row.astype(int), 0]))
            runs += [(b - a, b == len(row)) for a, b in zip(edges[::2], edges[1::2])]
        full = [n for n, cut in runs if not cut]
        if span == 1:
            assert max(full) > 1  # independent steps: neighbours join by chance
        else:
            assert set(n % span for n in full) == {0}  # back-to-back runs join, each still span long
            assert np.mean(full) < 1.6 * span
    assert open_loop_mask(3, 10, 0.0, 5, torch.Generator()).sum() == 0
    assert open_loop_mask(3, 10, 1.0, 5, torch.Generator())[:, 1:].all()


def test_training_latents_are_v_samples_or_v_means():
    """``--latent sample`` feeds M z ~ N(μ, σ²) (per-dimension mean μ, spread σ); ``--latent mean`` feeds μ itself."""
    from gdl_studio.racing.train_mdn import training_latents

    mu = torch.linspace(-2.0, 2.0, 32).repeat(4000, 1)
    logvar = torch.full_like(mu, math.log(0.25))  # σ 0.5
    z = training_latents(mu, logvar, "sample", torch.Generator().manual_seed(0))
    assert torch.allclose(z.mean(0), mu[0], atol=0.05) and torch.allclose(z.std(0), torch.full((32,), 0.5), atol=0.03)
    assert training_latents(mu, logvar, "mean") is mu
    with pytest.raises(ValueError):
        training_latents(mu, logvar, "median")


def test_horizon_one_is_the_teacher_forced_nll(tiny_world):
    from gdl_studio.racing.fidelity import horizon_nll
    from gdl_studio.racing.mdn_rnn import mixture_log_prob

    mdn = tiny_world.mdn
    rng = np.random.default_rng(2)
    T = 80
    mu = rng.normal(0, 1, (T + 1, 32)).astype(np.float32)
    actions = rng.uniform(0, 1, (T, 3)).astype(np.float32)
    rewards = rng.normal(0, 1, T).astype(np.float32)
    res = horizon_nll(mdn, [(mu, actions, rewards)], horizons=(1, 10), samples=4, stride=10, warmup=10)
    with torch.no_grad():
        out, _ = mdn(torch.from_numpy(mu[None, :-1]), torch.from_numpy(actions[None]))
        lp = mixture_log_prob(torch.from_numpy(mu[None, 1:]), out.logpi, out.mu, out.logsigma).sum(-1)[0]
    starts = list(range(10, T - 10, 10))
    want = float(np.mean([-float(lp[s - 1]) / 32 for s in starts]))
    assert res["z_nll"]["h1"] == pytest.approx(want, rel=1e-4)
    assert np.isfinite(res["z_nll"]["h10"]) and "h10" in res["reward_err"]
    # a ReadMDNRNN (its state has four parts) of the same M gives the same figures
    from gdl_studio.racing.mdn_rnn import ReadMDNRNN

    twin = horizon_nll(
        ReadMDNRNN.from_pair(mdn, mdn).eval(),
        [(mu, actions, rewards)],
        horizons=(1, 10),
        samples=4,
        stride=10,
        warmup=10,
    )
    assert twin["z_nll"] == pytest.approx(res["z_nll"], rel=1e-4)
    assert twin["reward_err"] == pytest.approx(res["reward_err"], rel=1e-4)


def test_predicted_return_is_m_teacher_forced_on_the_real_episode(tiny_world):
    """run_episodes(predicted=…): the sum of M's reward head along the real episode equals M run
    teacher-forced over that episode's recorded latents and actions (r̂_t from h_{t+1})."""
    from gdl_studio.racing.agent import run_episodes
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.fidelity import record_episodes

    rng = np.random.default_rng(3)
    params = rng.normal(0, 0.1, 867)
    pred = np.zeros(1)
    returns, _ = run_episodes(
        lambda: make_env(fast=True), tiny_world.vae, tiny_world.mdn, params[None], [11], 30, predicted=pred
    )
    ((mu, actions, rewards),) = record_episodes(tiny_world, params, [11], 30)
    assert returns[0] == pytest.approx(float(rewards.sum()), abs=1e-4)  # rewards recorded as float32
    with torch.no_grad():
        out, _ = tiny_world.mdn(torch.from_numpy(mu[None, :-1]), torch.from_numpy(actions[None]))
    assert pred[0] == pytest.approx(float(out.reward.sum()), rel=1e-4, abs=1e-4)
    assert pred[0] != 0.0


def test_real_returns_split_over_workers_equal_one_batch(tiny_models_dir):
    """real_returns with fewer controllers than workers splits each controller's tracks over the workers; every
    track's return and M's prediction on it are those of the one-batch run."""
    from gdl_studio.racing.fidelity import real_returns

    rng = np.random.default_rng(5)
    params = [rng.normal(0, 0.1, 867) for _ in range(2)]
    seeds = [21, 22, 23, 24, 25]
    one, s1, p1 = real_returns(tiny_models_dir, params, seeds, 1, max_steps=25)
    split, s2, p2 = real_returns(tiny_models_dir, params, seeds, 4, max_steps=25)
    assert one.shape == (2, 5) and s1 == s2 == 2 * 5 * 25
    np.testing.assert_allclose(split, one, atol=1e-6)
    np.testing.assert_allclose(p2, p1, atol=1e-5)
    assert np.all(p1 != 0.0)


def test_real_returns_never_drives_more_than_max_lockstep_tracks_in_one_task(tiny_models_dir, monkeypatch):
    """A task drives at most MAX_LOCKSTEP tracks at once (memory: ~70 MB a track), whatever the workers; the
    returns are those of the unsplit run."""
    from gdl_studio.racing import fidelity

    rng = np.random.default_rng(6)
    params = [rng.normal(0, 0.1, 867)]
    seeds = [31, 32, 33, 34, 35]
    whole, _, _ = fidelity.real_returns(tiny_models_dir, params, seeds, 1, max_steps=20)
    sizes: list[int] = []
    real_task = fidelity._real_task

    def counting(task):
        sizes.append(len(task[3]))
        return real_task(task)

    monkeypatch.setattr(fidelity, "MAX_LOCKSTEP", 2)
    monkeypatch.setattr(fidelity, "_real_task", counting)
    capped, steps, _ = fidelity.real_returns(tiny_models_dir, params, seeds, 1, max_steps=20)
    assert max(sizes) == 2 and sum(sizes) == 5 and steps == 5 * 20
    np.testing.assert_allclose(capped, whole, atol=1e-6)


# ---------------------------------------------------------------- dream-only CMA-ES
def test_dream_controller_trains_resumes_and_takes_no_real_step(tiny_models_dir, tmp_path):
    from gdl_studio.core.registry import read_card
    from gdl_studio.racing.dream_train import DreamTrainConfig, read_log, train_dream_controller

    starts = tmp_path / "series.npz"
    lengths = np.array([5, 7, 4])
    np.savez(
        starts,
        mu=np.random.default_rng(0).normal(0, 1, (int((lengths + 1).sum()), 32)).astype(np.float16),
        lengths=lengths,
    )
    cfg = DreamTrainConfig(
        models=tiny_models_dir,
        out=tmp_path / "out",
        ckpt=tmp_path / "ckpt",
        popsize=4,
        rollouts=2,
        generations=2,
        max_steps=25,
        device="cpu",
        series=starts,
        valid_dreams=3,
        valid_every=1,
        snapshot_every=1,
        init=tiny_models_dir / "carracing-controller",
        command="test",
    )
    res = train_dream_controller(cfg, log=lambda m: None)
    assert res["generation"] == 2
    card = read_card(tmp_path / "out" / "carracing-controller-dream")
    assert card.data["metrics"]["real_env_steps_during_training"] == 0
    assert (
        card.data["metrics"]["dream_steps"] > 0
        and "first frames of the 3 recorded rollouts" in card.data["data"]["starts"]
    )
    cfg.generations = 3
    res = train_dream_controller(cfg, log=lambda m: None)  # resumes at generation 2
    assert res["generation"] == 3 and [r["generation"] for r in read_log(tmp_path / "ckpt")] == [1.0, 2.0, 3.0]
    with np.load(tmp_path / "ckpt" / "snapshots.npz") as snaps:
        assert sorted(snaps.files) == ["gen00001", "gen00002", "gen00003"]


def _pessimist_critic(models_dir, out) -> Path:
    """An M on ``models_dir``'s V that predicts a reward of −5 per step and never ends a dream."""
    import torch

    from gdl_studio.core.registry import read_card
    from gdl_studio.racing.mdn_rnn import MDNRNN
    from gdl_studio.racing.models_io import save_mdn

    vae_sha = read_card(models_dir / "carracing-vae").data["sha256"]
    torch.manual_seed(1)
    pessimist = MDNRNN()
    with torch.no_grad():
        pessimist.reward_head.weight.zero_()
        pessimist.reward_head.bias.fill_(-5.0)
        pessimist.done_head.weight.zero_()
        pessimist.done_head.bias.fill_(-20.0)
    save_mdn(pessimist, out, {"data": {"vae_sha256": vae_sha}, "metrics": {}, "training_command": "t"})
    return out / "carracing-mdnrnn"


def test_fidelity_with_a_critic_ranks_by_the_lowest_m(tiny_models_dir, tmp_path):
    """bench racing --fidelity --critic-mdn: each controller's dream return is the lower of the
    two Ms' means (here the pessimist's −5 × 20 steps), the return ratio uses that too, and
    per_m keeps each M's own figures (the world's M first)."""
    from gdl_studio.racing.fidelity import FidelityConfig, run_fidelity

    critic = _pessimist_critic(tiny_models_dir, tmp_path / "critic")
    cfg = FidelityConfig.quick(  # quick, shorter still
        controllers=3,
        real_steps=20,
        dream_steps=20,
        horizons=(1,),
        nll_steps=40,
        workers=1,
        device="cpu",
        critics=[critic],
    )
    base = np.zeros(867)
    r = run_fidelity(tiny_models_dir, base, cfg, log=lambda m: None)
    alone, judged = r["per_m"]["dream"]
    assert r["critics"] == 1 and len(alone) == len(judged) == 3
    assert judged == pytest.approx([-100.0] * 3, abs=0.05)
    assert max(alone) > -20.0  # the random main M predicts rewards near 0
    assert r["per_controller"]["dream"] == pytest.approx([min(a, b) for a, b in zip(alone, judged)])
    assert r["base_dream_mean"] == pytest.approx(-100.0, abs=0.05)
    assert len(r["per_m"]["rank_corr"]) == len(r["per_m"]["return_ratio"]) == 2
    assert r["pool"] == "min" and set(r["per_pool"]["rank_corr"]) == {"min", "mean", "mean-std", "mean-2std"}
    assert r["per_pool"]["rank_corr"]["min"] == r["rank_corr"] or np.isnan(r["rank_corr"])
    # M's reward head along the real episodes, beside the dreams
    assert len(r["per_controller"]["teacher_forced"]) == 3
    assert set(r["teacher_forced"]) == {"rank_corr", "rank_corr_working", "return_ratio"}
    assert r["working_threshold"] == 300.0 and "rank_corr_working" in r
    # the real ranking's own reliability, and the per-track real returns it comes from
    assert {"real_reliability", "real_reliability_working", "real_reliability_top"} <= set(r)
    # and the dream ranking's (odd vs even dreams of each controller)
    assert {"dream_reliability", "dream_reliability_working"} <= set(r)
    assert np.isnan(r["dream_reliability"]) or -1.0 <= r["dream_reliability"] <= 1.0
    # and the ranking by the dreams' road-keeping (every road_every-th frame decoded)
    road = np.array(r["per_controller"]["dream_road"])
    assert road.shape == (3,) and ((road >= 0.0) & (road <= 1.0)).all()
    assert set(r["by_road"]) == {"rank_corr", "rank_corr_working"}
    assert all(np.isnan(v) or -1.0 <= v <= 1.0 for v in r["by_road"].values())
    per_track = np.array(r["per_controller"]["real_episodes"])
    assert per_track.shape == (3, cfg.real_episodes)
    assert per_track.mean(1) == pytest.approx(r["per_controller"]["real"], abs=0.06)
    # episodes of 40 steps are too short for a steer branch (the first is at step 50)
    assert r["steer"]["branches"] == 0


def _one_dream_generation(models_dir, tmp_path, name: str, **options) -> list[dict]:
    """One generation of dream CMA-ES (population 4, 2 dreams of 25 steps from zero latents) into
    ``tmp_path/name``; its log rows. ``options`` are further :class:`DreamTrainConfig` fields."""
    from gdl_studio.racing.dream_train import DreamTrainConfig, read_log, train_dream_controller

    starts = tmp_path / "series.npz"
    np.savez(starts, mu=np.zeros((8, 32), np.float16), lengths=np.array([3, 3]))
    cfg = DreamTrainConfig(
        models=models_dir,
        out=tmp_path / name,
        ckpt=tmp_path / f"ckpt-{name}",
        popsize=4,
        rollouts=2,
        generations=1,
        max_steps=25,
        device="cpu",
        series=starts,
        valid_dreams=2,
        valid_every=1,
        command="test",
        **options,
    )
    train_dream_controller(cfg, log=lambda m: None)
    return read_log(tmp_path / f"ckpt-{name}")


def test_dream_controller_with_a_critic_scores_the_worse_m(tiny_models_dir, tmp_path):
    """A critic M that predicts a reward of −5 per step pulls every candidate's fitness down to its
    own (a mean or a max over the Ms would stay near the main M's ~0); a critic trained on another
    V is refused."""
    import json

    from gdl_studio.core.errors import UserError
    from gdl_studio.core.registry import read_card

    critic = _pessimist_critic(tiny_models_dir, tmp_path / "critic")  # never ends: 25 steps of −5

    def run(name: str, critics: tuple, pool: str = "min") -> list[dict]:
        return _one_dream_generation(tiny_models_dir, tmp_path, name, critics=critics, pool=pool)

    (alone,) = run("alone", ())
    (judged,) = run("judged", (critic,))
    assert alone["best"] > -20.0  # the random main M predicts rewards near 0
    assert judged["best"] == pytest.approx(-125.0, abs=1e-3) and judged["valid"] == pytest.approx(-125.0, abs=1e-3)
    (averaged,) = run("averaged", (critic,), pool="mean")  # the same candidates and dreams, averaged over the Ms
    assert averaged["best"] == pytest.approx((alone["best"] - 125.0) / 2, abs=1e-3)
    card = read_card(tmp_path / "judged" / "carracing-controller-dream")
    assert card.data["data"]["critic_mdn_sha256"] == [read_card(critic).data["sha256"]]

    card_path = critic / "card.json"
    other = json.loads(card_path.read_text())
    other["data"]["vae_sha256"] = "0" * 64
    card_path.write_text(json.dumps(other))
    with pytest.raises(UserError, match="another V"):
        run("refused", (critic,))


def test_dream_controller_road_penalty_charges_each_dreams_frames_off_the_road(tiny_models_dir, tmp_path, monkeypatch):
    """--road-penalty P: each dream's return loses P × its share of checked frames off the road. With
    every decoded frame judged off the road the same candidates and dreams score exactly P less;
    judged on it, exactly as without the penalty. The card says how the fitness was made."""
    from gdl_studio.core.errors import UserError
    from gdl_studio.core.registry import read_card
    from gdl_studio.racing import dream_batch as db

    def run(name: str, penalty: float) -> dict:
        (row,) = _one_dream_generation(tiny_models_dir, tmp_path, name, road_penalty=penalty)
        return row

    plain = run("plain", 0.0)
    monkeypatch.setattr(db, "on_road", lambda frames: np.zeros(len(frames), bool))
    off = run("off", 300.0)
    for key in ("best", "mean", "worst", "xmean_fitness", "valid"):
        assert off[key] == pytest.approx(plain[key] - 300.0, abs=1e-6), key
    monkeypatch.setattr(db, "on_road", lambda frames: np.ones(len(frames), bool))
    on = run("on", 300.0)
    for key in ("best", "mean", "worst", "xmean_fitness", "valid"):
        assert on[key] == pytest.approx(plain[key], abs=1e-6), key
    card = read_card(tmp_path / "off" / "carracing-controller-dream")
    assert card.data["data"]["road_penalty"] == 300.0 and "off the road" in card.data["data"]["fitness_road"]
    assert "road_penalty" not in read_card(tmp_path / "plain" / "carracing-controller-dream").data["data"]
    with pytest.raises(UserError, match="road penalty"):
        run("negative", -1.0)


# ---------------------------------------------------------------- iteration
def test_iterate_one_tiny_round_then_resumes(tiny_models_dir, tmp_path):
    from gdl_studio.racing.iterate import IterateConfig, iterate, read_record

    cfg = IterateConfig(
        work=tmp_path / "work",
        init_models=tiny_models_dir,
        rounds=1,
        episodes_per_round=2,
        workers=1,
        device="cpu",
        tiny=True,
        score_episodes=1,
        stop_after="1:collect",
    )
    iterate(cfg, log=lambda m: None)
    rec = read_record(cfg, 1)
    assert list(rec["steps"]) == ["collect"] and rec["steps"]["collect"]["episodes_total"] == 2
    cfg.stop_after = None
    iterate(cfg, log=lambda m: None)
    rec = read_record(cfg, 1)
    assert list(rec["steps"]) == ["collect", "vae", "mdn", "dream", "score"]
    card = json.loads((tmp_path / "work" / "round1" / "models" / "carracing-mdnrnn" / "card.json").read_text())
    assert card["iteration"]["round"] == 1 and card["iteration"]["collect"]["episodes_total"] == 2
    assert (tmp_path / "work" / "round1" / "models" / "carracing-controller-dream" / "card.json").is_file()


def test_agent_policy_uses_the_controller_with_noise(tiny_models_dir, tmp_path):
    from gdl_studio.racing.collect import collect_episode

    _, steps, _ = collect_episode(0, str(tmp_path), 30, 7, "agent", str(tiny_models_dir), 1.0, "carracing-controller")
    assert steps == 30
    with np.load(tmp_path / "ep_000000.npz") as d:
        assert str(d["policy"]) == "agent" and d["frames"].shape == (31, 64, 64, 3)


def test_swerve_policy_holds_a_wrong_wheel_in_bursts(tiny_models_dir, tmp_path, monkeypatch):
    """--policy swerve: the agent, with bursts of 5–25 steps where the wheel is held at one angle of
    0.4–1.0 either way; the agent policy on the same track has no such bursts."""
    from gdl_studio.racing import collect

    monkeypatch.setattr(collect, "SWERVE_RATE", (0.05, 0.05))  # many swerves in a short episode

    def held_runs(steer):  # lengths of runs of one steering value in 0.4 ≤ |s| < 1 (clipping gives ±1)
        runs, n = [], 1
        for a, b in zip(steer[:-1], steer[1:]):
            if a == b and 0.4 <= abs(a) < 1.0:
                n += 1
            else:
                if n > 1:
                    runs.append(n)
                n = 1
        return runs + ([n] if n > 1 else [])

    got = {}
    for kind in ("swerve", "agent"):
        out = tmp_path / kind
        collect.collect_episode(0, str(out), 200, 7, kind, str(tiny_models_dir), 1.0, "carracing-controller")
        with np.load(out / "ep_000000.npz") as d:
            assert str(d["policy"]) == kind
            got[kind] = held_runs(d["actions"][:, 0].tolist())
    assert len(got["swerve"]) >= 3
    assert all(5 <= n <= 25 for n in got["swerve"][:-1])  # the last one may be cut by the episode's end
    assert got["agent"] == []


def test_steer_check_counts_the_real_departures_the_dream_reproduces(monkeypatch):
    """steer.caught is P(dreamt car off | real car off) over the branches; dream_off_kept counts the
    dreams that leave the road with the recorded actions."""
    from gdl_studio.racing import fidelity

    real_on = [np.array([False, False, True, False]), np.array([True, False])]
    dream_on = {
        True: [np.array([False, True, True, True]), np.array([False, True])],
        False: [np.array([True, True, True, False]), np.array([True, True])],
    }
    calls = {"real": 0, "dream": 0}

    def fake_real(seed, actions, starts, horizon=30, stock=False):
        calls["real"] += 1
        return real_on[calls["real"] - 1]

    def fake_dream(vae, mdn, mu, actions, starts, horizon=30):  # (recorded actions, flipped steering)
        calls["dream"] += 1
        return dream_on[False][calls["dream"] - 1], dream_on[True][calls["dream"] - 1]

    monkeypatch.setattr(fidelity, "steer_real", fake_real)
    monkeypatch.setattr(fidelity, "steer_dream", fake_dream)
    eps = [(None, np.zeros((230, 3)), None), (None, np.zeros((130, 3)), None)]
    r = fidelity.steer_check(None, None, [1, 2], eps)
    assert r["branches"] == 6
    assert r["real_off"] == pytest.approx(4 / 6)  # real departures: branches 0, 1, 3 and 5
    assert r["caught"] == pytest.approx(1 / 4)  # the dream left the road only at branch 0 of those
    assert r["dream_off"] == pytest.approx(2 / 6)  # branches 0 and 4
    assert r["dream_off_kept"] == pytest.approx(1 / 6)
    assert fidelity.steer_starts(230) == [50, 100, 150] and fidelity.steer_starts(130) == [50]


def test_steer_branches_on_a_real_track(tiny_world):
    """steer_real replays the recorded actions, then flips the wheel: a car that drives straight down the
    start of a track stays on the road, steered hard for 30 steps from step 60 it is off it;
    steer_dream returns one flag per branch, with the recorded and with the flipped steering."""
    from gdl_studio.racing.fidelity import flip_steering, steer_dream, steer_real

    assert flip_steering(np.array([0.5, 1, 0], np.float32)).tolist() == [-0.5, 1, 0]
    assert flip_steering(np.array([0.1, 1, 0], np.float32))[0] == pytest.approx(0.8)
    from gdl_studio.racing.dream_batch import on_road
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import preprocess, to_tensor

    actions = np.tile(np.array([0.0, 0.3, 0.0], np.float32), (120, 1))  # gently straight ahead
    env = make_env()
    env.reset(seed=123)
    for a in actions[:90]:
        obs = env.step(a)[0]
    env.close()
    assert on_road(to_tensor(preprocess(obs)[None])).tolist() == [True]  # the recorded actions keep the road
    assert steer_real(123, actions, [60]).tolist() == [False]  # 30 steps of a wheel at 0.8 from step 60 do not
    mu = np.zeros((121, 32), np.float32)
    kept, flipped = steer_dream(tiny_world.vae, tiny_world.mdn, mu, actions, [50, 60])
    assert kept.shape == flipped.shape == (2,)


# ---------------------------------------------------------------- CLI
def test_bench_racing_json_is_pure_json_with_another_controller(tiny_models_dir):
    cmd = [
        sys.executable,
        "-m",
        "gdl_studio",
        "bench",
        "racing",
        "--episodes",
        "1",
        "--models",
        str(tiny_models_dir),
        "--controller",
        str(tiny_models_dir / "carracing-controller"),
        "--seed-base",
        "7",
        "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # nothing but JSON on stdout
    assert data["controller"] == "carracing-controller" and data["score.first_seed"] == 7
    assert data["score.episodes"] == 1
