"""The Training dock: a queue of fine-tuning jobs with progress, ETA, a live loss plot,
Pause/Resume/Cancel, and the user's personal models (rename, delete)."""

from __future__ import annotations

import os

import pyqtgraph as pg
from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gdl_studio.areas import AREAS, finetune_area
from gdl_studio.core import personal
from gdl_studio.core.errors import UserError
from gdl_studio.core.finetuning import ETA, Failed, FinetuneSpec, Finished, Paused, Progress, Started, format_eta
from gdl_studio.core.registry import default_registry
from gdl_studio.finetune.runner import FinetuneRunner
from gdl_studio.racing import finetune_options
from gdl_studio.ui import theme

# curve name → colour role in the loss plot (music and ink: train/validation NLL; controller: fitness)
SERIES = ("train", "validation", "best", "mean", "worst")


class FinetuneService(QObject):
    """Qt face of :class:`FinetuneRunner`: polls it on the GUI thread and emits signals."""

    started = Signal(object)
    progress = Signal(int, object)
    finished = Signal(object)
    failed = Signal(object)
    paused = Signal(object)
    queue_changed = Signal()

    def __init__(self, parent: QObject | None = None, runner: FinetuneRunner | None = None) -> None:
        super().__init__(parent)
        self.runner = runner or FinetuneRunner(threads=max(1, (os.cpu_count() or 2) - 1))  # one core stays for the UI
        self.specs: dict[int, FinetuneSpec] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._poll)

    def submit(self, spec: FinetuneSpec) -> int:
        self.specs[spec.id] = spec
        self.runner.submit(spec)
        self._timer.start()
        self.queue_changed.emit()
        return spec.id

    def cancel(self, job_id: int) -> None:
        self.runner.cancel(job_id)
        self._poll()

    def pause(self, job_id: int, paused: bool) -> None:
        self.runner.pause(job_id, paused)
        self._poll()

    def _poll(self) -> None:
        for event in self.runner.poll():
            if isinstance(event, Started):
                self.started.emit(event)
            elif isinstance(event, Progress):
                self.progress.emit(event.job_id, event)
            elif isinstance(event, Finished):
                default_registry().forget()
                self.finished.emit(event)
            elif isinstance(event, Failed):
                self.failed.emit(event)
            elif isinstance(event, Paused):
                self.paused.emit(event)
        if not self.runner.busy:
            self._timer.stop()
        self.queue_changed.emit()

    def shutdown(self) -> None:
        self._timer.stop()
        self.runner.shutdown()


def _controller_label(card) -> str:
    """A controller as the Dream panel's Driver list names it (with its world when not the shipped one)."""
    from gdl_studio.racing.worlds import driver_label

    return driver_label(card)


