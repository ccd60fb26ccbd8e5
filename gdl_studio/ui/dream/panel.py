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

import random
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gdl_studio.engine.worker import Engine
from gdl_studio.jobs import dream as jobs
from gdl_studio.jobs.common import ModelProblem, ModelReady, Playback
from gdl_studio.racing.area import SHIPPED_CONTROLLER
from gdl_studio.racing.dream import DriveControls
from gdl_studio.ui.dream import layout
from gdl_studio.ui.dream.driving import KeyDriving, focus_in_text_input
from gdl_studio.ui.dream.keys import DriveKeys
from gdl_studio.ui.dream.layout import MAX_SEED, TAU_MAX, TAU_MIN, TAU_SCALE
from gdl_studio.ui.dream.session import DreamSession
from gdl_studio.ui.dream.style import STYLE, glyph_icon
from gdl_studio.ui.dream.views import AGENT_BADGE, HUMAN_BADGE
from gdl_studio.ui.dream.world_sources import WorldSources
from gdl_studio.ui.panel import Panel
from gdl_studio.ui.settings import Key, Settings

REAL, DREAM = jobs.REAL, jobs.DREAM
NARROW_WIDTH = 1000  # below this the read-outs take two columns
PLOT_INTERVAL_MS = 100  # the plots are redrawn 10 times a second, the frames up to 30


