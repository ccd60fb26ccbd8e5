"""The Sketch panel's "My set" group: the person's own drawings, which a fine-tune learns from
(:mod:`gdl_studio.ink.personal_set`): add the drawing on the canvas, import SVG files, and say how
many there are (Fine-tune on my set… needs a few)."""

from __future__ import annotations

import os
from typing import Protocol

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QLabel, QPushButton, QWidget

from gdl_studio.core.errors import UserError
from gdl_studio.ui.settings import Key, Settings
from gdl_studio.ui.sketch.drawing import SketchDocument


def kanjivg_folder() -> str:
    """The installed KanjiVG files' folder ('' if the package is missing): a place to start."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("kanji")
    except (ImportError, ValueError):
        return ""
    locations = list(spec.submodule_search_locations or []) if spec else []
    return locations[0] if locations else ""


class SetHost(Protocol):
    """What the "My set" group needs of the Sketch panel (a protocol: the panel imports this module)."""

    settings: Settings
    document: SketchDocument
    add_to_set_button: QPushButton
    import_set_button: QPushButton
    set_label: QLabel
    finetune_button: QPushButton

    def _say(self, text: str, kind: str = "info") -> None: ...


class MySet(QObject):
    """The "My set" buttons of one Sketch panel (``panel``: the SketchPanel that owns it, and
    ``widget`` the same panel as the parent of this object and of the file dialog)."""

    def __init__(self, panel: SetHost, widget: QWidget) -> None:
        super().__init__(widget)
        self.p = panel
        self._widget = widget
        panel.add_to_set_button.clicked.connect(self.add_drawing)
        panel.import_set_button.clicked.connect(self.import_dialog)

    @staticmethod
    def count() -> int:
        from gdl_studio.ink import personal_set

        return personal_set.count()

    def refresh(self) -> None:
        """Update the personal set's count (and what the set buttons allow)."""
        from gdl_studio.ink import personal_set

        try:
            n = personal_set.count()
        except OSError:
            n = 0
        need = personal_set.MIN_DRAWINGS
        text = f"{n} drawing{'s' if n != 1 else ''} in your set"
        if n < need:
            text += f" (add {need - n} more to fine-tune)"
        self.p.set_label.setText(text)
        self.p.finetune_button.setEnabled(n >= need)
        self.p.finetune_button.setToolTip(
            "Adapt a model to your drawings (runs in the Training dock)"
            if n >= need
            else f"Fine-tuning needs at least {need} drawings in your set"
        )

    def add_drawing(self) -> None:
        """Save the drawing on the canvas into the personal set."""
        from gdl_studio.ink import personal_set

        if self.p.document.is_blank():
            self.p._say("Nothing to add: the canvas is blank.", "error")
            return
        try:
            personal_set.add(self.p.document.arrays())
        except (UserError, OSError) as exc:
            self.p._say(f"Could not add the drawing to your set: {exc}", "error")
            return
        self.refresh()
        self.p._say(f"Added to your set ({self.count()} drawings).")

    def import_files(self, paths: list[str]) -> int:
        """Import SVG files or folders into the personal set; returns how many were added."""
        from gdl_studio.ink import personal_set

        try:
            added, errors = personal_set.import_svgs(paths)
        except (UserError, OSError) as exc:
            self.p._say(f"Import failed: {exc}", "error")
            return 0
        self.refresh()
        text = f"Imported {len(added)} drawing{'s' if len(added) != 1 else ''} into your set ({self.count()} in all)."
        if errors:
            text += f" Skipped {len(errors)}: {errors[0]}" + (" …" if len(errors) > 1 else "")
        self.p._say(text, "error" if errors and not added else "info")
        return len(added)

    def import_dialog(self) -> None:
        start = self.p.settings.get(Key.LAST_DIRECTORY) or kanjivg_folder()
        paths, _ = QFileDialog.getOpenFileNames(
            self._widget, "Import SVG drawings to my set", start, "SVG drawings (*.svg)"
        )
        if paths:
            self.import_files(paths)
            self.p.settings.set(Key.LAST_DIRECTORY, os.path.dirname(paths[0]))
