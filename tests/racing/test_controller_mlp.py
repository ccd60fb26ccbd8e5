"""The one-hidden-layer controller (the imitation-trained driver) beside the linear one: one flat parameter
vector whose length says which it is, the same actions from every path that drives (the app's object, the
batched agent, the batched dream in torch), saved and loaded as a model, and kept out of CMA-ES."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gdl_studio.racing.controller import (
    LinearController,
    MLPController,
    average_mlps,
    hidden_units,
    make_controller,
    mlp_param_count,
    param_count,
    raw_outputs,
    squash,
    unpack,
)


def _mlp_params(rng, units=8, batch=None):
    n = mlp_param_count(units)
    return rng.normal(0, 0.2, n if batch is None else (batch, n))


def test_parameter_count_names_the_kind():
    assert hidden_units(param_count()) == 0
    assert mlp_param_count(64) == 18_691  # 64 × 289 + 3 × 65
    for units in (1, 8, 64, 256):
        assert hidden_units(mlp_param_count(units)) == units
    for bad in (0, 866, 868, mlp_param_count(64) + 1):
        with pytest.raises(ValueError):
            hidden_units(bad)
    assert isinstance(make_controller(np.zeros(param_count())), LinearController)
    assert isinstance(make_controller(np.zeros(mlp_param_count(4))), MLPController)
    with pytest.raises(ValueError):
        MLPController(np.zeros(param_count()))


def test_mlp_act_is_the_layout_the_docstring_states():
    rng = np.random.default_rng(0)
    units, n_in = 5, 288
    p = _mlp_params(rng, units)
    w1 = p[: units * n_in].reshape(units, n_in)
    b1 = p[units * n_in : units * n_in + units]
    w2 = p[units * n_in + units : units * n_in + units + 3 * units].reshape(3, units)
    b2 = p[-3:]
    z, h = rng.normal(size=32), rng.normal(size=256)
    x = np.concatenate([z, h])
    want = squash(w2 @ np.tanh(w1 @ x + b1) + b2)
    np.testing.assert_allclose(MLPController(p).act(z, h), want, atol=1e-6)
    np.testing.assert_array_equal(MLPController(p).get_params(), p)


@pytest.mark.parametrize("units", [0, 6])
def test_batched_numpy_and_torch_paths_agree_with_the_object(units):
    rng = np.random.default_rng(1)
    params = rng.normal(0, 0.2, (4, param_count())) if units == 0 else _mlp_params(rng, units, batch=4)
    x = rng.normal(size=(4, 288))
    one = np.stack([make_controller(params[i]).act(x[i, :32], x[i, 32:]) for i in range(4)])
    np.testing.assert_allclose(squash(raw_outputs(unpack(params), x)), one, atol=1e-6)
    got = raw_outputs(unpack(torch.from_numpy(params)), torch.from_numpy(x))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_allclose(squash(got.numpy()), one, atol=1e-6)
    # rows are separate controllers: changing one row's parameters changes only that row's actions
    other = params.copy()
    other[2] += 0.5
    moved = squash(raw_outputs(unpack(other), x))
    np.testing.assert_array_equal(moved[[0, 1, 3]], one[[0, 1, 3]])
    assert not np.allclose(moved[2], one[2])


def test_an_average_of_mlps_is_one_mlp_whose_raw_outputs_are_their_mean():
    rng = np.random.default_rng(3)
    members = [_mlp_params(rng, units) for units in (8, 8, 4)]
    avg = average_mlps(members)
    assert hidden_units(avg.size) == 20
    x = rng.normal(0, 1, (5, 288))
    mean = np.mean([raw_outputs(unpack(np.repeat(m[None], 5, 0)), x) for m in members], axis=0)
    np.testing.assert_allclose(raw_outputs(unpack(np.repeat(avg[None], 5, 0)), x), mean, atol=1e-12)
    z, h = x[:, :32], x[:, 32:]
    np.testing.assert_allclose(MLPController(avg).act(z, h), squash(mean), atol=1e-6)
    with pytest.raises(ValueError):
        average_mlps([members[0], np.zeros(param_count())])


def test_a_weighted_average_gives_each_member_its_share_and_nests_with_the_plain_one():
    rng = np.random.default_rng(4)
    a, b, c = (_mlp_params(rng, units) for units in (8, 4, 4))
    x = rng.normal(0, 1, (5, 288))

    def out(p):
        return raw_outputs(unpack(np.repeat(p[None], 5, 0)), x)

    weighted = average_mlps([a, b, c], weights=[0.5, 0.25, 0.25])
    np.testing.assert_allclose(out(weighted), 0.5 * out(a) + 0.25 * out(b) + 0.25 * out(c), atol=1e-12)
    # an average of two, given two shares, is the plain average of all three runs' members: (a, b) then c
    pair = average_mlps([a, b])
    np.testing.assert_allclose(
        out(average_mlps([pair, c], weights=[2 / 3, 1 / 3])), out(average_mlps([a, b, c])), atol=1e-12
    )
    for bad in ([0.5, 0.5], [0.7, 0.7, -0.4], [0.2, 0.2, 0.2]):
        with pytest.raises(ValueError):
            average_mlps([a, b, c], weights=bad)


def test_an_mlp_controller_saves_loads_and_drives_like_its_object(tiny_world, tmp_path):
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.models_io import load_dir, save_controller

    rng = np.random.default_rng(2)
    p = _mlp_params(rng, 16)
    card = save_controller(p, tmp_path, {"data": {}, "metrics": {}}, name="carracing-controller-mlp-test")
    assert card.directory.name == "carracing-controller-mlp-test"
    arch = card.architecture
    assert arch["kind"] == "mlp" and arch["units"] == 16 and arch["params"] == p.size
    c = load_dir(card.directory)
    assert isinstance(c, MLPController) and c.units == 16
    np.testing.assert_allclose(c.get_params(), p.astype(np.float32), atol=0)

    obs = rng.integers(0, 255, (3, 96, 96, 3), dtype=np.uint8)
    agent = BatchAgent(tiny_world.vae, tiny_world.mdn, np.repeat(c.get_params()[None], 3, axis=0))
    for _ in range(3):  # the batch agent's actions are the object's on the agent's own features
        x = agent.features(obs)
        a = agent.policy(x)
        np.testing.assert_allclose(a, c.act(x[:, :32], x[:, 32:]), atol=1e-6)
        agent.advance(a)
    agent.keep(np.array([0, 2]))
    assert agent.policy(agent.features(obs[[0, 2]])).shape == (2, 3)


def test_the_dream_runs_an_mlp_driver(tiny_world):
    from gdl_studio.racing.dream_batch import dream_batch
    from gdl_studio.racing.finetune import dream_returns

    rng = np.random.default_rng(3)
    params = _mlp_params(rng, 8, batch=3)
    z0 = rng.normal(0, 1, (3, 32)).astype(np.float32)
    a = dream_batch(tiny_world.mdn, params, z0, tau=1.0, seed=3, max_steps=30)
    assert a.returns.shape == (3,) and np.isfinite(a.returns).all()
    r, steps = dream_returns(tiny_world.mdn, params, z0, tau=1.0, seed=3, max_steps=30)
    assert r.shape == (3,) and steps > 0


def test_cma_es_and_the_dock_refuse_an_mlp_base(tiny_models_dir, tmp_path):
    from gdl_studio.core.errors import UserError
    from gdl_studio.core.registry import read_card
    from gdl_studio.racing.area import AREA
    from gdl_studio.racing.models_io import save_controller
    from gdl_studio.racing.train_controller import initial_from_model

    card = save_controller(_mlp_params(np.random.default_rng(4), 4), tmp_path, {}, name="mlp-driver")
    with pytest.raises(UserError, match="linear controllers only"):
        initial_from_model(card.directory)
    linear = read_card(tiny_models_dir / "carracing-controller")
    assert initial_from_model(linear.directory)[0].size == param_count()
    assert AREA.can_start_from(linear.family, linear)
    assert not AREA.can_start_from(card.family, card)
    assert AREA.can_start_from(card.family)  # by family alone it is a controller


def test_the_road_gate_opens_after_enter_frames_off_the_road_and_closes_after_leave_frames_back_on_it():
    from gdl_studio.racing.controller import RoadGate

    gate = RoadGate([0.2, 0.5, 2, 3, 0])  # off, back, enter, leave, start
    shares = [0.9, 0.1, 0.1, 0.3, 0.6, 0.6, 0.1, 0.6, 0.6, 0.6, 0.1]
    opened = [bool(gate.step([s])[0]) for s in shares]
    # one frame under 0.2 is not enough; two are; 0.3 (between off and back) and a slip back under 0.5 keep it open
    # and restart the count; three frames in a row at 0.5 or more close it
    assert opened == [False, False, True, True, True, True, True, True, True, False, False]
    gate.reset()
    assert not gate.step([0.1])[0] and gate.step([0.1])[0]  # a new episode starts closed and counts afresh

    rows = RoadGate([[0.2, 0.5, 1, 1, 0], [0.2, 0.5, 3, 1, 0]])  # one setting per row of a batch
    assert rows.step([0.0, 0.0]).tolist() == [True, False]
    rows.keep(np.array([1]))  # the first row's episode ended
    assert rows.step([0.0]).tolist() == [False] and rows.step([0.0]).tolist() == [True]

    zoom = RoadGate([0.2, 0.5, 2, 3, 4])  # the first 4 frames (the camera's zoom-in) never count
    assert [bool(zoom.step([0.0])[0]) for _ in range(7)] == [False] * 5 + [True] * 2


def _road_obs(road: list[bool]) -> np.ndarray:
    """96×96 observations all road grey (True) or all grass green (False)."""
    grey, green = np.array([102, 102, 102], np.uint8), np.array([102, 204, 102], np.uint8)
    return np.stack([np.broadcast_to(grey if r else green, (96, 96, 3)) for r in road]).copy()


def test_a_gated_controller_drives_with_the_expert_while_its_road_gate_is_open(tiny_world, tmp_path):
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.controller import GatedController, gated_param_count, gated_units, pack_gated, split_gated
    from gdl_studio.racing.models_io import load_dir, save_controller
    from gdl_studio.racing.preprocess import preprocess, road_share, to_tensor

    obs = _road_obs([False, True])
    np.testing.assert_allclose(road_share(to_tensor(preprocess(obs))).numpy(), [0.0, 1.0])
    rng = np.random.default_rng(5)
    driver, expert = _mlp_params(rng, 8), _mlp_params(rng, 4)
    flat = pack_gated(driver, expert, off=0.2, back=0.5, enter=2, leave=3, start=0)
    assert flat.size == gated_param_count(8, 4) and gated_units(flat) == (8, 4)
    back_apart = split_gated(flat)  # pack_gated undone: the road driver alone is what racing_recover drives beside it
    np.testing.assert_array_equal(back_apart[0], driver)
    np.testing.assert_array_equal(back_apart[1], expert)
    np.testing.assert_array_equal(back_apart[2], [0.2, 0.5, 2, 3, 0])
    with pytest.raises(ValueError):  # its length is no linear or MLP controller's
        hidden_units(flat.size)
    with pytest.raises(ValueError):  # a header that does not fit the values
        gated_units(flat[:-1])
    with pytest.raises(ValueError):  # back under off
        pack_gated(driver, expert, off=0.5, back=0.2)
    mlp = _mlp_params(rng, 8)
    mlp[0] = -7.0  # an MLP whose first weight is the marker stays an MLP
    assert gated_units(mlp) is None and isinstance(make_controller(mlp), MLPController)

    x = rng.normal(0, 1, (2, 288))
    d = raw_outputs(unpack(np.repeat(driver[None], 2, axis=0)), x)
    e = raw_outputs(unpack(np.repeat(expert[None], 2, axis=0)), x)
    parts = unpack(np.repeat(flat[None], 2, axis=0))
    np.testing.assert_allclose(raw_outputs(parts, x), d)  # no gate state given: the driver
    mixed = raw_outputs(parts, x, np.array([True, False]))
    np.testing.assert_allclose(mixed, [e[0], d[1]])
    out_t = raw_outputs(unpack(torch.from_numpy(np.repeat(flat[None], 2, axis=0))), torch.from_numpy(x))
    np.testing.assert_allclose(out_t.numpy(), d, atol=1e-9)

    c = make_controller(flat)
    assert isinstance(c, GatedController) and (c.driver_units, c.expert_units) == (8, 4)
    z, h = x[:, :32], x[:, 32:]
    road = np.array([0.0, 1.0])  # the first car on the grass, the second on the road
    np.testing.assert_allclose(c.act(z, h, road), squash(d), atol=1e-6)  # one frame off: not yet
    np.testing.assert_allclose(c.act(z, h), squash(d), atol=1e-6)  # no frame: the driver, the gate as it was
    np.testing.assert_allclose(c.act(z, h, road), squash(mixed), atol=1e-6)  # two frames off: the expert
    c.reset()
    np.testing.assert_allclose(c.act(z, h, road), squash(d), atol=1e-6)

    card = save_controller(flat, tmp_path, {"data": {}, "metrics": {}}, name="carracing-controller-gated-test")
    arch = card.architecture
    assert arch["kind"] == "gated" and arch["expert_units"] == 4
    assert [arch["gate"][k] for k in ("off", "back", "enter", "leave", "start")] == [0.2, 0.5, 2, 3, 0]
    from gdl_studio.racing.area import AREA

    assert not AREA.can_start_from(card.family, card)  # CMA-ES and the dock search linear controllers only
    loaded = load_dir(card.directory)
    assert isinstance(loaded, GatedController)
    agent = BatchAgent(tiny_world.vae, tiny_world.mdn, np.repeat(loaded.get_params()[None], 2, axis=0))
    loaded.reset()
    for step in range(3):  # the batched agent's gates read the frames as the object's does
        feats = agent.features(obs)
        a = agent.policy(feats)
        np.testing.assert_allclose(a, loaded.act(feats[:, :32], feats[:, 32:], road), atol=1e-6)
        assert agent.expert is not None and agent.expert.tolist() == [step >= 1, False]
        agent.advance(a)
    agent.keep(np.array([0]))  # an ended episode dropped from the batch: the parts and the gate follow
    assert agent.policy(agent.features(obs[[0]])).shape == (1, 3) and agent.expert.tolist() == [True]
    agent.reset()
    agent.features(obs[[0]])
    assert agent.expert.tolist() == [False]


def test_the_dream_runs_a_gated_driver(tiny_world):
    from gdl_studio.racing.controller import pack_gated
    from gdl_studio.racing.dream_batch import dream_batch

    rng = np.random.default_rng(6)
    flat = pack_gated(_mlp_params(rng, 8), _mlp_params(rng, 4))
    z0 = rng.normal(0, 1, (2, 32)).astype(np.float32)
    a = dream_batch(tiny_world.mdn, np.repeat(flat[None], 2, axis=0), z0, tau=1.0, seed=3, max_steps=20)
    assert a.returns.shape == (2,) and np.isfinite(a.returns).all()


def test_the_real_game_and_the_dream_step_a_gated_controllers_road_gate_each_episode_afresh(tiny_world, monkeypatch):
    """The Dream panel's drives hand the gated controller the road share of every frame they show it (the real frame,
    or the dreamt one) and reset it at each new episode."""
    from dataclasses import replace

    from gdl_studio.racing.controller import pack_gated
    from gdl_studio.racing.dream import dream_frames, real_frames

    def steer_only(raw_steer: float) -> np.ndarray:  # an MLP that ignores its input and steers one way
        p = np.zeros(mlp_param_count(4))
        p[-3] = raw_steer  # b₂'s steering entry, the vector's last three values being b₂
        return p

    # off 1.0: any frame not all road counts as off it, so the gate opens at the first frame after `start`
    flat = pack_gated(steer_only(-5.0), steer_only(5.0), off=1.0, back=1.0, enter=1, leave=1000, start=3)
    world = replace(tiny_world, controller=make_controller(flat))
    expected = [-1, -1, -1, 1, 1, 1]
    for _ in range(2):  # the second episode starts closed again
        real = [int(np.sign(f.action[0])) for f in real_frames(world, seed=0, max_steps=6)]
        assert real == expected
    # the untrained V dreams uniform grey, which reads as road: let it dream grass, which the gate must see
    grass = np.broadcast_to(np.array([102, 204, 102], np.uint8), (1, 64, 64, 3))
    monkeypatch.setattr(world, "decode", lambda z: grass)
    dreamt = [int(np.sign(f.action[0])) for f in dream_frames(world, seed=1, max_steps=6, stop_on_done=False)]
    assert dreamt == expected


def test_an_expert_that_reads_the_hud_drives_only_where_the_gauges_are_given(tiny_world):
    """A gated controller whose expert also reads the HUD gauges (speed, wheel, gyro) has its own header and size; the
    expert drives only where the gauges are given (a real frame's HUD; a dream has none, so the driver drives there),
    and the batched agent reads them off the observations as the object is handed them."""
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.controller import (
        HUD_INPUTS,
        GatedController,
        expert_reads_hud,
        gated_param_count,
        gated_units,
        pack_gated,
        split_gated,
    )
    from gdl_studio.racing.preprocess import hud_gauges

    rng = np.random.default_rng(7)
    driver = _mlp_params(rng, 8)
    expert = rng.normal(0, 0.2, mlp_param_count(4, hidden=256 + HUD_INPUTS))
    with pytest.raises(ValueError):  # an expert on [z, h, gauges] is not an MLP on [z, h]
        pack_gated(driver, expert, start=0)
    flat = pack_gated(driver, expert, off=0.2, back=0.5, enter=1, leave=3, start=0, hud=True)
    assert expert_reads_hud(flat) and not expert_reads_hud(pack_gated(driver, _mlp_params(rng, 4)))
    assert flat.size == gated_param_count(8, 4, hud=True) and gated_units(flat) == (8, 4)
    np.testing.assert_array_equal(split_gated(flat)[1], expert)

    x = rng.normal(0, 1, (2, 288))
    hud = rng.normal(0, 1, (2, HUD_INPUTS))
    d = raw_outputs(unpack(np.repeat(driver[None], 2, axis=0)), x)
    e = raw_outputs(unpack(np.repeat(expert[None], 2, axis=0), hidden=256 + HUD_INPUTS), np.c_[x, hud])
    parts = unpack(np.repeat(flat[None], 2, axis=0))
    on = np.array([True, False])
    np.testing.assert_allclose(raw_outputs(parts, x, on), d)  # no gauges: the driver
    np.testing.assert_allclose(raw_outputs(parts, x, on, hud), [e[0], d[1]])
    out_t = raw_outputs(unpack(torch.from_numpy(np.repeat(flat[None], 2, axis=0))), torch.from_numpy(x), on, hud)
    np.testing.assert_allclose(out_t.numpy(), [e[0], d[1]], atol=1e-9)

    c = make_controller(flat)
    assert isinstance(c, GatedController) and c.hud and c.reads_frame
    z, h, road = x[:, :32], x[:, 32:], np.array([0.0, 1.0])
    np.testing.assert_allclose(c.act(z, h, road), squash(d), atol=1e-6)  # the gate is open, but no gauges
    assert not c.recovering and c.gate.open.tolist() == [True, False]
    np.testing.assert_allclose(c.act(z, h, road, hud), squash(np.array([e[0], d[1]])), atol=1e-6)
    assert c.recovering

    obs = _road_obs([False, True])
    obs[:, 84:] = 0  # the HUD bar is black
    obs[0, 88:, 12:14] = 255  # with a speed bar on the first car's
    gauges = np.stack([hud_gauges(o) for o in obs])
    assert gauges[0, 0] > 1.0 and gauges[1, 0] == 0.0
    agent = BatchAgent(tiny_world.vae, tiny_world.mdn, np.repeat(flat[None], 2, axis=0))
    c.reset()
    feats = agent.features(obs)
    np.testing.assert_allclose(agent.policy(feats), c.act(feats[:, :32], feats[:, 32:], road, gauges), atol=1e-6)
    assert agent.hud is not None and agent.expert.tolist() == [True, False]
    agent.keep(np.array([0]))
    assert agent.hud.shape == (1, HUD_INPUTS)


def test_the_gate_counts_the_frames_the_person_drives(tiny_world, monkeypatch):
    """While the person drives in the Dream panel, the gated controller's switch still counts the frames: a car handed
    back on the grass is taken over at once, and the road share is not even computed for an ungated driver."""
    from dataclasses import replace

    from gdl_studio.racing import dream as dream_mod
    from gdl_studio.racing.controller import pack_gated
    from gdl_studio.racing.dream import dream_frames, real_frames

    def steer_only(raw_steer: float) -> np.ndarray:
        p = np.zeros(mlp_param_count(4))
        p[-3] = raw_steer
        return p

    # enter 3: the expert takes over at the third frame off the road; the person drives frames 0–2
    flat = pack_gated(steer_only(-5.0), steer_only(5.0), off=1.0, back=1.0, enter=3, leave=1000, start=0)
    world = replace(tiny_world, controller=make_controller(flat))
    person = np.array([0.0, 0.0, 0.0], np.float32)

    def first_three(step):
        return person if step < 3 else None

    got = [
        (f.human, int(np.sign(f.action[0])), f.recovering)
        for f in real_frames(world, seed=0, max_steps=5, override=first_three)
    ]
    # the gate counted the person's three frames, so the expert drives from the first frame handed back
    assert got == [(True, 0, False)] * 3 + [(False, 1, True)] * 2

    calls = []
    monkeypatch.setattr(
        dream_mod, "road_share", lambda frames: calls.append(1) or torch.zeros(len(frames)), raising=False
    )
    world = replace(tiny_world, controller=make_controller(steer_only(1.0)))
    list(dream_frames(world, seed=1, max_steps=3, stop_on_done=False))
    assert calls == []


def test_a_doubt_governor_lifts_the_gas_and_brakes_where_the_road_drivers_members_disagree(tiny_world, tmp_path):
    """A gated controller with a governor: where the driver drives and its members' raw steer spreads over theta, the
    gas is lifted and, above vmin on the HUD's speed bar, the brake is at least the governor's; elsewhere, without the
    gauges (a dream), or where the expert drives, the actions are the ungoverned ones. Every path agrees: the flat
    vector's header, the batched agent, the app's object and the saved card."""
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.controller import (
        HUD_INPUTS,
        HUD_SPEED,
        GatedController,
        Governor,
        doubt,
        gated_param_count,
        gated_units,
        governor_of,
        pack_gated,
        split_gated,
    )
    from gdl_studio.racing.models_io import load_dir, save_controller
    from gdl_studio.racing.preprocess import hud_gauges

    rng = np.random.default_rng(11)
    members = [_mlp_params(rng, 4) for _ in range(3)]
    for m in members:
        m[-3:] = rng.normal(0, 1, 3)  # each member's own b₂, which the average sums and doubt() leaves out
    driver, expert = average_mlps(members), _mlp_params(rng, 4)
    x = rng.normal(0, 1, (3, 288))
    alone = np.stack([raw_outputs(unpack(np.repeat(m[None], 3, axis=0)), x) - m[-3:] for m in members])
    spread = alone[:, :, 0].std(axis=0)
    np.testing.assert_allclose(doubt(unpack(np.repeat(driver[None], 3, axis=0)), x, 4), spread, rtol=1e-9)

    order = np.argsort(spread)
    theta = float(spread[order[0]] + spread[order[1]]) / 2  # the least doubtful row under it, the other two over
    gov = Governor(member_units=4, theta=theta, brake=0.4, vmin=30.0)
    with pytest.raises(ValueError):  # 12 units are not members of 5
        pack_gated(driver, expert, governor=gov._replace(member_units=5))
    with pytest.raises(ValueError):  # one member has nothing to disagree with
        pack_gated(driver, expert, governor=gov._replace(member_units=12))
    flat = pack_gated(driver, expert, off=0.2, back=0.5, enter=1, leave=3, start=0, governor=gov)
    assert flat.size == gated_param_count(12, 4, governed=True) and gated_units(flat) == (12, 4)
    assert governor_of(flat) == gov and governor_of(pack_gated(driver, expert)) is None
    d_back, e_back, settings = split_gated(flat)
    np.testing.assert_array_equal(d_back, driver)
    np.testing.assert_array_equal(e_back, expert)
    np.testing.assert_array_equal(settings, [0.2, 0.5, 1, 3, 0])
    with pytest.raises(ValueError):
        gated_units(flat[:-1])

    d = raw_outputs(unpack(np.repeat(driver[None], 3, axis=0)), x)
    parts = unpack(np.repeat(flat[None], 3, axis=0))
    speed = np.array([40.0, 40.0, 40.0])
    speed[order[2]] = 10.0  # the most doubtful row is slow: no gas, but no brake added
    hud = np.c_[speed * HUD_SPEED, np.zeros((3, HUD_INPUTS - 1))]
    np.testing.assert_allclose(raw_outputs(parts, x), d)  # no gauges: as without a governor
    governed = squash(raw_outputs(parts, x, None, hud))
    plain = squash(d)
    calm, fast, slow = order
    np.testing.assert_allclose(governed[calm], plain[calm], atol=1e-6)
    assert governed[fast, 1] < 1e-6 and governed[slow, 1] < 1e-6
    np.testing.assert_allclose(governed[[fast, slow], 0], plain[[fast, slow], 0], atol=1e-6)  # the wheel is kept
    assert governed[fast, 2] == pytest.approx(max(plain[fast, 2], 0.4), abs=1e-6)
    assert governed[slow, 2] == pytest.approx(plain[slow, 2], abs=1e-6)
    on = np.zeros(3, bool)
    on[fast] = True  # where the expert drives, the governor does not act
    e = raw_outputs(unpack(np.repeat(expert[None], 3, axis=0)), x)
    np.testing.assert_allclose(raw_outputs(parts, x, on, hud)[fast], e[fast])
    out_t = raw_outputs(unpack(torch.from_numpy(np.repeat(flat[None], 3, axis=0))), torch.from_numpy(x), None, hud)
    np.testing.assert_allclose(out_t.numpy(), d, atol=1e-9)  # the batched dream (torch) is not governed

    c = make_controller(flat)
    assert isinstance(c, GatedController) and c.governor == gov and c.reads_hud and not c.hud
    z, h, road = x[:, :32], x[:, 32:], np.ones(3)
    np.testing.assert_allclose(c.act(z, h, road), plain, atol=1e-6)  # no gauges (a dream's frame)
    np.testing.assert_allclose(c.act(z, h, road, hud), governed, atol=1e-6)
    np.testing.assert_allclose(c.act(z[[fast]], h[[fast]], road[[fast]], hud[[fast]]), governed[[fast]], atol=1e-6)

    card = save_controller(flat, tmp_path, {"data": {}, "metrics": {}}, name="carracing-controller-governed-test")
    g = card.architecture["governor"]
    assert (g["member_units"], g["brake"], g["vmin"]) == (4, 0.4, 30.0) and g["theta"] == pytest.approx(theta, abs=1e-5)
    loaded = load_dir(card.directory)
    assert isinstance(loaded, GatedController) and loaded.governor is not None

    obs = _road_obs([True, True])
    obs[:, 84:] = 0
    obs[0, 84:, 12:14] = 255  # a full speed bar on the first car's HUD, none on the second's
    gauges = np.stack([hud_gauges(o) for o in obs])
    assert gauges[0, 0] > HUD_SPEED * gov.vmin and gauges[1, 0] == 0.0
    params = loaded.get_params()
    agent = BatchAgent(tiny_world.vae, tiny_world.mdn, np.repeat(params[None], 2, axis=0))
    assert agent.reads_hud
    loaded.reset()
    feats = agent.features(obs)
    np.testing.assert_allclose(
        agent.policy(feats), loaded.act(feats[:, :32], feats[:, 32:], road[:2], gauges), atol=1e-6
    )
    assert agent.hud is not None
