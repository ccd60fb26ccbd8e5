"""File → Export audio…: the piece (and a pending continuation) rendered offline to WAV or FLAC
with the instrument chosen in the "Sound" group (:func:`gdl_studio.live.render.render_notes`).

The rendering runs on a plain worker thread that never touches a widget: it reports progress and
its end through queued Qt signals; Cancel sets an event the renderer polls between events. The
result's message (e.g. the additive synth rendered because no SoundFont was found) and warnings
(e.g. a program the SoundFont lacks) go to the status line.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QProgressDialog, QWidget

from gdl_studio.core.errors import UserError
from gdl_studio.live.render import RenderResult, render_notes
from gdl_studio.ui.compose.document import RollDocument
from gdl_studio.ui.compose.pianoroll import PianoRoll
from gdl_studio.ui.compose.session import ComposeSession
from gdl_studio.ui.settings import Key, Settings

AUDIO_FILTER = "WAV audio (*.wav);;FLAC audio (*.flac)"


def describe(result: RenderResult) -> str:
    """One line for the status bar."""
    text = (
        f"Exported {Path(result.path).name}: {result.seconds:.1f} s with {result.instrument}, "
        f"{result.realtime_factor:.0f}× real time"
    )
    extra = [result.message] if result.message else []
    extra += result.warnings
    return text + (" — " + "; ".join(extra) if extra else "")


class ExportHost(Protocol):
    """What the export needs of the Compose panel (a protocol: the panel imports this module)."""

    doc: RollDocument
    roll: PianoRoll
    session: ComposeSession
    settings: Settings

    def _message(self, text: str) -> None: ...


class AudioExport(QObject):
    """Export audio of one Compose panel. ``finished(result_or_None, message)``: after every
    export (None when it failed or was cancelled)."""

    progress = Signal(float)
    finished = Signal(object, str)

    def __init__(self, panel: ExportHost, widget: QWidget) -> None:
        super().__init__(widget)
        self.p = panel
        self._widget = widget  # the panel again: parent of this object and of its dialogs
        self._worker: threading.Thread | None = None  # (not ``thread``: that is QObject.thread())
        self.cancel_event = threading.Event()
        self.dialog: QProgressDialog | None = None
        self.finished.connect(self._on_finished)
        self.progress.connect(self._on_progress)

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def ask(self) -> None:
        """The menu's File → Export audio…: choose a file, then export."""
        p = self.p
        stem = p.doc.title or (Path(p.doc.path).stem if p.doc.path else "gdl-studio")
        folder = p.settings.get(Key.LAST_DIRECTORY) or str(Path.home())
        path, chosen = QFileDialog.getSaveFileName(
            self._widget, "Export audio", str(Path(folder) / f"{stem}.wav"), AUDIO_FILTER
        )
        if not path:
            return
        if Path(path).suffix.lower() not in (".wav", ".flac"):
            path += ".flac" if "FLAC" in chosen else ".wav"
        self.export(path)

    def export(self, path: str, show_progress: bool = True) -> bool:
        """Start rendering to ``path`` (.wav/.flac); False (with a message) if there is nothing to
        render or an export runs."""
        p = self.p
        if self.running:
            p._message("An audio export is already running")
            return False
        notes = [n for _i, n in p.doc.sorted_items()] + list(p.roll.pending)
        if not notes:
            p._message("Nothing to export: the piece has no notes")
            return False
        kwargs = p.session.instrument.render_kwargs()
        tempo = p.doc.tempo_bpm
        self.cancel_event = threading.Event()
        cancel = self.cancel_event

        def work() -> None:  # on the worker thread: no widgets, only signals
            try:
                result = render_notes(
                    notes, tempo, path, on_progress=self.progress.emit, cancelled=cancel.is_set, **kwargs
                )
            except UserError as exc:
                self.finished.emit(None, str(exc))
            except Exception as exc:  # never lose the worker's error
                self.finished.emit(None, f"audio export failed: {type(exc).__name__}: {exc}")
            else:
                self.finished.emit(result, describe(result))

        if show_progress:
            self.dialog = QProgressDialog(f"Rendering {Path(path).name}…", "Cancel", 0, 1000, self._widget)
            self.dialog.setWindowTitle("Export audio")
            self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
            self.dialog.setMinimumDuration(300)
            self.dialog.canceled.connect(self.cancel)
        self._worker = threading.Thread(target=work, name="gdl-export-audio", daemon=True)
        self._worker.start()
        p._message(f"Rendering {Path(path).name}…")
        return True

    def cancel(self) -> None:
        self.cancel_event.set()

    def _on_progress(self, fraction: float) -> None:
        if self.dialog is not None:
            self.dialog.setValue(int(fraction * 1000))

    def _on_finished(self, result, message: str) -> None:
        if self.dialog is not None:
            self.dialog.canceled.disconnect(self.cancel)
            self.dialog.close()
            self.dialog.deleteLater()
            self.dialog = None
        if result is not None:
            self.p.settings.set(Key.LAST_DIRECTORY, str(Path(result.path).parent))
        self.p._message(message)
