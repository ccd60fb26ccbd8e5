"""V, M and C: shapes, losses that fall on tiny data, mixture maths, parameter counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gdl_studio.racing.controller import LinearController, param_count, squash
from gdl_studio.racing.mdn_rnn import MDNRNN, MDNConfig, mdn_loss, mixture_log_prob, sample_mixture
from gdl_studio.racing.preprocess import preprocess, to_tensor, to_uint8
from gdl_studio.racing.vae import ConvVAE, FastDecoder
from gdl_studio.racing.vae import param_count as vae_params


def test_preprocess_crops_hud_and_resizes():
    obs = np.zeros((96, 96, 3), np.uint8)
    obs[:84] = 100
    obs[84:] = 255  # the HUD rows must not leak into the frame
    frame = preprocess(obs)
    assert frame.shape == (64, 64, 3) and frame.dtype == np.uint8
    assert (frame == 100).all()
    batch = preprocess(np.stack([obs, 255 - obs]))
    assert batch.shape == (2, 64, 64, 3)
    assert (batch[1] == 155).all()
    # an area average: a left/right split stays split in the middle
    half = np.zeros((96, 96, 3), np.uint8)
    half[:, 48:] = 200
    f = preprocess(half)
    assert (f[:, :32] == 0).all() and (f[:, 32:] == 200).all()


@pytest.mark.parametrize("fast", [True, False])
def test_hud_gauges_read_the_cars_speed_wheel_and_yaw_rate(fast):
    """hud_gauges reads the HUD bars of a real frame (fast and stock renderers) back into the car's state: speed,
    front wheel angle and yaw rate, to the bars' pixel resolution (one pixel is 1/2.4 unit)."""
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import hud_gauges

    env = make_env(fast=fast)
    obs, _ = env.reset(seed=5)
    seen = []
    for t in range(90):
        obs, *_ = env.step(np.array([0.6 if t > 50 else -0.3 if t > 30 else 0.0, 0.5, 0.0]))
        car = env.unwrapped.car
        if t in (40, 70, 89):
            speed, wheel, gyro = hud_gauges(obs)
            true_speed = float(np.linalg.norm(car.hull.linearVelocity))
            assert speed == pytest.approx(0.02 * true_speed, abs=0.6)
            assert wheel == pytest.approx(-10.0 * car.wheels[0].joint.angle, abs=0.6)
            assert gyro == pytest.approx(-0.8 * car.hull.angularVelocity, abs=0.6)
            seen.append((wheel, gyro))
    env.close()
    assert seen[0][0] < -1.0 and seen[-1][0] > 1.0  # the wheel bar follows the wheel (left, then right)
    assert abs(seen[-1][1]) > 1.0  # and the car turns


def test_vae_shapes_and_paper_architecture():
    vae = ConvVAE()
    x = torch.rand(5, 3, 64, 64)
    recon, mu, logvar = vae(x)
    assert recon.shape == (5, 3, 64, 64) and mu.shape == (5, 32) and logvar.shape == (5, 32)
    assert 0 <= float(recon.detach().min()) and float(recon.detach().max()) <= 1
    assert vae.encoder(x).shape == (5, 1024)  # 2 × 2 × 256
    assert [m.out_channels for m in vae.decoder if hasattr(m, "out_channels")] == [128, 64, 32, 3]
    assert 4_000_000 < vae_params(vae) < 4_500_000


def test_vae_kl_floor():
    vae = ConvVAE()
    x = torch.rand(4, 3, 64, 64)
    mu = torch.zeros(4, 32)
    logvar = torch.zeros(4, 32)  # KL = 0 → floored at 0.5 × 32
    total, rec, kl = vae.loss(x, x, mu, logvar)
    assert float(rec) == 0.0 and float(kl) == 0.0
    assert float(total) == pytest.approx(16.0)


def test_vae_loss_decreases_on_tiny_data():
    torch.manual_seed(0)
    frames = np.zeros((6, 64, 64, 3), np.uint8)
    for i in range(6):
        frames[i, :, : 10 * i] = (40, 200, 40)
        frames[i, 32:] = (100, 100, 100)
    x = to_tensor(frames)
    vae = ConvVAE()
    opt = torch.optim.Adam(vae.parameters(), lr=2e-3)
    losses = []
    for _ in range(12):
        recon, mu, logvar = vae(x)
        loss, _, _ = vae.loss(x, recon, mu, logvar)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:3])
    assert to_uint8(recon).shape == (6, 64, 64, 3)


