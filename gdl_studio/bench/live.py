"""The GUI figure of ``gdl-studio bench live``: event-loop stalls while the Compose panel streams a
continuation with audition on (the headless figures are in :mod:`gdl_studio.live.bench`)."""

from __future__ import annotations

import os
import tempfile
import time


def gui_stalls(args, composer_name: str, tiny: bool) -> dict:
    """Event-loop lateness of a 1 ms timer while a continuation streams into the panel."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if tiny:
        os.environ["GDL_STUDIO_COMPOSE_DEMO"] = "1"
    from gdl_studio.ui import theme
    from gdl_studio.ui.shell.launch import gui_application

    app = gui_application()
    theme.apply(app)
    with tempfile.TemporaryDirectory(prefix="gdl-bench-settings-", ignore_cleanup_errors=True) as tmp:
        return _measure(app, tmp, composer_name)


def _measure(app, tmp: str, composer_name: str) -> dict:
    """:func:`gui_stalls` with the panel's settings in the directory ``tmp``."""
    from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer

    from gdl_studio.core.bench import percentiles
    from gdl_studio.core.paths import resources_dir
    from gdl_studio.engine.worker import Engine
    from gdl_studio.ui.compose.panel import ComposePanel
    from gdl_studio.ui.settings import Settings

    engine = Engine()
    engine.start()
    panel = ComposePanel(engine, Settings(QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat)))
    panel.resize(1400, 850)
    panel.show()
    panel.open_path(str(resources_dir() / "examples" / "chorale.mid"))
    panel.model_combo.setCurrentIndex(panel.model_combo.findData(composer_name))
    panel.box.length_spin.setValue(256)
    panel.box.audition_check.setChecked(True)
    # warm up: load the model once
    panel.box.length_spin.setValue(4)
    panel.continue_generation()
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline and panel.gen is not None and panel.gen.running:
        app.processEvents()
        time.sleep(0.002)
    panel.reject_generation()
    panel.box.length_spin.setValue(256)
    gaps: list[float] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(1)
    last = [0]

    def tick():
        now = clock.nsecsElapsed()
        gaps.append((now - last[0]) / 1e6)
        last[0] = now

    timer.timeout.connect(tick)
    clock.start()
    last[0] = clock.nsecsElapsed()
    timer.start()
    # baseline: the same loop with the panel idle (what the machine itself allows)
    t_idle = time.perf_counter()
    while time.perf_counter() - t_idle < 1.5:
        app.processEvents()
        time.sleep(0.0005)
    idle = [max(0.0, g - 1.0) for g in gaps[1:]]
    gaps.clear()
    last[0] = clock.nsecsElapsed()
    t0 = time.perf_counter()
    panel.continue_generation()
    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline and panel.gen is not None and panel.gen.running:
        app.processEvents()
        time.sleep(0.0005)
    streamed = len(panel.gen.steps) if panel.gen else 0
    seconds = time.perf_counter() - t0
    timer.stop()
    panel.shutdown()
    engine.shutdown()
    panel.close()
    stalls = [max(0.0, g - 1.0) for g in gaps[1:]]
    idle_stats = percentiles(idle)
    return {
        "stall_ms": percentiles(stalls),
        "stall_idle_ms": {"p50": idle_stats["p50"], "p99": idle_stats["p99"]},
        "stream": {"notes": streamed, "seconds": seconds},
        "load_average_1min": os.getloadavg()[0],
        "cpu_cores": os.cpu_count(),
    }
