"""Driving the car from the keyboard in the Dream panel: an application-wide event filter that
turns the arrow keys / WASD into the person's action while the panel is seen, lets go of the
wheel when the window loses the focus, and pauses the episode while the window is minimised."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QTextEdit, QWidget

from gdl_studio.ui.dream.keys import DriveKeys
from gdl_studio.ui.panel import Panel


def focus_in_text_input() -> bool:
    """Whether the keyboard focus is in a control that takes typed keys (then they do not drive)."""
    focus = QApplication.focusWidget()
    return isinstance(focus, (QAbstractSpinBox, QLineEdit, QTextEdit, QComboBox))


class KeyDriving(QObject):
    """The event filter of one Dream panel (``panel``: the DreamPanel that owns it)."""

    def __init__(self, panel: Panel) -> None:
        super().__init__(panel)
        self.p = panel
        self.installed = False

    def install(self) -> None:
        app = QApplication.instance()
        if app is not None and not self.installed:
            app.installEventFilter(self)
            self.installed = True

    def remove(self) -> None:
        app = QApplication.instance()
        if app is not None and self.installed:
            app.removeEventFilter(self)
        self.installed = False

    def _accepts_keys(self, obj: QObject) -> bool:
        p = self.p
        if not isinstance(obj, QWidget) or not p.isVisible() or p.session.problem is not None:
            return False
        if obj.window() is not p.window():
            return False
        return not focus_in_text_input()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        p = self.p
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            key = event.key()
            if not DriveKeys.handles(key) or not self._accepts_keys(obj):
                return False
            if kind == QEvent.Type.KeyPress:
                mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
                if mods != Qt.KeyboardModifier.NoModifier and mods != Qt.KeyboardModifier.ShiftModifier:
                    return False  # Ctrl+S and friends are shortcuts, not driving
                if not event.isAutoRepeat():
                    p.keys.press(key)
                    p._apply_keys()
            elif not event.isAutoRepeat():
                p.keys.release(key)
                p._apply_keys()
            return True
        if kind == QEvent.Type.WindowDeactivate and obj is p.window():
            p.release_keys()
        elif kind == QEvent.Type.WindowStateChange and obj is p.window():
            if p.window().isMinimized():
                p._pause_unseen()
            elif p.isVisible():
                p._resume_seen()
        return False
