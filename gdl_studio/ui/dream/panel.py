"""The Dream panel: watch a World Model drive CarRacing, in the real game or inside its own dream.

* **Real game** — the controller C drives CarRacing-v3 from what V sees (z) and what M expects (h).
  The 96×96 observation is shown scaled up beside V's 64×64 reconstruction of it.
* **Dream** — no game at all: M samples the next z, V decodes it into a picture, C drives on
  it. The temperature τ (0.1–1.5) changes how wild the dream is, live. The dream starts from a
  random z or from the last real frame ("Dream from this frame").

In both modes a person takes the wheel by holding the arrow keys or WASD (the action bars turn
yellow); letting go hands it back to the controller, as in the worldmodels.github.io demo.
Frames are produced on the app's engine (:mod:`gdl_studio.jobs.dream`) at most 30 a second,
never on the GUI thread. Missing or corrupt weights, or a missing Box2D / pygame, show a message
here and leave the rest of the app alone.
"""

from __future__ import annotations

import collections
import random
import time
from typing import Callable

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QButtonGroup,
    QComboBox,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from gdl_studio.engine.worker import Engine
from gdl_studio.racing.dream import DriveControls
from gdl_studio.jobs import dream as jobs
from gdl_studio.jobs.common import ModelProblem, ModelReady, Playback
from gdl_studio.ui.dream.keys import DriveKeys
from gdl_studio.ui.dream.plots import DreamPlots
from gdl_studio.ui.dream.views import AGENT_BADGE, HUMAN_BADGE, ActionBars, FrameView, StatTile
from gdl_studio.ui.panel import Panel
from gdl_studio.ui.settings import Key, Settings

REAL, DREAM = jobs.REAL, jobs.DREAM
TAU_MIN, TAU_MAX = 0.1, 1.5
TAU_SCALE = 100  # slider units per 1.0 of τ
MAX_SEED = 999_999
NARROW_WIDTH = 1000  # below this the read-outs take two columns
PLOT_INTERVAL_MS = 100  # the plots are redrawn 10 times a second, the frames up to 30
TRAIN_HINT = "gdl-studio train world-model collect|vae|mdn-rnn|controller"

_STYLE = """
QLabel#dreamBanner { background-color: #3a2430; color: #f3c4cb; border: 1px solid #6b3445;
                     border-radius: 6px; padding: 8px 10px; }
QLabel#dreamNotice { background-color: #2e2a1c; color: #f3dfa8; border: 1px solid #6b5a2a;
                     border-radius: 6px; padding: 6px 10px; }
QLabel#dreamHint { color: #8d90a8; padding: 2px 2px; }
QLabel#dreamDriver { font-weight: bold; padding: 2px 10px; border-radius: 9px; }
QLabel#dreamDriver[human="true"] { background-color: #f6c453; color: #1e1f26; }
QLabel#dreamDriver[human="false"] { background-color: #3a3270; color: #e6e6f0; }
QLabel#dreamController { color: #a9abc0; }
QLabel#dreamTau { color: #f6c453; font-weight: bold; min-width: 36px; }
QFrame#dreamStat { background-color: #23242d; border: 1px solid #2f3142; border-radius: 8px; }
QLabel#dreamStatTitle { color: #8d90a8; font-size: 8pt; background: transparent; }
QLabel#dreamStatValue { color: #e6e6f0; font-size: 14pt; font-weight: bold; background: transparent; }
QFrame#dreamBarsBox { background-color: #23242d; border: 1px solid #2f3142; border-radius: 8px; }
QFrame#dreamBarsBox QLabel, QFrame#dreamBarsBox QWidget { background: transparent; }
QPushButton#modeButton { padding: 6px 16px; font-weight: bold; }
QPushButton#modeButton:checked { background-color: #5b4bc4; border-color: #7a6ae0; color: #ffffff; }
QPushButton:disabled { color: #5c5f75; background-color: #24252e; border-color: #30323f; }
QSpinBox { padding-right: 4px; }
QRadioButton { spacing: 6px; }
QRadioButton:disabled { color: #5c5f75; }
QRadioButton::indicator { width: 12px; height: 12px; border-radius: 7px; border: 1px solid #6a6d88; background: #262733; }
QRadioButton::indicator:checked { background: qradialgradient(cx:0.5, cy:0.5, radius:0.5, fx:0.5, fy:0.5,
    stop:0 #f6c453, stop:0.45 #f6c453, stop:0.55 #262733, stop:1 #262733); border-color: #f6c453; }
QRadioButton::indicator:disabled { border-color: #3a3d52; background: #202129; }
"""