class NewJobDialog(QDialog):
    """Choose what to fine-tune on which of the user's files."""

    def __init__(self, parent=None, family: str = "music") -> None:
        super().__init__(parent)
        self.setWindowTitle("New fine-tune")
        self.setAcceptDrops(True)
        self.inputs: list[str] = []
        form = QFormLayout(self)
        self.family = QComboBox()
        for key, label in ((area.finetune_family, area.finetune_title) for area in AREAS):
            self.family.addItem(label, key)
        self.family.setCurrentIndex(max(0, self.family.findData(family)))
        self.base = QComboBox()
        self.name = QLineEdit("my model")
        self.files_label = QLabel("Drop files or a folder here, or choose them.")
        self.files_label.setWordWrap(True)
        choose_files = self.choose_files_button = QPushButton("Choose files…")
        choose_folder = self.choose_folder_button = QPushButton("Choose folder…")
        row = QHBoxLayout()
        row.addWidget(choose_files)
        row.addWidget(choose_folder)
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 500)
        self.epochs.setValue(5)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(1e-5, 1e-2)
        self.lr.setSingleStep(1e-4)
        self.lr.setValue(3e-4)
        dream = finetune_options.defaults("dream")
        self.population = QSpinBox()
        self.population.setRange(4, 256)
        self.population.setValue(dream["population"])
        self.rollouts = QSpinBox()
        self.rollouts.setRange(1, 32)
        self.mode = QComboBox()
        self.mode.addItem("in the dream (fast)", "dream")
        self.mode.addItem("in the real game (fast renderer)", "real")
        self.tau = QDoubleSpinBox()
        self.tau.setRange(0.1, 1.5)
        self.tau.setValue(dream["tau"])
        self.check_tracks = QSpinBox()
        self.check_tracks.setRange(0, 32)
        self.check_tracks.setValue(dream["real_check_tracks"])
        self.check_tracks.setSuffix(" tracks")
        self.check_tracks.setToolTip(
            "After a dream run, base and result also drive these real tracks (0: skip); "
            "with 4 or more the result line says whether the result drives better than its base, "
            "worse, or not clearly differently"
        )
        form.addRow("What", self.family)
        form.addRow("Start from", self.base)
        form.addRow("Your data", self.files_label)
        form.addRow("", row)
        form.addRow("Name", self.name)
        self.epochs_label = QLabel("Epochs")
        form.addRow(self.epochs_label, self.epochs)
        self.lr_label = QLabel("Learning rate")
        form.addRow(self.lr_label, self.lr)
        self.mode_label = QLabel("Train")
        form.addRow(self.mode_label, self.mode)
        self.tau_label = QLabel("Dream temperature τ")
        form.addRow(self.tau_label, self.tau)
        self.population_label = QLabel("Population")
        form.addRow(self.population_label, self.population)
        self.rollouts_label = QLabel("Rollouts per candidate")
        form.addRow(self.rollouts_label, self.rollouts)
        self.check_tracks_label = QLabel("Check in the real game")
        form.addRow(self.check_tracks_label, self.check_tracks)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        choose_files.clicked.connect(self._choose_files)
        choose_folder.clicked.connect(self._choose_folder)
        self._base_chosen = False  # the person picked "Start from" themselves: leave it alone
        self.base.activated.connect(self._on_base_chosen)
        self.mode.currentIndexChanged.connect(self._suggest_base)
        self.mode.currentIndexChanged.connect(self._mode_changed)
        self.family.currentIndexChanged.connect(self._family_changed)
        self._family_changed()

    def _family_changed(self) -> None:
        family = self.family.currentData()
        self.base.clear()
        is_controller = family == "controller"
        for card in default_registry().cards():
            if finetune_area(family).can_start_from(card.family, card):
                name = _controller_label(card) if is_controller else card.data.get("display_name", card.name)
                self.base.addItem(name + (" (personal)" if card.personal else ""), card.name)
        self.base.setCurrentIndex(max(0, self.base.findData(finetune_area(family).default_base)))
        self._base_chosen = False
        self._suggest_base()
        self.choose_files_button.setVisible(not is_controller)
        self.choose_folder_button.setVisible(not is_controller)
        self.epochs.setValue(10)
        self.epochs_label.setText("Generations" if is_controller else "Epochs")
        self.lr_label.setVisible(not is_controller)
        self.lr.setVisible(not is_controller)
        for w in (
            self.mode_label,
            self.mode,
            self.population_label,
            self.population,
            self.rollouts_label,
            self.rollouts,
        ):
            w.setVisible(is_controller)
        self._mode_changed()
        if is_controller:
            text = "No files needed: the controller learns by driving."
        elif family == "ink":
            text = "Your drawing set from the Sketch panel, or drop SVG files or a folder here."
        else:
            text = "Drop MIDI files or a folder here, or choose them."
        self.files_label.setText(text)
        self.inputs = []

    def _mode_changed(self, *_args) -> None:
        """A controller run's generations and rollouts per candidate: its mode's defaults (a dream
        generation costs seconds, a real one minutes); τ and the real-game check only for a dream run."""
        dream_only = (self.tau_label, self.tau, self.check_tracks_label, self.check_tracks)
        if self.family.currentData() != "controller":
            for w in dream_only:
                w.setVisible(False)
            return
        mode = self.mode.currentData()
        opts = finetune_options.defaults(mode)
        self.epochs.setValue(opts["generations"])
        self.rollouts.setValue(opts["rollouts"])
        for w in dream_only:
            w.setVisible(mode == "dream")

    def _on_base_chosen(self, _index: int) -> None:
        self._base_chosen = True

    def _suggest_base(self, *_args) -> None:
        """Dream fine-tuning starts from the dream-trained controller when it is installed (it drives
        with the newer V and M); real-game fine-tuning from the area's default. Not once the person
        has picked one."""
        if self._base_chosen or self.family.currentData() != "controller":
            return
        installed = [self.base.itemData(i) for i in range(self.base.count())]
        fallback = finetune_area("controller").default_base
        want = finetune_options.default_base(self.mode.currentData(), installed, fallback)
        self.base.setCurrentIndex(max(0, self.base.findData(want)))

    def _set_inputs(self, paths: list[str]) -> None:
        self.inputs = paths
        names = ", ".join(os.path.basename(p.rstrip("/")) or p for p in paths[:4])
        more = f" and {len(paths) - 4} more" if len(paths) > 4 else ""
        self.files_label.setText(f"{names}{more}")

    def _choose_files(self) -> None:
        family = self.family.currentData()
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Your files", "", finetune_area(family).finetune_inputs or "All files (*)"
        )
        if paths:
            self._set_inputs(paths)

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "A folder of your files")
        if path:
            self._set_inputs([path])

    def dragEnterEvent(self, event) -> None:  # noqa: N802
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802
        self._set_inputs([u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()])

    def spec(self) -> FinetuneSpec:
        """The job the dialog describes."""
        family = self.family.currentData()
        options = {"epochs": self.epochs.value(), "lr": self.lr.value()}
        if family == "controller":
            options = {
                "generations": self.epochs.value(),
                "mode": self.mode.currentData(),
                "tau": self.tau.value(),
                "population": self.population.value(),
                "rollouts": self.rollouts.value(),
            }
            if options["mode"] == "dream":
                options["real_check_tracks"] = self.check_tracks.value()
        return FinetuneSpec(
            family=family,
            base=self.base.currentData() or "",
            inputs=list(self.inputs),
            name=self.name.text().strip(),
            options=options,
        )

    def _accept(self) -> None:
        try:
            personal.check_name(self.name.text().strip())
        except UserError as exc:
            QMessageBox.warning(self, "Name", str(exc))
            return
        if not self.base.currentData():
            QMessageBox.warning(self, "No model", "No installed model of this kind to start from.")
            return
        if self.family.currentData() == "music" and not self.inputs:
            QMessageBox.warning(self, "No data", "Choose or drop your MIDI files first.")
            return
        self.accept()


