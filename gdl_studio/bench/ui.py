"""``gdl-studio bench ui``: GUI event-loop stall while the engine generates, and RSS.

The whole app (main window, panels, engine thread) is built offscreen; a 1 ms QTimer runs on
the GUI thread while the engine runs a CPU-heavy generation loop, and the gaps between ticks
are the stalls. Then every installed model is loaded and the process's resident memory read.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from gdl_studio.core import bench

workload = ["none"]


def _heavy_job(seconds: float):
    """A CPU-heavy generation loop: the shipped music Transformer if it loads, else an LSTM
    sampling loop of the LSTM model's size (say which in the label). Everything, torch's import
    included, happens on the engine thread, as in the app."""

    def job(ctx):
        import torch

        workload[0] = "synthetic LSTM-512 sampling loop (music-transformer not loadable)"
        deadline = time.perf_counter() + seconds
        steps = 0
        try:
            from gdl_studio.areas import load_model
            from gdl_studio.core.paths import resources_dir
            from gdl_studio.music.generate import continue_score  # provided by the music area
            from gdl_studio.music.midi_io import read_midi

            model = load_model("music-transformer")
            primer = read_midi(resources_dir() / "examples" / "chorale.mid")
            workload[0] = "music-transformer continuing resources/examples/chorale.mid"
            while time.perf_counter() < deadline:
                for step in continue_score(model, primer, n_notes=64, temperature=1.0, seed=steps):
                    steps += 1
                    yield step
                    if time.perf_counter() >= deadline:
                        break
            return
        except Exception:
            pass  # fall back to the synthetic loop below
        lstm = torch.nn.LSTM(256, 512, num_layers=2)
        head = torch.nn.Linear(512, 400)
        x = torch.zeros(1, 1, 256)
        state = None
        with torch.inference_mode():
            while time.perf_counter() < deadline:
                out, state = lstm(x, state)
                probs = torch.softmax(head(out[0, 0]), -1)
                token = int(torch.multinomial(probs, 1))
                steps += 1
                yield token

    return job


def open_app(scratch: Path):
    """The whole app as a user gets it (themed QApplication, started engine, main window shown),
    for benchmarks: returns (app, engine, window).

    The window reads and writes a settings file in the directory ``scratch`` (the caller's, which
    it removes afterwards), so a benchmark neither depends on nor changes the user's window
    layout and choices.
    """
    from gdl_studio.engine.threads import preload_torch

    preload_torch()  # as the app's launch does
    from PySide6.QtCore import QSettings

    from gdl_studio.engine.worker import Engine
    from gdl_studio.ui import theme
    from gdl_studio.ui.settings import Settings
    from gdl_studio.ui.shell.launch import gui_application
    from gdl_studio.ui.shell.main_window import MainWindow

    app = gui_application()
    theme.apply(app)
    engine = Engine()
    engine.start()
    settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine, Settings(settings))
    window.show()
    app.processEvents()
    return app, engine, window


def run_bench_ui(seconds: float = 5.0, as_json: bool = False) -> int:
    """Run the benchmark and print a table (or JSON)."""
    with tempfile.TemporaryDirectory(prefix="gdl-bench-ui-") as scratch:
        results, loaded, idle_ticks = _measure(Path(scratch), seconds)
    if as_json:
        bench.emit(results, as_json=True)
        return 0
    stall, idle = results["stall_ms"], results["startup_stall_ms"]
    rows = [
        ("stall p50 (ms)", stall["p50"], idle["p50"], ""),
        ("stall p99 (ms)", stall["p99"], idle["p99"], "≤ 16"),
        ("stall max (ms)", stall["max"], idle["max"], "≤ 50"),
        ("timer ticks", results["ticks"], idle_ticks, ""),
        ("engine results streamed", results["engine_items"], "", ""),
        ("RSS, all models loaded (MB)", results["rss_mb"], "", "≤ 1536"),
        ("engine workload", results["workload"], "", ""),
        ("models loaded / failed", f"{results['models_loaded']} / {results['models_failed']}", "", ""),
    ]
    bench.print_table(
        f"bench ui: 1 ms GUI timer for {seconds:.0f} s while the engine generates",
        rows,
        header=("figure", "while generating", "first second after start", "target"),
    )
    for name, value in loaded.items():
        if isinstance(value, Exception):
            print(f"  model {name}: {value}")
    return 0


def _measure(scratch: Path, seconds: float) -> tuple[dict, dict, int]:
    """The figures of :func:`run_bench_ui` (the app's settings in ``scratch``), the models
    loaded (name → model or the exception), and the idle second's tick count."""
    from gdl_studio.bench.stall import measure_stalls

    app, engine, window = open_app(scratch)

    items = [0]
    engine.result.connect(lambda panel, rid, item: items.__setitem__(0, items[0] + 1))
    idle_gaps = measure_stalls(1.0)
    gaps = measure_stalls(seconds, during=lambda: engine.submit("bench", _heavy_job(seconds), "bench"))
    engine.cancel("bench")
    app.processEvents()

    from gdl_studio.areas import load_all

    rss_before = bench.current_rss_mb()
    loaded = load_all()
    rss_after = bench.current_rss_mb()
    window.close()
    engine.shutdown()

    stall = bench.percentiles(gaps)
    idle = bench.percentiles(idle_gaps)
    results = {
        "stall_ms": {k: stall[k] for k in ("p50", "p99", "max")},
        "startup_stall_ms": {k: idle[k] for k in ("p50", "p99", "max")},
        "ticks": stall["n"],
        "workload": workload[0],
        "engine_items": items[0],
        "rss_mb": rss_after,
        "rss_before_models_mb": rss_before,
        "models_loaded": sum(1 for v in loaded.values() if not isinstance(v, Exception)),
        "models_failed": sum(1 for v in loaded.values() if isinstance(v, Exception)),
        "targets": {"stall_ms.p99": 16.0, "stall_ms.max": 50.0, "rss_mb": 1536.0},
    }
    return results, loaded, int(idle["n"])
