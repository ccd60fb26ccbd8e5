"""Independent JACK clients for the tests, each in a process of its own: jack_midi_dump and a
plain rtmidi sender and receiver (rt_client.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

LINE = re.compile(r"^\s*(\d+):\s+((?:[0-9a-fA-F]{2}(?: |$))+)")  # realtime bytes end the line without a space


class ToolStall(RuntimeError):
    """One of the tests' own JACK clients (jack_lsp, jack_midi_dump, rt_client.py) did not answer
    in time. On a loaded 2-core host a non-realtime JACK server can stall its clients for seconds
    (stop 51's CI: jack_lsp hung 10 s while the server logged xruns for a fresh jack_midi_dump);
    :func:`retry` repeats a check after it, as after a lost message. The product's own code never
    raises it."""


def _jack_tool(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """One of JACK's command-line clients, given 10 s; a stall raises :class:`ToolStall`."""
    try:
        return subprocess.run(args, timeout=10, **kwargs)
    except subprocess.TimeoutExpired as e:
        raise ToolStall(f"{args[0]} did not answer in 10 s") from e


def jack_ports() -> list[str]:
    out = _jack_tool(
        ["jack_lsp"], capture_output=True, text=True, env={**os.environ, "JACK_NO_START_SERVER": "1"}
    ).stdout
    return [line.strip() for line in out.splitlines() if line.strip()]


def jack_connect(source: str, destination: str) -> None:
    """``jack_connect`` as an independent client."""
    _jack_tool(["jack_connect", source, destination], check=True)


def wait_for_port(name: str, present: bool = True, timeout: float = 20.0) -> bool:
    """Whether ``name`` is (or, with ``present=False``, is no longer) a JACK port within ``timeout``
    seconds; a jack_lsp that stalls counts as not yet."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if (name in jack_ports()) == present:
                return True
        except ToolStall:
            pass
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
            raise ToolStall("jack_midi_dump did not start")

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


HELPER = Path(__file__).with_name("rt_client.py")


def _start_helper(args: list[str]) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, str(HELPER), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        bufsize=1,
    )
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise ToolStall(f"rt_client.py {' '.join(args)} did not start")
    return proc


def _stop_helper(proc: subprocess.Popen) -> None:
    try:
        assert proc.stdin is not None
        proc.stdin.write("quit\n")
        proc.stdin.flush()
        proc.stdin.close()
        proc.wait(timeout=5)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()


class RtSender:
    """A plain rtmidi JACK client with an output port other clients can read, in a process of its
    own (rt_client.py): :meth:`send` returns once the message has been handed to rtmidi (``at``:
    not before ``perf_counter`` reaches it; the sender's process keeps that time, so the pipe
    between the processes adds nothing to the timing)."""

    def __init__(self, client: str) -> None:
        self.proc = _start_helper(["send", client])
        self.port = f"{client}:out"
        if not wait_for_port(self.port):
            _stop_helper(self.proc)
            raise ToolStall("sender port did not appear")

    def send(self, data, at: float | None = None) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        when = f"@{at!r} " if at is not None else ""
        self.proc.stdin.write(when + " ".join(str(int(b)) for b in data) + "\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "ok":
            raise RuntimeError("the rtmidi sender process stopped")

    def close(self) -> None:
        _stop_helper(self.proc)


class RtReceiver:
    """A plain rtmidi JACK client with an input port, in a process of its own (rt_client.py);
    ``events`` fills with (perf_counter, bytes) as messages arrive (``timing``: clock too)."""

    def __init__(self, client: str, timing: bool = False) -> None:
        self.events: list[tuple[float, tuple[int, ...]]] = []
        self.proc = _start_helper(["receive", client] + (["--timing"] if timing else []))
        self._reader = threading.Thread(target=self._read, name="gdltest-rt-receiver", daemon=True)
        self._reader.start()
        self.port = f"{client}:in"
        if not wait_for_port(self.port):
            self.close()
            raise ToolStall("receiver port did not appear")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            parts = line.split()
            if len(parts) >= 2:
                self.events.append((float(parts[0]), tuple(int(b) for b in parts[1:])))

    def close(self) -> None:
        _stop_helper(self.proc)
        self._reader.join(2.0)


def retry(times: int, check):
    """Run ``check()`` up to ``times`` times until it passes (a non-realtime JACK server under
    load can drop a cycle — an xrun — and with it a message, or stall the tests' own clients:
    :class:`ToolStall`; a real bug fails every time)."""
    for attempt in range(times):
        try:
            return check()
        except (AssertionError, ToolStall):
            if attempt == times - 1:
                raise
