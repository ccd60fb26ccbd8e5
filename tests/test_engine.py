"""Engine tests against a real small torch module: latest wins, cancellation, errors, shutdown."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from gdl_studio.engine.core import EngineCore, Request, Sleep
from gdl_studio.engine.worker import Engine


class TinySampler(torch.nn.Module):
    """A small recurrent sampler: one token per step, like the real generators."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = torch.nn.Embedding(16, 32)
        self.cell = torch.nn.GRUCell(32, 64)
        self.head = torch.nn.Linear(64, 16)

    @torch.inference_mode()
    def generate(self, n: int, seed: int, delay: float = 0.0):
        gen = torch.Generator().manual_seed(seed)
        h = torch.zeros(1, 64)
        token = torch.zeros(1, dtype=torch.long)
        for _ in range(n):
            h = self.cell(self.embed(token), h)
            probs = torch.softmax(self.head(h), -1)
            token = torch.multinomial(probs, 1, generator=gen)[0]
            if delay:
                time.sleep(delay)
            yield int(token)


@pytest.fixture(scope="module")
def sampler():
    return TinySampler()


def collect_core():
    events = {"results": [], "finished": [], "errors": []}
    core = EngineCore(
        on_result=lambda panel, rid, item: events["results"].append((panel, rid, item)),
        on_finished=events["finished"].append,
        on_error=events["errors"].append,
    )
    return core, events


def test_stream_matches_direct_generation(sampler):
    core, events = collect_core()
    rid = core.submit(Request("compose", lambda ctx: sampler.generate(20, seed=3)))
    core.run_until_idle()
    assert [item for _p, r, item in events["results"] if r == rid] == list(sampler.generate(20, seed=3))
    assert events["finished"][-1].items == 20 and not events["finished"][-1].cancelled


def test_latest_request_wins_and_stale_queued_dropped(sampler):
    core, events = collect_core()
    first = core.submit(Request("compose", lambda ctx: sampler.generate(50, seed=1)))
    second = core.submit(Request("compose", lambda ctx: sampler.generate(50, seed=2)))
    third = core.submit(Request("compose", lambda ctx: sampler.generate(5, seed=3)))
    core.run_until_idle()
    ids = {rid for _p, rid, _i in events["results"]}
    assert ids == {third}, "only the newest queued request of a panel may run"
    assert not core.is_latest("compose", first) and not core.is_latest("compose", second)
    assert core.is_latest("compose", third)


def test_new_request_cancels_running_one_between_steps(sampler):
    core, events = collect_core()
    seen = []

    def job(ctx):
        for token in sampler.generate(1000, seed=4):
            seen.append(token)
            yield token

    first = core.submit(Request("compose", job))
    for _ in range(10):
        core.step()
    second = core.submit(Request("compose", lambda ctx: sampler.generate(3, seed=5)))
    core.run_until_idle()
    first_results = [r for r in events["results"] if r[1] == first]
    assert 0 < len(first_results) <= 11
    assert len(seen) < 20, "the cancelled generator must not be pulled further"
    cancelled = [f for f in events["finished"] if f.request_id == first]
    assert cancelled and cancelled[0].cancelled
    assert [r for r in events["results"] if r[1] == second]


def test_panels_are_independent_and_interleaved(sampler):
    core, events = collect_core()
    a = core.submit(Request("compose", lambda ctx: sampler.generate(10, seed=1)))
    b = core.submit(Request("sketch", lambda ctx: sampler.generate(10, seed=2)))
    core.run_until_idle()
    order = [rid for _p, rid, _i in events["results"]]
    assert order.count(a) == 10 and order.count(b) == 10
    assert order[:4] in ([a, b, a, b], [b, a, b, a]), "round robin between panels"


def test_error_comes_back_as_message_and_engine_lives_on(sampler):
    core, events = collect_core()

    def bad(ctx):
        yield 1
        raise ValueError("the primer has no notes")

    core.submit(Request("compose", bad, label="continue"))
    core.run_until_idle()
    assert events["errors"][0].message.startswith("the primer has no notes")
    assert "Traceback" in events["errors"][0].details
    rid = core.submit(Request("compose", lambda ctx: sampler.generate(3, seed=1)))
    core.run_until_idle()
    assert len([r for r in events["results"] if r[1] == rid]) == 3


def test_sleep_lets_other_panels_run(sampler):
    core, events = collect_core()

    def paced(ctx):
        for k in range(3):
            yield k
            yield Sleep(time.perf_counter() + 0.05)

    p = core.submit(Request("dream", paced))
    q = core.submit(Request("compose", lambda ctx: sampler.generate(30, seed=1)))
    core.run_until_idle()
    order = [rid for _p, rid, _i in events["results"]]
    assert order.count(p) == 3 and order.count(q) == 30
    assert order.index(q) < order.index(p) + 3 and order[-1] == p, "the sleeping job must not block"