class DreamPanel(Panel):
    """Real game and dream viewer of the CarRacing World Model; see the module docstring."""

    panel_id = "dream"
    title = "Dream"
    icon_name = "dream"
    finetune_requested = Signal(str)  # "controller": open the Training dock for a new controller job

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        parent: QWidget | None = None,
        loader: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(engine, settings, parent)
        self.worlds = WorldSources(loader)  # one loaded world per V/M pair; the chosen driver's is current
        tau = min(TAU_MAX, max(TAU_MIN, float(settings.get(Key.DREAM_TEMPERATURE))))
        self.controls = DriveControls(temperature=tau)
        self.playback = Playback()
        self.keys = DriveKeys()
        self.session = DreamSession()
        # the driver last chosen, else the dream-trained one when installed, else the shipped controller (None)
        first = self.worlds.first_driver(str(settings.get(Key.DREAM_DRIVER)))
        self.session.watch(first)
        self.worlds.choose(first, self.session)  # its world and its card's dream-road figure
        self.max_steps: int | None = None  # episode length (None: the game's 1000 steps); tests shorten it
        self._plots_dirty = False
        self.driving = KeyDriving(self)
        self._build()
        self._plot_timer = QTimer(self)
        self._plot_timer.setInterval(PLOT_INTERVAL_MS)
        self._plot_timer.timeout.connect(self.refresh_plots)
        self._check_model()
        self._show_mode()
        self._update_ui()

    # ------------------------------------------------------------------ construction
    def _build(self) -> None:
        self.content.setStyleSheet(STYLE)
        self._icons = {"play": glyph_icon("play"), "pause": glyph_icon("pause")}
        root = QVBoxLayout(self.content)
        root.setContentsMargins(12, 10, 12, 8)
        root.setSpacing(8)

        root.addLayout(layout.top_row(self))
        layout.banners(self, root)
        layout.middle(self, root)
        layout.keep_widest(self.driver_label, layout.DRIVER_TEXTS)

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
        return self.session.mode

    @property
    def seed(self) -> int:
        return self.session.seed

    @property
    def streaming(self) -> bool:
        """Whether an episode is running (possibly paused)."""
        return self.session.streaming

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
        return self.session.frames

    def last_frame(self):
        """The last RealFrame / DreamFrame shown (None before the first)."""
        return self.session.last_frame

    def message(self) -> str:
        """What the panel tells the person now: banner, notice or the view's message."""
        for text in (
            self.banner.text() if self.banner.isVisibleTo(self) else "",
            self.notice.text() if self.notice.isVisibleTo(self) else "",
            self.view.message,
        ):
            if text:
                return text
        return ""

    def model_available(self) -> bool:
        return self.session.problem is None

    def set_mode(self, mode: str) -> None:
        """Switch to ``mode`` and start an episode in it (the old stream is cancelled)."""
        if mode not in (REAL, DREAM):
            raise ValueError(f"unknown mode {mode!r}")
        if mode == REAL and self.session.sim_problem:
            self._show_mode()
            self.status_message.emit("The real game cannot run here: " + self.session.sim_problem)
            return
        self.start(mode)

    def start(self, mode: str | None = None, seed: int | None = None) -> None:
        """Start an episode in ``mode`` (default: the current one) with ``seed`` (default: the current one)."""
        mode = mode or self.session.mode
        self.session.mode = mode
        self.session.started = True
        if seed is not None:
            self.session.seed = int(seed) % (MAX_SEED + 1)
        self.seed_spin.blockSignals(True)
        self.seed_spin.setValue(self.session.seed)
        self.seed_spin.blockSignals(False)
        self._show_mode()
        if self.session.problem is not None:
            self._update_ui()
            return
        start_obs = None
        if mode == DREAM and self.start_real.isChecked() and self.session.last_obs is not None:
            start_obs = self.session.last_obs
        visible = self._seen()
        self.playback.paused = not visible  # started while hidden (e.g. watch_controller): runs once shown
        self.session.resume_on_show = not visible
        self.session.begin(mode)
        self.plots.reset(mode)
        self._plots_dirty = False
        self.view.set_frame(None)
        self.recon_view.set_frame(start_obs)
        self.session.dream_from_real = start_obs is not None
        self._show_mode()
        self.view.set_message("Loading the world model…" if not self.source.loaded else "Starting…")
        self.recon_view.set_message("")
        self.readouts.clear(third_too=mode == REAL)
        job = jobs.drive_job(
            self.source,
            mode,
            self.session.seed,
            self.controls,
            self.playback,
            controller_spec=self.session.controller_spec,
            start_obs=start_obs,
            max_steps=self.max_steps,
        )
        label = "Dream: real game" if mode == REAL else "Dream: dreaming"
        self.session.request = self.engine.submit(self.panel_id, job, label)
        self.session.streaming = True
        if self.isVisible() and not focus_in_text_input():
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)
        self._update_ui()

    def stop(self) -> None:
        """Cancel the running episode."""
        if self.session.streaming:
            self.engine.cancel(self.panel_id)
        self.session.streaming = False
        self.session.request = None
        self._update_ui()

    def toggle_pause(self) -> None:
        """Pause or resume; after an episode ended, start a new one."""
        if self.session.problem is not None:
            return
        if not self.session.streaming:
            self.new_episode() if self.session.frames else self.start()
            return
        self.playback.paused = not self.playback.paused
        self.view.set_message("Paused — Space to go on" if self.playback.paused else "")
        self._update_ui()

    def reset_episode(self) -> None:
        """Start the current episode again (same track / same dream start)."""
        if self.session.mode == REAL and self.session.sim_problem:
            return
        self.start(self.session.mode, self.session.seed)

    def new_episode(self) -> None:
        """Start a new episode with a fresh random seed."""
        if self.session.mode == REAL and self.session.sim_problem:
            return
        seed = random.randrange(MAX_SEED + 1)
        while seed == self.session.seed:
            seed = random.randrange(MAX_SEED + 1)
        self.start(self.session.mode, seed)

    def dream_from_here(self) -> None:
        """Dream on from the last real frame (keeps the seed for M's sampling)."""
        if self.session.last_obs is None or self.session.problem is not None:
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
        self.session.watch(params_or_model_name)
        self._choose_world(params_or_model_name)
        chosen = self.session.controller_spec  # None when the controller's world could not be found
        if hasattr(self, "controller_combo"):
            index = self.controller_combo.findData(chosen) if isinstance(chosen, str) else -1
            self.controller_combo.setCurrentIndex(index if index >= 0 else 0)
        self.model_changed.emit(self.active_model())
        if self.session.sim_problem:
            self.status_message.emit("The real game cannot run here, so the controller drives in the dream")
            self.start(DREAM)
            return
        self.start(REAL)

    # ------------------------------------------------------------------ controllers
    def _choose_world(self, spec) -> None:
        """Drive with the V and M that ``spec`` (a controller name or directory) belongs to."""
        message = self.worlds.choose(spec, self.session)
        if message:
            self.status_message.emit(message)

    @property
    def source(self) -> jobs.WorldSource:
        """The world model the panel drives with now."""
        return self.worlds.current

    def _fill_controllers(self) -> None:
        """(Re)fill the driver picker: the shipped controller, then the personal (★) ones."""
        self.picker.fill([(SHIPPED_CONTROLLER, "Shipped controller")])
        if isinstance(self.session.controller_spec, str) and self.picker.set_current(
            self.session.controller_name, quiet=True
        ):
            return
        self.picker.set_current("", quiet=True)

    def _on_controller_chosen(self, index: int) -> None:
        name = self.controller_combo.itemData(index) or None
        self.settings.set(Key.DREAM_DRIVER, name or SHIPPED_CONTROLLER)  # the panel opens with it next time
        self.watch_controller(name)

    def refresh_models(self) -> None:
        """Re-read the personal controllers; fall back to the shipped one if the chosen one is gone."""
        chosen = self.session.controller_spec if isinstance(self.session.controller_spec, str) else None
        self._fill_controllers()
        if chosen is not None and self.controller_combo.findData(chosen) < 0:
            self.watch_controller(None)

    def retry(self) -> None:
        """Forget the loaded (or failed) world model and try again."""
        self.worlds.forget()
        self._choose_world(self.session.controller_spec if isinstance(self.session.controller_spec, str) else None)
        self.session.problem = None
        self._check_model()
        if self.session.problem is None:
            self.start()
        self._update_ui()

    # ------------------------------------------------------------------ Panel API
    def active_model(self) -> str:
        return self.session.active_model()

    def save_filters(self) -> str:
        return "PNG image of the frame (*.png)"

    def save_path(self, path: str) -> None:
        """Save the frame shown (scaled up 4×, pixel-exact) as a PNG."""
        self.view.save_png(path)

    def on_result(self, request_id: int, item: object) -> None:
        if request_id != self.session.request:
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
        if info.request_id != self.session.request or info.cancelled:
            return
        self.session.streaming = False
        self.refresh_plots()
        if self.session.frames:
            if self.session.mode == REAL:
                total = self.session.last_frame.total if self.session.last_frame is not None else 0.0
                self.status_message.emit(f"Real game: episode on track {self.session.seed} scored {total:.1f}")
            self.view.set_message(self.session.finished_text())
        self._update_ui()

    def on_error(self, info) -> None:
        if info.request_id != self.session.request:
            return
        self.session.streaming = False
        self.view.set_message(f"Stopped: {info.message}")
        self.status_message.emit(f"Dream: {info.message}")
        self._update_ui()

    def shutdown(self) -> None:
        self._plot_timer.stop()
        self.driving.remove()
        self.controls.set_action(None)
        self.keys.clear()
        if self.session.streaming:
            self.engine.cancel(self.panel_id)
        self.session.streaming = False

    # ------------------------------------------------------------------ engine items
    def _on_ready(self, item: ModelReady) -> None:
        if self.session.controller_spec is None:
            self.session.controller_name = "" if item.model == "carracing-controller" else item.model
        self.controller_label.setText(f"controller: {item.model}")
        self.controller_label.setToolTip(
            f"{item.model}: C, the linear controller on [z, h] that drives when you do not"
        )
        self.view.set_message("")
        parts = [self.session.simulator_text()] if self.session.sim_problem else []
        if self.session.world_note:
            parts.append(self.session.world_note)
        if item.note:
            parts.append(item.note)
        if parts:
            self._say_notice("<br>".join(parts))
        else:
            self.notice.hide()
        self.model_changed.emit(self.active_model())

    def _on_model_problem(self, item: ModelProblem) -> None:
        self.session.streaming = False
        self.view.set_frame(None)
        self.recon_view.set_frame(None)
        if item.part == "controller":
            self.session.controller_spec = None
            self.session.controller_name = ""
            self.view.set_message("That controller could not be loaded.")
            self._say_notice(f"The controller could not be loaded — {item.message}. Press N to watch the shipped one.")
            self.status_message.emit(f"Dream: {item.message}")
            self._update_ui()
            return
        self.session.problem = item.message
        self._show_problem()
        self._update_ui()

    def _on_simulator_problem(self, item: jobs.SimulatorProblem) -> None:
        self.session.sim_problem = item.message
        self.session.streaming = False
        self.status_message.emit("Real game unavailable: " + item.message)
        self.start(DREAM)
        self._say_notice(self.session.simulator_text())

    def _show_frame(self, frame) -> None:
        real = hasattr(frame, "obs")
        self.session.frame_shown(frame, time.perf_counter())
        if real:
            self.view.set_frame(frame.obs)
            self.recon_view.set_frame(frame.reconstruction)
        else:
            self.view.set_frame(frame.frame)
            if self.session.frames == 1 and not self.session.dream_from_real:
                self.recon_view.set_frame(frame.frame)
        if not self.playback.paused and self.view.message and self.session.streaming:
            self.view.set_message("")
        human = bool(frame.human) or self.keys.active
        held = self.keys.action()
        self.bars.set_action(held if held is not None else frame.action, human)
        self._show_driver(human, frame.recovering and not human)
        self.readouts.show_texts(self.session.readouts(frame), self.session.fps())
        self.plots.add(frame)
        self._plots_dirty = True  # redrawn by the plot timer, a few times a second
        if self.session.frames == 1:
            self._update_ui()

    def refresh_plots(self) -> None:
        """Redraw the plots if frames arrived since the last redraw."""
        if self._plots_dirty:
            self._plots_dirty = False
            self.plots.refresh()

    # ------------------------------------------------------------------ model availability
    def _check_model(self) -> None:
        """Look for V's and M's cards (cheap, no torch); the weights are checked when loaded."""
        if self.worlds.follow_cards:
            self.session.problem = self.worlds.missing_card() or self.session.problem
        self._show_problem()

    def _show_problem(self) -> None:
        if self.session.problem:
            self.banner.setText(self.session.problem_text())
            self.banner.show()
            self.retry_button.show()
            self.view.set_message("No world model to drive with.")
            self.recon_view.set_message("")
        else:
            self.banner.hide()
            self.retry_button.hide()

    # ------------------------------------------------------------------ UI state
    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        self.readouts.set_columns(3 if self.width() >= NARROW_WIDTH else 2)

    def _say_notice(self, text: str) -> None:
        self.notice.setText(text)
        self.notice.show()

    def _show_mode(self) -> None:
        real = self.session.mode == REAL
        for button, on in ((self.real_button, real), (self.dream_button, not real)):
            button.blockSignals(True)
            button.setChecked(on)
            button.blockSignals(False)
        c = self.session.captions()
        self.view.set_caption(*c.view)
        self.recon_view.set_caption(*c.reconstruction)
        for tile, title in ((self.reward_stat, c.reward), (self.model_stat, c.model), (self.tau_stat, c.third)):
            tile.set_title(title)
        self.tau_stat.setToolTip(c.third_tip)
        if not real:
            self.tau_stat.set_value(f"{self.temperature:.2f}")

    def _show_driver(self, human: bool, recovering: bool = False) -> None:
        """Who drives: the person, the agent, or (a gated driver) the agent's recovery expert."""
        text = layout.driver_text(human, recovering)
        if self.driver_label.text() != text:
            self.driver_label.setText(text)
            self.driver_label.setProperty("human", "true" if human else "false")
            self.driver_label.style().unpolish(self.driver_label)
            self.driver_label.style().polish(self.driver_label)
        self.view.set_badge(
            "YOU DRIVE" if human else "RECOVERY" if recovering else "", HUMAN_BADGE if human else AGENT_BADGE
        )
        self.bars.set_human(human)

    def _update_ui(self) -> None:
        state = self.session.controls(self.playback.paused)
        self.real_button.setEnabled(state.real)
        self.dream_button.setEnabled(state.dream)
        self.play_button.setEnabled(state.play)
        playing = self.session.streaming and not self.playback.paused
        self.play_button.setText("Pause" if playing else "Play")
        self.play_button.setIcon(self._icons["pause" if playing else "play"])
        self.reset_button.setEnabled(state.reset)
        self.new_button.setEnabled(state.reset)
        self.seed_spin.setEnabled(state.seed)
        self.tau_slider.setEnabled(state.tau)
        self.start_real.setEnabled(state.start_real)
        if self.session.last_obs is None and self.start_real.isChecked():
            self.start_random.setChecked(True)
        self.dream_here_button.setEnabled(state.dream_here)
        self.shipped_button.setVisible(state.shipped)
        self.hint.setText(self.session.hint())
        road = self.session.dream_road_text() if self.session.problem is None else ""
        self.dream_road_label.setText(road)
        self.dream_road_label.setVisible(bool(road))

    def _on_tau(self, value: int) -> None:
        tau = value / TAU_SCALE
        self.controls.temperature = tau
        self.tau_label.setText(f"{tau:.2f}")
        if self.session.mode == DREAM:
            self.tau_stat.set_value(f"{tau:.2f}")
        self.settings.set(Key.DREAM_TEMPERATURE, tau)

    def _on_seed_edited(self) -> None:
        value = int(self.seed_spin.value())
        if value != self.session.seed and self.session.problem is None:
            self.start(self.session.mode, value)
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)  # so that the arrow keys drive again

    # ------------------------------------------------------------------ keyboard driving (driving.py)
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

    # ------------------------------------------------------------------ visibility
    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        self.driving.install()
        self._plot_timer.start()
        QTimer.singleShot(0, self._focus_view)
        if not self.session.started and self.session.problem is None:
            QTimer.singleShot(0, self._autostart)
        else:
            self._resume_seen()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().hideEvent(event)
        self.driving.remove()
        self._plot_timer.stop()
        self.release_keys()
        self._pause_unseen()

    def _pause_unseen(self) -> None:
        """No frames for a panel nobody looks at (another panel shown, the window minimised)."""
        if self.session.streaming and not self.playback.paused:
            self.playback.paused = True
            self.session.resume_on_show = True
            self._update_ui()

    def _seen(self) -> bool:
        """Whether the panel can be seen: shown, in a window that is not minimised."""
        return self.isVisible() and not self.window().isMinimized()

    def _resume_seen(self) -> None:
        """Go on where :meth:`_pause_unseen` stopped, once the panel is seen again."""
        if not self._seen():
            self._pause_unseen()
        elif self.session.resume_on_show and self.session.streaming:
            self.session.resume_on_show = False
            self.playback.paused = False
            self.view.set_message("")
            self._update_ui()

    def _focus_view(self) -> None:
        """Give the keyboard to the picture so that the arrow keys drive (not the side bar)."""
        if self.isVisible() and not focus_in_text_input():
            self.view.setFocus(Qt.FocusReason.OtherFocusReason)

    def _autostart(self) -> None:
        if not self.session.started and self.session.problem is None and self._seen():
            self.start(self.session.mode)
