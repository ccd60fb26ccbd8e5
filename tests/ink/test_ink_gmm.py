import math

import numpy as np
import pytest
import torch

from gdl_studio.ink import gmm


def _reference(raw: torch.Tensor, x: torch.Tensor, k: int) -> torch.Tensor:
    """Same density through torch.distributions: full 2×2 covariances, MixtureSameFamily, Bernoulli."""
    import torch.nn.functional as F
    from torch.distributions import Bernoulli, Categorical, MixtureSameFamily, MultivariateNormal

    logit_pi, mx, my, sx, sy, r = (raw[..., i * k : (i + 1) * k].double() for i in range(6))
    sx = gmm.SIGMA_MIN + F.softplus(sx)
    sy = gmm.SIGMA_MIN + F.softplus(sy)
    rho = gmm.RHO_MAX * torch.tanh(r)
    cov = torch.stack([torch.stack([sx * sx, rho * sx * sy], -1), torch.stack([rho * sx * sy, sy * sy], -1)], -2)
    mix = MixtureSameFamily(
        Categorical(logits=logit_pi), MultivariateNormal(torch.stack([mx, my], -1), covariance_matrix=cov)
    )
    pen = Bernoulli(logits=raw[..., 6 * k].double())
    return mix.log_prob(x[..., :2].double()) + pen.log_prob(x[..., 2].double())


def test_log_prob_matches_torch_distributions():
    torch.manual_seed(0)
    k = 5
    raw = torch.randn(4, 7, gmm.out_dim(k)) * 2
    x = torch.cat([torch.randn(4, 7, 2) * 2, torch.randint(0, 2, (4, 7, 1)).float()], -1)
    ours = gmm.log_prob(gmm.split_params(raw, k), x)
    ref = _reference(raw, x, k)
    assert torch.allclose(ours.double(), ref, atol=1e-4, rtol=1e-5)


def test_density_integrates_to_one_numerically():
    k = 3
    raw = torch.tensor([0.3, -1.0, 0.5, 0.0, 1.0, -0.5, 0.2, -0.3, 0.4, 0.0, -0.5, 0.3, 1.0, -2.0, 0.5, 0.0])
    raw = torch.cat([raw, torch.zeros(gmm.out_dim(k) - len(raw))])
    g = torch.linspace(-8, 8, 801)
    xx, yy = torch.meshgrid(g, g, indexing="ij")
    x = torch.stack([xx, yy, torch.zeros_like(xx)], -1)
    lp = gmm.log_prob(gmm.split_params(raw.expand(801, 801, -1), k), x)
    # pen = 0 with logit 0 has probability 1/2.
    total = lp.double().exp().sum() * (g[1] - g[0]) ** 2
    assert total.item() == pytest.approx(0.5, rel=1e-3)


def test_extreme_values_stay_finite_with_finite_gradients():
    k = 4
    raw = torch.tensor([[-1e4, 1e4] * (gmm.out_dim(k) // 2) + [1e4]], requires_grad=True)
    x = torch.tensor([[1e30, -1e30, 7.0]])
    lp = gmm.log_prob(gmm.split_params(raw, k), x)
    lp.sum().backward()
    assert torch.isfinite(lp).all() and torch.isfinite(raw.grad).all()


def test_sample_row_temperature_rule():
    k = 3
    raw = np.zeros(gmm.out_dim(k))
    raw[:k] = [0.0, 2.0, 0.0]  # component 1 most likely
    raw[k : 2 * k] = [-5, 1.5, 5]  # mu_x
    raw[2 * k : 3 * k] = [0, -0.5, 0]  # mu_y
    raw[6 * k] = -3.0
    rng = np.random.default_rng(0)
    cold = np.array([gmm.sample_row(raw, k, 0.01, rng) for _ in range(200)])
    assert np.allclose(cold[:, 0], 1.5, atol=0.35) and np.allclose(cold[:, 1], -0.5, atol=0.35)
    assert cold[:, 2].sum() == 0  # logit -3 / 0.01: pen stays down
    warm = np.array([gmm.sample_row(raw, k, 1.0, rng) for _ in range(4000)])
    frac = np.mean(np.abs(warm[:, 0] - 1.5) < 2)
    p1 = math.exp(2) / (math.exp(2) + 2)
    assert abs(frac - p1) < 0.05
    assert abs(warm[:, 2].mean() - 1 / (1 + math.exp(3))) < 0.02
    # sigma * sqrt(tau): the spread of the chosen component scales with sqrt(tau).
    raw1 = raw.copy()
    raw1[:k] = [-50, 50, -50]
    s_hi = np.std([gmm.sample_row(raw1, k, 1.0, rng)[0] for _ in range(3000)])
    s_lo = np.std([gmm.sample_row(raw1, k, 0.25, rng)[0] for _ in range(3000)])
    assert s_lo / s_hi == pytest.approx(0.5, rel=0.08)
