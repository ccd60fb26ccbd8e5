import numpy as np
import pytest
import torch

from gdl_studio.ink import evaluate
from gdl_studio.ink.fast_step import numpy_stepper
from gdl_studio.ink.models import PRESETS, build_model
from gdl_studio.ink.models_io import InkModel, build_from_card, roundtrip_half, tensors_for_saving
from gdl_studio.ink.sampling import generate, points_to_strokes


def _seqs(n=12, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        t = int(rng.integers(5, 20))
        s = np.zeros((t, 3), np.float32)
        s[:, :2] = rng.normal(0, 1, (t, 2))
        s[rng.integers(0, t, 2), 2] = 1
        s[-1, 2] = 1
        out.append(s)
    return out


@pytest.fixture(params=["vrnn", "rnn-gmm"])
def tiny(request):
    torch.manual_seed(0)
    return build_model(PRESETS[f"{request.param}-tiny"])


def test_tiny_overfit_loss_goes_down(tiny):
    seqs = _seqs(4)
    x, m = evaluate.pad(seqs)
    opt = torch.optim.Adam(tiny.parameters(), lr=3e-2)
    torch.manual_seed(1)
    first = None
    for step in range(40):
        loss, _ = tiny.loss(x, m, beta=min(1.0, step / 15))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tiny.parameters(), 1.0)
        opt.step()
        first = float(loss.detach()) if first is None else first
    final = float(tiny.loss(x, m, beta=1.0)[0].detach())
    assert np.isfinite(final) and final < first - 0.8


def test_importance_sampled_estimate_is_above_the_elbo_on_average():
    torch.manual_seed(0)
    model = build_model(PRESETS["vrnn-tiny"])
    elbo, ll_is = evaluate.vrnn_estimates(model, _seqs(10), k=64, seed=3)
    assert np.isfinite(elbo).all() and np.isfinite(ll_is).all()
    assert ll_is.mean() > elbo.mean()
    # More samples: a tighter (higher on average) estimate.
    _, ll_is_1 = evaluate.vrnn_estimates(model, _seqs(10), k=1, seed=3)
    assert ll_is.mean() >= ll_is_1.mean()


def test_rnn_log_likelihood_equals_minus_loss():
    torch.manual_seed(0)
    model = build_model(PRESETS["rnn-gmm-tiny"])
    seqs = _seqs(6)
    ll = evaluate.rnn_log_likelihood(model, seqs)
    x, m = evaluate.pad(seqs)
    loss, parts = model.loss(x, m)
    assert ll.sum() == pytest.approx(float(parts["rec"]), rel=1e-5)
    # Scoring a sequence alone or padded in a batch gives the same number.
    assert evaluate.rnn_log_likelihood(model, seqs[:1])[0] == pytest.approx(ll[0], rel=1e-5)
    # A one-point sequence is scored too (by h_0 alone).
    one = evaluate.rnn_log_likelihood(model, [seqs[0][:1]])[0]
    assert np.isfinite(one) and one == pytest.approx(
        float(model.log_prob_steps(torch.from_numpy(seqs[0][None]))[0, 0].detach()), rel=1e-5
    )


def test_no_nans_with_extreme_inputs(tiny):
    x = torch.tensor([[[1e30, -1e30, 5.0], [np.float32(3e38), 0.0, -2.0], [0.0, 0.0, 1.0]]])
    m = torch.ones(1, 3)
    loss, _ = tiny.loss(x, m)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in tiny.parameters() if p.grad is not None)


def test_numpy_stepper_matches_torch_steps(tiny):
    net = numpy_stepper(tiny)
    rng = np.random.default_rng(0)
    h_t = tiny.initial_state()
    h_n = net.initial_state()
    lat = tiny.cfg.latent if tiny.cfg.kind == "vrnn" else 0
    with torch.no_grad():
        for i in range(6):
            row = np.array([rng.normal(), rng.normal(), float(i % 3 == 2)], np.float32)
            eps = rng.standard_normal(lat).astype(np.float32) if lat else None
            eps_t = torch.from_numpy(eps)[None] if lat else None
            if i < 3:  # priming steps
                h_t = tiny.observe(torch.from_numpy(row)[None], h_t, eps_t)
                h_n = net.observe(row, h_n, eps)
            else:
                raw_t, aux_t = tiny.propose(h_t, eps_t, 0.7)
                raw_n, aux_n = net.propose(h_n, eps, 0.7)
                assert np.allclose(raw_t[0].numpy(), raw_n, atol=1e-5)
                h_t = tiny.commit(torch.from_numpy(row)[None], h_t, aux_t)
                h_n = net.commit(row, h_n, aux_n)
            assert np.allclose(h_t.reshape(-1).numpy(), h_n, atol=1e-5)


