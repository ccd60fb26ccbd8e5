"""The main window: a side bar of panels, menus, shortcuts and a status bar."""

from __future__ import annotations

import importlib
import os
import traceback

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QIcon, QKeySequence, QUndoGroup
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QWidget,
)

from gdl_studio.core.errors import UserError
from gdl_studio.engine.worker import Engine
from gdl_studio.ui.panel import Panel, vbox
from gdl_studio.ui.settings import Key, Settings
from gdl_studio.ui.shell import icons
from gdl_studio.ui.shell.about import AboutDialog
from gdl_studio.ui.widgets.elided_label import ElidedLabel
from gdl_studio.ui.widgets.problem_banner import ProblemBanner

# (panel id, "module:Class") — imported lazily so one broken panel cannot take the app down.
PANELS = (
    ("compose", "gdl_studio.ui.compose.panel:ComposePanel", "Compose"),
    ("sketch", "gdl_studio.ui.sketch.panel:SketchPanel", "Sketch"),
    ("dream", "gdl_studio.ui.dream.panel:DreamPanel", "Dream"),
)


PREFERRED_SIZE = QSize(1280, 800)
MAX_MINIMUM_WIDTH = 1280  # whatever is shown, the window never needs more (tests/test_small_screen.py)


def first_size(minimum: QSize, available: QSize | None) -> QSize:
    """1280×800 (or the window's minimum if larger), within 90% of the screen's available area."""
    size = PREFERRED_SIZE.expandedTo(minimum)
    if available is not None and available.isValid():
        size = size.boundedTo(QSize(int(available.width() * 0.9), int(available.height() * 0.9)))
    return size


class BrokenPanel(Panel):
    """Stands in for a panel whose code failed to load; says why."""

    def __init__(self, panel_id: str, title: str, message: str, engine: Engine, settings: Settings) -> None:
        self.panel_id = panel_id
        self.title = title
        super().__init__(engine, settings)
        self.banner = ProblemBanner(self.content)
        layout = vbox(self.content, margins=24)
        layout.addWidget(self.banner)
        layout.addStretch(1)
        self.banner.set_problem(f"The {title} panel could not be loaded.\n\n{message}", plain=True)


