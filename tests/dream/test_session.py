"""The Dream panel's state without widgets (ui/dream/session.py): no Qt, no pytest-qt."""

from __future__ import annotations

from types import SimpleNamespace

from gdl_studio.ui.dream.session import DREAM_HINT, REAL_HINT, DreamSession


def test_frames_counts_rate_and_the_last_real_frame():
    s = DreamSession(seed=3)
    s.begin("real", request_id=9)
    assert s.started and s.request == 9 and s.fps() is None
    for k in range(5):
        s.frame_shown(SimpleNamespace(obs=k, total=1.5 * k), now=10.0 + 0.1 * k)
    assert s.frames == 5 and s.last_obs == 4 and abs(s.fps() - 10.0) < 1e-9
    assert "Episode over after 5 steps: 6.0 points" in s.finished_text()
    s.begin("dream")
    assert s.frames == 0 and s.last_obs == 4 and s.finished_text() == ""  # a dream can start from the last real frame
    s.frame_shown(SimpleNamespace(total=0.0), now=1.0)
    assert "The dream ended after 1 frames" in s.finished_text()


def test_controls_follow_problems_and_mode():
    s = DreamSession()
    c = s.controls(paused=False)
    assert c.real and c.dream and c.reset and not c.start_real and not c.dream_here and not c.shipped
    s.frame_shown(SimpleNamespace(obs=1), now=0.0)
    assert s.controls(False).dream_here and s.controls(False).start_real
    s.sim_problem = "Box2D is missing"
    c = s.controls(False)
    assert not c.real and not c.reset and c.dream
    s.mode = "dream"
    assert s.controls(False).reset and not s.controls(False).dream_here
    assert "Box2D is missing" in s.simulator_text()
    s.problem = "no weights"
    c = s.controls(False)
    assert not (c.dream or c.play or c.seed or c.tau) and s.hint() == "" and s.active_model() == ""


def test_who_drives_and_what_it_is_called():
    s = DreamSession()
    assert s.hint() == REAL_HINT and s.active_model().endswith("carracing-controller")
    s.watch("my-driver")
    assert s.controller_name == "my-driver" and not s.controls(False).shipped
    s.watch([0.0] * 867)
    assert s.controller_name == "custom controller" and s.controls(False).shipped
    s.watch(None)
    assert s.controller_name == "" and s.active_model() == "carracing-vae + mdnrnn, carracing-controller"
    s.mode = "dream"
    assert s.hint() == DREAM_HINT and s.captions().third == "Dream τ"
    s.dream_from_real = True
    assert s.captions().reconstruction == ("Where the dream began", "the last real frame")


def test_the_dream_road_line_reads_the_drivers_recorded_figure():
    s = DreamSession()
    assert s.dream_road_text() == ""  # not measured: nothing is said
    s.dream_road = {"on_road": 0.38, "on_road_frames": 0.8878, "starts": 50, "tau": 1.0}
    assert s.dream_road_text() == (
        "This driver's dreams stay on the road in 38% of 50 dreams at τ 1.00 (89% of their frames)"
    )
    s.dream_road = {"on_road": 0.0, "on_road_frames": 0.14}
    assert s.dream_road_text() == "This driver's dreams stay on the road in 0% (14% of their frames)"
