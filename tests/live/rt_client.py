"""A plain rtmidi JACK client in a process of its own, for the tests (see jack_tools.RtSender and
RtReceiver): the test process then holds no rtmidi client of the test's, only the app's own.

    python rt_client.py send CLIENT      opens CLIENT:out; each stdin line "b0 b1 …" is sent
                                         ("@T b0 b1 …": at perf_counter T), then "ok" is
                                         printed; "quit" (or EOF) closes it
    python rt_client.py receive CLIENT [--timing]
                                         opens CLIENT:in (--timing: clock messages too) and prints
                                         "perf_counter b0 b1 …" per message; "quit" (or EOF)
                                         closes it

"ready" on stdout once the port exists. time.perf_counter is CLOCK_MONOTONIC on Linux, the same
clock in every process, so the receiver's times compare with the test's.
"""

from __future__ import annotations

import sys
import time

import rtmidi


def _send(client: str) -> None:
    out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name=client)
    out.open_virtual_port("out")
    print("ready", flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line == "quit":
            break
        if line.startswith("@"):  # "@T b0 b1 …": send at perf_counter T (this process keeps the time)
            at, _, line = line[1:].partition(" ")
            time.sleep(max(0.0, float(at) - time.perf_counter()))
        if line:
            out.send_message([int(x) for x in line.split()])
        print("ok", flush=True)
    out.close_port()
    out.delete()


def _receive(client: str, timing: bool) -> None:
    inp = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name=client)
    inp.open_virtual_port("in")
    if timing:
        inp.ignore_types(timing=False)

    def callback(event, _data=None) -> None:
        t = time.perf_counter()
        sys.stdout.write(f"{t!r} {' '.join(str(int(b)) for b in event[0])}\n")
        sys.stdout.flush()

    inp.set_callback(callback)
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
    inp.cancel_callback()
    inp.close_port()
    inp.delete()


if __name__ == "__main__":
    mode, name = sys.argv[1], sys.argv[2]
    if mode == "send":
        _send(name)
    else:
        _receive(name, "--timing" in sys.argv[3:])