class JobRow(QWidget):
    """One job: its label with Pause/Resume and Cancel, a progress bar with the ETA under them, and
    once it has finished, what it did (wrapped, whole)."""

    def __init__(self, spec: FinetuneSpec, service: FinetuneService) -> None:
        super().__init__()
        self.spec = spec
        self.eta = ETA()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        self.label = QLabel(spec.describe())
        self.label.setToolTip(spec.describe())
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # clipped, never wider
        self.bar = QProgressBar()
        self.bar.setFormat("queued")
        self.bar.setValue(0)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setCheckable(True)
        self.cancel_button = QPushButton("Cancel")
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result.hide()
        top = QHBoxLayout()
        top.addWidget(self.label, 1)
        top.addWidget(self.pause_button)
        top.addWidget(self.cancel_button)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.result)
        self.pause_button.toggled.connect(lambda on: service.pause(spec.id, on))
        self.cancel_button.clicked.connect(lambda: service.cancel(spec.id))

    def update_progress(self, event: Progress) -> None:
        self.bar.setMaximum(max(1, event.total))
        self.bar.setValue(event.step)
        eta = self.eta.seconds_left(event.step, event.total)
        if event.valid_loss is not None or event.train_loss is not None:
            loss = f" · loss {event.valid_loss if event.valid_loss is not None else event.train_loss:.3f}"
        elif "best" in event.extra:
            loss = f" · best {event.extra['best']:.1f}"
        else:
            loss = ""
        note = f" · {event.message}" if event.message else ""
        self.bar.setFormat(f"{event.unit} {event.step}/{event.total} · ETA {format_eta(eta)}{loss}{note}")

    def done(self, text: str, result: str = "") -> None:
        """The job ended: ``text`` in the bar; ``result`` (what the run did) in full under it."""
        self.bar.setFormat(text)
        self.result.setText(result)
        self.result.setVisible(bool(result))
        self.pause_button.setEnabled(False)
        self.cancel_button.setEnabled(False)


