"""All user settings in one typed place: an enum-keyed wrapper around QSettings."""

from __future__ import annotations

import enum
from typing import Any

from PySide6.QtCore import QSettings


class Key(enum.Enum):
    """Every persisted setting, with its default value."""

    WINDOW_GEOMETRY = ("window/geometry", b"")
    WINDOW_STATE = ("window/state", b"")
    CURRENT_PANEL = ("window/current_panel", "compose")
    RECENT_FILES = ("files/recent", [])
    LAST_DIRECTORY = ("files/last_directory", "")
    COMPOSE_MODEL = ("compose/model", "music-lstm")
    COMPOSE_TEMPERATURE = ("compose/temperature", 1.0)
    COMPOSE_LENGTH = ("compose/length_notes", 32)
    COMPOSE_TEMPO = ("compose/tempo_bpm", 100.0)
    COMPOSE_MIDI_OUT = ("compose/midi_out", "")
    COMPOSE_MIDI_IN = ("compose/midi_in", "")
    COMPOSE_JAM_SILENCE_BEATS = ("compose/jam_silence_beats", 4.0)
    COMPOSE_SNAP = ("compose/snap_beats", 0.25)
    COMPOSE_RECORD_QUANTISE = ("compose/record_quantise_beats", 0.0)
    COMPOSE_AUDITION = ("compose/audition", True)
    COMPOSE_JAM_ANSWER_NOTES = ("compose/jam_answer_notes", 16)
    SKETCH_MODEL = ("sketch/model", "vrnn")
    SKETCH_TEMPERATURE = ("sketch/temperature", 0.6)
    SKETCH_ENDINGS = ("sketch/endings", 4)
    DREAM_TEMPERATURE = ("dream/temperature", 1.0)

    @property
    def path(self) -> str:
        return self.value[0]

    @property
    def default(self) -> Any:
        return self.value[1]


MAX_RECENT = 10


class Settings:
    """Typed access to QSettings: ``settings.get(Key.X)`` returns the default's type."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._q = qsettings or QSettings("GDL Studio", "GDL Studio")

    def get(self, key: Key) -> Any:
        default = key.default
        value = self._q.value(key.path, default)
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

    def add_recent_file(self, path: str) -> list[str]:
        """Put ``path`` at the top of the recent files list; returns the list."""
        recent = [p for p in self.get(Key.RECENT_FILES) if p != path]
        recent.insert(0, path)
        recent = recent[:MAX_RECENT]
        self.set(Key.RECENT_FILES, recent)
        return recent

    def sync(self) -> None:
        self._q.sync()
