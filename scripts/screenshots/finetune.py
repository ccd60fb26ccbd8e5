"""Screenshot of a running fine-tune: the app with the Training dock open while the music LSTM
adapts to the reference set (30 minutes of held-out music). Run from the repository root:

    QT_QPA_PLATFORM=offscreen python scripts/screenshots/finetune.py resources/screenshots/finetune.png
"""

from __future__ import annotations

import sys

from shot_app import close_window, open_window, pump


def main(out: str) -> int:
    app, engine, window, tmp = open_window(1440, 980)  # the personal model goes to a scratch dir
    from gdl_studio.bench.reference import music_reference_set
    from gdl_studio.core.finetuning import FinetuneSpec
    from gdl_studio.core.paths import resources_dir
    from gdl_studio.music.midi_io import read_midi

    music_reference_set(tmp / "music")
    window.show_panel("compose")
    compose = window.panels["compose"]
    if hasattr(compose, "load_score"):
        compose.load_score(read_midi(resources_dir() / "examples" / "chorale.mid"))
    elif hasattr(window, "open_path"):
        window.open_path(str(resources_dir() / "examples" / "chorale.mid"))
    dock = window.training_dock
    dock.show()
    spec = FinetuneSpec(
        "music", "music-lstm", [str(tmp / "music")], "my chorales", {"epochs": 12, "patience": 12, "seed": 0}
    )
    dock.submit(spec)
    epochs = []
    dock.service.progress.connect(lambda job, ev: epochs.append(ev.step) if ev.valid_loss is not None else None)
    pump(app, lambda: bool(epochs) and max(epochs) >= 6, 900, step=0.05)
    pump(app, lambda: False, 0.4)  # let the last epoch reach the plot
    ok = window.grab().save(out)
    print(f"saved {out}" if ok else "could not save", f"after epoch {max(epochs) if epochs else 0}")
    dock.shutdown()
    close_window(app, engine, window)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "finetune.png"))
