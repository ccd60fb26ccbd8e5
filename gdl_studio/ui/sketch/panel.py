"""The Sketch panel: draw on a canvas and let an ink model (VRNN or RNN-GMM) continue it.

* **Extend** continues the drawing; the model's points stream in one by one in another colour
  until the continuation is accepted (Enter) or rejected (Esc).
* **Endings** draws N candidate continuations side by side; click one to keep it.
* **Dream up** draws a new character from scratch (accepting it replaces the drawing).
* **My set**: "Add to my set" keeps the drawing in the user's personal drawing set
  (:mod:`gdl_studio.ink.personal_set`), "Import SVGs to my set…" adds files, and "Fine-tune on
  my set…" emits :attr:`SketchPanel.finetune_requested` (the training dock runs the job). The
  model combo lists the shipped models and the personal (fine-tuned) ink models;
  :meth:`SketchPanel.refresh_models` re-reads them.

Generation runs on the app's engine (:mod:`gdl_studio.jobs.sketch`), never on the GUI thread;
a new request replaces the running one. Every change to the drawing — a stroke, Clear, an
accepted continuation, an opened SVG — is an undo command on the panel's stack. When the chosen
model's weights are missing or corrupt, a banner says so and only generation is disabled.

The state without widgets is :class:`~gdl_studio.ui.sketch.session.SketchSession`; the side
column's controls are in :mod:`~gdl_studio.ui.sketch.side_panel`, the style sheet in
:mod:`~gdl_studio.ui.sketch.style`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolBar, QVBoxLayout, QWidget

from gdl_studio.areas import area_named
from gdl_studio.core.personal import without_personal_mark
from gdl_studio.engine.worker import Engine
from gdl_studio.jobs import sketch as jobs
from gdl_studio.ui.panel import Panel
from gdl_studio.ui.settings import Key, Settings
from gdl_studio.ui.sketch import commands, files
from gdl_studio.ui.sketch.canvas import SketchCanvas
from gdl_studio.ui.sketch.drawing import SketchDocument, Stroke, group_points
from gdl_studio.ui.sketch.my_set import MySet, kanjivg_folder
from gdl_studio.ui.sketch.session import SketchSession
from gdl_studio.ui.sketch.side_panel import TEMPERATURE_MAX, TEMPERATURE_STEP, SketchSide
from gdl_studio.ui.sketch.style import style_sheet
from gdl_studio.ui.sketch.suggestions import Suggestions
from gdl_studio.ui.widgets.model_picker import ModelPicker
from gdl_studio.ui.widgets.problem_banner import ProblemBanner

MODELS = (("vrnn", "VRNN-GMM"), ("rnn-gmm", "RNN-GMM"))
REGISTRY_NAMES = {"vrnn": "ink-vrnn", "rnn-gmm": "ink-rnn-gmm"}
_SHORT_NAMES = {name: kind for kind, name in REGISTRY_NAMES.items()}
POINTS_PER_SECOND = 24.0


class SketchPanel(Panel):
    """Handwriting canvas + ink models; see the module docstring."""

    panel_id = "sketch"
    title = "Sketch"
    icon_name = "sketch"

    finetune_requested = Signal(str)
    """"Fine-tune on my set…" was pressed; carries the family ("ink")."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        parent: QWidget | None = None,
        loader: Callable[[str], object] | None = None,
    ) -> None:
        super().__init__(engine, settings, parent)
        self.loader = loader or jobs.default_loader
        self._check_cards = loader is None  # shipped models: look for their cards up front
        self.pace_s = 1.0 / POINTS_PER_SECOND  # tests set 0 for speed
        self.document = SketchDocument(self)
        self.session = SketchSession()
        self._applying = False
        self.suggestions = Suggestions(self)
        self._build()
        self.document.changed.connect(self._on_document_changed)
        self._check_model()
        self._update_ui()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        root = QHBoxLayout(self.content)
        root.setContentsMargins(10, 8, 10, 8)
        root.setSpacing(10)
        self.content.setStyleSheet(style_sheet())

        # left: tool row, banner, canvas, hint line
        left = QVBoxLayout()
        left.setSpacing(6)
        self.toolbar = QToolBar()
        self.toolbar.setObjectName("sketchTools")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.undo_action = self._tool("↶ Undo", "Undo the last change (Ctrl+Z)", self.undo_stack.undo)
        self.redo_action = self._tool("↷ Redo", "Redo (Ctrl+Shift+Z)", self.undo_stack.redo)
        self.clear_action = self._tool("✕ Clear", "Clear the canvas (undoable)", self.clear)
        self.toolbar.addSeparator()
        self.open_action = self._tool(
            "Open SVG…", "Open an SVG (e.g. a KanjiVG character) as a primer", self._open_dialog
        )
        self.export_action = self._tool("Export…", "Export the drawing as SVG or PNG", self._export_dialog)
        self.undo_button, self.redo_button, self.clear_button, self.open_button, self.export_button = (
            self.toolbar.widgetForAction(a)
            for a in (self.undo_action, self.redo_action, self.clear_action, self.open_action, self.export_action)
        )
        left.addWidget(self.toolbar)

        self.banner = ProblemBanner(self.content)
        left.addWidget(self.banner)

        self.canvas = SketchCanvas(self.document, self.content)
        self.canvas.stroke_drawn.connect(self._on_stroke_drawn)
        self.canvas.stroke_started.connect(self._on_stroke_started)
        left.addWidget(self.canvas, 1)

        bottom = QHBoxLayout()
        self.hint = QLabel("")
        self.hint.setObjectName("sketchHint")
        self.hint.setWordWrap(True)
        self.hint.setMinimumWidth(60)
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.info_label = QLabel("")
        self.info_label.setObjectName("sketchInfo")
        bottom.addWidget(self.hint, 1)
        bottom.addWidget(self.info_label)
        left.addLayout(bottom)
        root.addLayout(left, 1)

        # right: model settings, generation, endings, my set
        self.picker = ModelPicker(
            area_named("ink").choices,
            self.content,
            key=lambda name: _SHORT_NAMES.get(name, name),
            fallback=self.session.fallback,
            finetune_text=None,
            status=False,
        )
        self.model_combo = self.picker.combo
        self._fill_model_combo()
        if not self.picker.set_current(self.settings.get(Key.SKETCH_MODEL), quiet=True):
            self.model_combo.setCurrentIndex(0)
        self.side = side = SketchSide(self.picker)
        # the side's widgets, under the panel's names (one by one, so that their types are known)
        self.temperature_slider = side.temperature_slider
        self.temperature_label = side.temperature_label
        self.strokes_spin = side.strokes_spin
        self.seed_spin = side.seed_spin
        self.extend_button = side.extend_button
        self.dream_button = side.dream_button
        self.accept_button = side.accept_button
        self.reject_button = side.reject_button
        self.endings_button = side.endings_button
        self.endings_spin = side.endings_spin
        self.endings = side.endings
        self.endings_hint = side.endings_hint
        self.add_to_set_button = side.add_to_set_button
        self.import_set_button = side.import_set_button
        self.set_label = side.set_label
        self.finetune_button = side.finetune_button
        t = min(TEMPERATURE_MAX, max(TEMPERATURE_STEP, float(self.settings.get(Key.SKETCH_TEMPERATURE))))
        self.temperature_slider.setValue(round(t / TEMPERATURE_STEP))
        self.endings_spin.setValue(min(8, max(2, int(self.settings.get(Key.SKETCH_ENDINGS)))))
        self.picker.changed.connect(self._on_model_changed)
        self.temperature_slider.valueChanged.connect(self._on_temperature)
        self.extend_button.clicked.connect(self.extend)
        self.dream_button.clicked.connect(self.dream_up)
        self.accept_button.clicked.connect(self.accept)
        self.reject_button.clicked.connect(self.reject)
        self.endings_button.clicked.connect(self.show_endings)
        self.endings_spin.valueChanged.connect(lambda n: self.settings.set(Key.SKETCH_ENDINGS, int(n)))
        self.endings.picked.connect(self.pick_ending)
        self.endings.hovered.connect(self.suggestions._on_ending_hover)
        self.my_set = MySet(self, self)
        self.finetune_button.clicked.connect(lambda: self.finetune_requested.emit("ink"))
        root.addWidget(side)

        self.undo_stack.indexChanged.connect(self._on_undo_index)
        for keys, slot in (
            ("E", self.extend),
            ("D", self.dream_up),
            ("N", self.show_endings),
            (Qt.Key.Key_Return, self.accept),
            (Qt.Key.Key_Enter, self.accept),
            (Qt.Key.Key_Escape, self.reject),
        ):
            sc = QShortcut(QKeySequence(keys), self.content)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        self._on_temperature(self.temperature_slider.value())

        self.refresh_set()

    def _on_undo_index(self, _index: int = 0) -> None:
        if shiboken6.isValid(self.undo_stack) and shiboken6.isValid(self.undo_action):
            self._update_ui()

    def _tool(self, text: str, tip: str, slot) -> QAction:
        """A tool bar action (actions overflow into a menu when the panel is narrow)."""
        action = QAction(text, self)
        action.setToolTip(tip)
        action.triggered.connect(slot)
        self.toolbar.addAction(action)
        return action

    # ------------------------------------------------------------------ settings
    @property
    def kind(self) -> str:
        """The chosen model: ``"vrnn"``, ``"rnn-gmm"`` or a personal ink model's registry name."""
        return self.model_combo.currentData()

    def _label(self, kind: str) -> str:
        """The name shown for model ``kind``."""
        index = self.model_combo.findData(kind)
        if index >= 0:
            return without_personal_mark(self.model_combo.itemText(index))
        return dict(MODELS).get(kind, kind)

    @property
    def temperature(self) -> float:
        return round(self.temperature_slider.value() * TEMPERATURE_STEP, 4)

    def set_temperature(self, value: float) -> None:
        self.temperature_slider.setValue(round(value / TEMPERATURE_STEP))

    def set_model(self, kind: str) -> None:
        self.model_combo.setCurrentIndex(self.model_combo.findData(kind))

    # ------------------------------------------------------------------ models and the personal set
    def _fill_model_combo(self) -> None:
        """(Re)fill the picker: shipped models first, then personal ink models (by name), each
        personal one remembering its base (the fallback once it is deleted)."""
        self.picker.fill([(REGISTRY_NAMES[k], label) for k, label in MODELS])
        self._note_personal_models()

    def _note_personal_models(self) -> None:
        from gdl_studio.core.registry import default_registry

        names = [
            REGISTRY_NAMES.get(self.model_combo.itemData(i), self.model_combo.itemData(i))
            for i in range(self.model_combo.count())
        ]
        personal = {
            card.name: card
            for card in (default_registry().cards() if len(names) > len(MODELS) else [])
            if card.personal
        }
        for index, name in enumerate(names):
            card = personal.get(name)
            if card is None:
                continue
            base = str(card.data.get("base_model") or "")
            self.session.bases[name] = _SHORT_NAMES.get(base, base)
            if self.session.personal_model_seen(name, str(card.data.get("sha256", ""))):
                default_registry().forget(name)  # fine-tuned again: load the new weights
            self.model_combo.setItemData(
                index, f"Fine-tuned from {base or '?'} on your drawings", Qt.ItemDataRole.ToolTipRole
            )

    def refresh_models(self) -> None:
        """Re-read the installed ink models (e.g. after a fine-tune or a deletion).

        The chosen model stays chosen while it exists; a deleted personal model falls back to its
        base model (else the first shipped one).
        """
        previous = self.kind
        self.picker.blockSignals(True)
        try:
            self.picker.refresh([(REGISTRY_NAMES[k], label) for k, label in MODELS])
            self._note_personal_models()
        finally:
            self.picker.blockSignals(False)
        for name in list(self.session.problems):
            if name not in REGISTRY_NAMES and self.model_combo.findData(name) < 0:
                self.session.problems.pop(name, None)
        if self.kind != previous:
            if self.session.mode is not None:
                self._discard_suggestion()
            self._on_model_changed()
            self._say(f"Your model {previous} is gone; using {self._label(self.kind)}.")
        else:
            self._check_model()
            self._update_ui()

    # "My set" (the drawings a fine-tune learns from): see :mod:`gdl_studio.ui.sketch.my_set`
    def refresh_set(self) -> None:
        self.my_set.refresh()

    @property
    def set_count(self) -> int:
        return self.my_set.count()

    def add_to_set(self) -> None:
        self.my_set.add_drawing()

    def import_to_set(self, paths: list[str]) -> int:
        return self.my_set.import_files(paths)

    def _on_temperature(self, value: int) -> None:
        self.temperature_label.setText(f"{self.temperature:.2f}")
        self.settings.set(Key.SKETCH_TEMPERATURE, self.temperature)

    def _on_model_changed(self) -> None:
        self.settings.set(Key.SKETCH_MODEL, self.kind)
        self.model_changed.emit(self.active_model())
        self._check_model()
        self._update_ui()
        if self.isVisible() and not self.session.streaming:
            self._warm_up()

    def active_model(self) -> str:
        return REGISTRY_NAMES.get(self.kind, self.kind)

    # ------------------------------------------------------------------ model availability
    def _check_model(self) -> None:
        """Look for the model's card (cheap, no torch); weights are checked when loaded."""
        if self._check_cards:
            from gdl_studio.core.registry import ModelUnavailable, default_registry

            kinds = [kind for kind, _label in MODELS]
            if self.kind not in REGISTRY_NAMES:
                kinds.append(self.kind)
            for kind in kinds:
                if kind in self.session.problems or kind in self.session.warmed:
                    continue
                try:
                    default_registry().card(REGISTRY_NAMES.get(kind, kind))
                except ModelUnavailable as exc:
                    self.session.problems[kind] = str(exc)
        self._show_problem()

    def _show_problem(self) -> None:
        text = self.session.problem_text(self.kind, self._label(self.kind), MODELS, shipped=self.kind in REGISTRY_NAMES)
        self.banner.set_problem(text)

    def model_available(self) -> bool:
        return self.kind not in self.session.problems

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        self.refresh_set()
        QTimer.singleShot(0, self._warm_up)

    def _warm_up(self) -> None:
        """Load the chosen model on the engine in the background (once per model)."""
        if self.kind in self.session.warmed or self.kind in self.session.problems or self.session.mode is not None:
            return
        self.session.warmed.add(self.kind)
        self.session.request = self.engine.submit(
            self.panel_id, jobs.warmup_job(self.loader, self.kind), "Sketch: load model"
        )

    # ------------------------------------------------------------------ drawing
    def _on_stroke_started(self) -> None:
        if self.session.mode is not None:
            self._discard_suggestion()

    def _on_stroke_drawn(self, stroke: Stroke) -> None:
        self.undo_stack.push(commands.add_strokes(self.document, [stroke], "Draw stroke"))

    def clear(self) -> None:
        """Clear the canvas (an undo command)."""
        if self.session.mode is not None:
            self._discard_suggestion()
        if self.document.is_blank():
            self._say("The canvas is already blank.")
            return
        self.undo_stack.push(commands.clear(self.document))
        self._say("Cleared. Undo (Ctrl+Z) brings the drawing back.")

    def _on_document_changed(self) -> None:
        if not self._applying and self.session.mode is not None:
            self._discard_suggestion()
        self._update_ui()

    # ------------------------------------------------------------------ suggestions (see suggestions.py)
    def extend(self) -> None:
        """Continue the drawing; the continuation streams in until accepted or rejected."""
        self.suggestions.extend()

    def dream_up(self) -> None:
        """Draw a new character from scratch (accepting it replaces the drawing)."""
        self.suggestions.dream_up()

    def show_endings(self) -> None:
        """Draw N different continuations side by side; click one to keep it."""
        self.suggestions.show_endings()

    def accept(self) -> None:
        self.suggestions.accept()

    def reject(self) -> None:
        self.suggestions.reject()

    def pick_ending(self, index: int) -> None:
        self.suggestions.pick_ending(index)

    def _discard_suggestion(self) -> None:
        self.suggestions._discard_suggestion()

    def on_result(self, request_id: int, item: object) -> None:
        self.suggestions.on_result(request_id, item)

    def on_finished(self, info) -> None:
        self.suggestions.on_finished(info)

    def on_error(self, info) -> None:
        self.suggestions.on_error(info)

    def has_suggestion(self) -> bool:
        return self.session.mode is not None

    @property
    def pending_points(self) -> list[jobs.GenPoint]:
        """Streamed points of the current Extend / Dream up (not yet accepted)."""
        return list(self.session.pending)

    @property
    def streaming(self) -> bool:
        return self.session.streaming

    # ------------------------------------------------------------------ files
    def open_filters(self) -> str:
        return files.OPEN_FILTER

    def open_path(self, path: str) -> None:
        """Open an SVG (e.g. a KanjiVG file) as the drawing to continue (undoable)."""
        strokes = files.read_strokes(path)
        self._discard_suggestion()
        self.undo_stack.push(commands.SetStrokesCommand(self.document, strokes, f"Open {os.path.basename(path)}"))
        points = sum(len(s) for s in strokes)
        self._say(
            f"Opened {os.path.basename(path)}: {len(strokes)} strokes, {points:,} points. Press Extend to continue it."
        )

    def save_filters(self) -> str:
        return files.SAVE_FILTER

    def save_path(self, path: str) -> None:
        """Export the drawing (plus an unaccepted continuation, in its own colour) as SVG or PNG."""
        generated = group_points(self.session.pending) if self.session.mode in ("extend", "dream") else []
        strokes = [] if self.session.mode == "dream" else list(self.document.strokes)
        files.export_drawing(path, strokes, generated)
        self._say(f"Exported {os.path.basename(path)}.")

    def _open_dialog(self) -> None:
        files.open_dialog(self, kanjivg_folder())

    def _export_dialog(self) -> None:
        files.export_dialog(self)

    # ------------------------------------------------------------------ status
    def _say(self, text: str, kind: str = "info") -> None:
        self.hint.setText(text)
        self.hint.setProperty("kind", kind)
        self.hint.style().unpolish(self.hint)
        self.hint.style().polish(self.hint)
        if kind == "error":
            self.status_message.emit(text)

    @property
    def message(self) -> str:
        """The panel's latest message (what the hint line shows)."""
        return self.hint.text()

    def _update_ui(self) -> None:
        blank = self.document.is_blank()
        ok = self.model_available()
        self.undo_action.setEnabled(self.undo_stack.canUndo())
        self.redo_action.setEnabled(self.undo_stack.canRedo())
        self.undo_action.setToolTip(
            f"Undo {self.undo_stack.undoText()} (Ctrl+Z)" if self.undo_stack.canUndo() else "Nothing to undo"
        )
        self.redo_action.setToolTip(
            f"Redo {self.undo_stack.redoText()}" if self.undo_stack.canRedo() else "Nothing to redo"
        )
        state = self.session.buttons(blank, ok)
        self.clear_action.setEnabled(state.clear)
        self.add_to_set_button.setEnabled(state.add_to_set)
        for button in (self.extend_button, self.dream_button, self.endings_button):
            button.setEnabled(state.generate)
        self.extend_button.setText("Extend (drawing…)" if state.extending else "Extend")
        self.accept_button.setEnabled(state.accept)
        self.reject_button.setEnabled(state.reject)
        strokes = len(self.document.strokes)
        points = self.document.point_count()
        self.info_label.setText(f"{strokes} stroke{'s' if strokes != 1 else ''} · {points:,} points")
        if not self.hint.text():
            self._say("Draw with the mouse or a pen · E extends it · N shows endings · D dreams up a character")

    def shutdown(self) -> None:
        if self.session.streaming:
            self.engine.cancel(self.panel_id)
        self.session.streaming = False
