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
from typing import Any

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
        client_name: str | None = None,
        port_name: str | None = None,
    ) -> None:
        if not virtual and not port:
            raise MidiUnavailable("no MIDI output port given")
        self.on_error = on_error or (lambda message: None)
        self.virtual = virtual
        self.closed = False
        self._lock = threading.Lock()
        self._proc, self.name = _start_child(_child_args(port, virtual, client_name, port_name), timeout_s)
        assert self._proc.stdin is not None and self._proc.stdout is not None  # both are pipes
        self._to, self._from = self._proc.stdin, self._proc.stdout
        self.name = self.name or (port or "")
        self._reader = threading.Thread(target=self._read_errors, name="gdl-midi-process-reader", daemon=True)
        self._reader.start()

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
        _stop_child(self._proc)

    def __repr__(self) -> str:
        return f"ProcessMidiOutput({self.name!r}, virtual={self.virtual})"


class ProcessMidiInput:
    """A JACK MIDI input (:class:`~gdl_studio.live.jack_midi.JackMidiInput`, stamped to the frame)
    opened in a child process; ``callback(data: bytes, t: float)`` runs on a reader thread here.

    Why a child: a JACK client whose process callback is Python cannot be closed safely in a
    process with other busy threads. jack2's deactivate cancels the client's real-time thread;
    cancelled while it waits for the interpreter lock, that thread leaves the lock's mutex held
    and every thread of the process hangs. In a child only the child can hang, and it is killed.
    """

    def __init__(
        self,
        callback: Callable[[bytes, float], None],
        port: str | None = None,
        virtual: bool = False,
        client_name: str | None = None,
        port_name: str | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        if not virtual and not port:
            raise MidiUnavailable("no MIDI input port given")
        self._callback = callback
        self.closed = False
        args = ["--input", *_child_args(port, virtual, client_name, port_name)]
        self._proc, name = _start_child(args, timeout_s)
        self.name = name or (port or "")
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._to, self._from = self._proc.stdin, self._proc.stdout
        self._reader = threading.Thread(target=self._read, name="gdl-midi-process-input", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._from:
            kind, _, rest = line.strip().partition(" ")
            if kind == "i":
                t, _, data = rest.partition(" ")
                try:
                    self._callback(bytes.fromhex(data), float(t))
                except Exception:
                    import traceback

                    traceback.print_exc(file=sys.stderr)
            elif kind == "error":
                print(f"MIDI input '{self.name}': {rest}", file=sys.stderr)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        _stop_child(self._proc)  # its stdin closes: the child closes its port and ends
        self._reader.join(1.0)

    def __repr__(self) -> str:
        return f"ProcessMidiInput({self.name!r})"


def _child_args(port: str | None, virtual: bool, client_name: str | None, port_name: str | None) -> list[str]:
    args = ["--virtual"] if virtual else ["--port", port or ""]
    if client_name:
        args += ["--client-name", client_name]
    if port_name:
        args += ["--port-name", port_name]
    return args


def _start_child(args: list[str], timeout_s: float) -> tuple[subprocess.Popen, str]:
    """Start ``python -m gdl_studio.live.midi_process ARGS`` and wait for its ``ready NAME`` line;
    returns the process and NAME, or raises :class:`MidiUnavailable` with the child's reason."""
    cmd = [sys.executable, "-m", "gdl_studio.live.midi_process", *args]
    try:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            env={**os.environ},
        )
    except OSError as exc:
        raise MidiUnavailable(f"cannot start the MIDI process ({exc})") from None
    assert proc.stdout is not None
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    ready = box[0].strip() if box else None
    if ready is None or not ready.startswith("ready"):
        err = ""
        try:
            proc.kill()
            err = proc.communicate(timeout=2)[1] or ""
        except Exception:
            pass
        detail = (ready or "").strip() or err.strip().splitlines()[-1:] or ["no answer"]
        detail = detail if isinstance(detail, str) else detail[0]
        raise MidiUnavailable(detail.removeprefix("error ")) from None
    return proc, ready[len("ready ") :].strip()


def _stop_child(proc: subprocess.Popen) -> None:
    """Close the child's stdin (it ends its loop and closes its port), wait, kill if it hangs."""
    try:
        if proc.stdin is not None:
            proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(2)


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


def _open_port(
    port: str | None,
    virtual: bool,
    on_error: Callable[[str], None] | None = None,
    client_name: str | None = None,
    port_name: str | None = None,
):
    """The port itself, in this process: a sample-accurate JACK client on JACK, else rtmidi.
    ``client_name``/``port_name``: a JACK port of its own (needs JACK-Client and a JACK server,
    whichever API the other MIDI ports use)."""
    own = bool(client_name or port_name)
    if own or use_jack_midi():
        from gdl_studio.live import jack_midi
        from gdl_studio.live.midi_names import CLIENT_OUT, VIRTUAL_PORT_NAME

        if own and not jack_midi.available():
            raise MidiUnavailable("a MIDI port of its own needs JACK (JACK-Client and libjack)")
        return jack_midi.JackMidiOutput(
            port,
            virtual=virtual,
            on_error=on_error,
            client_name=client_name or CLIENT_OUT,
            port_name=port_name or VIRTUAL_PORT_NAME,
        )
    from gdl_studio.live.midi_ports import MidiOutput

    return MidiOutput(port, virtual)


def _child_or_here(in_child: Callable[[], Any], here: Callable[[], Any]):
    """``in_child()`` (a port in a child process) unless the app is frozen or
    ``GDL_STUDIO_MIDI_INPROCESS`` is set; ``here()`` (in this process) then, or when the child
    process itself cannot start — not when the port is the problem."""
    if not getattr(sys, "frozen", False) and os.environ.get("GDL_STUDIO_MIDI_INPROCESS", "") in ("", "0"):
        try:
            return in_child()
        except MidiUnavailable as exc:
            if "process" not in str(exc):
                raise
    return here()


def open_output(
    port: str | None = None,
    virtual: bool = False,
    on_error: Callable[[str], None] | None = None,
    client_name: str | None = None,
    port_name: str | None = None,
):
    """A MIDI output for the scheduler: in a child process where possible, else in-process.
    ``client_name``/``port_name`` name a JACK port of its own (e.g. the master clock's)."""
    return _child_or_here(
        lambda: ProcessMidiOutput(port, virtual, on_error, client_name=client_name, port_name=port_name),
        lambda: _open_port(port, virtual, on_error, client_name, port_name),
    )


def open_clock_input(callback: Callable[[bytes, float], None], port: str | None = None, virtual: bool = False):
    """An input for MIDI clock, ``callback(data, t)``: on JACK our own client stamps each message
    to its frame (in a child process, see :class:`ProcessMidiInput`), else rtmidi in-process."""
    from gdl_studio.live import midi_ports
    from gdl_studio.live.midi_names import CLIENT_IN

    if use_jack_midi():
        from gdl_studio.live import jack_midi

        name = f"{CLIENT_IN} clock"
        return _child_or_here(
            lambda: ProcessMidiInput(callback, port, virtual, client_name=name),
            lambda: jack_midi.JackMidiInput(callback, port, virtual=virtual, client_name=name),
        )
    return midi_ports.RawMidiInput(callback, port, virtual)


# -------------------------------------------------------------------------------- child side
def _child(argv: list[str]) -> int:
    import argparse

    from gdl_studio.live.scheduler import MidiScheduler, try_realtime_priority

    parser = argparse.ArgumentParser(prog="gdl_studio.live.midi_process")
    parser.add_argument("--port")
    parser.add_argument("--virtual", action="store_true")
    parser.add_argument("--input", action="store_true", help="a clock input: print 'i T HEX' per message")
    parser.add_argument("--client-name")
    parser.add_argument("--port-name")
    args = parser.parse_args(argv)
    out_lock = threading.Lock()

    def say(text: str) -> None:
        with out_lock:
            print(text, flush=True)

    if args.input:
        # no real-time priority here: the stamps come from JACK's frame clock, and raised threads
        # of a client on a server that is not real-time itself starve it (on the dummy driver its
        # frame clock then fell 30–70 ms behind perf_counter for the first second)
        return _child_input(args, say)
    # A JACK process callback written in Python needs the interpreter lock: if a thread of this
    # process held it while the OS preempted it, the callback would wait (priority inversion).
    # So every thread here runs at real-time priority where allowed (they inherit it) and hands
    # the lock over every 0.5 ms.
    try_realtime_priority(20)
    sys.setswitchinterval(0.0005)
    try:
        out = _open_port(
            args.port, args.virtual, lambda message: say(f"error {message}"), args.client_name, args.port_name
        )
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


def _child_input(args, say: Callable[[str], None]) -> int:
    """The child of :class:`ProcessMidiInput`: a JACK MIDI input printing ``i T HEX`` lines until
    stdin ends."""
    from gdl_studio.live import jack_midi
    from gdl_studio.live.midi_names import CLIENT_IN

    try:
        inp = jack_midi.JackMidiInput(
            lambda data, t: say(f"i {t!r} {data.hex()}"),
            args.port,
            virtual=args.virtual,
            client_name=args.client_name or CLIENT_IN,
            port_name=args.port_name or "clock in",
        )
    except MidiUnavailable as exc:
        say(f"error {exc}")
        return 1
    say(f"ready {inp.name}")
    try:
        for _line in sys.stdin:  # until the parent closes our stdin
            pass
    finally:
        inp.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(sys.argv[1:]))