def test_fast_decoder_matches_decoder():
    vae = ConvVAE().eval()
    z = torch.randn(3, 32)
    with torch.no_grad():
        assert torch.allclose(FastDecoder(vae)(z), vae.decode(z), atol=1e-5)


def test_mixture_log_prob_matches_torch_distributions():
    torch.manual_seed(1)
    shape = (2, 3, 32)
    logits = torch.randn(*shape, 5)
    logpi = torch.log_softmax(logits, -1)
    mu = torch.randn(*shape, 5)
    logsigma = torch.randn(*shape, 5) * 0.5
    y = torch.randn(*shape)
    mix = torch.distributions.MixtureSameFamily(
        torch.distributions.Categorical(logits=logits), torch.distributions.Normal(mu, logsigma.exp())
    )
    assert torch.allclose(mixture_log_prob(y, logpi, mu, logsigma), mix.log_prob(y), atol=1e-5)
    # one component: the plain Gaussian log density
    one = mixture_log_prob(torch.tensor([0.5]), torch.zeros(1, 1), torch.zeros(1, 1), torch.zeros(1, 1))
    assert float(one) == pytest.approx(-0.5 * 0.25 - 0.5 * math.log(2 * math.pi))


def test_mdn_shapes_and_step_matches_sequence():
    mdn = MDNRNN().eval()
    c = mdn.config
    assert (c.z_size, c.hidden, c.mixtures) == (32, 256, 5)
    z, a = torch.randn(2, 7, 32), torch.rand(2, 7, 3)
    out, (h, cell) = mdn(z, a)
    assert out.logpi.shape == out.mu.shape == out.logsigma.shape == (2, 7, 32, 5)
    assert out.reward.shape == out.done_logit.shape == (2, 7)
    assert torch.allclose(out.logpi.exp().sum(-1), torch.ones(2, 7, 32), atol=1e-5)
    state = mdn.initial_state(2)
    for t in range(7):
        step, state = mdn.step(z[:, t], a[:, t], state)
    assert torch.allclose(step.mu, out.mu[:, -1], atol=1e-5)
    assert torch.allclose(state[0], h, atol=1e-5)


def test_mdn_loss_decreases_on_tiny_data():
    torch.manual_seed(0)
    t = torch.linspace(0, 3, 21)
    z = torch.stack([torch.sin(t + k) for k in range(32)], -1)[None].repeat(4, 1, 1)
    a = torch.zeros(4, 20, 3)
    reward = torch.full((4, 20), 0.5)
    done = torch.zeros(4, 20)
    done[:, -1] = 1
    mdn = MDNRNN(MDNConfig(hidden=32))
    opt = torch.optim.Adam(mdn.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        out, _ = mdn(z[:, :-1], a)
        loss, nll, rew, bce = mdn_loss(out, z[:, 1:], reward, done)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] - 1.0
    assert float(rew.detach()) < 0.1


def test_sampling_temperature():
    logpi = torch.log(torch.tensor([[0.9, 0.1]]))
    mu = torch.tensor([[2.0, -5.0]])
    logsigma = torch.log(torch.tensor([[0.5, 0.5]]))
    gen = torch.Generator().manual_seed(0)
    cold = torch.stack([sample_mixture(logpi, mu, logsigma, 0.01, gen) for _ in range(200)])
    assert (cold - 2.0).abs().max() < 0.3  # τ → 0: the likeliest component's mean
    hot = torch.stack([sample_mixture(logpi, mu, logsigma, 1.0, gen) for _ in range(2000)])
    frac_second = float((hot < -2).float().mean())
    assert 0.05 < frac_second < 0.16  # τ = 1: the mixture itself (10 % on the second mode)
    a = sample_mixture(logpi, mu, logsigma, 1.0, torch.Generator().manual_seed(3))
    b = sample_mixture(logpi, mu, logsigma, 1.0, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


def test_controller_has_867_parameters_and_valid_actions():
    assert param_count() == 867
    ctrl = LinearController(np.random.default_rng(0).normal(0, 3, 867))
    assert ctrl.num_params == 867
    assert np.array_equal(ctrl.get_params(), LinearController(ctrl.get_params()).get_params())
    z, h = np.random.randn(10, 32), np.random.randn(10, 256)
    a = ctrl.act(z, h)
    assert a.shape == (10, 3)
    assert (a[:, 0] >= -1).all() and (a[:, 0] <= 1).all()
    assert (a[:, 1] >= 0).all() and (a[:, 1] <= 1).all()
    assert (a[:, 2] >= 0).all() and (a[:, 2] <= 1).all()
    with pytest.raises(ValueError):
        LinearController(np.zeros(866))
    assert np.allclose(squash(np.zeros(3)), [0, 0.5, 0])


def _perturbed(mdn: MDNRNN, seed: int) -> MDNRNN:
    """A copy of ``mdn`` with every weight moved a little (another M of the same sizes)."""
    import copy

    other = copy.deepcopy(mdn)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=gen))
    return other