def test_qt_worker_streams_cancels_and_shuts_down_while_busy(qtbot, sampler):
    engine = Engine()
    engine.start()
    got = []
    engine.result.connect(lambda panel, rid, item: got.append((rid, item)))
    thread_ids = []

    def slow(ctx):
        thread_ids.append(threading.get_ident())
        yield from sampler.generate(10_000, seed=1, delay=0.002)

    rid = engine.submit("compose", slow, "slow")
    qtbot.waitUntil(lambda: len(got) >= 5, timeout=5000)
    assert thread_ids[0] != threading.get_ident(), "jobs run off the GUI thread"
    # latest wins through the Qt worker too
    rid2 = engine.submit("compose", lambda ctx: sampler.generate(4, seed=9), "fast")
    with qtbot.waitSignal(engine.finished, timeout=5000, check_params_cb=lambda info: info.request_id == rid2):
        pass
    assert [item for r, item in got if r == rid2] == list(sampler.generate(4, seed=9))
    # shutdown while busy finishes within 2 s
    engine.submit("compose", slow, "slow again")
    qtbot.waitUntil(lambda: engine.core.busy, timeout=2000)
    t0 = time.perf_counter()
    assert engine.shutdown(2.0)
    assert time.perf_counter() - t0 < 2.0
    assert not engine.running
    assert rid != rid2


def test_qt_worker_error_signal(qtbot):
    engine = Engine()
    engine.start()

    def bad(ctx):
        raise RuntimeError("weights of model 'x' are corrupt")
        yield  # pragma: no cover

    with qtbot.waitSignal(engine.error, timeout=3000) as blocker:
        engine.submit("dream", bad, "drive")
    assert blocker.args[0].message == "weights of model 'x' are corrupt"
    assert engine.running
    engine.shutdown(2.0)


def test_bookkeeping_stays_bounded_over_many_cancelled_requests(sampler):
    """Long use: requests superseded before or after they start leave nothing behind."""
    core = EngineCore()

    def job(ctx):
        while True:
            yield Sleep(time.perf_counter() + 0.001)
            yield 1

    for i in range(200):
        core.submit(Request("a", job))
        if i % 2:
            core.step()  # admitted, then superseded by the next submit
        if i % 3 == 0:
            core.cancel("a")
    core.cancel("a")
    core.run_until_idle(5.0)
    assert not core.busy
    assert len(core._cancelled_ids) == 0


def test_qt_engine_forgets_jobs_cancelled_before_their_first_result(qtbot):
    engine = Engine()
    engine.start()
    try:

        def slow(ctx):
            yield Sleep(time.perf_counter() + 60.0)
            yield 1

        with qtbot.waitSignal(engine.finished, timeout=5000):
            engine.submit("p", slow)
            qtbot.wait(50)
            engine.cancel("p")
        assert engine._first_pending == {}
    finally:
        assert engine.shutdown(2.0)


def test_shutdown_joins_the_thread_through_a_long_step(qtbot):
    """A step that blocks (a model load on a busy machine) outlasts a short wait; shutdown() joins it,
    so no caller is left with the engine's thread running (a QThread destroyed running aborts)."""
    engine = Engine()
    engine.start()
    started = threading.Event()

    def long_step(ctx):
        started.set()
        time.sleep(1.5)
        yield 1

    engine.submit("sketch", long_step, "load")
    assert started.wait(5.0)
    assert not engine.shutdown(0.1), "a bounded wait gives up while the step runs"
    assert engine.running
    t0 = time.perf_counter()
    assert engine.shutdown()
    assert not engine.running
    assert time.perf_counter() - t0 < 5.0
    assert engine.shutdown(), "again: nothing to wait for"


def test_idle_hook_runs_when_work_ends_rate_limited_and_never_breaks_the_engine(sampler):
    core, events = collect_core()
    calls = []

    def hook():
        calls.append(time.perf_counter())
        raise RuntimeError("housekeeping failed")  # must not stop the engine

    core.when_idle = hook
    core.idle_hook_every_s = 3600.0
    core.run_until_idle()
    assert calls == [], "an engine that never worked does not run the hook"
    core.submit(Request("compose", lambda ctx: sampler.generate(5, seed=1)))
    core.run_until_idle()
    core.step()
    assert len(calls) == 1, "falling idle after work runs the hook once"
    core.submit(Request("compose", lambda ctx: sampler.generate(5, seed=2)))
    core.run_until_idle()
    core.step()
    assert len(calls) == 1, "at most once per idle_hook_every_s"
    core.idle_hook_every_s = 0.0
    core.submit(Request("sketch", lambda ctx: sampler.generate(5, seed=3)))
    core.run_until_idle()
    core.step()
    assert len(calls) == 2 and len(events["errors"]) == 0
    assert [i for p, _r, i in events["results"] if p == "sketch"] == list(sampler.generate(5, seed=3))


def test_the_qt_engine_gives_freed_memory_back_when_idle():
    from gdl_studio.core.memory import release_free_memory

    engine = Engine()
    engine.start()
    try:
        deadline = time.perf_counter() + 5.0
        while engine.core.when_idle is None and time.perf_counter() < deadline:
            time.sleep(0.01)
        assert engine.core.when_idle is release_free_memory
    finally:
        engine.shutdown()