class TrainingDock(QDockWidget):
    """Fine-tuning jobs, their live loss plot, and the user's personal models."""

    models_changed = Signal()
    watch_requested = Signal(object)  # a controller's parameters (numpy) to watch drive

    def __init__(self, parent=None, service: FinetuneService | None = None) -> None:
        super().__init__("Training", parent)
        self.setObjectName("TrainingDock")
        self.service = service or FinetuneService(self)
        self.rows: dict[int, JobRow] = {}
        self.curves: dict[int, dict[str, tuple[list[float], list[float]]]] = {}  # series: (steps, values)
        body = QWidget()
        outer = QVBoxLayout(body)
        top = QHBoxLayout()
        self.new_button = QPushButton("New fine-tune…")
        self.new_button.setObjectName("primary")
        top.addWidget(self.new_button)
        self.watch_button = QPushButton("Watch current best drive")
        self.watch_button.setToolTip("Show the selected controller job's best candidate so far in the Dream panel")
        self.watch_button.setEnabled(False)
        top.addWidget(self.watch_button)
        top.addStretch(1)
        outer.addLayout(top)
        split = QSplitter(Qt.Orientation.Horizontal)
        jobs_box = QWidget()
        jobs_layout = QVBoxLayout(jobs_box)
        jobs_layout.setContentsMargins(0, 0, 0, 0)
        jobs_layout.addWidget(QLabel("Jobs"))
        self.jobs = QListWidget()
        self.jobs.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        jobs_layout.addWidget(self.jobs, 1)
        split.addWidget(jobs_box)
        pg.setConfigOptions(antialias=True)
        self.plot = pg.PlotWidget(background=theme.SURFACE.name())
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        colours = {
            "train": theme.ACCENT_LIGHT,
            "validation": theme.HIGHLIGHT,
            "best": theme.HIGHLIGHT,
            "mean": theme.ACCENT_LIGHT,
            "worst": theme.TEXT_DIM,
        }
        self.series = {name: self.plot.plot([], [], pen=pg.mkPen(colours[name].name(), width=2)) for name in SERIES}
        self.best_params: dict[int, object] = {}
        split.addWidget(self.plot)
        models_box = QWidget()
        models_layout = QVBoxLayout(models_box)
        models_layout.setContentsMargins(0, 0, 0, 0)
        models_layout.addWidget(QLabel("Personal models"))
        self.models = QListWidget()
        models_layout.addWidget(self.models, 1)
        buttons = QHBoxLayout()
        self.rename_button = QPushButton("Rename…")
        self.delete_button = QPushButton("Delete")
        buttons.addWidget(self.rename_button)
        buttons.addWidget(self.delete_button)
        models_layout.addLayout(buttons)
        split.addWidget(models_box)
        split.setSizes([380, 520, 300])
        outer.addWidget(split, 1)
        self.setWidget(body)

        self.new_button.clicked.connect(lambda: self.new_job())
        self.watch_button.clicked.connect(self._watch)
        self.rename_button.clicked.connect(self._rename)
        self.delete_button.clicked.connect(self._delete)
        self.jobs.currentRowChanged.connect(lambda _r: self._redraw())
        self.service.progress.connect(self._on_progress)
        self.service.started.connect(self._on_started)
        self.service.finished.connect(self._on_finished)
        self.service.failed.connect(self._on_failed)
        self.refresh_models()

    # ------------------------------------------------------------------ jobs
    def new_job(self, family: str = "music") -> None:
        dialog = NewJobDialog(self, family)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.submit(dialog.spec())

    def submit(self, spec: FinetuneSpec) -> int:
        """Queue a job and show its row."""
        row = JobRow(spec, self.service)
        item = QListWidgetItem()
        item.setSizeHint(row.sizeHint())
        item.setData(Qt.ItemDataRole.UserRole, spec.id)
        self.jobs.addItem(item)
        self.jobs.setItemWidget(item, row)
        self.rows[spec.id] = row
        self.curves[spec.id] = {name: ([], []) for name in SERIES}
        self.jobs.setCurrentItem(item)
        self.show()
        self.raise_()
        return self.service.submit(spec)

    def _selected_job(self) -> int | None:
        item = self.jobs.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    def _on_started(self, event: Started) -> None:
        row = self.rows.get(event.job_id)
        if row:
            row.eta = ETA()
            row.bar.setFormat("starting…")

    def _on_progress(self, job_id: int, event: Progress) -> None:
        row = self.rows.get(job_id)
        if row is None:
            return
        row.update_progress(event)
        curve = self.curves[job_id]
        values = {"train": event.train_loss, "validation": event.valid_loss}
        if event.unit == "generation":  # the controller's CMA-ES fitness per generation
            values.update({k: event.extra.get(k) for k in ("best", "mean", "worst")})
        for name, value in values.items():
            if isinstance(value, (int, float)):
                curve[name][0].append(event.step)
                curve[name][1].append(float(value))
        if "best_params" in event.payload:
            self.best_params[job_id] = event.payload["best_params"]
        self.plot.setLabel("bottom", event.unit)
        fitness = any(curve[k][1] for k in ("best", "mean", "worst"))
        self.plot.setLabel("left", "fitness (return)" if fitness else "loss (nats)")
        if self._selected_job() == job_id:
            self._redraw()

    def _redraw(self) -> None:
        job_id = self._selected_job()
        curve = self.curves.get(job_id) if job_id is not None else None
        self.legend.clear()
        for name, item in self.series.items():  # only the curves this job has, in the legend too
            xs, ys = curve[name] if curve else ([], [])
            item.setData(xs, ys)
            item.setVisible(bool(ys))
            if ys:
                self.legend.addItem(item, name)
        self.watch_button.setEnabled(job_id in self.best_params)

    def _watch(self) -> None:
        job_id = self._selected_job()
        if job_id in self.best_params:
            self.watch_requested.emit(self.best_params[job_id])

    def _on_finished(self, event: Finished) -> None:
        row = self.rows.get(event.job_id)
        if row:
            metrics = event.summary.get("metrics", {})
            text = event.summary.get("headline") or ", ".join(
                f"{k} {v:.3f}" for k, v in metrics.items() if isinstance(v, (int, float))
            )
            row.done(f"saved '{event.summary.get('name', '')}'", text)
            self._fit_row(event.job_id, row)
        self.refresh_models()
        self.models_changed.emit()

    def _fit_row(self, job_id: int, row: JobRow) -> None:
        """Give a job's row the height its (wrapped) text needs at the list's width."""
        width = self.jobs.viewport().width()
        for i in range(self.jobs.count()):
            item = self.jobs.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == job_id:
                item.setSizeHint(QSize(width, max(row.sizeHint().height(), row.heightForWidth(width))))

    def _on_failed(self, event: Failed) -> None:
        row = self.rows.get(event.job_id)
        if row:
            row.done(
                "cancelled — previous weights kept" if event.message == "cancelled" else f"failed: {event.message}"
            )

    # ------------------------------------------------------------------ personal models
    def refresh_models(self) -> None:
        self.models.clear()
        for card in personal.personal_models():
            metrics = card.data.get("metrics", {})
            first = next(((k, v) for k, v in metrics.items() if isinstance(v, (int, float))), None)
            suffix = f" · {first[0]} {first[1]:.3f}" if first else ""
            name = card.data.get("display_name", card.name)
            item = QListWidgetItem(f"{name}  ({card.family}, from {card.data.get('base_model', '?')}){suffix}")
            item.setData(Qt.ItemDataRole.UserRole, card.name)
            self.models.addItem(item)

    def _rename(self) -> None:
        item = self.models.currentItem()
        if not item:
            return
        text, ok = QInputDialog.getText(self, "Rename model", "New name:")
        if ok and text:
            try:
                personal.rename_personal_model(item.data(Qt.ItemDataRole.UserRole), text)
            except UserError as exc:
                QMessageBox.warning(self, "Rename", str(exc))
            self.refresh_models()
            self.models_changed.emit()

    def _delete(self) -> None:
        item = self.models.currentItem()
        if not item:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        if (
            QMessageBox.question(self, "Delete model", f"Delete the personal model '{name}'?")
            == QMessageBox.StandardButton.Yes
        ):
            personal.delete_personal_model(name)
            self.refresh_models()
            self.models_changed.emit()

    def shutdown(self) -> None:
        self.service.shutdown()