def test_read_mdnrnn_dreams_with_its_dynamics_and_is_read_through_its_reader(tmp_path):
    """A ReadMDNRNN from (reader, dreamer): its heads follow the dreamer exactly, the h the controllers read
    is the reader's, in the dream and in the real game's agent (which then drives as with the reader
    alone), and it saves and loads as itself."""
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.mdn_rnn import ReadMDNRNN
    from gdl_studio.racing.models_io import load_dir, save_mdn
    from gdl_studio.racing.vae import ConvVAE

    torch.manual_seed(0)
    reader, dreamer = MDNRNN().eval(), _perturbed(MDNRNN().eval(), 1)
    both = ReadMDNRNN.from_pair(reader, dreamer).eval()
    z, a = torch.randn(3, 9, 32), torch.rand(3, 9, 3)
    with torch.no_grad():
        out, state = both(z, a)
        want, (hd, cd) = dreamer(z, a)
        _, (hr, cr) = reader(z, a)
        for g, w in zip(out, want, strict=True):
            torch.testing.assert_close(g, w)
        torch.testing.assert_close(state[0], hr)  # state[0][0] is what a controller reads
        torch.testing.assert_close(state[2], hd)
        step_state = both.initial_state(3)
        for t in range(9):
            step_out, step_state = both.step(z[:, t], a[:, t], step_state)
        torch.testing.assert_close(step_out.mu, out.mu[:, -1], atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(step_state[0], hr, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError):
        ReadMDNRNN.from_pair(reader, MDNRNN(MDNConfig(hidden=64)))
    again = ReadMDNRNN.from_pair(reader, both)  # a ReadMDNRNN as the dreamer: its dreaming LSTM, not its reader
    with torch.no_grad():
        torch.testing.assert_close(again(z, a)[0].mu, out.mu)
    # the real game: the agent's h and actions are the reader's, whatever the dreamer; r̂ is the dreamer's
    vae = ConvVAE().eval()
    params = np.random.default_rng(0).normal(0, 0.1, (2, 867))
    obs = np.random.default_rng(1).integers(0, 255, (6, 2, 96, 96, 3), dtype=np.uint8)
    plain, read = BatchAgent(vae, reader, params), BatchAgent(vae, both, params, predict_reward=True)
    for frame in obs:
        np.testing.assert_allclose(read.act(frame), plain.act(frame), atol=1e-6)
    np.testing.assert_allclose(read.h, plain.h, atol=1e-6)
    assert read.predicted.shape == (2,)
    read.keep(np.array([1]))
    assert all(s.shape[1] == 1 for s in read.state) and len(read.state) == 4
    # saved and loaded as a ReadMDNRNN
    card = save_mdn(both, tmp_path, {"data": {}}, fp16=False)
    assert card.architecture["kind"] == "ReadMDNRNN"
    back = load_dir(tmp_path / card.name)
    assert isinstance(back, ReadMDNRNN)
    with torch.no_grad():
        torch.testing.assert_close(back(z, a)[0].mu, out.mu)


def test_a_read_mdnrnn_of_one_m_dreams_as_that_m():
    """from_pair(M, M) is M: the same batched dreams, row for row (the dream code reads ``state[0][0]``)."""
    from gdl_studio.racing.dream_batch import dream_batch
    from gdl_studio.racing.mdn_rnn import ReadMDNRNN

    torch.manual_seed(3)
    mdn = MDNRNN().eval()
    params = np.random.default_rng(2).normal(0, 0.2, (4, 867))
    z0 = np.random.default_rng(3).normal(0, 1, (4, 32)).astype(np.float32)
    counted = np.zeros(4)  # dream_batch's observe hook sees the rows whose step counts

    def observe(out, state, alive):
        counted[:] += alive.numpy()

    one = dream_batch(mdn, params, z0, 1.0, seed=5, max_steps=60, observe=observe)
    np.testing.assert_array_equal(counted, one.lengths)
    two = dream_batch(ReadMDNRNN.from_pair(mdn, mdn).eval(), params, z0, 1.0, seed=5, max_steps=60)
    np.testing.assert_allclose(two.returns, one.returns, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(two.lengths, one.lengths)
    other = dream_batch(ReadMDNRNN.from_pair(mdn, _perturbed(mdn, 4)).eval(), params, z0, 1.0, seed=5, max_steps=60)
    assert not np.allclose(other.returns, one.returns)


def test_joint_mixture_log_prob_matches_torch_distributions():
    """A joint M's density is a mixture of whole-latent diagonal Gaussians; a per-dimension M's is the product of
    its dimensions' mixtures (what mdn_loss always used)."""
    from gdl_studio.racing.mdn_rnn import z_log_prob

    torch.manual_seed(2)
    logits, mu, logsigma = torch.randn(2, 3, 1, 4), torch.randn(2, 3, 6, 4), torch.randn(2, 3, 6, 4) * 0.3
    y = torch.randn(2, 3, 6)
    d = torch.distributions
    comp = d.Independent(d.Normal(mu.transpose(-1, -2), logsigma.exp().transpose(-1, -2)), 1)
    mix = d.MixtureSameFamily(d.Categorical(logits=logits[..., 0, :]), comp)
    logpi = torch.log_softmax(logits, -1)
    assert torch.allclose(z_log_prob(y, logpi, mu, logsigma), mix.log_prob(y), atol=1e-5)
    per_dim = torch.log_softmax(torch.randn(2, 3, 6, 4), -1)
    want = mixture_log_prob(y, per_dim, mu, logsigma).sum(-1)
    assert torch.allclose(z_log_prob(y, per_dim, mu, logsigma), want)


def test_joint_mixture_samples_one_component_for_the_whole_latent():
    """Two equally likely components, all of z at +3 or all at −3: a joint M's sample takes every dimension from
    the one component drawn (a coherent latent), a per-dimension M mixes them; in the dream batch as well."""
    from gdl_studio.racing.dream_batch import _sample
    from gdl_studio.racing.mdn_rnn import MDNOutput

    rows, z = 400, 16
    mu = torch.tensor([3.0, -3.0]).expand(rows, z, 2)
    logsigma = torch.full((rows, z, 2), math.log(0.1))
    zero = torch.zeros(rows)
    for logpi, joint in (
        (torch.full((rows, 1, 2), math.log(0.5)), True),
        (torch.full((rows, z, 2), math.log(0.5)), False),
    ):
        out = MDNOutput(logpi, mu, logsigma, zero, zero)
        for draw in (
            sample_mixture(logpi, mu, logsigma, 1.0, torch.Generator().manual_seed(0)),
            _sample(out, 1.0, torch.Generator().manual_seed(0)),
        ):
            assert draw.shape == (rows, z)
            positive = (draw > 0).float().mean(1)
            coherent = ((positive == 0) | (positive == 1)).float().mean()
            assert coherent == (1.0 if joint else 0.0)
            assert 0.4 < float((draw[:, 0] > 0).float().mean()) < 0.6  # both components are drawn


def test_joint_mdn_trains_saves_and_dreams_behind_a_reader(tmp_path):
    from gdl_studio.racing.mdn_rnn import ReadMDNRNN
    from gdl_studio.racing.models_io import load_dir, save_mdn

    torch.manual_seed(0)
    mdn = MDNRNN(MDNConfig(hidden=32, mixture="joint"))
    z, a = torch.randn(4, 12, 32), torch.rand(4, 12, 3)
    out, _ = mdn(z, a)
    assert out.logpi.shape == (4, 12, 1, 5) and out.mu.shape == out.logsigma.shape == (4, 12, 32, 5)
    opt = torch.optim.Adam(mdn.parameters(), lr=1e-2)
    losses = []
    for _ in range(40):
        loss = mdn_loss(mdn(z[:, :-1], a[:, :-1])[0], z[:, 1:], torch.zeros(4, 11), torch.zeros(4, 11))[0]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0] - 0.5
    saved = save_mdn(mdn.eval(), tmp_path, {"data": {}}, fp16=False)
    again = load_dir(saved.directory)
    assert again.config == mdn.config
    with torch.no_grad():
        torch.testing.assert_close(again(z, a)[0].mu, mdn(z, a)[0].mu)
    reader = MDNRNN(MDNConfig(hidden=32))  # a per-dimension world M: its drivers read this LSTM
    both = ReadMDNRNN.from_pair(reader, again)
    assert both.config.mixture == "joint"
    with torch.no_grad():
        torch.testing.assert_close(both(z, a)[0].mu, mdn(z, a)[0].mu)
    with pytest.raises(ValueError):
        ReadMDNRNN.from_pair(MDNRNN(MDNConfig(hidden=64)), again)
    with pytest.raises(ValueError):
        MDNConfig(mixture="full")
