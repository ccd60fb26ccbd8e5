"""All user settings in one typed place: an enum-keyed wrapper around QSettings."""

from __future__ import annotations

import enum
from typing import Any

from PySide6.QtCore import QSettings

from gdl_studio.live import clock as _clock
from gdl_studio.live import instrument as _instrument


class Key(enum.Enum):
    """Every persisted setting, with its default value."""

    WINDOW_GEOMETRY = ("window/geometry", b"")
    WINDOW_STATE = ("window/state", b"")
    CURRENT_PANEL = ("window/current_panel", "compose")
    RECENT_FILES = ("files/recent", list[str]())
    LAST_DIRECTORY = ("files/last_directory", "")
    COMPOSE_MODEL = ("compose/model", "music-lstm")
    COMPOSE_TEMPERATURE = ("compose/temperature", 1.0)
    COMPOSE_VIEWS = ("compose/views", -1)  # the music model's transposition views; -1: its own
    COMPOSE_LENGTH = ("compose/length_notes", 32)
    COMPOSE_TEMPO = ("compose/tempo_bpm", 100.0)
    COMPOSE_MIDI_OUT = ("compose/midi_out", "")
    COMPOSE_MIDI_IN = ("compose/midi_in", "")
    COMPOSE_JAM_SILENCE_BEATS = ("compose/jam_silence_beats", 4.0)
    COMPOSE_SNAP = ("compose/snap_beats", 0.25)
    COMPOSE_RECORD_QUANTISE = ("compose/record_quantise_beats", 0.0)
    COMPOSE_AUDITION = ("compose/audition", True)
    COMPOSE_JAM_ANSWER_NOTES = ("compose/jam_answer_notes", 16)
    # steering (constrained sampling) of continue, fill and jam: "" / 0 = no constraint
    COMPOSE_STEER_ON = ("compose/steer/on", False)
    COMPOSE_STEER_TONIC = ("compose/steer/tonic", "")
    COMPOSE_STEER_MODE = ("compose/steer/mode", "major")
    COMPOSE_STEER_CHORDS = ("compose/steer/chords", "")
    COMPOSE_STEER_RANGE = ("compose/steer/range", "")
    COMPOSE_STEER_DENSITY = ("compose/steer/density", 0.0)
    COMPOSE_STEER_VOICES = ("compose/steer/voices", 0)
    SKETCH_MODEL = ("sketch/model", "vrnn")
    SKETCH_TEMPERATURE = ("sketch/temperature", 0.6)
    SKETCH_ENDINGS = ("sketch/endings", 4)
    DREAM_TEMPERATURE = ("dream/temperature", 1.0)
    DREAM_DRIVER = ("dream/driver", "")  # the driver last chosen in the Driver list; "": the panel's first driver
    # the built-in output's instrument and tempo sync: the names are the live layer's (one source)
    AUDIO_INSTRUMENT = (_instrument.SETTING_INSTRUMENT, "gm")
    AUDIO_SOUNDFONT = (_instrument.SETTING_SOUNDFONT, "")
    AUDIO_PROGRAMS = (_instrument.SETTING_PROGRAMS, [_instrument.DEFAULT_PROGRAM] * 16)  # one per track
    SYNC_MODE = (_clock.SETTING_SYNC_MODE, "internal")
    SYNC_CLOCK_IN = (_clock.SETTING_SYNC_CLOCK_IN, "")
    SYNC_CLOCK_OUT = (_clock.SETTING_SYNC_CLOCK_OUT, "")
    SYNC_ALIGN = (_clock.SETTING_SYNC_ALIGN, "song")

    @property
    def path(self) -> str:
        return self.value[0]

    @property
    def default(self) -> Any:
        return self.value[1]


MAX_RECENT = 10
_BY_PATH = {k.path: k for k in Key}


def key_of(path: str) -> Key:
    """The :class:`Key` stored under ``path`` (KeyError for a path that is not a key)."""
    return _BY_PATH[path]


class Settings:
    """Typed access to QSettings: ``settings.get(Key.X)`` returns the default's type."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._q = qsettings or QSettings("GDL Studio", "GDL Studio")

    def get(self, key: Key) -> Any:
        default = key.default
        value: Any = self._q.value(key.path, default)  # whatever QSettings stored: converted below
        if value is None:
            return default
        try:
            if isinstance(default, bool):
                return value in (True, "true", "1", 1)
            if isinstance(default, float):
                return float(value)
            if isinstance(default, int):
                return int(value)
            if isinstance(default, list):
                if isinstance(value, str):
                    return [value] if value else []
                return list(value)
            if isinstance(default, bytes):
                return bytes(value) if value else b""
            if isinstance(default, str):
                return str(value)
        except (TypeError, ValueError):
            return default
        return value

    def set(self, key: Key, value: Any) -> None:
        self._q.setValue(key.path, value)

    # the view-models of the live layer (gdl_studio.live.controls_model) read and write by path
    def get_path(self, path: str, _default: Any = None) -> Any:
        """``get`` by a key's path (``"audio/soundfont"``); only paths of :class:`Key`."""
        return self.get(key_of(path))

    def set_path(self, path: str, value: Any) -> None:
        self.set(key_of(path), value)

    def add_recent_file(self, path: str) -> list[str]:
        """Put ``path`` at the top of the recent files list; returns the list."""
        recent = [p for p in self.get(Key.RECENT_FILES) if p != path]
        recent.insert(0, path)
        recent = recent[:MAX_RECENT]
        self.set(Key.RECENT_FILES, recent)
        return recent

    def sync(self) -> None:
        self._q.sync()
