import numpy as np
import pytest

from gdl_studio.ink.rdp import rdp, rdp_mask


def reference_rdp(pts: np.ndarray, eps: float) -> np.ndarray:
    """Textbook recursive RDP returning kept indices (same tie-breaking: first maximum)."""

    def dist(p, a, b):
        ab = b - a
        n = np.hypot(*ab)
        if n == 0:
            return np.hypot(*(p - a))
        return abs(ab[0] * (p - a)[1] - ab[1] * (p - a)[0]) / n

    def rec(lo, hi, out):
        if hi - lo < 2:
            return
        d = [dist(pts[i], pts[lo], pts[hi]) for i in range(lo + 1, hi)]
        j = int(np.argmax(d))
        if d[j] > eps:
            m = lo + 1 + j
            out.add(m)
            rec(lo, m, out)
            rec(m, hi, out)

    keep = {0, len(pts) - 1}
    rec(0, len(pts) - 1, keep)
    return np.array(sorted(keep))


def test_collinear_points_collapse_to_ends():
    line = np.stack([np.linspace(0, 10, 50), np.linspace(0, 5, 50)], 1)
    out = rdp(line, 0.1)
    assert np.allclose(out, line[[0, -1]])


def test_corner_is_kept():
    pts = np.array([[0, 0], [1, 0], [2, 0], [3, 0], [3, 1], [3, 2], [3, 3]], float)
    out = rdp(pts, 0.5)
    assert np.allclose(out, [[0, 0], [3, 0], [3, 3]])


@pytest.mark.parametrize("eps", [0.0, 0.3, 1.0, 3.0])
def test_matches_recursive_reference_on_many_strokes(eps):
    rng = np.random.default_rng(1)
    strokes = [np.cumsum(rng.normal(size=(n, 2)), 0) for n in (1, 2, 3, 17, 60, 200)]
    strokes.append(np.array([[0, 0], [5, 1], [0, 0.0]]))  # closed: zero-length chord
    bounds = np.concatenate([[0], np.cumsum([len(s) for s in strokes])])
    mask = rdp_mask(np.concatenate(strokes), bounds, eps)
    for s, a, b in zip(strokes, bounds[:-1], bounds[1:]):
        expected = reference_rdp(s, eps) if len(s) > 1 else np.array([0])
        assert np.array_equal(np.flatnonzero(mask[a:b]), expected)


def test_kept_points_are_within_epsilon_of_the_simplified_line():
    t = np.linspace(0, 2 * np.pi, 2000)
    pts = np.stack([40 * np.cos(t), 25 * np.sin(3 * t)], 1)
    eps = 1.0
    keep = np.flatnonzero(rdp_mask(pts, np.array([0, len(pts)]), eps))
    assert 10 < len(keep) < 200
    for a, b in zip(keep[:-1], keep[1:]):
        seg = pts[a : b + 1]
        ab = pts[b] - pts[a]
        rel = seg - pts[a]
        d = np.abs(ab[0] * rel[:, 1] - ab[1] * rel[:, 0]) / np.hypot(*ab)
        assert d.max() <= eps + 1e-9


def test_empty_and_bad_shapes():
    assert rdp_mask(np.zeros((0, 2)), np.array([0]), 1.0).size == 0
    with pytest.raises(ValueError):
        rdp_mask(np.zeros((3, 3)), np.array([0, 3]), 1.0)
    with pytest.raises(ValueError):
        rdp_mask(np.zeros((3, 2)), np.array([0, 2]), 1.0)
