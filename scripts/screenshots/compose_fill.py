"""Screenshot of the Compose panel filling a gap: resources/examples/chorale.mid opened, bars 3–4
picked in the ruler, Fill run with the Steer group on (the piece's key and range, at most 4 voices), the
streamed notes waiting in red for Accept / Reject / Regenerate. Run from the repository root under
a display (Xvfb) or offscreen:

    python scripts/screenshots/compose_fill.py OUT.png [WIDTH HEIGHT]     # default 1366×768

Fills with the installed music-transformer when it can fill gaps; otherwise (the shipped models
generate left to right only) with a tiny random Transformer built for infilling, installed in a
scratch models directory beside the other installed models, and the caption says so (its notes
are random: the picture shows the UI, not the music). Prints the window's minimum size hint.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from shot_app import open_window, pump

BARS = (3, 5)  # bars 3 and 4 (the gap ends where bar 5 starts)


def _model_note() -> str:
    """Install a tiny infill model when the installed Transformer cannot fill; what to say."""
    from gdl_studio.core.paths import models_dir
    from gdl_studio.jobs.compose import fill_unsupported, save_tiny_infill_model

    if not fill_unsupported("music-transformer"):
        return "the installed Transformer (trained for infilling)"
    shipped = models_dir()
    scratch = Path(tempfile.mkdtemp(prefix="gdl-shot-models-"))
    for d in shipped.iterdir() if shipped.is_dir() else ():
        if d.is_dir() and d.name != "music-transformer":
            (scratch / d.name).symlink_to(d.resolve())
    save_tiny_infill_model(scratch)
    os.environ["GDL_STUDIO_MODELS"] = str(scratch)
    return (
        "a TINY RANDOM infill Transformer (the installed one generates left to right only, so Fill is "
        "disabled for it): the notes are random, the picture shows the UI"
    )


def main(out_path: str, width: int = 1366, height: int = 768) -> int:
    note = _model_note()
    app, engine, window, _tmp = open_window(width, height)
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtWidgets import QScrollArea

    from gdl_studio.core.paths import resources_dir
    from gdl_studio.music.steering import estimate_key
    from gdl_studio.ui import theme

    window.open_path(str(resources_dir() / "examples" / "chorale.mid"))
    compose = window.current_panel()
    compose.model_combo.setCurrentIndex(compose.model_combo.findData("music-transformer"))
    compose.audition_check.setChecked(False)
    bpb = compose.doc.beats_per_bar
    key = estimate_key(compose.doc.notes.values())
    steer = compose.steering_box
    steer.setChecked(True)
    if key is not None:
        from gdl_studio.music.steering import NOTE_NAMES

        steer.tonic_combo.setCurrentIndex(steer.tonic_combo.findData(NOTE_NAMES[key.tonic]))
        steer.mode_combo.setCurrentIndex(steer.mode_combo.findData(key.mode))
    steer.voices_spin.setValue(4)
    pitches = [n.pitch for n in compose.doc.notes.values()]
    steer.range_edit.setText(f"{min(pitches)}:{max(pitches)}")  # the piece's own range (and the roll's view)
    compose.roll.set_loop(((BARS[0] - 1) * bpb, (BARS[1] - 1) * bpb), enabled=True)  # a drag in the ruler
    assert compose.fill_row.bars() == BARS, compose.fill_row.bars()
    if not compose.fill_button.isEnabled():
        print("Fill is disabled:", compose.fill_button.toolTip())
        return 1
    compose.fill_gap()
    ok = pump(app, lambda: compose.gen is not None and not compose.gen.running, 120)
    for _ in range(8):  # a random model often closes the gap at once: Regenerate for a fuller picture
        if len(compose.gen.steps) >= 16:
            break
        compose.regenerate()
        ok = pump(app, lambda: compose.gen is not None and not compose.gen.running, 120)
    gen = compose.gen
    compose.roll.set_loop(compose.roll.loop, enabled=False)  # show the gap's shading, not the loop's
    if gen.steps:
        compose.roll.select_pending(len(gen.steps) // 2)
    scroll = steer.parentWidget()
    while scroll is not None and not isinstance(scroll, QScrollArea):
        scroll = scroll.parentWidget()
    pump(app, lambda: False, 0.5)
    if scroll is not None:
        scroll.ensureWidgetVisible(compose.fill_row, 0, 8)
        scroll.ensureWidgetVisible(steer, 0, 8)
    pump(app, lambda: window.engine_label.text() == "Engine: idle", 30)
    pump(app, lambda: False, 0.5)
    shot = window.grab().toImage()
    caption = (
        f"Fill bars {BARS[0]}–{BARS[1] - 1} of chorale.mid (bar {BARS[1]} on kept), steered "
        f"({steer.model().summary().removeprefix('steered: ')}): {len(gen.steps)} notes in red, "
        f"with {note}."
    )
    out = QImage(shot.width(), shot.height() + 44, QImage.Format.Format_RGB32)
    out.fill(theme.BACKGROUND)
    p = QPainter(out)
    p.drawImage(0, 0, shot)
    p.setPen(QColor(theme.TEXT))
    p.drawText(
        QRect(10, shot.height() + 2, shot.width() - 20, 40),
        int(Qt.AlignmentFlag.AlignVCenter) | int(Qt.TextFlag.TextWordWrap),
        caption,
    )
    p.end()
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    out.save(out_path)
    hint = window.minimumSizeHint()
    print(caption)
    print(
        f"finished: {ok}; window {window.width()}×{window.height()}, minimum size hint {hint.width()}×{hint.height()}"
    )
    print(f"wrote {out_path}")
    window.close()
    engine.shutdown(2.0)
    return 0


if __name__ == "__main__":
    size = [int(v) for v in sys.argv[2:4]] or [1366, 768]
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "compose_fill.png", *size))
