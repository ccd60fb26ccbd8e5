"""MIDI output from a process of its own.

A Python process has one interpreter lock: while a model generates or the GUI paints, a
thread that must send a note at 12:00:00.000 may wait milliseconds for it. So the app sends
MIDI from a small child process (``python -m gdl_studio.live.midi_process``) that only holds
the port and a :class:`~gdl_studio.live.scheduler.MidiScheduler`: the app's scheduler hands it
each event some tens of milliseconds ahead with its absolute deadline (``perf_counter`` is
CLOCK_MONOTONIC on Linux, mach time on macOS and QueryPerformanceCounter on Windows: one clock
for all processes), and the child sends it on time.

:class:`ProcessMidiOutput` is the parent's handle: a *timed* sink for the scheduler. Commands
go to the child's stdin as JSON lines; the child answers ``ready``/errors on stdout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from gdl_studio.live.midi_ports import MidiUnavailable


class ProcessMidiOutput:
    """A MIDI output port opened and driven by a child process (a timed scheduler sink)."""

    timed = True

    def __init__(
        self,
        port: str | None = None,
        virtual: bool = False,
        on_error: Callable[[str], None] | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        if not virtual and not port:
            raise MidiUnavailable("no MIDI output port given")
        self.on_error = on_error or (lambda message: None)
        self.virtual = virtual
        self.closed = False
        self._lock = threading.Lock()
        cmd = [sys.executable, "-m", "gdl_studio.live.midi_process"] + (
            ["--virtual"] if virtual else ["--port", port or ""]
        )
        try:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                bufsize=1,
                env={**os.environ},
            )
        except OSError as exc:
            raise MidiUnavailable(f"cannot start the MIDI output process ({exc})") from None
        assert self._proc.stdin is not None and self._proc.stdout is not None  # both are pipes
        self._to, self._from = self._proc.stdin, self._proc.stdout
        ready = self._read_line(timeout_s)
        if ready is None or not ready.startswith("ready"):
            err = ""
            try:
                self._proc.kill()
                err = self._proc.communicate(timeout=2)[1] or ""
            except Exception:
                pass
            detail = (ready or "").strip() or err.strip().splitlines()[-1:] or ["no answer"]
            detail = detail if isinstance(detail, str) else detail[0]
            raise MidiUnavailable(detail.removeprefix("error ")) from None
        self.name = ready[len("ready ") :].strip() or (port or "")
        self._reader = threading.Thread(target=self._read_errors, name="gdl-midi-process-reader", daemon=True)
        self._reader.start()

    def _read_line(self, timeout_s: float) -> str | None:
        box: list[str] = []
        thread = threading.Thread(target=lambda: box.append(self._from.readline()), daemon=True)
        thread.start()
        thread.join(timeout_s)
        return box[0].strip() if box else None

    def _read_errors(self) -> None:
        for line in self._from:
            line = line.strip()
            if line.startswith("error "):
                self.on_error(line[len("error ") :])
        if not self.closed:
            self.on_error("the MIDI output process stopped")

    def _write(self, obj) -> None:
        if self.closed:
            raise MidiUnavailable(f"MIDI output '{self.name}' is closed")
        line = json.dumps(obj, separators=(",", ":")) + "\n"
        with self._lock:
            try:
                self._to.write(line)
                self._to.flush()
            except (OSError, ValueError) as exc:
                raise MidiUnavailable(f"the MIDI output process is gone ({exc})") from None

    # ---------------------------------------------------------------- sink API
    def post(self, t: float, data, tag: str = "") -> None:
        self._write(["p", t, list(data), tag])

    def post_many(self, events) -> None:
        self._write(["m", [[t, list(d), tag] for t, d, tag in events]])

    def send(self, data) -> None:
        self._write(["p", 0.0, list(data), ""])

    def cancel(self, tag: str) -> None:
        self._write(["c", tag])

    def all_notes_off(self) -> None:
        self._write(["o"])

    def panic(self) -> None:
        self._write(["x"])

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._write(["o"])
            self._write(["q"])
        except MidiUnavailable:
            pass
        self.closed = True
        try:
            self._to.close()
        except OSError:
            pass
        try:
            self._proc.wait(3)
        except subprocess.TimeoutExpired:
            self._proc.kill()

    def __repr__(self) -> str:
        return f"ProcessMidiOutput({self.name!r}, virtual={self.virtual})"


def use_jack_midi() -> bool:
    """Whether MIDI out goes through our own sample-accurate JACK client
    (:mod:`gdl_studio.live.jack_midi`): on the JACK API, with JACK-Client installed, unless
    ``GDL_STUDIO_JACK_MIDI=0``."""
    import os as _os

    if _os.environ.get("GDL_STUDIO_JACK_MIDI", "") == "0":
        return False
    from gdl_studio.live import jack_midi, midi_ports

    try:
        import rtmidi

        if midi_ports.midi_api() != rtmidi.API_UNIX_JACK:
            return False
    except (MidiUnavailable, ImportError):
        return False
    return jack_midi.available()


def _open_port(port: str | None, virtual: bool, on_error: Callable[[str], None] | None = None):
    """The port itself, in this process: a sample-accurate JACK client on JACK, else rtmidi."""
    if use_jack_midi():
        from gdl_studio.live.jack_midi import JackMidiOutput

        return JackMidiOutput(port, virtual=virtual, on_error=on_error)
    from gdl_studio.live.midi_ports import MidiOutput

    return MidiOutput(port, virtual)


def open_output(port: str | None = None, virtual: bool = False, on_error: Callable[[str], None] | None = None):
    """A MIDI output for the scheduler: in a child process where possible, else in-process."""
    if not getattr(sys, "frozen", False) and os.environ.get("GDL_STUDIO_MIDI_INPROCESS", "") in ("", "0"):
        try:
            return ProcessMidiOutput(port, virtual, on_error)
        except MidiUnavailable as exc:
            if "process" not in str(exc):
                raise  # the port itself is the problem
    return _open_port(port, virtual, on_error)


# -------------------------------------------------------------------------------- child side
def _child(argv: list[str]) -> int:
    import argparse

    from gdl_studio.live.scheduler import MidiScheduler, try_realtime_priority

    # A JACK process callback written in Python needs the interpreter lock: if a thread of this
    # process held it while the OS preempted it, the callback would wait (priority inversion).
    # So every thread here runs at real-time priority where allowed (they inherit it) and hands
    # the lock over every 0.5 ms.
    try_realtime_priority(20)
    sys.setswitchinterval(0.0005)
    parser = argparse.ArgumentParser(prog="gdl_studio.live.midi_process")
    parser.add_argument("--port")
    parser.add_argument("--virtual", action="store_true")
    args = parser.parse_args(argv)
    out_lock = threading.Lock()

    def say(text: str) -> None:
        with out_lock:
            print(text, flush=True)

    try:
        out = _open_port(args.port, args.virtual, on_error=lambda message: say(f"error {message}"))
    except MidiUnavailable as exc:
        say(f"error {exc}")
        return 1
    if getattr(out, "timed", False):  # the JACK client places events itself (sample-accurate)
        sched = out
    else:
        sched = MidiScheduler(out, on_error=lambda message: say(f"error {message}"), realtime=True).start()
    say(f"ready {out.name}")
    try:
        for line in sys.stdin:
            try:
                cmd = json.loads(line)
            except ValueError:
                continue
            op = cmd[0]
            if op == "p":
                t = cmd[1] or time.perf_counter()
                sched.post(t, tuple(cmd[2]), cmd[3])
            elif op == "m":
                for t, data, tag in cmd[1]:
                    sched.post(t, tuple(data), tag)
            elif op == "c":
                sched.cancel(cmd[1])
            elif op == "o":
                sched.all_notes_off()
            elif op == "x":
                sched.panic()
            elif op == "q":
                break
    finally:
        if sched is not out:
            sched.close()  # all notes off, then stop
        out.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
