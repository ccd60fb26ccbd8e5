"""GUI smoke tests: the window opens, panels switch, settings persist, a broken panel is contained."""

from __future__ import annotations

import pytest

from gdl_studio.engine.worker import Engine
from gdl_studio.ui.settings import Key, Settings
from gdl_studio.ui.shell import main_window as mw


@pytest.fixture
def window(qtbot):
    engine = Engine()
    engine.start()
    win = mw.MainWindow(engine, Settings())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    assert not engine.running, "closing the window stops the engine"


def test_window_switches_panels_and_saves_screenshot(window, qtbot, tmp_path):
    for panel_id in ("sketch", "dream", "compose"):
        window.show_panel(panel_id)
        assert window.current_panel().panel_id == panel_id
        assert window.panel_actions[panel_id].isChecked()
        assert window.undo_group.activeStack() is window.current_panel().undo_stack
    qtbot.waitUntil(lambda: window.engine_label.text() == "Engine: idle", timeout=3000)
    path = tmp_path / "window.png"
    assert window.grab().save(str(path))
    assert path.stat().st_size > 10_000
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "View", "Help"]


def test_a_panels_status_message_goes_when_another_panel_is_shown(window):
    window.show_panel("sketch")
    window.show_message("Opened 06c38.svg")
    assert window.statusBar().currentMessage() == "Opened 06c38.svg"
    window.show_panel("dream")
    assert window.statusBar().currentMessage() == ""


def test_closing_the_window_joins_the_engine_during_a_long_step(qtbot):
    """A step longer than any fixed shutdown timeout (a model loading when the window closes):
    closing still ends the engine's thread (it used to give up after 2 s and leave it running)."""
    import threading
    import time

    engine = Engine()
    engine.start()
    win = mw.MainWindow(engine, Settings())
    qtbot.addWidget(win)
    started = threading.Event()

    def long_step(ctx):
        started.set()
        time.sleep(2.5)
        yield 1

    engine.submit("test", long_step, "load")
    assert started.wait(5.0)
    win.close()
    assert not engine.running


def test_current_panel_and_geometry_persist(qtbot):
    settings = Settings()
    engine = Engine()
    engine.start()
    win = mw.MainWindow(engine, settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.show_panel("dream")
    win.move(37, 41)
    first = win.geometry()
    win.close()
    assert settings.get(Key.CURRENT_PANEL) == "dream"
    assert settings.get(Key.WINDOW_GEOMETRY), "geometry saved on close"
    engine2 = Engine()
    engine2.start()
    win2 = mw.MainWindow(engine2, Settings())
    qtbot.addWidget(win2)
    win2.show()
    assert win2.current_panel().panel_id == "dream"
    assert win2.size() == first.size()
    win2.close()


def test_broken_panel_is_contained(qtbot, monkeypatch):
    monkeypatch.setattr(mw, "PANELS", (("compose", "gdl_studio.ui.no_such_module:Nope", "Compose"),) + mw.PANELS[1:])
    engine = Engine()
    engine.start()
    win = mw.MainWindow(engine, Settings())
    qtbot.addWidget(win)
    assert isinstance(win.panels["compose"], mw.BrokenPanel)
    broken = win.panels["compose"]
    assert broken.banner.isVisibleTo(broken) and "could not be loaded" in broken.banner.text()
    win.show_panel("sketch")
    assert win.current_panel().panel_id == "sketch"
    win.close()


def test_recent_files_list(qtbot):
    settings = Settings()
    for n in range(12):
        settings.add_recent_file(f"/tmp/file{n}.mid")
    recent = settings.get(Key.RECENT_FILES)
    assert recent[0] == "/tmp/file11.mid" and len(recent) == 10
    settings.add_recent_file("/tmp/file5.mid")
    assert settings.get(Key.RECENT_FILES)[0] == "/tmp/file5.mid"
    assert len(settings.get(Key.RECENT_FILES)) == 10


def test_about_dialog_lists_model_cards(qtbot, tmp_path, monkeypatch):
    import torch

    from gdl_studio.core import registry
    from gdl_studio.ui.shell.about import AboutDialog, cards_html

    registry.save_model(
        tmp_path / "tiny",
        torch.nn.Linear(2, 2).state_dict(),
        {"name": "tiny", "family": "test", "architecture": {"hidden": 2}, "metrics": {"nll": 1.5}},
    )
    monkeypatch.setattr(registry, "_default", registry.Registry([tmp_path]))
    text = cards_html()
    assert "tiny" in text and "nll" in text and "sha256" in text
    dialog = AboutDialog()
    qtbot.addWidget(dialog)


def test_qt_binding_keeps_reference_counts(qtbot):
    """PySide6 6.12.0 on Python 3.11 dropped a reference to None per void Qt call and signal emit,
    aborting the app within a minute of painting (none_dealloc); pyproject pins it out."""
    import sys

    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QLabel

    class Emitter(QObject):
        ping = Signal(int)

    label = QLabel()
    emitter = Emitter()
    before = sys.getrefcount(None)
    for _ in range(5000):
        label.setText("x")
        emitter.ping.emit(1)
    assert sys.getrefcount(None) - before > -100
