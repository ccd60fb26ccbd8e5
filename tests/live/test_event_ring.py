"""The MIDI ring between producer threads and an instrument's audio callback."""

from __future__ import annotations

import threading

from gdl_studio.live.event_ring import EventRing


def test_messages_come_out_in_order_across_the_wrap():
    ring = EventRing(4)
    got: list[tuple[int, int, int]] = []
    for k in range(10):  # more than the size: the counters wrap around the rows
        assert ring.push(0x90, 60 + k, 100)
        assert ring.pending
        ring.drain(lambda a, b, c: got.append((a, b, c)))
        assert not ring.pending
    assert got == [(0x90, 60 + k, 100) for k in range(10)]
    assert all(type(x) is int for row in got for x in row)


def test_a_full_ring_refuses_and_counts():
    ring = EventRing(3)
    assert [ring.push(0x80, p, 0) for p in range(5)] == [True, True, True, False, False]
    assert ring.dropped == 2
    got: list[int] = []
    ring.drain(lambda a, b, c: got.append(b))
    assert got == [0, 1, 2]
    assert ring.push(0x80, 9, 0) and ring.dropped == 2


def test_producers_on_several_threads_lose_nothing_that_fits():
    ring = EventRing(4096)

    def produce(base: int) -> None:
        for k in range(500):
            ring.push(0x90, base, k % 128)

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got: list[tuple[int, int]] = []
    ring.drain(lambda a, b, c: got.append((b, c)))
    assert len(got) == 2000 and ring.dropped == 0
    for base in range(4):  # each producer's own messages keep their order
        assert [c for b, c in got if b == base] == [k % 128 for k in range(500)]
