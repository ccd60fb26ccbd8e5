"""Screenshot of a running fine-tune: the app with the Training dock open while the music LSTM
adapts to the reference set (30 minutes of held-out music). Run from the repository root:

    QT_QPA_PLATFORM=offscreen python scripts/screenshots/finetune.py resources/screenshots/finetune.png
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path


def main(out: str) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="gdl-shot-"))
    os.environ["GDL_STUDIO_USER_DIR"] = str(tmp / "user")  # keep the personal model out of the user's dir
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from gdl_studio.engine.worker import Engine
    from gdl_studio.finetune.jobs import FinetuneSpec
    from gdl_studio.finetune.reference import music_reference_set
    from gdl_studio.music.midi_io import read_midi
    from gdl_studio.core.paths import resources_dir
    from gdl_studio.ui import theme
    from gdl_studio.ui.main_window import MainWindow
    from gdl_studio.ui.settings import Settings

    music_reference_set(tmp / "music")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    theme.apply(app)
    engine = Engine()
    engine.start()
    window = MainWindow(engine, Settings())
    window.resize(1440, 980)
    window.show()
    window.show_panel("compose")
    compose = window.panels["compose"]
    if hasattr(compose, "load_score"):
        compose.load_score(read_midi(resources_dir() / "examples" / "chorale.mid"))
    elif hasattr(window, "open_path"):
        window.open_path(str(resources_dir() / "examples" / "chorale.mid"))
    dock = window.training_dock
    dock.show()
    spec = FinetuneSpec("music", "music-lstm", [str(tmp / "music")], "my chorales", {"epochs": 12, "patience": 12, "seed": 0})
    dock.submit(spec)
    epochs = []
    dock.service.progress.connect(lambda job, ev: epochs.append(ev.step) if ev.valid_loss is not None else None)
    deadline = time.perf_counter() + 900
    while time.perf_counter() < deadline and (not epochs or max(epochs) < 6):
        app.processEvents()
        time.sleep(0.05)
    for _ in range(20):
        app.processEvents()
        time.sleep(0.02)
    ok = window.grab().save(out)
    print(f"saved {out}" if ok else "could not save", f"after epoch {max(epochs) if epochs else 0}")
    dock.shutdown()
    window.close()
    engine.shutdown(2.0)
    QTimer.singleShot(0, app.quit)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "finetune.png"))
