"""Ableton Link (the optional ``link`` extra, aalink): two peers in one process share tempo, beat
phase and start/stop, and the session's Link mode drives its transport."""

from __future__ import annotations

import time

import pytest

from gdl_studio.live import link as lk
from gdl_studio.live.clock import Transport

if lk.available():
    pytest.skip(f"aalink cannot be used here: {lk.available()}", allow_module_level=True)


def wait(cond, timeout=5.0):
    deadline = time.perf_counter() + timeout
    while not cond() and time.perf_counter() < deadline:
        time.sleep(0.02)
    return cond()


@pytest.fixture
def peers():
    ta, tb = Transport(120.0), Transport(90.0)
    started: list[float] = []
    stopped: list[bool] = []
    a = lk.LinkSync(ta)
    b = lk.LinkSync(tb, on_start=started.append, on_stop=lambda: stopped.append(True))
    if not wait(lambda: a.peers > 0 and b.peers > 0):
        a.close()
        b.close()
        pytest.skip("the two Link peers did not find each other (no multicast on this machine's network)")
    yield a, b, ta, tb, started, stopped
    a.close()
    b.close()


def test_two_peers_share_tempo_and_beat_phase(peers):
    a, b, ta, tb, _started, _stopped = peers
    a.set_tempo(133.0)
    assert wait(lambda: abs(tb.tempo_bpm - 133.0) < 0.01), tb.tempo_bpm  # our transport follows
    time.sleep(0.1)
    t = time.perf_counter() + 0.05
    pa, pb = ta.beat_at(t) % 4.0, tb.beat_at(t) % 4.0
    diff = min(abs(pa - pb), 4.0 - abs(pa - pb))
    assert diff * 60.0 / 133.0 * 1000.0 < 3.0, (pa, pb)  # the same bar phase, to within 3 ms


def test_a_peer_starting_playback_starts_ours_with_start_stop_sync(peers):
    a, b, _ta, _tb, started, stopped = peers
    a.play(True)
    assert wait(lambda: bool(started)), "the other peer's start did not reach us"
    assert started[0] >= time.perf_counter() - 4 * 60.0 / a.tempo_bpm  # when the next bar begins
    a.play(False)
    assert wait(lambda: bool(stopped))


def test_live_session_link_mode():
    from gdl_studio.live.session import LiveSession

    session = LiveSession(realtime=False)
    try:
        assert session.set_sync("link") == "" and session.sync_mode == "link"
        assert session.link is not None and session.transport.running
        session.link.set_tempo(101.0)
        assert wait(lambda: abs(session.transport.tempo_bpm - 101.0) < 0.01)
        assert "Ableton Link" in session.sync_status()
    finally:
        session.close()
    assert session.link is None and session.sync_mode == "internal"
