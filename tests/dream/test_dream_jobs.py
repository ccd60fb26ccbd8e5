"""The Dream panel's engine jobs and keyboard mapping (no widgets)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from gdl_studio.core.registry import ModelUnavailable
from gdl_studio.engine.core import Sleep
from gdl_studio.jobs import common
from gdl_studio.jobs import dream as jobs
from gdl_studio.racing.dream import DreamFrame, DriveControls
from gdl_studio.ui.dream.keys import BRAKE_VALUE, DriveKeys


def _counting(n):
    state = {"pulled": 0, "closed": False}

    def gen():
        try:
            for i in range(n):
                state["pulled"] += 1
                yield i
        finally:
            state["closed"] = True

    return gen(), state


def test_paced_puts_a_sleep_after_every_frame():
    frames, state = _counting(3)
    items = list(common.paced(frames, common.Playback(fps=1000.0)))
    assert [x for x in items if not isinstance(x, Sleep)] == [0, 1, 2]
    assert [type(x) for x in items] == [int, Sleep] * 3
    assert state["closed"]


def test_paced_sleeps_are_a_frame_apart():
    frames, _ = _counting(4)
    sleeps = [x.until for x in common.paced(frames, common.Playback(fps=10.0)) if isinstance(x, Sleep)]
    gaps = np.diff(sleeps)
    assert np.all(gaps >= 0.1 - 1e-6)  # a fast producer is held to 10 frames a second


def test_paused_playback_pulls_no_frame_and_close_releases_the_source():
    frames, state = _counting(5)
    playback = common.Playback(paused=True)
    it = common.paced(frames, playback)
    for _ in range(5):
        assert isinstance(next(it), Sleep)
    assert state["pulled"] == 0
    playback.paused = False
    assert next(it) == 0
    it.close()  # what the engine does when the request is superseded
    assert state["closed"]


def test_missing_model_becomes_a_problem_item():
    def loader():
        raise ModelUnavailable("model 'carracing-vae' is not installed")

    job = jobs.drive_job(jobs.WorldSource(loader), jobs.DREAM, 0, DriveControls(), common.Playback())
    items = list(job(None))
    assert len(items) == 1 and isinstance(items[0], common.ModelProblem)
    assert "not installed" in items[0].message


def test_a_loader_crash_is_reported_as_a_model_problem():
    def loader():
        raise RuntimeError("size mismatch for fc.weight")

    with pytest.raises(ModelUnavailable, match="size mismatch"):
        jobs.WorldSource(loader).get()


def test_dream_job_streams_frames_with_live_temperature(tiny_world):
    controls = DriveControls(temperature=1.0)
    job = jobs.drive_job(
        jobs.WorldSource(lambda: tiny_world), jobs.DREAM, 3, controls, common.Playback(fps=1000.0), max_steps=6
    )
    it = iter(job(None))
    ready = next(it)
    assert isinstance(ready, common.ModelReady) and ready.mode == "dream" and ready.seed == 3
    frames = []
    for item in it:
        if isinstance(item, DreamFrame):
            frames.append(item)
            if len(frames) == 2:
                controls.temperature = 0.3
                controls.set_action((1.0, 0.0, 0.8))
    assert len(frames) == 6
    assert frames[0].frame.shape == (64, 64, 3) and frames[0].frame.dtype == np.uint8
    assert frames[1].temperature == 1.0 and frames[2].temperature == pytest.approx(0.3)
    assert not frames[1].human and frames[2].human
    assert np.allclose(frames[2].action, (1.0, 0.0, 0.8))


def test_resolve_controller(tiny_world):
    from dataclasses import replace

    from gdl_studio.racing.controller import LinearController, param_count

    c, name, note = jobs.resolve_controller(None, tiny_world)
    assert c is tiny_world.controller and name == "carracing-controller" and not note
    c, name, note = jobs.resolve_controller(None, replace(tiny_world, controller=None))
    assert isinstance(c, LinearController) and name == "placeholder" and "placeholder" in note
    c, name, _ = jobs.resolve_controller(np.zeros(param_count()), tiny_world)
    assert np.allclose(c.act(np.zeros(32), np.zeros(256)), (0.0, 0.5, 0.0))
    with pytest.raises(ModelUnavailable, match="parameters"):
        jobs.resolve_controller(np.zeros(5), tiny_world)
    with pytest.raises(ModelUnavailable):
        jobs.resolve_controller("no-such-controller-model", tiny_world)


def test_drive_keys_make_the_demo_actions():
    keys = DriveKeys()
    assert keys.action() is None and not keys.active
    assert keys.press(int(Qt.Key.Key_Left))
    assert keys.action() == (-1.0, 0.0, 0.0)
    keys.press(int(Qt.Key.Key_W))
    assert keys.action() == (-1.0, 1.0, 0.0)
    keys.press(int(Qt.Key.Key_D))  # left and right together: straight on
    assert keys.action() == (0.0, 1.0, 0.0)
    keys.press(int(Qt.Key.Key_Down))
    assert keys.action() == (0.0, 1.0, BRAKE_VALUE)
    assert not keys.press(int(Qt.Key.Key_Q))
    for k in (Qt.Key.Key_Left, Qt.Key.Key_W, Qt.Key.Key_D, Qt.Key.Key_Down):
        keys.release(int(k))
    assert keys.action() is None
