"""Independent JACK clients for the tests: jack_midi_dump, jack_rec and a plain rtmidi sender."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

LINE = re.compile(r"^\s*(\d+):\s+((?:[0-9a-fA-F]{2}(?: |$))+)")  # realtime bytes end the line without a space


def jack_ports() -> list[str]:
    out = subprocess.run(
        ["jack_lsp"], capture_output=True, text=True, timeout=10, env={**os.environ, "JACK_NO_START_SERVER": "1"}
    ).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def wait_for_port(name: str, present: bool = True, timeout: float = 10.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if (name in jack_ports()) == present:
            return True
        time.sleep(0.1)
    return False


class MidiDump:
    """``jack_midi_dump`` as a separate process; :meth:`stop` returns the raw messages it saw."""

    def __init__(self, client: str) -> None:
        self.client = client
        self.port = f"{client}:input"
        self.proc = subprocess.Popen(
            ["stdbuf", "-oL", "jack_midi_dump", "-a", client],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        if not wait_for_port(self.port):
            self.proc.kill()
            raise RuntimeError("jack_midi_dump did not start")

    def stop(self) -> list[tuple[int, tuple[int, ...]]]:
        time.sleep(0.2)
        self.proc.send_signal(signal.SIGINT)
        try:
            out, _ = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        events = []
        for line in out.splitlines():
            m = LINE.match(line)
            if m:
                events.append((int(m.group(1)), tuple(int(b, 16) for b in m.group(2).split())))
        return events


class RtSender:
    """A second rtmidi JACK client with an output port other clients can read."""

    def __init__(self, client: str) -> None:
        import rtmidi

        self.out = rtmidi.MidiOut(rtapi=rtmidi.API_UNIX_JACK, name=client)
        self.out.open_virtual_port("out")
        self.port = f"{client}:out"
        if not wait_for_port(self.port):
            raise RuntimeError("sender port did not appear")

    def send(self, data) -> None:
        self.out.send_message(list(data))

    def close(self) -> None:
        self.out.close_port()
        self.out.delete()


class RtReceiver:
    """A second rtmidi JACK client with an input port; records (perf_counter, bytes)."""

    def __init__(self, client: str) -> None:
        import rtmidi

        self.events: list[tuple[float, tuple[int, ...]]] = []
        self.inp = rtmidi.MidiIn(rtapi=rtmidi.API_UNIX_JACK, name=client)
        self.inp.open_virtual_port("in")
        self.inp.set_callback(lambda ev, _d=None: self.events.append((time.perf_counter(), tuple(ev[0]))))
        self.port = f"{client}:in"
        if not wait_for_port(self.port):
            raise RuntimeError("receiver port did not appear")

    def close(self) -> None:
        self.inp.cancel_callback()
        self.inp.close_port()
        self.inp.delete()


def retry(times: int, check):
    """Run ``check()`` up to ``times`` times until it passes (a non-realtime JACK server under
    load can drop a cycle — an xrun — and with it a message; a real bug fails every time)."""
    for attempt in range(times):
        try:
            return check()
        except AssertionError:
            if attempt == times - 1:
                raise
