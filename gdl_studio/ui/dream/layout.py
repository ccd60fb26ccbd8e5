"""The Dream panel's widgets, built the way Qt Designer's ``setupUi`` builds a form: each function
creates one group of controls as attributes of ``ui`` (the :class:`~gdl_studio.ui.dream.panel.DreamPanel`)
and connects them to its intents. The panel module keeps the behaviour."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gdl_studio.areas import area_named
from gdl_studio.jobs.dream import DREAM, REAL
from gdl_studio.racing.area import SHIPPED_CONTROLLER
from gdl_studio.ui.dream.plots import DreamPlots
from gdl_studio.ui.dream.readouts import Readouts
from gdl_studio.ui.dream.views import ActionBars, FrameView
from gdl_studio.ui.widgets.model_picker import ModelPicker

TAU_MIN, TAU_MAX = 0.1, 1.5
TAU_SCALE = 100  # slider units per 1.0 of τ
MAX_SEED = 999_999


def top_row(ui) -> QHBoxLayout:
    """Mode, episode controls and who drives (the driver picker), as a row; the controls become
    attributes of ``ui`` (the DreamPanel)."""
    # --- top row: mode, episode controls, who drives
    top = QHBoxLayout()
    top.setSpacing(6)
    ui.real_button = QPushButton("Real game")
    ui.dream_button = QPushButton("Dream")
    ui.mode_group = QButtonGroup(ui)
    for button, mode, tip in (
        (ui.real_button, REAL, "The controller drives the real CarRacing game (1)"),
        (ui.dream_button, DREAM, "The controller drives inside the world model's dream (2)"),
    ):
        button.setObjectName("modeButton")
        button.setCheckable(True)
        button.setToolTip(tip)
        button.clicked.connect(lambda _=False, m=mode: ui.set_mode(m))
        ui.mode_group.addButton(button)
        top.addWidget(button)
    ui.real_button.setChecked(True)
    top.addSpacing(14)
    ui.play_button = QPushButton("Pause")
    ui.play_button.setToolTip("Pause or resume (Space)")
    ui.play_button.clicked.connect(ui.toggle_pause)
    ui.reset_button = QPushButton("⟲ Reset")
    ui.reset_button.setToolTip("Start this episode again: same track, same dream (R)")
    ui.reset_button.clicked.connect(ui.reset_episode)
    ui.new_button = QPushButton("⟳ New episode")
    ui.new_button.setToolTip("A new track / a new dream with a new seed (N)")
    ui.new_button.clicked.connect(ui.new_episode)
    for b in (ui.play_button, ui.reset_button, ui.new_button):
        top.addWidget(b)
    seed_label = QLabel("Seed")
    seed_label.setContentsMargins(8, 0, 0, 0)
    top.addWidget(seed_label)
    ui.seed_spin = QSpinBox()
    ui.seed_spin.setRange(0, MAX_SEED)
    ui.seed_spin.setValue(ui.session.seed)
    ui.seed_spin.setToolTip("The track (real game) or the dream's random start; Enter restarts with it")
    ui.seed_spin.setMinimumWidth(80)
    ui.seed_spin.editingFinished.connect(ui._on_seed_edited)
    top.addWidget(ui.seed_spin)
    top.addStretch(1)
    top.addWidget(QLabel("Driver"))
    ui.picker = ModelPicker(
        area_named("racing").choices,
        ui,
        key=lambda name: "" if name == SHIPPED_CONTROLLER else name,
        finetune_text="Fine-tune…",
        tool_button=False,
        status=False,
        finetune_tip="Continue CMA-ES on the controller, in the dream or the real game (Training dock)",
    )
    ui.controller_combo = ui.picker.combo
    ui.controller_combo.setToolTip("Who drives: the shipped controller or one of your fine-tuned ones")
    ui.controller_combo.setMinimumWidth(170)
    ui._fill_controllers()
    ui.controller_combo.activated.connect(ui._on_controller_chosen)
    top.addWidget(ui.controller_combo)
    ui.finetune_button = ui.picker.finetune_button
    ui.picker.finetune_requested.connect(lambda: ui.finetune_requested.emit("controller"))
    top.addWidget(ui.finetune_button)
    ui.shipped_button = QPushButton("Use shipped controller")
    ui.shipped_button.setToolTip("Go back to the controller that ships with the app")
    ui.shipped_button.clicked.connect(lambda: ui.watch_controller(None))
    ui.shipped_button.hide()
    top.addWidget(ui.shipped_button)
    return top


def banners(ui, root: QVBoxLayout) -> None:
    """The problem banner (with Retry) and the notice line, added to ``root``."""
    # --- banners
    ui.banner = QLabel("")
    ui.banner.setObjectName("dreamBanner")
    ui.banner.setWordWrap(True)
    ui.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    ui.banner.hide()
    banner_row = QHBoxLayout()
    banner_row.addWidget(ui.banner, 1)
    ui.retry_button = QPushButton("Retry")
    ui.retry_button.setToolTip("Look for the world model's weights again")
    ui.retry_button.clicked.connect(ui.retry)
    ui.retry_button.hide()
    banner_row.addWidget(ui.retry_button, 0, Qt.AlignmentFlag.AlignTop)
    root.addLayout(banner_row)
    ui.notice = QLabel("")
    ui.notice.setObjectName("dreamNotice")
    ui.notice.setWordWrap(True)
    ui.notice.hide()
    root.addWidget(ui.notice)


DRIVER_TEXTS = ("AGENT DRIVES", "RECOVERING", "YOU DRIVE")  # who drives, as the label beside the action bars says


def driver_text(human: bool, recovering: bool) -> str:
    """The driver label's text: the person, the agent's recovery expert (a gated driver's) or the agent."""
    agent, recovery, person = DRIVER_TEXTS
    return person if human else recovery if recovering else agent


def keep_widest(label: QLabel, texts) -> None:
    """Give ``label`` the width of the widest of ``texts`` in its style sheet's font and padding (call once it is in
    the styled widget tree), so that switching text never clips it for a frame or shifts what stands beside it."""
    label.ensurePolished()
    shown = label.text()
    widest = 0
    for text in texts:
        label.setText(text)
        widest = max(widest, label.sizeHint().width())
    label.setText(shown)
    label.setMinimumWidth(widest)


def middle(ui, root: QVBoxLayout) -> None:
    """The frames, the action bars and read-outs (left), the dream settings and plots (right),
    added to ``root``."""
    # --- middle: frames + bars + read-outs (left), dream settings + plots (right)
    middle = QHBoxLayout()
    middle.setSpacing(12)
    left = QVBoxLayout()
    left.setSpacing(8)
    views = QHBoxLayout()
    views.setSpacing(12)
    ui.view = FrameView("Real game", "96×96")
    ui.recon_view = FrameView("What V sees", "64×64 reconstruction")
    views.addWidget(ui.view, 1)
    views.addWidget(ui.recon_view, 1)
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
    ui.driver_label = QLabel("AGENT DRIVES")
    ui.driver_label.setObjectName("dreamDriver")
    ui.driver_label.setProperty("human", "false")
    ui.driver_label.setToolTip("Hold the arrow keys or W A S D to take the wheel")
    ui.driver_label.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    driver_row.addWidget(ui.driver_label, 0, Qt.AlignmentFlag.AlignVCenter)
    ui.controller_label = QLabel("")
    ui.controller_label.setObjectName("dreamController")
    ui.controller_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    driver_row.addWidget(ui.controller_label, 1)
    bl.addLayout(driver_row)
    ui.bars = ActionBars()
    bl.addWidget(ui.bars)
    under.addWidget(bars_box, 5)
    ui.readouts = Readouts()
    r = ui.readouts
    ui.total_stat, ui.step_stat, ui.fps_stat, ui.reward_stat, ui.model_stat, ui.tau_stat = r.tiles
    under.addWidget(ui.readouts, 6)
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
    ui.tau_slider = QSlider(Qt.Orientation.Horizontal)
    ui.tau_slider.setRange(round(TAU_MIN * TAU_SCALE), round(TAU_MAX * TAU_SCALE))
    ui.tau_slider.setSingleStep(5)
    ui.tau_slider.setPageStep(10)
    ui.tau_slider.setValue(round(ui.controls.temperature * TAU_SCALE))
    ui.tau_slider.setToolTip(tau_title.toolTip() + " (applied live)")
    ui.tau_slider.valueChanged.connect(ui._on_tau)
    ui.tau_label = QLabel("")
    ui.tau_label.setObjectName("dreamTau")
    tau_row.addWidget(tau_title)
    tau_row.addWidget(ui.tau_slider, 1)
    tau_row.addWidget(ui.tau_label)
    dl.addLayout(tau_row)
    start_row = QGridLayout()
    start_row.setHorizontalSpacing(10)
    start_row.setVerticalSpacing(2)
    start_row.addWidget(QLabel("Start from"), 0, 0)
    ui.start_random = QRadioButton("a random z")
    ui.start_real = QRadioButton("the last real frame")
    ui.start_random.setChecked(True)
    ui.start_random.setToolTip("Draw the first z from N(0, I): a new dream for every seed")
    ui.start_real.setToolTip("Encode the last frame of the real game and dream on from there")
    start_row.addWidget(ui.start_random, 0, 1)
    start_row.addWidget(ui.start_real, 1, 1)
    start_row.setColumnStretch(2, 1)
    dl.addLayout(start_row)
    ui.dream_here_button = QPushButton("Dream from this frame")
    ui.dream_here_button.setObjectName("primary")
    ui.dream_here_button.setToolTip("Leave the real game and let the world model dream on from what it sees now (F)")
    ui.dream_here_button.clicked.connect(ui.dream_from_here)
    dl.addWidget(ui.dream_here_button)
    ui.dream_road_label = QLabel("")
    ui.dream_road_label.setObjectName("dreamRoad")
    ui.dream_road_label.setWordWrap(True)
    # the column's width comes from the controls above, not from this line's length (no shift between drivers)
    ui.dream_road_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    ui.dream_road_label.setToolTip(
        "Measured on 1,000-frame dreams from real first frames, the car checked every 10th frame "
        "(gdl-studio bench racing --dream-road --controller NAME --record writes it into the driver's card)"
    )
    dl.addWidget(ui.dream_road_label)
    right.addWidget(dream_box)
    ui.plots = DreamPlots()
    ui.plots.setMinimumWidth(240)
    right.addWidget(ui.plots, 1)
    right_box = QWidget()
    right_box.setLayout(right)
    right_box.setMinimumWidth(250)
    right_box.setMaximumWidth(340)
    middle.addWidget(right_box)
    root.addLayout(middle, 1)
