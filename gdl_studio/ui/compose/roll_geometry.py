"""The piano roll's geometry and colours: zoom and scroll in beats and keys, pitch names, and the
colours notes are drawn in (shared by the roll's parts)."""

from __future__ import annotations

import math

from PySide6.QtGui import QColor

from gdl_studio.ui import theme

NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
BLACK_KEYS = {1, 3, 6, 8, 10}
KEYBOARD_W = 58
RULER_H = 26
VELOCITY_H = 70
ROW_BLACK = QColor(theme.ROLL_ROW_BLACK)
ROW_WHITE = QColor(theme.ROLL_ROW_WHITE)
LOOP_FILL = theme.with_alpha(theme.ACCENT, 38)
PLAYHEAD = QColor(theme.HIGHLIGHT)
CURSOR = QColor(theme.GOOD)


def pitch_name(pitch: int) -> str:
    """``60`` → ``"C4"``."""
    return f"{NAMES[pitch % 12]}{pitch // 12 - 1}"


def velocity_colour(base: QColor, velocity: int) -> QColor:
    """The track colour shaded by velocity (soft notes darker and greyer)."""
    h, s, v = base.hsvHueF(), base.hsvSaturationF(), base.valueF()
    k = max(0.0, min(1.0, velocity / 127.0))
    return QColor.fromHsvF(max(h, 0.0), s * (0.55 + 0.45 * k), v * (0.42 + 0.58 * k), 1.0)


def track_colour(track: int) -> QColor:
    return theme.TRACK_COLOURS[track % len(theme.TRACK_COLOURS)]


class RollGeometry:
    """Zoom and scroll: pixels per beat, key height, the beat at the left edge and the pixel
    offset of the top row (pitch 127)."""

    def __init__(self) -> None:
        self.px_per_beat = 36.0
        self.key_h = 11.0
        self.x0 = 0.0
        self.y0 = 0.0

    def x_of(self, beat: float) -> float:
        return (beat - self.x0) * self.px_per_beat

    def beat_at(self, x: float) -> float:
        return x / self.px_per_beat + self.x0

    def y_of(self, pitch: int) -> float:
        """Top of the row of ``pitch``."""
        return (127 - pitch) * self.key_h - self.y0

    def pitch_at(self, y: float) -> int:
        return 127 - int(math.floor((y + self.y0) / self.key_h))

    @property
    def total_height(self) -> float:
        return 128 * self.key_h
