"""What every panel offers the main window: files, undo, the active model, status text."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QVBoxLayout, QWidget

from gdl_studio.engine.worker import Engine
from gdl_studio.ui.settings import Settings


class Panel(QWidget):
    """Base class of a panel.

    Subclasses build their content in ``build()`` and override the file hooks they support.
    Engine results for this panel arrive in :meth:`on_result` only while their request is
    still the newest one of the panel.
    """

    panel_id = "panel"
    title = "Panel"
    icon_name = ""

    status_message = Signal(str)
    model_changed = Signal(str)

    def __init__(self, engine: Engine, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.engine = engine
        self.settings = settings
        self.undo_stack = QUndoStack(self)
        self._content = QWidget(self)
        vbox(self).addWidget(self._content)
        engine.result.connect(self._route_result)
        engine.finished.connect(self._route_finished)
        engine.error.connect(self._route_error)

    # ---------------------------------------------------------------- for subclasses
    @property
    def content(self) -> QWidget:
        """The widget subclasses lay out their UI in."""
        return self._content

    def active_model(self) -> str:
        """Name of the model this panel currently uses (for the status bar)."""
        return ""

    def open_filters(self) -> str:
        """File dialog filter for File → Open on this panel ('' if the panel opens nothing)."""
        return ""

    def open_path(self, path: str) -> None:
        """Open ``path``; raise ``UserError`` with a one-line message on bad input."""
        raise NotImplementedError

    def save_filters(self) -> str:
        """File dialog filter for File → Save/Export ('' if nothing to save)."""
        return ""

    def save_path(self, path: str) -> None:
        """Save the panel's document to ``path`` (atomically)."""
        raise NotImplementedError

    def on_result(self, request_id: int, item: object) -> None:
        """A streamed result of one of this panel's current requests."""

    def on_finished(self, info) -> None:
        """A request of this panel finished (``info`` is an ``engine.JobFinished``)."""

    def on_error(self, info) -> None:
        """A request of this panel failed (``info`` is an ``engine.JobError``)."""
        self.status_message.emit(info.message)

    def shutdown(self) -> None:
        """Stop audio, MIDI and timers (called when the window closes)."""

    # ---------------------------------------------------------------- routing
    def _route_result(self, panel: str, request_id: int, item: object) -> None:
        if panel == self.panel_id and self.engine.is_latest(panel, request_id):
            self.on_result(request_id, item)

    def _route_finished(self, info) -> None:
        if info.panel == self.panel_id:
            self.on_finished(info)

    def _route_error(self, info) -> None:
        if info.panel == self.panel_id:
            self.on_error(info)


def vbox(widget: QWidget, margins: int = 0, spacing: int = 6) -> QVBoxLayout:
    """A vertical layout set on ``widget``."""
    layout = QVBoxLayout(widget)
    layout.setContentsMargins(margins, margins, margins, margins)
    layout.setSpacing(spacing)
    return layout
