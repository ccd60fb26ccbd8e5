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
"""

from __future__ import annotations

import os
import random
from typing import Callable

import numpy as np
import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from gdl_studio.core.errors import UserError
from gdl_studio.engine.worker import Engine
from gdl_studio.ui.panel import Panel
from gdl_studio.ui.settings import Key, Settings
from gdl_studio.jobs import sketch as jobs
from gdl_studio.ui.sketch import commands
from gdl_studio.ui.sketch.canvas import SketchCanvas
from gdl_studio.ui.sketch.drawing import GENERATED_INK, SketchDocument, Stroke, group_points, render_image
from gdl_studio.ui.sketch.endings import EndingsView

MODELS = (("vrnn", "VRNN-GMM"), ("rnn-gmm", "RNN-GMM"))
REGISTRY_NAMES = {"vrnn": "ink-vrnn", "rnn-gmm": "ink-rnn-gmm"}
_SHORT_NAMES = {name: kind for kind, name in REGISTRY_NAMES.items()}
TEMPERATURE_STEP = 0.05
TEMPERATURE_MAX = 1.5
MAX_POINTS = 250
POINTS_PER_SECOND = 24.0

_STYLE = """
QLabel#sketchHint { color: #a9abc0; padding: 2px 4px; }
QLabel#sketchHint[kind="error"] { color: #f0a0a8; }
QLabel#sketchHint[kind="busy"] { color: #f6c453; }
QLabel#sketchInfo { color: #7d8099; padding: 2px 4px; }
QToolBar#sketchTools { background: transparent; border: none; padding: 0; spacing: 6px; }
QLabel#sketchBanner { background-color: #3a2430; color: #f3c4cb; border: 1px solid #6b3445;
                      border-radius: 6px; padding: 8px 10px; }
