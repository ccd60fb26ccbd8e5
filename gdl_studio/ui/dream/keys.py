"""Keyboard driving: arrow keys or WASD held down → a CarRacing action, as in the World Models demo.

←/A steer left, →/D steer right, ↑/W gas, ↓/S brake. While any of them is held the person
drives; releasing all of them hands the wheel back to the controller (:meth:`DriveKeys.action`
returns None).
"""

from __future__ import annotations

from PySide6.QtCore import Qt

LEFT, RIGHT, GAS, BRAKE = "left", "right", "gas", "brake"
KEYMAP = {
    int(Qt.Key.Key_Left): LEFT,
    int(Qt.Key.Key_A): LEFT,
    int(Qt.Key.Key_Right): RIGHT,
    int(Qt.Key.Key_D): RIGHT,
    int(Qt.Key.Key_Up): GAS,
    int(Qt.Key.Key_W): GAS,
    int(Qt.Key.Key_Down): BRAKE,
    int(Qt.Key.Key_S): BRAKE,
}
GAS_VALUE = 1.0
BRAKE_VALUE = 0.8  # gymnasium's own keyboard demo brakes at 0.8


class DriveKeys:
    """The set of driving keys held down and the action they make."""

    def __init__(self) -> None:
        self._held: set[int] = set()

    @staticmethod
    def handles(key: int) -> bool:
        """Whether ``key`` (a Qt key code) is a driving key."""
        return int(key) in KEYMAP

    def press(self, key: int) -> bool:
        """Note ``key`` as held; returns whether it is a driving key."""
        if not self.handles(key):
            return False
        self._held.add(int(key))
        return True

    def release(self, key: int) -> bool:
        """Note ``key`` as released; returns whether it is a driving key."""
        if not self.handles(key):
            return False
        self._held.discard(int(key))
        return True

    def clear(self) -> None:
        """Forget every held key (focus lost, panel hidden)."""
        self._held.clear()

    @property
    def active(self) -> bool:
        return bool(self._held)

    def action(self) -> tuple[float, float, float] | None:
        """(steer, gas, brake) for the held keys, or None when none is held."""
        if not self._held:
            return None
        names = {KEYMAP[k] for k in self._held}
        steer = (1.0 if RIGHT in names else 0.0) - (1.0 if LEFT in names else 0.0)
        gas = GAS_VALUE if GAS in names else 0.0
        brake = BRAKE_VALUE if BRAKE in names else 0.0
        return (steer, gas, brake)
