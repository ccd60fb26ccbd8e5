"""MIDI ports through python-rtmidi (mido parses and builds the messages).

* :func:`midi_api` picks the rtmidi API: ``GDL_STUDIO_MIDI_API`` (``jack``, ``alsa``,
  ``coremidi``, ``winmm``) if set, else the platform's default, else JACK when a JACK server
  runs (e.g. a Linux box without the ALSA sequencer).
* :class:`PortLister` lists the other programs' ports live (it keeps one rtmidi object per
  direction, so listing every second creates no new clients).
* :class:`MidiOutput` / :class:`MidiInput` open a port by name, or a virtual port named
  :data:`VIRTUAL_PORT_NAME` where the platform supports it (not on Windows).

All our own ports belong to clients whose names start with "GDL Studio", and the listers
leave them out, so the app never offers to send to itself.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from typing import Any

# the names and the error are shared with jack_midi (re-exported here for the callers of this module)
from gdl_studio.live.midi_names import CLIENT_IN, CLIENT_OUT, OWN_PREFIX, VIRTUAL_PORT_NAME, MidiUnavailable

_API_ALIASES = {
    "jack": "UNIX_JACK",
    "unix_jack": "UNIX_JACK",
    "alsa": "LINUX_ALSA",
    "linux_alsa": "LINUX_ALSA",
    "coremidi": "MACOSX_CORE",
    "core": "MACOSX_CORE",
    "macosx_core": "MACOSX_CORE",
    "winmm": "WINDOWS_MM",
    "windows_mm": "WINDOWS_MM",
    "dummy": "RTMIDI_DUMMY",
}


# the end of the message when no MIDI system is found (true only while the built-in synth sounds)
MIDI_ADVICE = "The built-in synth still plays."


def supports_virtual_ports() -> bool:
    """Whether virtual ports exist on this platform (Windows' MIDI API has none)."""
    return not sys.platform.startswith("win")


VIRTUAL_UNSUPPORTED_MESSAGE = (
    "Virtual MIDI ports are not available on Windows: install a loopback driver such as "
    "loopMIDI and choose its port instead."
)


@contextmanager
def _quiet_stderr():
    """Silence C-level stderr (ALSA prints errors when its sequencer is missing)."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, ValueError, OSError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


_api_lock = threading.Lock()
_api_cache: dict[str, int] = {}


def _rtmidi():
    try:
        import rtmidi
    except ImportError as exc:  # pragma: no cover - a dependency of the app
        raise MidiUnavailable(f"python-rtmidi is not installed ({exc})") from None
    return rtmidi


def _try_api(api: int) -> bool:
    rtmidi = _rtmidi()
    try:
        with _quiet_stderr():
            probe = rtmidi.MidiOut(rtapi=api)
            probe.get_port_count()
            probe.delete()
        return True
    except Exception:
        return False


def midi_api(refresh: bool = False) -> int:
    """The rtmidi API constant to use; raises :class:`MidiUnavailable` if none works."""
    rtmidi = _rtmidi()
    with _api_lock:
        if not refresh and "api" in _api_cache:
            return _api_cache["api"]
        wanted = os.environ.get("GDL_STUDIO_MIDI_API", "").strip().lower()
        compiled = rtmidi.get_compiled_api()
        if wanted:
            name = _API_ALIASES.get(wanted, wanted.upper())
            api = getattr(rtmidi, f"API_{name}", None)
            if api is None or api not in compiled:
                raise MidiUnavailable(f"MIDI API '{wanted}' is not available in this python-rtmidi build")
            candidates = [api]
        else:
            candidates = [a for a in compiled if a not in (rtmidi.API_RTMIDI_DUMMY, rtmidi.API_WEB_MIDI)]
        for api in candidates:
            if _try_api(api):
                _api_cache["api"] = api
                return api
        raise MidiUnavailable(
            f"No MIDI system found (no ALSA sequencer, CoreMIDI, Windows MIDI or JACK server). {MIDI_ADVICE}"
        )


def reset_api() -> None:
    """Forget the chosen API (after ``GDL_STUDIO_MIDI_API`` changed, or a server started)."""
    with _api_lock:
        _api_cache.clear()


def api_name(api: int | None = None) -> str:
    """Display name of an rtmidi API ("ALSA", "Jack", …)."""
    rtmidi = _rtmidi()
    try:
        return rtmidi.get_api_display_name(midi_api() if api is None else api)
    except MidiUnavailable:
        return "none"


def is_own_port(name: str) -> bool:
    """Whether ``name`` is one of this app's own ports (never offered as a choice)."""
    return name.startswith(OWN_PREFIX)


class PortLister:
    """Lists other programs' MIDI ports; cheap enough to call every second."""

    def __init__(self) -> None:
        self._out: Any = None  # rtmidi.MidiOut (rtmidi has no type information)
        self._in: Any = None  # rtmidi.MidiIn
        self._api: int | None = None
        self.error = ""

    def _ensure(self) -> bool:
        rtmidi = _rtmidi()
        if self._out is not None:
            return True
        try:
            api = midi_api()
            with _quiet_stderr():
                self._out = rtmidi.MidiOut(rtapi=api, name=f"{OWN_PREFIX} lister")
                self._in = rtmidi.MidiIn(rtapi=api, name=f"{OWN_PREFIX} lister")
            self._api = api
            self.error = ""
            return True
        except (MidiUnavailable, Exception) as exc:  # rtmidi raises its own SystemError
            self._out = self._in = None
            self.error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return False

    def outputs(self) -> list[str]:
        """Names of ports we can send to."""
        if not self._ensure():
            return []
        try:
            return [p for p in self._out.get_ports() if not is_own_port(p)]
        except Exception as exc:
            self.error = str(exc)
            self.close()
            return []

    def inputs(self) -> list[str]:
        """Names of ports we can receive from."""
        if not self._ensure():
            return []
        try:
            return [p for p in self._in.get_ports() if not is_own_port(p)]
        except Exception as exc:
            self.error = str(exc)
            self.close()
            return []

    def close(self) -> None:
        for obj in (self._out, self._in):
            if obj is not None:
                try:
                    obj.delete()
                except Exception:
                    pass
        self._out = self._in = None


def _open(kind: str, port: str | None, virtual: bool):
    rtmidi = _rtmidi()
    api = midi_api()
    client = CLIENT_OUT if kind == "out" else CLIENT_IN
    try:
        with _quiet_stderr():
            obj = rtmidi.MidiOut(rtapi=api, name=client) if kind == "out" else rtmidi.MidiIn(rtapi=api, name=client)
    except Exception as exc:
        raise MidiUnavailable(f"cannot start MIDI ({exc})") from None
    try:
        if virtual:
            if not supports_virtual_ports():
                raise MidiUnavailable(VIRTUAL_UNSUPPORTED_MESSAGE)
            obj.open_virtual_port(VIRTUAL_PORT_NAME)
            return obj, VIRTUAL_PORT_NAME
        names = obj.get_ports()
        if port not in names:
            raise MidiUnavailable(f"MIDI port '{port}' is not available")
        obj.open_port(names.index(port), "out" if kind == "out" else "in")
        return obj, port
    except MidiUnavailable:
        obj.delete()
        raise
    except Exception as exc:
        obj.delete()
        raise MidiUnavailable(f"cannot open MIDI port '{port or VIRTUAL_PORT_NAME}' ({exc})") from None


class MidiOutput:
    """An open MIDI output: a port of another program, or our virtual port.

    :meth:`send` takes raw bytes (a tuple/list of ints); it raises :class:`MidiUnavailable`
    if the port broke. Thread-safe enough for one sending thread (the scheduler).
    """

    def __init__(self, port: str | None = None, virtual: bool = False) -> None:
        if not virtual and not port:
            raise MidiUnavailable("no MIDI output port given")
        self._rt, self.name = _open("out", port, virtual)
        self.virtual = virtual
        self.closed = False

    def send(self, data) -> None:
        if self.closed:
            raise MidiUnavailable(f"MIDI output '{self.name}' is closed")
        try:
            self._rt.send_message(data)
        except Exception as exc:
            raise MidiUnavailable(f"MIDI output '{self.name}' failed ({exc})") from None

    def send_message(self, msg) -> None:
        """Send a ``mido.Message``."""
        self.send(msg.bytes())

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._rt.close_port()
            self._rt.delete()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"MidiOutput({self.name!r}, virtual={self.virtual})"


class MidiInput:
    """An open MIDI input that calls ``callback(message, t)`` for every channel message.

    ``message`` is a ``mido.Message`` and ``t`` the ``perf_counter`` time it arrived. The
    callback runs on rtmidi's thread: keep it short (append to a list, set a flag).
    """

    def __init__(self, callback: Callable, port: str | None = None, virtual: bool = False) -> None:
        if not virtual and not port:
            raise MidiUnavailable("no MIDI input port given")
        self._callback = callback
        self._rt, self.name = _open("in", port, virtual)
        self.virtual = virtual
        self.closed = False
        self._rt.ignore_types(sysex=True, timing=True, active_sense=True)
        self._rt.set_callback(self._on_message)

    def _on_message(self, event, _data=None) -> None:
        t = time.perf_counter()
        import mido

        try:
            msg = mido.Message.from_bytes(event[0])
        except (ValueError, IndexError):
            return
        try:
            self._callback(msg, t)
        except Exception:  # never let an exception escape into rtmidi's thread
            import traceback

            traceback.print_exc()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._rt.cancel_callback()
            self._rt.close_port()
            self._rt.delete()
        except Exception:
            pass

    def __repr__(self) -> str:
        return f"MidiInput({self.name!r}, virtual={self.virtual})"


class RawMidiInput:
    """An open MIDI input passing raw bytes *including* timing clock and transport messages:
    ``callback(data: bytes, t)`` with ``t`` the ``perf_counter`` time of arrival (rtmidi's thread).
    For a clock follower on ALSA, CoreMIDI and Windows (on JACK see
    :class:`gdl_studio.live.jack_midi.JackMidiInput`, which stamps to the frame)."""

    def __init__(self, callback: Callable, port: str | None = None, virtual: bool = False) -> None:
        if not virtual and not port:
            raise MidiUnavailable("no MIDI input port given")
        self._callback = callback
        self._rt, self.name = _open("in", port, virtual)
        self.virtual = virtual
        self.closed = False
        self._rt.ignore_types(sysex=True, timing=False, active_sense=True)
        self._rt.set_callback(self._on_message)

    def _on_message(self, event, _data=None) -> None:
        t = time.perf_counter()
        try:
            self._callback(bytes(event[0]), t)
        except Exception:  # never let an exception escape into rtmidi's thread
            import traceback

            traceback.print_exc()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._rt.cancel_callback()
            self._rt.close_port()
            self._rt.delete()
        except Exception:
            pass