QLabel#sketchTemperature { color: #f6c453; font-weight: bold; min-width: 34px; }
QLabel#sketchEndingsHint { color: #7d8099; }
QPushButton#primary:disabled { background-color: #302d52; border-color: #3a3d52; color: #6f6d92; }
QPushButton#accept { background-color: #2f5a45; border-color: #4c8a6b; }
QPushButton#accept:hover { background-color: #376b52; }
QPushButton#accept:disabled, QPushButton#reject:disabled { background-color: #2b2d38; border-color: #3a3d52; }
QFrame#sketchSide { background: transparent; }
QSpinBox { padding-right: 18px; }
QSpinBox::up-button, QSpinBox::down-button { subcontrol-origin: border; width: 16px; border: none;
    border-left: 1px solid #3a3d52; background: #2b2d38; }
QSpinBox::up-button { subcontrol-position: top right; border-top-right-radius: 5px; }
QSpinBox::down-button { subcontrol-position: bottom right; border-bottom-right-radius: 5px; }
QSpinBox::up-button:hover, QSpinBox::down-button:hover { background: #3a3d52; }
QSpinBox::up-arrow { image: url(%(up)s); width: 8px; height: 5px; }
QSpinBox::down-arrow, QComboBox::down-arrow { image: url(%(down)s); width: 8px; height: 5px; }
QSpinBox::up-arrow:disabled { image: url(%(up_off)s); }
QSpinBox::down-arrow:disabled { image: url(%(down_off)s); }
QComboBox::drop-down { subcontrol-origin: padding; subcontrol-position: top right; width: 20px; border: none;
    border-left: 1px solid #3a3d52; }
QScrollArea#sketchSideScroll { border: none; background: transparent; }
"""


def _arrow_images() -> dict[str, str]:
    """Small arrow images for the spin boxes and combo box (the app style sheet has none)."""
    import tempfile
    from pathlib import Path

    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QImage, QPainter, QPolygonF

    folder = Path(tempfile.gettempdir()) / f"gdl-studio-sketch-{os.getuid() if hasattr(os, 'getuid') else 0}"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, up, colour in (("up", True, "#b8bad0"), ("down", False, "#b8bad0"), ("up_off", True, "#4a4d62"), ("down_off", False, "#4a4d62")):
        path = folder / f"arrow-{name}.png"
        if not path.is_file():
            img = QImage(16, 10, QImage.Format.Format_ARGB32_Premultiplied)
            img.fill(QColor(0, 0, 0, 0))
            p = QPainter(img)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QColor(colour))
            pts = [QPointF(1, 9), QPointF(15, 9), QPointF(8, 1)] if up else [QPointF(1, 1), QPointF(15, 1), QPointF(8, 9)]
            p.drawPolygon(QPolygonF(pts))
            p.end()
            img.save(str(path))
        out[name] = path.as_posix()
    return out


def _kanjivg_folder() -> str:
    """The installed KanjiVG files' folder ('' if the package is missing): a place to start."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("kanji")
    except (ImportError, ValueError):
        return ""
    locations = list(spec.submodule_search_locations or []) if spec else []
    return locations[0] if locations else ""


class SketchPanel(Panel):
    """Handwriting canvas + ink models; see the module docstring."""

    panel_id = "sketch"
    title = "Sketch"
    icon_name = "sketch"

    finetune_requested = Signal(str)
    """"Fine-tune on my set…" was pressed; carries the family ("ink")."""

    def __init__(self, engine: Engine, settings: Settings, parent: QWidget | None = None,
                 loader: Callable[[str], object] | None = None) -> None:
        super().__init__(engine, settings, parent)
        self.loader = loader or jobs.default_loader
        self._check_cards = loader is None  # shipped models: look for their cards up front
        self.pace_s = 1.0 / POINTS_PER_SECOND  # tests set 0 for speed
        self.document = SketchDocument(self)
        self._mode: str | None = None  # None, "extend", "dream" or "endings"
        self._request: int | None = None
        self._streaming = False
        self._pending: list[jobs.GenPoint] = []
        self._applying = False
        self._problems: dict[str, str] = {}
        self._warmed: set[str] = set()
        self._last_seed: int | None = None
        self._preview = -1
        self._bases: dict[str, str] = {}  # personal model → its base (combo data), for falling back
        self._personal_sha: dict[str, str] = {}
        self._build()
        self.document.changed.connect(self._on_document_changed)
        self._check_model()
        self._update_ui()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        root = QHBoxLayout(self.content)
        root.setContentsMargins(10, 8, 10, 8)
        root.setSpacing(10)
        try:
            style = _STYLE % _arrow_images()
        except (OSError, KeyError, ValueError):
            style = _STYLE.split("QSpinBox {")[0]
        self.content.setStyleSheet(style)

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
        self.open_action = self._tool("Open SVG…", "Open an SVG (e.g. a KanjiVG character) as a primer", self._open_dialog)
        self.export_action = self._tool("Export…", "Export the drawing as SVG or PNG", self._export_dialog)
        self.undo_button, self.redo_button, self.clear_button, self.open_button, self.export_button = (
            self.toolbar.widgetForAction(a)
            for a in (self.undo_action, self.redo_action, self.clear_action, self.open_action, self.export_action)
        )
        left.addWidget(self.toolbar)

        self.banner = QLabel("")
        self.banner.setObjectName("sketchBanner")
        self.banner.setWordWrap(True)
        self.banner.hide()
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

        # right: model settings, generation, endings
        side = QFrame()
        side.setObjectName("sketchSide")
        col = QVBoxLayout(side)
        col.setContentsMargins(0, 0, 4, 0)
        col.setSpacing(10)

        model_box = QGroupBox("Model")
        form = QFormLayout(model_box)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        form.setHorizontalSpacing(10)
        self.model_combo = QComboBox()
        self._fill_model_combo()
        saved = self.settings.get(Key.SKETCH_MODEL)
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(saved)))
        self.model_combo.setToolTip("VRNN-GMM: variational RNN (Chung et al. 2015); RNN-GMM: the plain baseline; "
                                    "★: your fine-tuned models")
        self.model_combo.currentIndexChanged.connect(self._on_model_changed)
        form.addRow("Network", self.model_combo)

        temp_row = QHBoxLayout()
        self.temperature_slider = QSlider(Qt.Orientation.Horizontal)
        self.temperature_slider.setRange(1, round(TEMPERATURE_MAX / TEMPERATURE_STEP))
        t = min(TEMPERATURE_MAX, max(TEMPERATURE_STEP, float(self.settings.get(Key.SKETCH_TEMPERATURE))))
        self.temperature_slider.setValue(round(t / TEMPERATURE_STEP))
        self.temperature_slider.setToolTip("Low: tidy and predictable. High: wild. (Scales the mixture weights and spreads.)")
        self.temperature_label = QLabel("")
        self.temperature_label.setObjectName("sketchTemperature")
        self.temperature_slider.valueChanged.connect(self._on_temperature)
        temp_row.addWidget(self.temperature_slider, 1)
        temp_row.addWidget(self.temperature_label)
        form.addRow("Temperature", temp_row)

        self.strokes_spin = QSpinBox()
        self.strokes_spin.setRange(1, 20)
        self.strokes_spin.setValue(3)
        self.strokes_spin.setToolTip("How many strokes Extend and Endings add")
        form.addRow("Strokes to add", self.strokes_spin)

        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 999_999)
        self.seed_spin.setSpecialValueText("random")
        self.seed_spin.setToolTip("Same seed, same drawing. 'random' picks a new one each time.")
        form.addRow("Seed", self.seed_spin)
        col.addWidget(model_box)

        gen_box = QGroupBox("Generate")
        g = QVBoxLayout(gen_box)
        g.setSpacing(6)
        self.extend_button = QPushButton("Extend")
        self.extend_button.setObjectName("primary")
        self.extend_button.setToolTip("Continue what is drawn (E)")
        self.extend_button.clicked.connect(self.extend)
        self.dream_button = QPushButton("Dream up a character")
        self.dream_button.setToolTip("Draw a new character from scratch (D)")
        self.dream_button.clicked.connect(self.dream_up)
        row = QHBoxLayout()
        self.accept_button = QPushButton("✓ Accept")
        self.accept_button.setObjectName("accept")
        self.accept_button.setToolTip("Keep the suggestion (Enter)")
        self.accept_button.clicked.connect(self.accept)
        self.reject_button = QPushButton("✗ Reject")
        self.reject_button.setObjectName("reject")
        self.reject_button.setToolTip("Throw the suggestion away (Esc)")
        self.reject_button.clicked.connect(self.reject)
        row.addWidget(self.accept_button)
        row.addWidget(self.reject_button)
        g.addWidget(self.extend_button)
        g.addWidget(self.dream_button)
        g.addLayout(row)
        col.addWidget(gen_box)

        end_box = QGroupBox("Endings")
        e = QVBoxLayout(end_box)
        e.setSpacing(6)
        row = QHBoxLayout()
        self.endings_button = QPushButton("Show endings")
        self.endings_button.setToolTip("Draw several different continuations to choose from (N)")
        self.endings_button.clicked.connect(self.show_endings)
        self.endings_spin = QSpinBox()
        self.endings_spin.setRange(2, 8)
        self.endings_spin.setValue(min(8, max(2, int(self.settings.get(Key.SKETCH_ENDINGS)))))
        self.endings_spin.setSuffix(" endings")
        self.endings_spin.valueChanged.connect(lambda n: self.settings.set(Key.SKETCH_ENDINGS, int(n)))
        row.addWidget(self.endings_button, 1)
        row.addWidget(self.endings_spin)
        e.addLayout(row)
        self.endings = EndingsView()
        self.endings.picked.connect(self.pick_ending)
        self.endings.hovered.connect(self._on_ending_hover)
        e.addWidget(self.endings)
        self.endings_hint = QLabel("Several continuations appear here side by side; click one to keep it.")
        self.endings_hint.setObjectName("sketchEndingsHint")
        self.endings_hint.setWordWrap(True)
        e.addWidget(self.endings_hint)
        col.addWidget(end_box)

        set_box = QGroupBox("My set")
        m = QVBoxLayout(set_box)
        m.setSpacing(6)
        self.add_to_set_button = QPushButton("Add to my set")
        self.add_to_set_button.setToolTip("Keep this drawing in your personal set, to fine-tune a model on your hand")
        self.add_to_set_button.clicked.connect(self.add_to_set)
        self.import_set_button = QPushButton("Import SVGs to my set…")
        self.import_set_button.setToolTip("Copy SVG drawings into your personal set")
        self.import_set_button.clicked.connect(self._import_dialog)
        self.set_label = QLabel("")
        self.set_label.setObjectName("sketchInfo")
        self.set_label.setWordWrap(True)
        self.finetune_button = QPushButton("Fine-tune on my set…")
        self.finetune_button.clicked.connect(lambda: self.finetune_requested.emit("ink"))
        m.addWidget(self.add_to_set_button)
        m.addWidget(self.import_set_button)
        m.addWidget(self.set_label)
        m.addWidget(self.finetune_button)
        col.addWidget(set_box)
        col.addStretch(1)

        scroll = QScrollArea()
        scroll.setObjectName("sketchSideScroll")
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(250)
        scroll.setMaximumWidth(318)
        scroll.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        side.setObjectName("sketchSide")
        root.addWidget(scroll)

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
            return self.model_combo.itemText(index).lstrip("★ ").strip()
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
        """(Re)fill the combo: shipped models first, then personal ink models (by name)."""
        from gdl_studio.core.registry import ModelUnavailable, default_registry
        from gdl_studio.ink.models_io import ink_model_choices

        try:
            choices = ink_model_choices()
        except (OSError, ModelUnavailable):
            choices = [(REGISTRY_NAMES[k], label) for k, label in MODELS]
        personal = {}
        for card in default_registry().cards() if len(choices) > len(MODELS) else []:
            if card.personal:
                personal[card.name] = card
        self.model_combo.clear()
        for name, label in choices:
            data = _SHORT_NAMES.get(name, name)
            self.model_combo.addItem(label, data)
            card = personal.get(name)
            if card is None:
                continue
            base = str(card.data.get("base_model") or "")
            self._bases[name] = _SHORT_NAMES.get(base, base)
            sha = str(card.data.get("sha256", ""))
            if self._personal_sha.get(name) != sha:  # new or replaced (fine-tuned again): load afresh
                if name in self._personal_sha:
                    default_registry().forget(name)
                self._personal_sha[name] = sha
                self._warmed.discard(name)
                self._problems.pop(name, None)
            self.model_combo.setItemData(self.model_combo.count() - 1,
                                         f"Fine-tuned from {base or '?'} on your drawings", Qt.ItemDataRole.ToolTipRole)

    def refresh_models(self) -> None:
        """Re-read the installed ink models (e.g. after a fine-tune or a deletion).

        The chosen model stays chosen while it exists; a deleted personal model falls back to its
        base model (else the first shipped one).
        """
        previous = self.kind
        self.model_combo.blockSignals(True)
        try:
            self._fill_model_combo()
            index = self.model_combo.findData(previous)
            fallback = previous
            seen = set()
            while index < 0 and fallback in self._bases and fallback not in seen:
                seen.add(fallback)
                fallback = self._bases[fallback]
                index = self.model_combo.findData(fallback)
            self.model_combo.setCurrentIndex(max(0, index))
        finally:
            self.model_combo.blockSignals(False)
        for name in list(self._problems):
            if name not in REGISTRY_NAMES and self.model_combo.findData(name) < 0:
                self._problems.pop(name, None)
        if self.kind != previous:
            if self._mode is not None:
                self._discard_suggestion()
            self._on_model_changed()
            self._say(f"Your model {previous} is gone; using {self._label(self.kind)}.")
        else:
            self._check_model()
            self._update_ui()

    def refresh_set(self) -> None:
        """Update the personal set's count (and what the set buttons allow)."""
        from gdl_studio.ink import personal_set

        try:
            n = personal_set.count()
        except OSError:
            n = 0
        need = personal_set.MIN_DRAWINGS
        text = f"{n} drawing{'s' if n != 1 else ''} in your set"
        if n < need:
            text += f" (add {need - n} more to fine-tune)"
        self.set_label.setText(text)
        self.finetune_button.setEnabled(n >= need)
        self.finetune_button.setToolTip(
            "Adapt a model to your drawings (runs in the Training dock)" if n >= need
            else f"Fine-tuning needs at least {need} drawings in your set")

    @property
    def set_count(self) -> int:
        from gdl_studio.ink import personal_set

        return personal_set.count()

    def add_to_set(self) -> None:
        """Save the drawing on the canvas into the personal set."""
        from gdl_studio.ink import personal_set

        if self.document.is_blank():
            self._say("Nothing to add: the canvas is blank.", "error")
            return
        try:
            personal_set.add(self.document.arrays())
        except (UserError, OSError) as exc:
            self._say(f"Could not add the drawing to your set: {exc}", "error")
            return
        self.refresh_set()
        self._say(f"Added to your set ({self.set_count} drawings).")

    def import_to_set(self, paths: list[str]) -> int:
        """Import SVG files or folders into the personal set; returns how many were added."""
        from gdl_studio.ink import personal_set

        try:
            added, errors = personal_set.import_svgs(paths)
        except (UserError, OSError) as exc:
            self._say(f"Import failed: {exc}", "error")
            return 0
        self.refresh_set()
        text = f"Imported {len(added)} drawing{'s' if len(added) != 1 else ''} into your set ({self.set_count} in all)."
        if errors:
            text += f" Skipped {len(errors)}: {errors[0]}" + (" …" if len(errors) > 1 else "")
        self._say(text, "error" if errors and not added else "info")
        return len(added)

    def _import_dialog(self) -> None:
        start = self.settings.get(Key.LAST_DIRECTORY) or _kanjivg_folder()
        paths, _ = QFileDialog.getOpenFileNames(self, "Import SVG drawings to my set", start, "SVG drawings (*.svg)")
        if paths:
            self.import_to_set(paths)
            self.settings.set(Key.LAST_DIRECTORY, os.path.dirname(paths[0]))

    def _on_temperature(self, value: int) -> None:
        self.temperature_label.setText(f"{self.temperature:.2f}")
        self.settings.set(Key.SKETCH_TEMPERATURE, self.temperature)

    def _on_model_changed(self) -> None:
        self.settings.set(Key.SKETCH_MODEL, self.kind)
        self.model_changed.emit(self.active_model())
        self._check_model()
        self._update_ui()
        if self.isVisible() and not self._streaming:
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
                if kind in self._problems or kind in self._warmed:
                    continue
                try:
                    default_registry().card(REGISTRY_NAMES.get(kind, kind))
                except ModelUnavailable as exc:
                    self._problems[kind] = str(exc)
        self._show_problem()

    def _show_problem(self) -> None:
        message = self._problems.get(self.kind)
        if message:
            label = self._label(self.kind)
            others = [dict(MODELS)[k] for k, _ in MODELS if k != self.kind and k not in self._problems]
            alt = f" Choose {others[0]}, or install" if others else " Install"
            fix = (f"{alt} the model (<code>gdl-studio train {self.kind}</code>)." if self.kind in REGISTRY_NAMES
                   else f"{alt.replace('install', 'fine-tune it again').replace('Install', 'Fine-tune it again')}.")
            self.banner.setText(
                f"<b>The {label} model is unavailable</b> — {message}<br>"
                f"Drawing, opening and exporting still work; generation is off.{fix}"
            )
            self.banner.show()
        else:
            self.banner.hide()

    def model_available(self) -> bool:
        return self.kind not in self._problems

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        self.refresh_set()
        QTimer.singleShot(0, self._warm_up)

    def _warm_up(self) -> None:
        """Load the chosen model on the engine in the background (once per model)."""
        if self.kind in self._warmed or self.kind in self._problems or self._mode is not None:
            return
        self._warmed.add(self.kind)
        self._request = self.engine.submit(self.panel_id, jobs.warmup_job(self.loader, self.kind), "Sketch: load model")

    # ------------------------------------------------------------------ drawing
    def _on_stroke_started(self) -> None:
        if self._mode is not None:
            self._discard_suggestion()

    def _on_stroke_drawn(self, stroke: Stroke) -> None:
        self.undo_stack.push(commands.add_strokes(self.document, [stroke], "Draw stroke"))

    def clear(self) -> None:
        """Clear the canvas (an undo command)."""
        if self._mode is not None:
            self._discard_suggestion()
        if self.document.is_blank():
            self._say("The canvas is already blank.")
            return
        self.undo_stack.push(commands.clear(self.document))
        self._say("Cleared. Undo (Ctrl+Z) brings the drawing back.")

    def _on_document_changed(self) -> None:
        if not self._applying and self._mode is not None:
            self._discard_suggestion()
        self._update_ui()

    # ------------------------------------------------------------------ generation
    def _seed(self) -> int:
        seed = self.seed_spin.value() or random.randrange(1, 1_000_000)
        self._last_seed = seed
        return seed

    def _can_generate(self) -> bool:
        if not self.model_available():
            self._say(f"The {self._label(self.kind)} model is unavailable: {self._problems[self.kind]}", "error")
            return False
        return True

    def _primer(self) -> list[np.ndarray] | None:
        """The drawing as a primer, checked; ``None`` (after a message) when it cannot be one."""
        from gdl_studio.ink.strokes import primer_stroke3

        if self.document.is_blank():
            self._say("Nothing to extend: the canvas is blank. Draw a few strokes (or open an SVG) first, "
                      "or press Dream up for a character from scratch.", "error")
            return None
        strokes = self.document.arrays()
        try:
            primer_stroke3(strokes)
        except UserError as exc:
            self._say(f"Cannot continue this drawing: {exc}.", "error")
            return None
        return strokes

    def _submit(self, mode: str, primer, seeds: list[int], max_strokes: int | None, label: str) -> None:
        self._discard_suggestion()
        self._mode = mode
        self._streaming = True
        self._pending = []
        job = jobs.generation_job(self.loader, self.kind, primer, self.temperature, seeds, MAX_POINTS, max_strokes, self.pace_s)
        self._request = self.engine.submit(self.panel_id, job, label)
        self._warmed.add(self.kind)
        self._update_ui()

    def extend(self) -> None:
        """Continue the drawing; the continuation streams in until accepted or rejected."""
        if not self._can_generate():
            return
        primer = self._primer()
        if primer is None:
            return
        seed = self._seed()
        n = self.strokes_spin.value()
        self._submit("extend", primer, [seed], n, "Sketch: extend")
        self._say(f"Extending by {n} stroke{'s' if n > 1 else ''} with {self._label(self.kind)} "
                  f"(temperature {self.temperature:.2f}, seed {seed})…", "busy")

    def dream_up(self) -> None:
        """Draw a new character from scratch (accepting it replaces the drawing)."""
        if not self._can_generate():
            return
        seed = self._seed()
        self._submit("dream", None, [seed], None, "Sketch: dream up")
        self.canvas.set_overlay([], None, dim_document=True)
        self._say(f"Dreaming up a character with {self._label(self.kind)} (temperature {self.temperature:.2f}, seed {seed})…", "busy")

    def show_endings(self) -> None:
        """Draw N different continuations side by side; click one to keep it."""
        if not self._can_generate():
            return
        primer = self._primer()
        if primer is None:
            return
        count = self.endings_spin.value()
        base = self._seed()
        seeds = [base + i for i in range(count)]
        self._submit("endings", primer, seeds, self.strokes_spin.value(), "Sketch: endings")
        self.endings.start(count, self.document.strokes)
        self.endings_hint.setText("Drawing endings…")
        self._say(f"Drawing {count} endings (seeds {base}–{base + count - 1})…", "busy")

    def accept(self) -> None:
        """Keep the streamed continuation (or dreamt character) as an undoable change."""
        if self._mode not in ("extend", "dream"):
            if self._mode == "endings":
                self._say("Click one of the endings to keep it, or Reject to dismiss them.")
            return
        strokes = [Stroke.make(s, source="model") for s in group_points(self._pending)]
        mode = self._mode
        self._stop_engine()
        if not strokes:
            self._discard_suggestion()
            self._say("Nothing generated yet to accept.")
            return
        self._applying = True
        try:
            if mode == "extend":
                self.undo_stack.push(commands.add_strokes(self.document, strokes, "Accept extension"))
            else:
                self.undo_stack.push(commands.SetStrokesCommand(self.document, strokes, "Dream up"))
        finally:
            self._applying = False
        self._end_suggestion()
        self._say(f"Accepted {len(strokes)} stroke{'s' if len(strokes) != 1 else ''}. Undo (Ctrl+Z) takes them back.")

    def reject(self) -> None:
        """Throw the suggestion (extension, dream or endings) away."""
        if self._mode is None:
            return
        self._discard_suggestion()
        self._say("Suggestion rejected.")

    def pick_ending(self, index: int) -> None:
        """Keep ending ``index`` (an undoable change)."""
        if self._mode != "endings" or not (0 <= index < self.endings.count()):
            return
        strokes = [Stroke.make(s, source="model") for s in self.endings.candidate(index)]
        if not strokes:
            self._say("That ending has no strokes yet.")
            return
        self._stop_engine()
        self._applying = True
        try:
            self.undo_stack.push(commands.add_strokes(self.document, strokes, f"Accept ending {index + 1}"))
        finally:
            self._applying = False
        self._end_suggestion()
        self._say(f"Kept ending {index + 1}. Undo (Ctrl+Z) takes it back.")

    def _on_ending_hover(self, index: int) -> None:
        self._preview = index
        self.endings.highlight(index)
        if self._mode == "endings" and index >= 0:
            self.canvas.set_overlay(self.endings.candidate(index))
        elif self._mode == "endings":
            self.canvas.clear_overlay()

    # ------------------------------------------------------------------ suggestion state
    def _stop_engine(self) -> None:
        if self._streaming:
            self.engine.cancel(self.panel_id)
        self._streaming = False

    def _end_suggestion(self) -> None:
        self._mode = None
        self._pending = []
        self._preview = -1
        self.canvas.clear_overlay()
        self.endings.clear()
        self.endings_hint.setText("Several continuations appear here side by side; click one to keep it.")
        self._update_ui()

    def _discard_suggestion(self) -> None:
        if self._mode is None and not self._streaming:
            return
        self._stop_engine()
        self._end_suggestion()

    def has_suggestion(self) -> bool:
        return self._mode is not None

    @property
    def pending_points(self) -> list[jobs.GenPoint]:
        """Streamed points of the current Extend / Dream up (not yet accepted)."""
        return list(self._pending)

    @property
    def streaming(self) -> bool:
        return self._streaming

    # ------------------------------------------------------------------ engine results
    def on_result(self, request_id: int, item: object) -> None:
        if request_id != self._request:
            return
        if isinstance(item, jobs.ModelReady):
            if self._problems.pop(item.model, None) is not None:
                self._show_problem()
                self._update_ui()
            return
        if isinstance(item, jobs.ModelProblem):
            self._problems[item.model] = item.message
            self._streaming = False
            if self._mode is not None:
                self._end_suggestion()
            self._show_problem()
            self._say(f"{self._label(item.model)} model unavailable: {item.message}", "error")
            self._update_ui()
            return
        if not isinstance(item, jobs.GenPoint) or self._mode is None:
            return
        if self._mode == "endings":
            self.endings.add_point(item.candidate, item)
            if self._preview == item.candidate:
                self.canvas.set_overlay(self.endings.candidate(item.candidate))
            return
        self._pending.append(item)
        self.canvas.set_overlay(group_points(self._pending), (item.x, item.y), dim_document=self._mode == "dream")
        if len(self._pending) == 1:
            self._update_ui()

    def on_finished(self, info) -> None:
        if info.request_id != self._request or info.cancelled:
            return
        self._streaming = False
        if self._mode in ("extend", "dream"):
            if not self._pending:
                self._end_suggestion()
                self._say("The model drew nothing; try again or raise the temperature.")
            else:
                self.canvas.set_overlay(group_points(self._pending), None, dim_document=self._mode == "dream")
                n = len(group_points(self._pending))
                what = "Extension" if self._mode == "extend" else "Character"
                self._say(f"{what} ready: {n} stroke{'s' if n != 1 else ''}, {len(self._pending)} points "
                          f"(seed {self._last_seed}). Accept (Enter) or Reject (Esc).")
        elif self._mode == "endings":
            self.endings.finish()
            self.endings_hint.setText("Hover to preview on the canvas; click one to keep it. Reject (Esc) dismisses them.")
            self._say(f"{self.endings.count()} endings ready: click one to keep it.")
        self._update_ui()

    def on_error(self, info) -> None:
        if info.request_id != self._request:
            return
        self._streaming = False
        if self._mode is not None:
            self._end_suggestion()
        self._say(f"Generation failed: {info.message}", "error")
        self._update_ui()

    # ------------------------------------------------------------------ files
    def open_filters(self) -> str:
        return "SVG drawings (*.svg)"

    def open_path(self, path: str) -> None:
        """Open an SVG (e.g. a KanjiVG file) as the drawing to continue (undoable)."""
        from gdl_studio.ink.svgio import read_svg_strokes

        arrays = read_svg_strokes(path)  # UserError with one line on bad input
        strokes = [Stroke.make(a, source="file") for a in arrays]
        self._discard_suggestion()
        self.undo_stack.push(commands.SetStrokesCommand(self.document, strokes, f"Open {os.path.basename(path)}"))
        points = sum(len(s) for s in strokes)
        self._say(f"Opened {os.path.basename(path)}: {len(strokes)} strokes, {points:,} points. Press Extend to continue it.")

    def save_filters(self) -> str:
        return "SVG drawing (*.svg);;PNG image (*.png)"

    def save_path(self, path: str) -> None:
        """Export the drawing (plus an unaccepted continuation, in its own colour) as SVG or PNG."""
        from gdl_studio.core.atomic import atomic_path
        from gdl_studio.ink.svgio import write_svg

        ext = os.path.splitext(path)[1].lower()
        if ext not in (".svg", ".png"):
            raise UserError(f"export as .svg or .png (not {ext or 'a name without an extension'})")
        generated = group_points(self._pending) if self._mode in ("extend", "dream") else []
        strokes = [] if self._mode == "dream" else list(self.document.strokes)
        if not strokes and not generated:
            raise UserError("nothing to export: the canvas is blank")
        if ext == ".svg":
            write_svg(path, [np.asarray(s.points) for s in strokes], generated, generated_colour=GENERATED_INK.name())
        else:
            image = render_image(strokes, generated)
            with atomic_path(path) as tmp:
                if not image.save(str(tmp), "PNG"):
                    raise OSError(f"could not write PNG {path}")
        self._say(f"Exported {os.path.basename(path)}.")

    def _open_dialog(self) -> None:
        start = self.settings.get(Key.LAST_DIRECTORY) or _kanjivg_folder()
        path, _ = QFileDialog.getOpenFileName(self, "Open SVG as a primer", start, self.open_filters())
        if not path:
            return
        try:
            self.open_path(path)
        except (UserError, OSError, ValueError) as exc:
            QMessageBox.warning(self, "Cannot open file", f"{os.path.basename(path)}: {exc}")
            return
        self.settings.set(Key.LAST_DIRECTORY, os.path.dirname(path))
        self.settings.add_recent_file(path)

    def _export_dialog(self) -> None:
        path, selected = QFileDialog.getSaveFileName(self, "Export drawing", self.settings.get(Key.LAST_DIRECTORY), self.save_filters())
        if not path:
            return
        if not os.path.splitext(path)[1]:
            path += ".png" if "png" in selected.lower() else ".svg"
        try:
            self.save_path(path)
        except (UserError, OSError, ValueError) as exc:
            QMessageBox.warning(self, "Cannot export", str(exc))

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
        self.undo_action.setToolTip(f"Undo {self.undo_stack.undoText()} (Ctrl+Z)" if self.undo_stack.canUndo() else "Nothing to undo")
        self.redo_action.setToolTip(f"Redo {self.undo_stack.redoText()}" if self.undo_stack.canRedo() else "Nothing to redo")
        self.clear_action.setEnabled(not blank)
        self.add_to_set_button.setEnabled(not blank)
        self.extend_button.setEnabled(ok)
        self.dream_button.setEnabled(ok)
        self.endings_button.setEnabled(ok)
        self.extend_button.setText("Extend (drawing…)" if self._streaming and self._mode == "extend" else "Extend")
        suggestion = self._mode in ("extend", "dream") and bool(self._pending)
        self.accept_button.setEnabled(suggestion)
        self.reject_button.setEnabled(self._mode is not None)
        strokes = len(self.document.strokes)
        points = self.document.point_count()
        self.info_label.setText(f"{strokes} stroke{'s' if strokes != 1 else ''} · {points:,} points")
        if not self.hint.text():
            self._say("Draw with the mouse or a pen · E extends it · N shows endings · D dreams up a character")

    def shutdown(self) -> None:
        if self._streaming:
            self.engine.cancel(self.panel_id)
        self._streaming = False