def _glyph_icon(kind: str):
    """A small play / pause icon painted in the theme's text colour (no icon files needed)."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF

    pm = QPixmap(32, 32)
    pm.fill(QColor(0, 0, 0, 0))
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#e6e6f0"))
    if kind == "play":
        p.drawPolygon(QPolygonF([QPointF(9, 6), QPointF(26, 16), QPointF(9, 26)]))
    else:
        p.drawRoundedRect(8, 6, 6, 20, 1.5, 1.5)
        p.drawRoundedRect(18, 6, 6, 20, 1.5, 1.5)
    p.end()
    return QIcon(pm)


def reconstruction_error(obs: np.ndarray, reconstruction: np.ndarray) -> float:
    """Mean absolute difference (0–255) between the 64×64 frame V is shown and V's reconstruction."""
    from gdl_studio.racing.preprocess import preprocess

    return float(np.abs(preprocess(obs).astype(np.int16) - reconstruction.astype(np.int16)).mean())


class DreamPanel(Panel):
    """Real game and dream viewer of the CarRacing World Model; see the module docstring."""

    panel_id = "dream"
    title = "Dream"
    icon_name = "dream"
    finetune_requested = Signal(str)  # "controller": open the Training dock for a new controller job

    def __init__(self, engine: Engine, settings: Settings, parent: QWidget | None = None,
                 loader: Callable[[], object] | None = None) -> None:
        super().__init__(engine, settings, parent)
        self.source = jobs.WorldSource(loader)
        self._check_cards = loader is None  # shipped models: look for their cards up front
        tau = min(TAU_MAX, max(TAU_MIN, float(settings.get(Key.DREAM_TEMPERATURE))))
        self.controls = DriveControls(temperature=tau)
        self.playback = Playback()
        self.keys = DriveKeys()
        self._mode = REAL
        self._seed = random.randrange(1000)
        self._request: int | None = None
        self._streaming = False
        self._frames = 0
        self._last_frame = None
        self._last_obs: np.ndarray | None = None
        self._dream_from_real = False
        self._problem: str | None = None
        self._sim_problem: str | None = None
        self._controller_spec = None
        self._controller_name = ""
        self._started = False
        self._resume_on_show = False
        self._filter_installed = False
        self._frame_times: collections.deque[float] = collections.deque(maxlen=20)
        self.max_steps: int | None = None  # episode length (None: the game's 1000 steps); tests shorten it
        self._plots_dirty = False
        self._build()
        self._plot_timer = QTimer(self)
        self._plot_timer.setInterval(PLOT_INTERVAL_MS)
        self._plot_timer.timeout.connect(self.refresh_plots)
        self._check_model()
        self._show_mode()
        self._update_ui()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.content.setStyleSheet(_STYLE)
        self._icons = {"play": _glyph_icon("play"), "pause": _glyph_icon("pause")}
        root = QVBoxLayout(self.content)
        root.setContentsMargins(12, 10, 12, 8)
        root.setSpacing(8)

        # --- top row: mode, episode controls, who drives
        top = QHBoxLayout()
        top.setSpacing(6)
        self.real_button = QPushButton("Real game")
        self.dream_button = QPushButton("Dream")
        self.mode_group = QButtonGroup(self)
        for button, mode, tip in (
            (self.real_button, REAL, "The controller drives the real CarRacing game (1)"),
            (self.dream_button, DREAM, "The controller drives inside the world model's dream (2)"),
        ):
            button.setObjectName("modeButton")
            button.setCheckable(True)
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, m=mode: self.set_mode(m))
            self.mode_group.addButton(button)
            top.addWidget(button)
        self.real_button.setChecked(True)
        top.addSpacing(14)
        self.play_button = QPushButton("Pause")
        self.play_button.setToolTip("Pause or resume (Space)")
        self.play_button.clicked.connect(self.toggle_pause)
        self.reset_button = QPushButton("⟲ Reset")
        self.reset_button.setToolTip("Start this episode again: same track, same dream (R)")
        self.reset_button.clicked.connect(self.reset_episode)
        self.new_button = QPushButton("⟳ New episode")
        self.new_button.setToolTip("A new track / a new dream with a new seed (N)")
        self.new_button.clicked.connect(self.new_episode)
        for b in (self.play_button, self.reset_button, self.new_button):
            top.addWidget(b)
        seed_label = QLabel("Seed")
        seed_label.setContentsMargins(8, 0, 0, 0)
        top.addWidget(seed_label)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, MAX_SEED)
        self.seed_spin.setValue(self._seed)
        self.seed_spin.setToolTip("The track (real game) or the dream's random start; Enter restarts with it")
        self.seed_spin.setMinimumWidth(80)
        self.seed_spin.editingFinished.connect(self._on_seed_edited)
        top.addWidget(self.seed_spin)
        top.addStretch(1)
        top.addWidget(QLabel("Driver"))
        self.controller_combo = QComboBox()
        self.controller_combo.setToolTip("Who drives: the shipped controller or one of your fine-tuned ones")
        self.controller_combo.setMinimumWidth(170)
        self._fill_controllers()
        self.controller_combo.activated.connect(self._on_controller_chosen)
        top.addWidget(self.controller_combo)
        self.finetune_button = QPushButton("Fine-tune…")
        self.finetune_button.setToolTip("Continue CMA-ES on the controller, in the dream or the real game (Training dock)")
        self.finetune_button.clicked.connect(lambda: self.finetune_requested.emit("controller"))
        top.addWidget(self.finetune_button)
        self.shipped_button = QPushButton("Use shipped controller")
        self.shipped_button.setToolTip("Go back to the controller that ships with the app")
        self.shipped_button.clicked.connect(lambda: self.watch_controller(None))
        self.shipped_button.hide()
        top.addWidget(self.shipped_button)
        root.addLayout(top)

        # --- banners
        self.banner = QLabel("")
        self.banner.setObjectName("dreamBanner")
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()
        banner_row = QHBoxLayout()
        banner_row.addWidget(self.banner, 1)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setToolTip("Look for the world model's weights again")
        self.retry_button.clicked.connect(self.retry)
        self.retry_button.hide()
        banner_row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        root.addLayout(banner_row)
        self.notice = QLabel("")
        self.notice.setObjectName("dreamNotice")
        self.notice.setWordWrap(True)
        self.notice.hide()
        root.addWidget(self.notice)

        # --- middle: frames + bars + read-outs (left), dream settings + plots (right)
        middle = QHBoxLayout()
        middle.setSpacing(12)
        left = QVBoxLayout()
        left.setSpacing(8)
        views = QHBoxLayout()
        views.setSpacing(12)
        self.view = FrameView("Real game", "96×96")
        self.recon_view = FrameView("What V sees", "64×64 reconstruction")
        views.addWidget(self.view, 1)
        views.addWidget(self.recon_view, 1)
        left.addLayout(views)

        under = QHBoxLayout()
        under.setSpacing(10)
        bars_box = QFrame()
        bars_box.setObjectName("dreamBarsBox")
        bl = QVBoxLayout(bars_box)
        bl.setContentsMargins(12, 8, 12, 4)
        bl.setSpacing(2)
        driver_row = QHBoxLayout()
        driver_row.setSpacing(8)
        self.driver_label = QLabel("AGENT DRIVES")
        self.driver_label.setObjectName("dreamDriver")
        self.driver_label.setProperty("human", "false")
        self.driver_label.setToolTip("Hold the arrow keys or W A S D to take the wheel")
        self.driver_label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        driver_row.addWidget(self.driver_label, 0, Qt.AlignmentFlag.AlignVCenter)
        self.controller_label = QLabel("")
        self.controller_label.setObjectName("dreamController")
        self.controller_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        driver_row.addWidget(self.controller_label, 1)
        bl.addLayout(driver_row)
        self.bars = ActionBars()
        bl.addWidget(self.bars)
        under.addWidget(bars_box, 5)
        stats = QGridLayout()
        stats.setSpacing(6)
        self.total_stat = StatTile("Reward")
        self.step_stat = StatTile("Step")
        self.fps_stat = StatTile("Frames/s")
        self.reward_stat = StatTile("This step")
        self.model_stat = StatTile("M predicted")
        self.tau_stat = StatTile("Dream τ")
        self._tiles = (self.total_stat, self.step_stat, self.fps_stat, self.reward_stat, self.model_stat, self.tau_stat)
        for tile in self._tiles:
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            tile.setMinimumWidth(72)
        self._stats = stats
        self._stat_columns = 0
        self._layout_stats(3)
        under.addLayout(stats, 6)
        left.addLayout(under)
        left.addStretch(1)
        middle.addLayout(left, 1)

        right = QVBoxLayout()
        right.setSpacing(8)
        dream_box = QGroupBox("Dream")
        dl = QVBoxLayout(dream_box)
        dl.setSpacing(6)
        tau_row = QHBoxLayout()
        tau_title = QLabel("Temperature τ")
        tau_title.setToolTip("How much M's sampling is spread: low = calm and repetitive, high = wild and unstable")
        self.tau_slider = QSlider(Qt.Orientation.Horizontal)
        self.tau_slider.setRange(round(TAU_MIN * TAU_SCALE), round(TAU_MAX * TAU_SCALE))
        self.tau_slider.setSingleStep(5)
        self.tau_slider.setPageStep(10)
        self.tau_slider.setValue(round(self.controls.temperature * TAU_SCALE))
        self.tau_slider.setToolTip(tau_title.toolTip() + " (applied live)")
        self.tau_slider.valueChanged.connect(self._on_tau)
        self.tau_label = QLabel("")
        self.tau_label.setObjectName("dreamTau")
        tau_row.addWidget(tau_title)
        tau_row.addWidget(self.tau_slider, 1)
        tau_row.addWidget(self.tau_label)
        dl.addLayout(tau_row)
        start_row = QGridLayout()
        start_row.setHorizontalSpacing(10)
        start_row.setVerticalSpacing(2)
        start_row.addWidget(QLabel("Start from"), 0, 0)
        self.start_random = QRadioButton("a random z")
        self.start_real = QRadioButton("the last real frame")
        self.start_random.setChecked(True)
        self.start_random.setToolTip("Draw the first z from N(0, I): a new dream for every seed")
        self.start_real.setToolTip("Encode the last frame of the real game and dream on from there")
        start_row.addWidget(self.start_random, 0, 1)
        start_row.addWidget(self.start_real, 1, 1)
        start_row.setColumnStretch(2, 1)
        dl.addLayout(start_row)
        self.dream_here_button = QPushButton("Dream from this frame")
        self.dream_here_button.setObjectName("primary")
        self.dream_here_button.setToolTip("Leave the real game and let the world model dream on from what it sees now (F)")
        self.dream_here_button.clicked.connect(self.dream_from_here)
        dl.addWidget(self.dream_here_button)
        right.addWidget(dream_box)
        self.plots = DreamPlots()
        self.plots.setMinimumWidth(240)
        right.addWidget(self.plots, 1)
        right_box = QWidget()
        right_box.setLayout(right)
        right_box.setMinimumWidth(250)
        right_box.setMaximumWidth(340)
        middle.addWidget(right_box)
        root.addLayout(middle, 1)

        self.hint = QLabel("")
        self.hint.setObjectName("dreamHint")
        self.hint.setWordWrap(True)
        root.addWidget(self.hint)

        for keys, slot in (
            (Qt.Key.Key_Space, self.toggle_pause),
            ("R", self.reset_episode),
            ("N", self.new_episode),
            ("F", self.dream_from_here),
            ("1", lambda: self.set_mode(REAL)),
            ("2", lambda: self.set_mode(DREAM)),
        ):
            sc = QShortcut(QKeySequence(keys), self.content)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)
        self._on_tau(self.tau_slider.value())

    # ------------------------------------------------------------------ public API
    @property
    def mode(self) -> str:
        """'real' or 'dream'."""
        return self._mode

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def streaming(self) -> bool:
        """Whether an episode is running (possibly paused)."""
        return self._streaming

    @property
    def paused(self) -> bool:
        return self.playback.paused

    @property
    def temperature(self) -> float:
        return round(self.tau_slider.value() / TAU_SCALE, 4)

    def set_temperature(self, tau: float) -> None:
        """Set τ (clamped to 0.1–1.5); a running dream uses it from its next frame."""
        self.tau_slider.setValue(round(min(TAU_MAX, max(TAU_MIN, float(tau))) * TAU_SCALE))

    def frame_count(self) -> int:
        """Frames shown in the current episode."""
        return self._frames

    def last_frame(self):
        """The last RealFrame / DreamFrame shown (None before the first)."""
        return self._last_frame

    def message(self) -> str:
        """What the panel tells the person now: banner, notice or the view's message."""
        for text in (self.banner.text() if self.banner.isVisibleTo(self) else "",
                     self.notice.text() if self.notice.isVisibleTo(self) else "",
                     self.view.message):
            if text:
                return text
        return ""

    def model_available(self) -> bool:
        return self._problem is None

    def set_mode(self, mode: str) -> None:
        """Switch to ``mode`` and start an episode in it (the old stream is cancelled)."""
        if mode not in (REAL, DREAM):
            raise ValueError(f"unknown mode {mode!r}")
        if mode == REAL and self._sim_problem:
            self._show_mode()
            self.status_message.emit("The real game cannot run here: " + self._sim_problem)
            return
        self.start(mode)

    def start(self, mode: str | None = None, seed: int | None = None) -> None:
        """Start an episode in ``mode`` (default: the current one) with ``seed`` (default: the current one)."""
        mode = mode or self._mode
        self._mode = mode
        self._started = True
        if seed is not None:
            self._seed = int(seed) % (MAX_SEED + 1)
        self.seed_spin.blockSignals(True)
        self.seed_spin.setValue(self._seed)
        self.seed_spin.blockSignals(False)
        self._show_mode()
        if self._problem is not None:
            self._update_ui()
            return
        start_obs = None
        if mode == DREAM and self.start_real.isChecked() and self._last_obs is not None:
            start_obs = self._last_obs
        visible = self._seen()
        self.playback.paused = not visible  # started while hidden (e.g. watch_controller): runs once shown
        self._resume_on_show = not visible
        self._frames = 0
        self._last_frame = None
        self._frame_times.clear()
        self.plots.reset(mode)
        self._plots_dirty = False
        self.view.set_frame(None)
        self.recon_view.set_frame(start_obs)
        self._dream_from_real = start_obs is not None
        self._show_mode()
        self.view.set_message("Loading the world model…" if not self.source.loaded else "Starting…")
        self.recon_view.set_message("")
        for tile in (self.step_stat, self.total_stat, self.reward_stat, self.model_stat, self.fps_stat):
            tile.set_value("–")
        if mode == REAL:
            self.tau_stat.set_value("–")
        job = jobs.drive_job(self.source, mode, self._seed, self.controls, self.playback,
                             controller_spec=self._controller_spec, start_obs=start_obs, max_steps=self.max_steps)
        label = "Dream: real game" if mode == REAL else "Dream: dreaming"
        self._request = self.engine.submit(self.panel_id, job, label)
        self._streaming = True
        if self.isVisible() and not self._focus_in_text_input():
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)
        self._update_ui()

    def stop(self) -> None:
        """Cancel the running episode."""
        if self._streaming:
            self.engine.cancel(self.panel_id)
        self._streaming = False
        self._request = None
        self._update_ui()

    def toggle_pause(self) -> None:
        """Pause or resume; after an episode ended, start a new one."""
        if self._problem is not None:
            return
        if not self._streaming:
            self.new_episode() if self._frames else self.start()
            return
        self.playback.paused = not self.playback.paused
        self.view.set_message("Paused — Space to go on" if self.playback.paused else "")
        self._update_ui()

    def reset_episode(self) -> None:
        """Start the current episode again (same track / same dream start)."""
        if self._mode == REAL and self._sim_problem:
            return
        self.start(self._mode, self._seed)

    def new_episode(self) -> None:
        """Start a new episode with a fresh random seed."""
        if self._mode == REAL and self._sim_problem:
            return
        seed = random.randrange(MAX_SEED + 1)
        while seed == self._seed:
            seed = random.randrange(MAX_SEED + 1)
        self.start(self._mode, seed)

    def dream_from_here(self) -> None:
        """Dream on from the last real frame (keeps the seed for M's sampling)."""
        if self._last_obs is None or self._problem is not None:
            return
        self.start_real.setChecked(True)
        self.start(DREAM)

    def watch_controller(self, params_or_model_name=None) -> None:
        """Restart the real game with another controller.

        ``params_or_model_name``: a flat parameter vector (867 numbers), a controller object with
        ``act(z, h)``, a registry model name (e.g. a personal fine-tuned controller), a directory
        holding a controller's card.json, or None for the shipped controller. Problems loading it
        are shown in the panel (it never raises for them).
        """
        self._controller_spec = params_or_model_name
        if hasattr(self, "controller_combo"):
            index = self.controller_combo.findData(params_or_model_name) if isinstance(params_or_model_name, str) else -1
            self.controller_combo.setCurrentIndex(index if index >= 0 else 0)
        if params_or_model_name is None:
            self._controller_name = ""
        elif isinstance(params_or_model_name, str):
            self._controller_name = params_or_model_name
        else:
            self._controller_name = "custom controller"
        self.model_changed.emit(self.active_model())
        if self._sim_problem:
            self.status_message.emit("The real game cannot run here, so the controller drives in the dream")
            self.start(DREAM)
            return
        self.start(REAL)

    # ------------------------------------------------------------------ controllers
    def _fill_controllers(self) -> None:
        from gdl_studio.core.personal import personal_models
        from gdl_studio.racing.models_io import FAMILY_CONTROLLER

        combo = self.controller_combo
        combo.blockSignals(True)
        combo.clear()
        combo.addItem("Shipped controller", "")
        try:
            cards = personal_models(FAMILY_CONTROLLER)
        except Exception:
            cards = []
        for card in cards:
            combo.addItem(f"★ {card.data.get('display_name', card.name)}", card.name)
        index = combo.findData(self._controller_name) if isinstance(self._controller_spec, str) else 0
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)

    def _on_controller_chosen(self, index: int) -> None:
        name = self.controller_combo.itemData(index) or None
        self.watch_controller(name)

    def refresh_models(self) -> None:
        """Re-read the personal controllers; fall back to the shipped one if the chosen one is gone."""
        chosen = self._controller_spec if isinstance(self._controller_spec, str) else None
        self._fill_controllers()
        if chosen is not None and self.controller_combo.findData(chosen) < 0:
            self.watch_controller(None)

    def retry(self) -> None:
        """Forget the loaded (or failed) world model and try again."""
        self.source.forget()
        self._problem = None
        self._check_model()
        if self._problem is None:
            self.start()
        self._update_ui()

    # ------------------------------------------------------------------ Panel API
    def active_model(self) -> str:
        if self._problem is not None:
            return ""
        controller = self._controller_name or "carracing-controller"
        return f"carracing-vae + mdnrnn, {controller}"

    def save_filters(self) -> str:
        return "PNG image of the frame (*.png)"

    def save_path(self, path: str) -> None:
        """Save the frame shown (scaled up 4×, pixel-exact) as a PNG."""
        from gdl_studio.core.atomic import atomic_path
        from gdl_studio.core.errors import UserError

        image = self.view.image()
        if image is None:
            raise UserError("there is no frame to save yet")
        big = image.scaled(image.width() * 4, image.height() * 4, Qt.AspectRatioMode.IgnoreAspectRatio,
                           Qt.TransformationMode.FastTransformation)
        with atomic_path(path) as tmp:
            if not big.save(str(tmp), "PNG"):
                raise OSError(f"could not write {path}")

    def on_result(self, request_id: int, item: object) -> None:
        if request_id != self._request:
            return
        if isinstance(item, ModelReady):
            self._on_ready(item)
        elif isinstance(item, ModelProblem):
            self._on_model_problem(item)
        elif isinstance(item, jobs.SimulatorProblem):
            self._on_simulator_problem(item)
        elif hasattr(item, "frame") or hasattr(item, "obs"):
            self._show_frame(item)

    def on_finished(self, info) -> None:
        if info.request_id != self._request or info.cancelled:
            return
        self._streaming = False
        self.refresh_plots()
        if self._frames:
            total = self._last_frame.total if self._last_frame is not None else 0.0
            if self._mode == REAL:
                text = f"Episode over after {self._frames} steps: {total:.1f} points.\nN for a new track, R to drive this one again."
                self.status_message.emit(f"Real game: episode on track {self._seed} scored {total:.1f}")
            else:
                text = f"The dream ended after {self._frames} frames.\nN to dream again, R to replay this dream."
            self.view.set_message(text)
        self._update_ui()

    def on_error(self, info) -> None:
        if info.request_id != self._request:
            return
        self._streaming = False
        self.view.set_message(f"Stopped: {info.message}")
        self.status_message.emit(f"Dream: {info.message}")
        self._update_ui()

    def shutdown(self) -> None:
        self._plot_timer.stop()
        self._remove_filter()
        self.controls.set_action(None)
        self.keys.clear()
        if self._streaming:
            self.engine.cancel(self.panel_id)
        self._streaming = False

    # ------------------------------------------------------------------ engine items
    def _on_ready(self, item: ModelReady) -> None:
        if self._controller_spec is None:
            self._controller_name = "" if item.model == "carracing-controller" else item.model
        self.controller_label.setText(f"controller: {item.model}")
        self.controller_label.setToolTip(f"{item.model}: C, the linear controller on [z, h] that drives when you do not")
        self.view.set_message("")
        parts = [self._simulator_text()] if self._sim_problem else []
        if item.note:
            parts.append(item.note)
        if parts:
            self._say_notice("<br>".join(parts))
        else:
            self.notice.hide()
        self.model_changed.emit(self.active_model())

    def _on_model_problem(self, item: ModelProblem) -> None:
        self._streaming = False
        self.view.set_frame(None)
        self.recon_view.set_frame(None)
        if item.part == "controller":
            self._controller_spec = None
            self._controller_name = ""
            self.view.set_message("That controller could not be loaded.")
            self._say_notice(f"The controller could not be loaded — {item.message}. Press N to watch the shipped one.")
            self.status_message.emit(f"Dream: {item.message}")
            self._update_ui()
            return
        self._problem = item.message
        self._show_problem()
        self._update_ui()

    def _on_simulator_problem(self, item: jobs.SimulatorProblem) -> None:
        self._sim_problem = item.message
        self._streaming = False
        self.status_message.emit("Real game unavailable: " + item.message)
        self.start(DREAM)
        self._say_notice(self._simulator_text())

    def _simulator_text(self) -> str:
        return (f"<b>The real game cannot run</b> — {self._sim_problem}<br>"
                "The dream needs no simulator, so it is shown instead.")

    def _show_frame(self, frame) -> None:
        real = hasattr(frame, "obs")
        self._frames += 1
        self._last_frame = frame
        now = time.perf_counter()
        self._frame_times.append(now)
        if real:
            self._last_obs = frame.obs
            self.view.set_frame(frame.obs)
            self.recon_view.set_frame(frame.reconstruction)
        else:
            self.view.set_frame(frame.frame)
            if self._frames == 1 and not self._dream_from_real:
                self.recon_view.set_frame(frame.frame)
        if not self.playback.paused and self.view.message and self._streaming:
            self.view.set_message("")
        human = bool(frame.human) or self.keys.active
        held = self.keys.action()
        self.bars.set_action(held if held is not None else frame.action, human)
        self._show_driver(human)
        self.step_stat.set_value(str(frame.step + 1))
        self.total_stat.set_value(f"{frame.total:.1f}")
        if real:
            self.reward_stat.set_value(f"{frame.reward:+.2f}")
            self.model_stat.set_value(f"{frame.predicted_reward:+.2f}")
            self.tau_stat.set_value(f"{reconstruction_error(frame.obs, frame.reconstruction):.1f}")
        else:
            self.reward_stat.set_value(f"{frame.reward:+.2f}")
            self.model_stat.set_value(f"{frame.done_probability:.0%}")
        if len(self._frame_times) >= 2:
            span = self._frame_times[-1] - self._frame_times[0]
            if span > 0:
                self.fps_stat.set_value(f"{(len(self._frame_times) - 1) / span:.0f}")
        self.plots.add(frame)
        self._plots_dirty = True  # redrawn by the plot timer, a few times a second
        if self._frames == 1:
            self._update_ui()

    def refresh_plots(self) -> None:
        """Redraw the plots if frames arrived since the last redraw."""
        if self._plots_dirty:
            self._plots_dirty = False
            self.plots.refresh()

    # ------------------------------------------------------------------ model availability
    def _check_model(self) -> None:
        """Look for V's and M's cards (cheap, no torch); the weights are checked when loaded."""
        if self._check_cards:
            from gdl_studio.core.registry import ModelUnavailable, default_registry
            from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME

            for name in (VAE_NAME, MDN_NAME):
                try:
                    default_registry().card(name)
                except ModelUnavailable as exc:
                    self._problem = str(exc)
                    break
        self._show_problem()

    def _show_problem(self) -> None:
        if self._problem:
            self.banner.setText(
                f"<b>The world model is unavailable</b> — {self._problem}<br>"
                f"Dream needs V (carracing-vae) and M (carracing-mdnrnn). Reinstall the app's models, "
                f"or train them with <code>{TRAIN_HINT}</code>, then press Retry. The other panels work as usual."
            )
            self.banner.show()
            self.retry_button.show()
            self.view.set_message("No world model to drive with.")
            self.recon_view.set_message("")
        else:
            self.banner.hide()
            self.retry_button.hide()

    # ------------------------------------------------------------------ UI state
    def _layout_stats(self, columns: int) -> None:
        """Lay the read-outs out in ``columns`` columns (3 when wide, 2 when narrow)."""
        if columns == self._stat_columns:
            return
        self._stat_columns = columns
        for tile in self._tiles:
            self._stats.removeWidget(tile)
        for i, tile in enumerate(self._tiles):
            self._stats.addWidget(tile, i // columns, i % columns)
        for c in range(3):
            self._stats.setColumnStretch(c, 1 if c < columns else 0)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self._layout_stats(3 if self.width() >= NARROW_WIDTH else 2)

    def _say_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    def _show_mode(self) -> None:
        real = self._mode == REAL
        for button, on in ((self.real_button, real), (self.dream_button, not real)):
            button.blockSignals(True)
            button.setChecked(on)
            button.blockSignals(False)
        if real:
            self.view.set_caption("Real game", "96×96, as the agent sees it")
            self.recon_view.set_caption("What V sees", "64×64 reconstruction")
            self.reward_stat.set_title("This step")
            self.model_stat.set_title("M predicted")
            self.tau_stat.set_title("V error")
            self.tau_stat.setToolTip("Mean absolute difference between the frame V sees and its reconstruction (0–255)")
        else:
            self.view.set_caption("Dream", "64×64: M imagines, V paints")
            self.recon_view.set_caption("Where the dream began", "the last real frame" if self._dream_from_real else "a random z, decoded")
            self.reward_stat.set_title("Step (by M)")
            self.model_stat.set_title("End p (M)")
            self.tau_stat.set_title("Dream τ")
            self.tau_stat.set_value(f"{self.temperature:.2f}")
            self.tau_stat.setToolTip("The temperature M samples the dream with")

    def _show_driver(self, human: bool) -> None:
        text = "YOU DRIVE" if human else "AGENT DRIVES"
        if self.driver_label.text() != text:
            self.driver_label.setText(text)
            self.driver_label.setProperty("human", "true" if human else "false")
            self.driver_label.style().unpolish(self.driver_label)
            self.driver_label.style().polish(self.driver_label)
        self.view.set_badge("YOU DRIVE" if human else "", HUMAN_BADGE if human else AGENT_BADGE)
        self.bars.set_human(human)

    def _update_ui(self) -> None:
        ok = self._problem is None
        self.real_button.setEnabled(ok and not self._sim_problem)
        self.dream_button.setEnabled(ok)
        self.play_button.setEnabled(ok)
        playing = self._streaming and not self.playback.paused
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(self._icons["pause" if playing else "play"])
        self.reset_button.setEnabled(ok and not (self._mode == REAL and self._sim_problem))
        self.new_button.setEnabled(ok and not (self._mode == REAL and self._sim_problem))
        self.seed_spin.setEnabled(ok)
        self.tau_slider.setEnabled(ok)
        has_real = self._last_obs is not None
        self.start_real.setEnabled(ok and has_real)
        if not has_real and self.start_real.isChecked():
            self.start_random.setChecked(True)
        self.dream_here_button.setEnabled(ok and has_real and self._mode == REAL and self._frames > 0)
        self.shipped_button.setVisible(self._controller_spec is not None and not isinstance(self._controller_spec, str))
        if not ok:
            self.hint.setText("")
        elif self._mode == REAL:
            self.hint.setText(
                "Hold ← ↑ → ↓ or W A S D to take the wheel; let go to hand it back.  "
                "Space pause · R reset · N new track · F dream from this frame · 2 dream"
            )
        else:
            self.hint.setText(
                "Everything you see is imagined by the world model. Hold ← ↑ → ↓ or W A S D to drive in the dream.  "
                "Space pause · R replay · N new dream · 1 real game"
            )

    def _on_tau(self, value: int) -> None:
        tau = value / TAU_SCALE
        self.controls.temperature = tau
        self.tau_label.setText(f"{tau:.2f}")
        if self._mode == DREAM:
            self.tau_stat.set_value(f"{tau:.2f}")
        self.settings.set(Key.DREAM_TEMPERATURE, tau)

    def _on_seed_edited(self) -> None:
        value = int(self.seed_spin.value())
        if value != self._seed and self._problem is None:
            self.start(self._mode, value)
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)  # so that the arrow keys drive again

    # ------------------------------------------------------------------ keyboard driving
    def _focus_in_text_input(self) -> bool:
        focus = QApplication.focusWidget()
        return isinstance(focus, (QAbstractSpinBox, QLineEdit, QTextEdit, QComboBox))

    def _accepts_keys(self, obj: QObject) -> bool:
        if not isinstance(obj, QWidget) or not self.isVisible() or self._problem is not None:
            return False
        if obj.window() is not self.window():
            return False
        return not self._focus_in_text_input()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt naming)
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            key = event.key()
            if not DriveKeys.handles(key) or not self._accepts_keys(obj):
                return False
            if kind == QEvent.Type.KeyPress:
                mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
                if mods != Qt.KeyboardModifier.NoModifier and mods != Qt.KeyboardModifier.ShiftModifier:
                    return False  # Ctrl+S and friends are shortcuts, not driving
                if not event.isAutoRepeat():
                    self.keys.press(key)
                    self._apply_keys()
            elif not event.isAutoRepeat():
                self.keys.release(key)
                self._apply_keys()
            return True
        if kind == QEvent.Type.WindowDeactivate and obj is self.window():
            self.release_keys()
        elif kind == QEvent.Type.WindowStateChange and obj is self.window():
            if self.window().isMinimized():
                self._pause_unseen()
            elif self.isVisible():
                self._resume_seen()
        return False

    def _apply_keys(self) -> None:
        action = self.keys.action()
        self.controls.set_action(action)
        if action is not None:
            self.bars.set_action(action, True)
        self._show_driver(action is not None)

    def release_keys(self) -> None:
        """Let go of the wheel (all driving keys up): the controller drives again."""
        if self.keys.active or self.controls.action() is not None:
            self.keys.clear()
            self._apply_keys()

    def _install_filter(self) -> None:
        app = QApplication.instance()
        if app is not None and not self._filter_installed:
            app.installEventFilter(self)
            self._filter_installed = True

    def _remove_filter(self) -> None:
        app = QApplication.instance()
        if app is not None and self._filter_installed:
            app.removeEventFilter(self)
        self._filter_installed = False

    # ------------------------------------------------------------------ visibility
    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        self._install_filter()
        self._plot_timer.start()
        QTimer.singleShot(0, self._focus_view)
        if not self._started and self._problem is None:
            QTimer.singleShot(0, self._autostart)
        else:
            self._resume_seen()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().hideEvent(event)
        self._remove_filter()
        self._plot_timer.stop()
        self.release_keys()
        self._pause_unseen()

    def _pause_unseen(self) -> None:
        """No frames for a panel nobody looks at (another panel shown, the window minimised)."""
        if self._streaming and not self.playback.paused:
            self.playback.paused = True
            self._resume_on_show = True
            self._update_ui()

    def _seen(self) -> bool:
        """Whether the panel can be seen: shown, in a window that is not minimised."""
        return self.isVisible() and not self.window().isMinimized()

    def _resume_seen(self) -> None:
        """Go on where :meth:`_pause_unseen` stopped, once the panel is seen again."""
        if not self._seen():
            self._pause_unseen()
        elif self._resume_on_show and self._streaming:
            self._resume_on_show = False
            self.playback.paused = False
            self.view.set_message("")
            self._update_ui()

    def _focus_view(self) -> None:
        """Give the keyboard to the picture so that the arrow keys drive (not the side bar)."""
        if self.isVisible() and not self._focus_in_text_input():
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _autostart(self) -> None:
        if not self._started and self._problem is None and self._seen():
            self.start(self._mode)