class MainWindow(QMainWindow):
    """GDL Studio's main window."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__()
        self.engine = engine
        self.settings = settings
        self.setWindowTitle("GDL Studio")
        self.setWindowIcon(icons.app_icon())
        self.setObjectName("MainWindow")
        self.undo_group = QUndoGroup(self)
        self.panels: dict[str, Panel] = {}

        central = QWidget(self)
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.sidebar = QListWidget(central)
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setIconSize(QSize(28, 28))
        self.sidebar.setFixedWidth(112)
        self.sidebar.setViewMode(QListWidget.ViewMode.IconMode)
        self.sidebar.setMovement(QListWidget.Movement.Static)
        self.sidebar.setFlow(QListWidget.Flow.TopToBottom)
        self.sidebar.setSpacing(4)
        self.sidebar.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sidebar.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget(central)
        layout.addWidget(self.sidebar)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        for panel_id, target, title in PANELS:
            panel = self._make_panel(panel_id, target, title)
            self.panels[panel_id] = panel
            self.stack.addWidget(panel)
            item = QListWidgetItem(icons.panel_icon(panel_id), title)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            item.setSizeHint(QSize(104, 64))
            item.setData(Qt.ItemDataRole.UserRole, panel_id)
            self.sidebar.addItem(item)
            self.undo_group.addStack(panel.undo_stack)
            panel.status_message.connect(self.show_message)
            panel.model_changed.connect(lambda _name: self._update_model_label())

        self._build_training_dock()
        self._build_status_bar()
        self._build_menus()
        self.sidebar.currentRowChanged.connect(self._on_panel_row)
        engine.state.connect(self._on_engine_state)
        self._on_engine_state(engine.core.state if engine.running else "starting")
        engine.latency.connect(self._on_latency)
        engine.error.connect(lambda info: self.show_message(f"{info.label or info.panel}: {info.message}"))

        self.setAcceptDrops(True)
        self.resize(self._default_size())
        self._restore()

    def _default_size(self) -> QSize:
        """The first size: see :func:`first_size`."""
        screen = self.screen() or QApplication.primaryScreen()
        return first_size(self.minimumSizeHint(), screen.availableGeometry().size() if screen is not None else None)

    def _fit_screen(self) -> None:
        """Shrink a restored size that is larger than the screen's available area."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is not None and not self.isMaximized() and not self.isFullScreen():
            avail = screen.availableGeometry().size()
            if self.width() > avail.width() or self.height() > avail.height():
                self.resize(self.size().boundedTo(avail))

    # ------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
        event.acceptProposedAction()

    # ------------------------------------------------------------------ construction
    def _make_panel(self, panel_id: str, target: str, title: str) -> Panel:
        module_name, class_name = target.split(":")
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
            return cls(self.engine, self.settings)
        except Exception as exc:  # keep the other panels working
            traceback.print_exc()
            return BrokenPanel(panel_id, title, f"{type(exc).__name__}: {exc}", self.engine, self.settings)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.engine_label = QLabel("Engine: starting")
        self.engine_label.setObjectName("engineState")
        self.model_label = ElidedLabel("", min_width=120, elide=Qt.TextElideMode.ElideRight)
        self.latency_label = QLabel("Last generation: –")
        for label in (self.model_label, self.latency_label, self.engine_label):
            label.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(label)

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.open_action = self._action(
            file_menu, "&Open…", QKeySequence.StandardKey.Open, self.open_file, "document-open"
        )
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        self.save_action = self._action(
            file_menu, "&Save…", QKeySequence.StandardKey.Save, self.save_file, "document-save"
        )
        self._action(file_menu, "&Export…", QKeySequence("Ctrl+E"), self.save_file, "document-export")
        self.export_audio_action = self._action(
            file_menu, "Export &audio…", QKeySequence("Ctrl+Shift+E"), self.export_audio, "audio-x-generic"
        )
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close, "application-exit")

        edit_menu = menu.addMenu("&Edit")
        undo = self.undo_group.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.undo_group.createRedoAction(self, "&Redo")
        redo.setShortcut(QKeySequence.StandardKey.Redo)
        edit_menu.addAction(undo)
        edit_menu.addAction(redo)
        self.undo_action, self.redo_action = undo, redo

        view_menu = menu.addMenu("&View")
        group = QActionGroup(self)
        self.panel_actions = {}
        for n, (panel_id, _target, title) in enumerate(PANELS):
            action = QAction(title, self, checkable=True)
            action.setShortcut(QKeySequence(f"Ctrl+{n + 1}"))
            action.triggered.connect(lambda _=False, pid=panel_id: self.show_panel(pid))
            group.addAction(action)
            view_menu.addAction(action)
            self.panel_actions[panel_id] = action
        view_menu.addSeparator()
        sidebar_action = QAction("Show &Side Bar", self, checkable=True, checked=True)
        sidebar_action.setShortcut(QKeySequence("Ctrl+B"))
        sidebar_action.toggled.connect(self.sidebar.setVisible)
        view_menu.addAction(sidebar_action)
        training = self.training_dock.toggleViewAction()
        training.setText("&Training (fine-tune your models)")
        training.setShortcut(QKeySequence("Ctrl+T"))
        view_menu.addAction(training)
        full = QAction("&Full Screen", self, checkable=True)
        full.setShortcut(QKeySequence.StandardKey.FullScreen)
        full.toggled.connect(lambda on: self.showFullScreen() if on else self.showNormal())
        view_menu.addAction(full)

        help_menu = menu.addMenu("&Help")
        self._action(
            help_menu,
            "&About GDL Studio and its models",
            QKeySequence.StandardKey.HelpContents,
            self.show_about,
            "help-about",
        )

    def _build_training_dock(self) -> None:
        """The Training dock (fine-tuning jobs in a child process), hidden until asked for."""
        from gdl_studio.ui.shell.training_dock import TrainingDock

        self.training_dock = TrainingDock(self)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.training_dock)
        self.training_dock.hide()
        for panel in self.panels.values():
            requested = getattr(panel, "finetune_requested", None)
            if requested is not None:
                requested.connect(self.show_finetune)
        self.training_dock.models_changed.connect(self._refresh_panel_models)
        self.training_dock.watch_requested.connect(self._watch_controller)

    def show_finetune(self, family: str = "music") -> None:
        """Open the Training dock with a new job of ``family`` ("music", "ink" or "controller")."""
        self.training_dock.show()
        self.training_dock.raise_()
        self.training_dock.new_job(family)

    def _refresh_panel_models(self) -> None:
        for panel in self.panels.values():
            refresh = getattr(panel, "refresh_models", None)
            if refresh is not None:
                try:
                    refresh()
                except Exception:
                    traceback.print_exc()

    def _watch_controller(self, params) -> None:
        dream = self.panels.get("dream")
        if dream is not None and hasattr(dream, "watch_controller"):
            self.show_panel("dream")
            dream.watch_controller(params)

    def _action(self, menu, text, shortcut, slot, icon_name="") -> QAction:
        action = QAction(text, self)
        if icon_name:
            action.setIcon(QIcon.fromTheme(icon_name))
        action.setShortcut(shortcut)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    # ------------------------------------------------------------------ panels
    def current_panel(self) -> Panel:
        return self.stack.currentWidget()  # type: ignore[return-value]

    def show_panel(self, panel_id: str) -> None:
        """Switch to panel ``panel_id``."""
        ids = [pid for pid, _t, _n in PANELS]
        if panel_id in ids:
            self.sidebar.setCurrentRow(ids.index(panel_id))

    def _on_panel_row(self, row: int) -> None:
        if row < 0:
            return
        self.stack.setCurrentIndex(row)
        self.statusBar().clearMessage()  # a message speaks of the panel that gave it
        panel = self.current_panel()
        self.undo_group.setActiveStack(panel.undo_stack)
        self.panel_actions[panel.panel_id].setChecked(True)
        self.open_action.setEnabled(bool(panel.open_filters()))
        self.save_action.setEnabled(bool(panel.save_filters()))
        self.settings.set(Key.CURRENT_PANEL, panel.panel_id)
        self._update_model_label()

    def _update_model_label(self) -> None:
        name = self.current_panel().active_model() if self.stack.count() else ""
        self.model_label.setText(f"Model: {name}" if name else "Model: –")

    # ------------------------------------------------------------------ status
    def show_message(self, text: str, timeout_ms: int = 6000) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def _on_engine_state(self, state: str) -> None:
        self.engine_label.setText(f"Engine: {state}")
        self.engine_label.setProperty("state", state)
        self.engine_label.style().unpolish(self.engine_label)
        self.engine_label.style().polish(self.engine_label)

    def _on_latency(self, label: str, seconds: float) -> None:
        self.latency_label.setText(f"Last generation: {seconds * 1000:.0f} ms to first result")

    # ------------------------------------------------------------------ files
    def open_file(self) -> None:
        panel = self.current_panel()
        filters = panel.open_filters()
        if not filters:
            return
        path, _ = QFileDialog.getOpenFileName(
            self, f"Open — {panel.title}", self.settings.get(Key.LAST_DIRECTORY), filters
        )
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """Open ``path`` in the panel that handles its type; errors become a dialog."""
        ext = os.path.splitext(path)[1].lower()
        panel = self.current_panel()
        for candidate in [panel] + list(self.panels.values()):
            if ext and f"*{ext}" in candidate.open_filters().lower():
                panel = candidate
                break
        try:
            panel.open_path(path)
        except (UserError, OSError, ValueError, NotImplementedError) as exc:
            QMessageBox.warning(self, "Cannot open file", f"{os.path.basename(path)}: {exc}")
            return False
        self.show_panel(panel.panel_id)
        self.settings.add_recent_file(path)
        self.settings.set(Key.LAST_DIRECTORY, os.path.dirname(path))
        self.show_message(f"Opened {path}")
        return True

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = [p for p in self.settings.get(Key.RECENT_FILES) if os.path.exists(p)]
        if not recent:
            action = self.recent_menu.addAction("(no recent files)")
            action.setEnabled(False)
            return
        for path in recent:
            action = self.recent_menu.addAction(os.path.basename(path))
            action.setToolTip(path)
            action.triggered.connect(lambda _=False, p=path: self.open_path(p))

    def save_file(self) -> None:
        panel = self.current_panel()
        filters = panel.save_filters()
        if not filters:
            self.show_message(f"{panel.title} has nothing to save")
            return
        path, _ = QFileDialog.getSaveFileName(
            self, f"Save — {panel.title}", self.settings.get(Key.LAST_DIRECTORY), filters
        )
        if not path:
            return
        try:
            panel.save_path(path)
        except (UserError, OSError, ValueError) as exc:
            QMessageBox.warning(self, "Cannot save file", str(exc))
            return
        self.settings.add_recent_file(path)
        self.show_message(f"Saved {path}")

    def export_audio(self) -> None:
        """File → Export audio…: the current panel renders its piece to WAV/FLAC (Compose)."""
        panel = self.current_panel()
        export = getattr(panel, "export_audio", None)
        if export is None:
            self.show_message(f"{panel.title} has no audio to export (use Compose)")
            return
        export()

    def show_about(self) -> None:
        AboutDialog(self).exec()

    # ------------------------------------------------------------------ persistence
    def _restore(self) -> None:
        geometry = self.settings.get(Key.WINDOW_GEOMETRY)
        if geometry:
            self.restoreGeometry(geometry)
            self._fit_screen()
        state = self.settings.get(Key.WINDOW_STATE)
        if state:
            self.restoreState(state)
        self.show_panel(self.settings.get(Key.CURRENT_PANEL))
        if self.sidebar.currentRow() < 0:
            self.sidebar.setCurrentRow(0)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt naming)
        self.settings.set(Key.WINDOW_GEOMETRY, self.saveGeometry())
        self.settings.set(Key.WINDOW_STATE, self.saveState())
        self.settings.sync()
        try:
            self.training_dock.shutdown()
        except Exception:
            traceback.print_exc()
        for panel in self.panels.values():
            try:
                panel.shutdown()
            except Exception:
                traceback.print_exc()
        self.engine.shutdown()  # joins the engine's thread
        super().closeEvent(event)
