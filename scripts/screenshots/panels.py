"""Screenshots of the three panels in a fixed state, to compare the UI before and after a change.
Run from the repository root under a display (Xvfb) or offscreen:

    QT_QPA_PLATFORM=offscreen python scripts/screenshots/panels.py OUT_DIR [WIDTH HEIGHT]

Writes ``compose.png`` (resources/examples/chorale.mid opened), ``compose-sound.png`` (its Sound and
Tempo sync groups), ``sketch.png`` (KanjiVG's 永
opened, when the kanji package is installed) and ``dream.png`` (the real game on track 3, 90
frames in) of the main window at WIDTH×HEIGHT (default 1600×1000), and prints the window's
minimum size hint after each.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from shot_app import open_window, pump


def main(out_dir: str, width: int = 1600, height: int = 1000) -> int:
    app, engine, window, _tmp = open_window(width, height)
    from gdl_studio.core.paths import resources_dir

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    def shot(name: str, idle: bool = True) -> None:
        pump(app, lambda: False, 0.5)
        if idle:  # the panel's background work (loading a model) done: the same picture every time
            pump(app, lambda: window.engine_label.text() == "Engine: idle", 60)
        window.grab().save(str(out / f"{name}.png"))
        hint = window.minimumSizeHint()
        print(f"{name}: window {window.width()}×{window.height()}, minimum size hint {hint.width()}×{hint.height()}")

    window.open_path(str(resources_dir() / "examples" / "chorale.mid"))
    shot("compose")

    # the same panel scrolled to its Sound and Tempo sync groups (chorale voices on choir, following a clock)
    from PySide6.QtWidgets import QScrollArea

    compose = window.current_panel()
    compose.sound_box.controls.preset_chosen.emit("chorale-choir")
    sync = compose.sync_box.controls
    sync.mode_combo.setCurrentIndex(sync.mode_combo.findData("follow"))
    scroll = compose.sync_box.parentWidget()
    while scroll is not None and not isinstance(scroll, QScrollArea):
        scroll = scroll.parentWidget()
    pump(app, lambda: False, 0.3)
    if scroll is not None:
        scroll.ensureWidgetVisible(compose.sync_box, 0, 8)
    shot("compose-sound")
    sync.mode_combo.setCurrentIndex(sync.mode_combo.findData("internal"))

    spec = importlib.util.find_spec("kanji")
    if spec is not None and spec.submodule_search_locations:
        window.open_path(str(Path(list(spec.submodule_search_locations)[0]) / "06c38.svg"))
    else:
        window.show_panel("sketch")
    shot("sketch")

    window.show_panel("dream")
    panel = window.current_panel()
    panel.start("real", seed=3)
    ok = pump(app, lambda: panel.frame_count() >= 90, 240)
    panel.playback.paused = True
    panel.refresh_plots()
    shot("dream", idle=False)
    print("dream frames:", ok, panel.frame_count())
    window.close()
    engine.shutdown()
    return 0


if __name__ == "__main__":
    size = [int(v) for v in sys.argv[2:4]] or [1600, 1000]
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "screenshots", *size))
