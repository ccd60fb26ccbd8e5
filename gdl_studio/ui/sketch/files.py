"""The Sketch panel's files: an SVG opened as the drawing to continue, and the drawing exported as
SVG or PNG (an unaccepted continuation in its own colour)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMessageBox

from gdl_studio.core.errors import UserError
from gdl_studio.ui.panel import Panel
from gdl_studio.ui.settings import Key
from gdl_studio.ui.sketch.drawing import GENERATED_INK, Stroke, render_image

OPEN_FILTER = "SVG drawings (*.svg)"
SAVE_FILTER = "SVG drawing (*.svg);;PNG image (*.png)"


def read_strokes(path: str) -> list[Stroke]:
    """The strokes of an SVG (e.g. a KanjiVG file); ``UserError`` with one line on bad input."""
    from gdl_studio.ink.svgio import read_svg_strokes

    return [Stroke.make(a, source="file") for a in read_svg_strokes(path)]


def export_drawing(path: str, strokes: Sequence[Stroke], generated: Sequence[np.ndarray]) -> None:
    """Write ``strokes`` (and the ``generated`` ones, in their colour) as .svg or .png, atomically."""
    from gdl_studio.core.atomic import atomic_path
    from gdl_studio.ink.svgio import write_svg

    ext = os.path.splitext(path)[1].lower()
    if ext not in (".svg", ".png"):
        raise UserError(f"export as .svg or .png (not {ext or 'a name without an extension'})")
    if not strokes and not generated:
        raise UserError("nothing to export: the canvas is blank")
    if ext == ".svg":
        write_svg(path, [np.asarray(s.points) for s in strokes], list(generated), generated_colour=GENERATED_INK.name())
    else:
        image = render_image(list(strokes), list(generated))
        with atomic_path(path) as tmp:
            if not image.save(str(tmp), "PNG"):  # type: ignore[call-overload]  # the stub wants bytes; PySide6 takes only str
                raise OSError(f"could not write PNG {path}")


def open_dialog(panel: Panel, start: str = "") -> None:
    """File → Open SVG as a primer, from the panel's tool bar (errors become a dialog)."""
    start = panel.settings.get(Key.LAST_DIRECTORY) or start
    path, _ = QFileDialog.getOpenFileName(panel, "Open SVG as a primer", start, OPEN_FILTER)
    if not path:
        return
    try:
        panel.open_path(path)
    except (UserError, OSError, ValueError) as exc:
        QMessageBox.warning(panel, "Cannot open file", f"{os.path.basename(path)}: {exc}")
        return
    panel.settings.set(Key.LAST_DIRECTORY, os.path.dirname(path))
    panel.settings.add_recent_file(path)


def export_dialog(panel: Panel) -> None:
    """Export the drawing as SVG or PNG, from the panel's tool bar (errors become a dialog)."""
    path, selected = QFileDialog.getSaveFileName(
        panel, "Export drawing", panel.settings.get(Key.LAST_DIRECTORY), SAVE_FILTER
    )
    if not path:
        return
    if not os.path.splitext(path)[1]:
        path += ".png" if "png" in selected.lower() else ".svg"
    try:
        panel.save_path(path)
    except (UserError, OSError, ValueError) as exc:
        QMessageBox.warning(panel, "Cannot export", str(exc))
