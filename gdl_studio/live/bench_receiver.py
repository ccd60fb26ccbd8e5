"""The benchmark's independent JACK MIDI client, run as its own process::

    python -m gdl_studio.live.bench_receiver CLIENT

It opens ``CLIENT:in``, stamps every message with ``perf_counter`` (CLOCK_MONOTONIC, shared by
all processes) on arrival, prints ``ready``, and answers the lines ``take`` (a JSON list of
``[t, [bytes…]]`` received since the last take) and ``stop`` on stdin/stdout.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time


def main(client: str) -> int:
    import rtmidi

    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(60))
    except (OSError, AttributeError):
        pass
    events: list = []
    lock = threading.Lock()

    def callback(ev, _data=None):
        t = time.perf_counter()
        with lock:
            events.append((t, list(ev[0])))

    midi_in = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name=client)
    midi_in.open_virtual_port("in")
    midi_in.set_callback(callback)
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "take":
            with lock:
                taken, events[:] = list(events), []
            print(json.dumps(taken), flush=True)
        elif cmd == "stop":
            break
    midi_in.cancel_callback()
    midi_in.close_port()
    midi_in.delete()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "gdl-bench-rx"))
