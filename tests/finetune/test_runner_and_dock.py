"""The fine-tuning job runner (child process), personal models on disk, and the Training dock
in the main window — exercised with real controller jobs in the dream (seconds each)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from gdl_studio.core import personal
from gdl_studio.core.errors import UserError
from gdl_studio.core.finetuning import Failed, FinetuneSpec, Finished, Progress
from gdl_studio.core.registry import default_registry
from gdl_studio.finetune.runner import FinetuneRunner

pytest.importorskip("gdl_studio.racing.fast_env")


def _spec(name, generations=2, **extra):
    options = {
        "mode": "dream",
        "generations": generations,
        "population": 4,
        "rollouts": 1,
        "max_steps": 60,
        "valid_rollouts": 1,
        "seed": 2,
        "real_check_tracks": 0,
        **extra,
    }
    return FinetuneSpec("controller", "carracing-controller", [], name, options)


def _collect_until(runner, predicate, timeout=90.0):
    events = []
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        events.extend(runner.poll())
        if predicate(events):
            return events
        time.sleep(0.02)
    raise AssertionError(f"timed out; events so far: {[type(e).__name__ for e in events]}")


def test_runner_runs_a_queue_in_order_in_a_child_process():
    runner = FinetuneRunner(threads=1)
    a, b = _spec("first-driver"), _spec("second-driver")
    runner.submit(a)
    runner.submit(b)
    assert [s.id for s in runner.queued] == [a.id, b.id]
    events, slowest = [], 0.0
    deadline = time.perf_counter() + 120
    while runner.busy and time.perf_counter() < deadline:
        t0 = time.perf_counter()
        events.extend(runner.poll())  # the GUI thread calls this from a timer: it must never wait
        slowest = max(slowest, time.perf_counter() - t0)
        time.sleep(0.01)
    assert slowest < 0.25, f"poll() blocked for {slowest:.2f} s (e.g. waiting for a child to exit)"
    runner.shutdown()
    kinds = [(type(e).__name__, getattr(e, "job_id", None)) for e in events if not isinstance(e, Progress)]
    assert kinds == [("Started", a.id), ("Finished", a.id), ("Started", b.id), ("Finished", b.id)]
    assert sum(isinstance(e, Progress) for e in events) == 6  # generations 0..2, twice
    assert sorted(c.name for c in personal.personal_models()) == ["first-driver", "second-driver"]


def test_the_real_check_runs_in_the_runners_child_process():
    """The job's process is daemonic and may not start a process pool: the real check of a dream
    run (several tracks, which would use several workers) drives them in that process."""
    runner = FinetuneRunner(threads=1)
    spec = _spec("checked-driver", generations=1, real_check_tracks=2)
    runner.submit(spec)
    events = _collect_until(runner, lambda ev: any(isinstance(e, (Finished, Failed)) for e in ev), timeout=180)
    runner.shutdown()
    done = [e for e in events if isinstance(e, (Finished, Failed))]
    assert isinstance(done[0], Finished), getattr(done[0], "message", "")
    metrics = done[0].summary["metrics"]
    assert metrics["real_check_tracks"] == 2 and 0 <= metrics["real_better_tracks"] <= 2
    assert "real game, 2 tracks" in done[0].summary["headline"]


def test_cancel_stops_the_child_and_keeps_previous_weights():
    runner = FinetuneRunner(threads=1)
    # an earlier personal model of the same name must survive a cancelled re-training
    runner.submit(_spec("keeper", generations=1))
    runner.wait(timeout_s=90)
    before = (personal.personal_models()[0].weights_path).read_bytes()
    spec = _spec("keeper", generations=500)
    runner.submit(spec)
    _collect_until(runner, lambda ev: any(isinstance(e, Progress) and e.step >= 1 for e in ev))
    assert runner.cancel(spec.id)
    events = _collect_until(runner, lambda ev: any(isinstance(e, Failed) for e in ev), timeout=30)
    failed = [e for e in events if isinstance(e, Failed)]
    assert failed[0].job_id == spec.id and failed[0].message == "cancelled"
    assert not runner.busy
    runner.shutdown()
    cards = personal.personal_models()
    assert [c.name for c in cards] == ["keeper"] and cards[0].weights_path.read_bytes() == before


def test_pause_holds_the_job_and_resume_finishes_it():
    runner = FinetuneRunner(threads=1)
    spec = _spec("paused-driver", generations=40)
    runner.submit(spec)
    _collect_until(runner, lambda ev: any(isinstance(e, Progress) and e.step >= 1 for e in ev))
    assert runner.pause(spec.id, True)
    time.sleep(0.5)  # let the child reach its next checkpoint
    runner.poll()
    time.sleep(1.0)
    held = [e for e in runner.poll() if isinstance(e, Progress)]
    assert held == [], "no progress while paused"
    runner.pause(spec.id, False)
    events = runner.wait(timeout_s=120)
    runner.shutdown()
    assert any(isinstance(e, Finished) and e.job_id == spec.id for e in events)


def test_an_interrupted_save_leaves_no_partial_model(monkeypatch):
    import torch

    from gdl_studio.core import personal as p

    card = {"name": "half", "family": "world-model/controller", "architecture": {"kind": "linear"}, "base_model": "x"}
    p.save_personal_model({"params": torch.zeros(867)}, dict(card))
    good = p.personal_models()[0].weights_path.read_bytes()

    def broken(directory, tensors, data, weights_name=None):
        directory.mkdir(parents=True, exist_ok=True)
        (directory / weights_name).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(p, "save_model", broken)
    with pytest.raises(OSError):
        p.save_personal_model({"params": torch.ones(867)}, dict(card))
    root = p.paths.user_models_dir()
    assert sorted(x.name for x in root.iterdir()) == ["half"], "no temporary directories left behind"
    assert p.personal_models()[0].weights_path.read_bytes() == good


def test_rename_and_delete_personal_models_but_never_shipped_ones():
    import torch

    card = {
        "name": "road hog",
        "family": "world-model/controller",
        "architecture": {"kind": "linear"},
        "base_model": "x",
    }
    saved = personal.save_personal_model({"params": torch.zeros(867)}, card)
    assert saved.name == "road-hog" and saved.data["display_name"] == "road hog"
    personal.rename_personal_model("road-hog", "Sunday driver")
    assert personal.personal_models()[0].data["display_name"] == "Sunday driver"
    with pytest.raises(UserError):
        personal.rename_personal_model("road-hog", "../../etc")
    with pytest.raises(UserError):
        personal.delete_personal_model(
            "carracing-controller", root=default_registry().card("carracing-controller").directory.parent
        )
    personal.delete_personal_model("road-hog")
    assert personal.personal_models() == []


# ---------------------------------------------------------------------------- the dock in the app
@pytest.fixture
def window(qtbot):
    from gdl_studio.engine.worker import Engine
    from gdl_studio.ui.settings import Settings
    from gdl_studio.ui.shell.main_window import MainWindow

    engine = Engine()
    engine.start()
    win = MainWindow(engine, Settings())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def test_training_dock_trains_plots_and_hands_the_result_to_the_dream_panel(window, qtbot):
    dock = window.training_dock
    assert not dock.isVisible(), "hidden until asked for"
    toggle = dock.toggleViewAction()
    assert toggle.shortcut().toString() == "Ctrl+T"
    toggle.trigger()
    assert dock.isVisible()

    finished = []
    dock.service.finished.connect(finished.append)
    job_id = dock.submit(_spec("dock-driver", generations=3))
    qtbot.waitUntil(lambda: bool(finished), timeout=120_000)
    curve = dock.curves[job_id]
    assert curve["best"][0] == [1, 2, 3] and len(curve["mean"][1]) == 3 and len(curve["worst"][1]) == 3
    assert all(b >= m >= w for b, m, w in zip(curve["best"][1], curve["mean"][1], curve["worst"][1]))
    assert dock.series["best"].getData()[0] is not None
    row = dock.rows[job_id]
    assert row.bar.format() == "saved 'dock-driver'"
    # what the run did, in words and whole (no real check in this job), in a row tall enough for it
    assert row.result.isVisible() and row.result.text().startswith("dream: ") and "real game" not in row.result.text()
    item = dock.jobs.item(0)
    assert item.sizeHint().height() >= row.heightForWidth(dock.jobs.viewport().width()) > row.bar.height()
    assert [dock.models.item(i).data(256) for i in range(dock.models.count())] == ["dock-driver"]

    dream = window.panels["dream"]
    labels = [dream.controller_combo.itemText(i) for i in range(dream.controller_combo.count())]
    # the shipped controllers (real-trained, dream-trained) come first, the user's own after them
    assert labels[0] == "Shipped controller" and labels[-1] == "★ dock-driver"
    assert all("★" not in label for label in labels[:-1])
    personal_index = len(labels) - 1
    # watch the job's current best: the Dream panel takes it and drives with it
    assert dock.watch_button.isEnabled()
    watched = []
    dock.watch_requested.connect(watched.append)
    dock.watch_button.click()
    assert watched and np.asarray(watched[0]).shape == (867,)
    assert window.current_panel() is dream and dream.active_model().endswith("custom controller")
    # choose the personal controller, then delete it: the panel falls back to the shipped one
    dream.controller_combo.setCurrentIndex(personal_index)
    dream.controller_combo.activated.emit(personal_index)
    assert dream.active_model().endswith("dock-driver")
    personal.delete_personal_model("dock-driver")
    dock.refresh_models()
    dock.models_changed.emit()
    assert dream.controller_combo.count() == personal_index
    assert dream.active_model().endswith("carracing-controller")


def test_cancel_in_the_dock_says_previous_weights_kept(window, qtbot):
    dock = window.training_dock
    failed = []
    dock.service.failed.connect(failed.append)
    progressed = []
    dock.service.progress.connect(lambda job, ev: progressed.append(ev))
    job_id = dock.submit(_spec("never-saved", generations=500))
    qtbot.waitUntil(lambda: any(e.step >= 1 for e in progressed), timeout=60_000)
    dock.rows[job_id].pause_button.click()
    assert dock.rows[job_id].pause_button.isChecked()
    dock.rows[job_id].cancel_button.click()
    qtbot.waitUntil(lambda: bool(failed), timeout=30_000)
    assert dock.rows[job_id].bar.format() == "cancelled — previous weights kept"
    assert personal.personal_models() == []
