"""The "Drag .mid" button: drag the piece out as a MIDI file, e.g. into a DAW or a file manager."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QToolButton, QWidget

from gdl_studio.ui.compose import glyphs


class DragOutButton(QToolButton):
    """Drag this out: ``export()`` writes the file to drag (None: nothing to drag)."""

    def __init__(self, export: Callable[[], Path | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._export = export
        self._press: QPoint | None = None
        self.setText("Drag .mid")
        self.setIcon(glyphs.midi_file())
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setToolTip("Drag the piece (with a pending continuation) out as a MIDI file, e.g. into a DAW")

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is None or (event.position().toPoint() - self._press).manhattanLength() < 6:
            return
        self._press = None
        path = self._export()
        if path is None:
            return
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(self.icon().pixmap(32, 32))
        drag.exec(Qt.DropAction.CopyAction)
        self.setDown(False)