def _ink(module):
    return InkModel(module=module.eval(), kind=module.cfg.kind, scale=20.0, card={})


def test_generation_is_deterministic_with_a_seed_and_lazy(tiny):
    model = _ink(tiny)
    primer = [np.array([[20.0, 20.0], [60.0, 25.0], [90.0, 30.0]])]
    a = list(generate(model, primer=primer, temperature=0.8, seed=7, max_points=40))
    b = list(generate(model, primer=primer, temperature=0.8, seed=7, max_points=40))
    c = list(generate(model, primer=primer, temperature=0.8, seed=8, max_points=40))
    assert a == b and a != c
    assert all(np.isfinite([p.x, p.y]).all() for p in a)
    # Lazy: pulling three points runs three sampling steps only, and matches the full run's start.
    gen = generate(model, primer=primer, temperature=0.8, seed=7, max_points=40)
    assert [next(gen) for _ in range(3)] == a[:3]
    gen.close()
    # max_strokes stops after that many pen-ups.
    pts = list(generate(model, temperature=1.0, seed=1, max_points=500, max_strokes=2))
    assert sum(p.pen_up for p in pts) <= 2 and (len(pts) == 500 or pts[-1].pen_up)
    assert len(points_to_strokes(pts)) >= 1


def test_generation_bad_arguments(tiny):
    from gdl_studio.core.errors import UserError

    model = _ink(tiny)
    for kw in ({"temperature": 0}, {"temperature": float("nan")}, {"max_points": 0}, {"primer": []}):
        with pytest.raises(UserError):
            next(generate(model, **kw))


def test_save_load_roundtrip_through_registry(tmp_path, tiny):
    from gdl_studio.core.registry import Registry, save_model

    card = {"name": "ink-x", "family": "ink", "architecture": tiny.cfg.to_dict(), "preprocessing": {"scale": 20.0}}
    save_model(tmp_path / "ink-x", tensors_for_saving(tiny, half=True), card)
    model = Registry([tmp_path]).load("ink-x", build_from_card)
    ref = build_model(tiny.cfg)
    ref.load_state_dict(tiny.state_dict())
    roundtrip_half(ref)
    for (k, a), b in zip(model.module.state_dict().items(), ref.state_dict().values()):
        assert torch.equal(a, b), k
    assert model.scale == 20.0 and model.kind == tiny.cfg.kind


def test_mixed_precision_path_runs_and_keeps_densities_in_float32(tiny):
    """The bf16 autocast used on CUDA, exercised on the CPU: no dtype clashes, finite grads."""
    x, m = evaluate.pad(_seqs(3))
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        loss, parts = tiny.loss(x, m, beta=0.5)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in tiny.parameters() if p.grad is not None)
    ref, _ = tiny.loss(x, m, beta=0.5) if tiny.cfg.kind == "rnn-gmm" else (loss, None)
    assert abs(float(ref.detach()) - float(loss.detach())) < 0.5


def test_generic_loader_entry_point(tmp_path, tiny):
    from gdl_studio.core.registry import Registry, save_model
    from gdl_studio.ink import models_io

    card = {"name": "my-ink", "family": "ink", "architecture": tiny.cfg.to_dict(), "preprocessing": {"scale": 2.0}}
    save_model(tmp_path / "my-ink", tensors_for_saving(tiny), card)
    model = models_io.load("my-ink", registry=Registry([tmp_path]))
    assert isinstance(model, InkModel) and model.scale == 2.0
    assert len(list(model.generate(seed=1, max_points=5))) == 5
