"""The fast renderer must give the stock CarRacing-v3 observation byte for byte."""

from __future__ import annotations

import numpy as np
import pytest

fast_env = pytest.importorskip("gdl_studio.racing.fast_env")
import pygame  # noqa: E402

from gdl_studio.racing import native_raster  # noqa: E402

BACKENDS = ["native", "pygame"]


def _make_fast(backend: str, **kwargs) -> fast_env.FastCarRacing:
    if backend == "native" and native_raster.load() is None:
        pytest.skip("the native rasteriser is not built (pip install -e . builds it)")
    env = fast_env.FastCarRacing(**kwargs)
    env.use_native = backend == "native"
    return env


def _actions(seed: int, n: int) -> np.ndarray:
    """Random actions held for random spans, with full-throttle, hard-steer and braking phases."""
    rng = np.random.default_rng(seed)
    out, t = [], 0
    while t < n:
        span = int(rng.integers(1, 30))
        kind = rng.integers(4)
        if kind == 0:
            a = [rng.uniform(-1, 1), 1.0, 0.0]  # floor it
        elif kind == 1:
            a = [rng.choice([-1.0, 1.0]), rng.uniform(0, 1), 0.0]  # hard steer
        elif kind == 2:
            a = [rng.uniform(-1, 1), 0.0, rng.uniform(0.3, 1.0)]  # brake
        else:
            a = rng.uniform([-1, 0, 0], [1, 1, 1])
        out.extend([a] * span)
        t += span
    return np.asarray(out[:n], dtype=np.float32)


def _compare(seed: int, steps: int, backend: str = "native", **kwargs) -> fast_env.FastCarRacing:
    stock = fast_env.CarRacing(**kwargs)
    fast = _make_fast(backend, **kwargs)
    a, _ = stock.reset(seed=seed)
    b, _ = fast.reset(seed=seed)
    assert np.array_equal(a, b), f"seed {seed}: reset frame differs"
    for t, action in enumerate(_actions(seed + 100, steps)):
        a, ra, ta, _, _ = stock.step(action)
        b, rb, tb, _, _ = fast.step(action)
        assert a.shape == b.shape == (96, 96, 3) and b.dtype == np.uint8
        if not np.array_equal(a, b):
            diff = np.argwhere(a != b)
            pytest.fail(f"seed {seed} step {t}: {len(diff)} values differ, first at {diff[:3].tolist()}")
        assert (ra, ta) == (rb, tb)
        if ta:
            break
    assert fast.render_backend == backend
    return fast


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_observations_identical_to_stock(seed, backend):
    fast = _compare(seed, 180, backend)
    # the comparison is only meaningful if the fast path really produced the frames
    assert fast.fast_frames > 150


@pytest.mark.parametrize("seed", range(100, 112))
def test_identical_over_many_seeds(seed):
    """Twelve more tracks with their own random action sequences (native rasteriser)."""
    fast = _compare(seed, 70)
    assert fast.fast_frames > 40


@pytest.mark.parametrize("backend", BACKENDS)
def test_identical_with_domain_randomized_colours(backend):
    fast = _compare(5, 80, backend, domain_randomize=True)
    assert fast.fast_frames > 50


def test_identical_with_the_generic_smoothscale_backend():
    """pygame's portable C smooth-scale (used where SSE is missing) rounds differently: the native
    rasteriser follows whichever backend pygame uses."""
    before = pygame.transform.get_smoothscale_backend()
    pygame.transform.set_smoothscale_backend("GENERIC")
    try:
        fast = _compare(3, 90)
    finally:
        pygame.transform.set_smoothscale_backend(before)
    assert fast.fast_frames > 60


def test_native_surface_pixels_equal_pygame_drawing():
    """Before any scaling: every drawn pixel of the visible rows equals what pygame's own calls draw."""
    native, drawn = _make_fast("native"), _make_fast("pygame")
    native.reset(seed=42)
    drawn.reset(seed=42)
    checked = 0
    for t, action in enumerate(_actions(7, 120)):
        native.step(action)
        drawn.step(action)
        if t % 10 or not native.fast_frames:
            continue
        ref = pygame.surfarray.pixels2d(drawn._road_surf).T[fast_env.HIDDEN_ROWS :].astype(np.uint32) & 0xFFFFFF
        mine = native._native.pixels() & 0xFFFFFF
        bad = np.argwhere(ref != mine)
        assert not len(bad), f"step {t}: {len(bad)} pixels differ, first at {bad[:3].tolist()}"
        checked += 1
    assert checked >= 10


def test_identical_after_tiles_are_visited_and_late_in_an_episode():
    """Drive a while with steady gas (tiles change colour when visited), then compare."""
    stock, fast = fast_env.CarRacing(), _make_fast("native")
    stock.reset(seed=3)
    fast.reset(seed=3)
    action = np.array([0.0, 0.6, 0.0], np.float32)
    for t in range(250):
        a, *_ = stock.step(action)
        b, *_ = fast.step(action)
        assert np.array_equal(a, b), f"step {t}"
    assert fast.tile_visited_count > 0


def test_stock_fallback_is_used_when_the_hud_would_overflow(monkeypatch):
    """When an indicator could leave the HUD bar, the frame comes from the stock code."""
    fast = fast_env.FastCarRacing()
    fast.reset(seed=0)
    monkeypatch.setattr(fast, "_hud_fits", lambda: False)
    before = fast.stock_frames
    obs, *_ = fast.step(np.array([0, 1, 0], np.float32))
    assert fast.stock_frames == before + 1
    stock = fast_env.CarRacing()
    stock.reset(seed=0)
    ref, *_ = stock.step(np.array([0, 1, 0], np.float32))
    assert np.array_equal(obs, ref)


def test_covers_helper():
    quad = [(-10.0, -10.0), (10.0, -10.0), (10.0, 10.0), (-10.0, 10.0)]
    assert fast_env._covers(quad, -5, -5, 5, 5)
    assert not fast_env._covers(quad, -5, -5, 11, 5)


def _live_bodies() -> int:
    import gc

    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o).__name__ == "b2Body")


def test_close_releases_the_box2d_bodies():
    """A closed environment leaves no track tiles or wheels behind (they reference themselves
    through Box2D user data, which the garbage collector cannot see)."""
    before = _live_bodies()
    for seed in (0, 1):
        env = fast_env.FastCarRacing()
        env.reset(seed=seed)
        env.step(np.array([0.0, 1.0, 0.0], dtype=np.float32))
        env.close()
        env.close()  # closing twice is harmless
        del env
    assert _live_bodies() == before


def test_an_environment_works_again_after_close():
    """close() drops the frame buffers; a reset rebuilds them and gives the same frames."""
    env = fast_env.FastCarRacing()
    first, _ = env.reset(seed=3)
    a, *_ = env.step(np.array([0.1, 1.0, 0.0], dtype=np.float32))
    env.close()
    again, _ = env.reset(seed=3)
    b, *_ = env.step(np.array([0.1, 1.0, 0.0], dtype=np.float32))
    env.close()
    assert np.array_equal(first, again) and np.array_equal(a, b)
