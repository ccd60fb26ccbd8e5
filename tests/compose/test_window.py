"""The Compose panel inside the real main window: it loads, opens files through the window
(recent files), and its edits drive the window's Edit → Undo/Redo."""

from __future__ import annotations

from pathlib import Path

from gdl_studio.music.notes import Note

ROOT = Path(__file__).resolve().parents[2]


def test_main_window_hosts_the_compose_panel(qtbot):
    from gdl_studio.engine.worker import Engine
    from gdl_studio.ui.compose.commands import AddNotes
    from gdl_studio.ui.compose.panel import ComposePanel
    from gdl_studio.ui.settings import Key, Settings
    from gdl_studio.ui.shell.main_window import MainWindow

    engine = Engine()
    engine.start()
    settings = Settings()
    window = MainWindow(engine, settings)
    qtbot.addWidget(window)
    try:
        panel = window.panels["compose"]
        assert isinstance(panel, ComposePanel)
        window.show_panel("compose")
        chorale = str(ROOT / "resources" / "examples" / "chorale.mid")
        assert window.open_path(chorale)
        assert settings.get(Key.RECENT_FILES)[0] == chorale
        assert len(panel.doc.notes) > 100
        assert window.model_label.text().startswith("Model: ")
        panel.undo_stack.push(AddNotes(panel.doc, [Note(60, 0.0, 1.0)], "Add note"))
        assert window.undo_action.isEnabled()
        n = len(panel.doc.notes)
        window.undo_action.trigger()
        assert len(panel.doc.notes) == n - 1
        window.redo_action.trigger()
        assert len(panel.doc.notes) == n
    finally:
        window.close()
        engine.shutdown(3.0)
