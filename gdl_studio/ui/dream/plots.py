"""The Dream panel's live plots (pyqtgraph): reward so far, the z vector, predicted vs actual reward.

The three stack while each gets :data:`MIN_PLOT_HEIGHT`; in less room (a laptop screen with the Training
dock open) a row of choices appears above them and one plot at a time fills the space.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from gdl_studio.ui import theme

TOTAL_COLOUR = theme.ACCENT_LIGHT.name()
ACTUAL_COLOUR = theme.HIGHLIGHT.name()
PREDICTED_COLOUR = theme.GENERATED.name()
Z_POSITIVE = theme.CYAN.name()
Z_NEGATIVE = theme.PINK.name()
Z_RANGE = 3.0
MIN_PLOT_HEIGHT = 110  # px a plot needs to stay readable (title, axis, a curve)
PLOT_SPACING = 6


def _style(plot: pg.PlotItem, title: str, left: str = "", bottom: str = "") -> None:
    plot.setTitle(title, color=theme.TEXT.name(), size="9pt")
    plot.showGrid(x=True, y=True, alpha=0.18)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(x=False, y=False)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(theme.GRID_STRONG.name()))
        axis.setTextPen(pg.mkPen(theme.TEXT_DIM.name()))
    if left:
        plot.setLabel("left", left, color=theme.TEXT_DIM.name())
    if bottom:
        plot.setLabel("bottom", bottom, color=theme.TEXT_DIM.name())


class DreamPlots(QWidget):
    """Three stacked plots fed one frame at a time with :meth:`add`; :meth:`reset` starts afresh.

    Each plot is its own ``pg.PlotWidget`` so a layout can hide it; :meth:`fit_height` says whether all three
    fit a height, and :attr:`choices` (shown only when they do not) picks the one on view.
    """

    CHOICES = (("Reward", "reward so far"), ("Per step", "reward per step"), ("z", "z vector"))  # label, what it shows

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(PLOT_SPACING)
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)  # the minimum is minimumSizeHint's
        self.choices = QWidget(self)
        row = QHBoxLayout(self.choices)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.choice_group = QButtonGroup(self)
        for index, (label, shows) in enumerate(self.CHOICES):
            button = QPushButton(label)
            button.setObjectName("plotChoice")
            button.setCheckable(True)
            button.setToolTip(f"Show the {shows} plot")
            self.choice_group.addButton(button, index)
            row.addWidget(button)
        row.addStretch(1)
        self.choice_group.button(0).setChecked(True)
        self.choice_group.idClicked.connect(lambda _index: self._arrange())
        layout.addWidget(self.choices)
        self.widgets: list[pg.PlotWidget] = []
        for _ in self.CHOICES:
            widget = pg.PlotWidget(self)
            widget.setBackground(theme.SURFACE.name())
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            layout.addWidget(widget, 1)
            self.widgets.append(widget)
        self.compact = False

        self.reward_plot = self.widgets[0].getPlotItem()
        _style(self.reward_plot, "Reward so far")
        self.total_curve = self.reward_plot.plot(
            pen=pg.mkPen(TOTAL_COLOUR, width=2), fillLevel=0, brush=pg.mkBrush(theme.with_alpha(theme.ACCENT_LIGHT, 50))
        )

        self.reward_step_plot = self.widgets[1].getPlotItem()
        _style(self.reward_step_plot, "Reward per step")
        self.legend = self.reward_step_plot.addLegend(
            offset=(6, 4),
            labelTextColor=theme.TEXT_DIM.name(),
            brush=pg.mkBrush(theme.with_alpha(theme.BACKGROUND, 200)),
        )
        self.actual_curve = self.reward_step_plot.plot(pen=pg.mkPen(ACTUAL_COLOUR, width=1.5), name="game")
        self.predicted_curve = self.reward_step_plot.plot(pen=pg.mkPen(PREDICTED_COLOUR, width=1.5), name="M predicted")

        self.z_plot = self.widgets[2].getPlotItem()
        _style(self.z_plot, "z: what V sees", bottom="dimension")
        self.z_bars = pg.BarGraphItem(x=np.arange(32), height=np.zeros(32), width=0.75, brush=Z_POSITIVE, pen=None)
        self.z_plot.addItem(self.z_bars)
        self.z_plot.setXRange(-0.7, 31.7, padding=0)
        self.z_plot.setYRange(-Z_RANGE, Z_RANGE, padding=0)
        self.z_plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(0, 32, 4)]])

        self.mode = "real"
        self.steps: list[int] = []
        self.totals: list[float] = []
        self.actual: list[float] = []
        self.predicted: list[float] = []
        self.z = np.zeros(32, dtype=np.float32)
        self.reset("real")
        self._arrange()

    # ---------------------------------------------------------------- layout
    @staticmethod
    def fit_height(height: int) -> bool:
        """Whether all the plots, :data:`MIN_PLOT_HEIGHT` each, fit stacked in ``height`` px."""
        count = len(DreamPlots.CHOICES)
        return height >= count * MIN_PLOT_HEIGHT + (count - 1) * PLOT_SPACING

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        return QSize(super().minimumSizeHint().width(), MIN_PLOT_HEIGHT + 30)

    def visible_plots(self) -> list[int]:
        """The indices of the plots on view (all three, or the chosen one when compact)."""
        return [i for i, widget in enumerate(self.widgets) if not widget.isHidden()]

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt naming)
        super().resizeEvent(event)
        compact = not self.fit_height(event.size().height())
        if compact != self.compact:
            self.compact = compact
            self._arrange()

    def _arrange(self) -> None:
        chosen = max(0, self.choice_group.checkedId())
        self.choices.setVisible(self.compact)
        for index, widget in enumerate(self.widgets):
            widget.setVisible(not self.compact or index == chosen)

    def reset(self, mode: str) -> None:
        """Clear the plots for a new episode in ``mode`` ('real' or 'dream')."""
        self.mode = mode
        self.steps, self.totals, self.actual, self.predicted = [], [], [], []
        self.actual_curve.setVisible(mode == "real")
        self.legend.setVisible(mode == "real")
        self.reward_plot.setTitle(
            "Reward so far" if mode == "real" else "Reward so far (M's guess)", color=theme.TEXT.name(), size="9pt"
        )
        self.reward_step_plot.setTitle(
            "Reward per step: game vs M" if mode == "real" else "Reward per step (M's guess)",
            color=theme.TEXT.name(),
            size="9pt",
        )
        self.z_plot.setTitle(
            "z: what V sees" if mode == "real" else "z: what M dreams", color=theme.TEXT.name(), size="9pt"
        )
        for plot in (self.reward_plot, self.reward_step_plot):  # a calm empty frame until data comes
            plot.disableAutoRange()
            plot.setXRange(0, 100, padding=0.02)
        self.reward_plot.setYRange(-1, 10, padding=0.02)
        self.reward_step_plot.setYRange(-0.5, 4, padding=0.02)
        self.set_z(np.zeros(32, dtype=np.float32))
        self.refresh()

    def add(self, frame) -> None:
        """Append one RealFrame or DreamFrame (call :meth:`refresh` to redraw)."""
        self.steps.append(int(frame.step))
        self.totals.append(float(frame.total))
        if hasattr(frame, "predicted_reward"):
            self.actual.append(float(frame.reward))
            self.predicted.append(float(frame.predicted_reward))
        else:
            self.predicted.append(float(frame.reward))
        self.z = np.asarray(frame.z, dtype=np.float32).ravel()

    def set_z(self, z: np.ndarray) -> None:
        z = np.asarray(z, dtype=np.float32).ravel()
        brushes = [pg.mkBrush(Z_POSITIVE if v >= 0 else Z_NEGATIVE) for v in z]
        self.z_bars.setOpts(x=np.arange(z.size), height=z, brushes=brushes)
        top = max(Z_RANGE, float(np.abs(z).max()) * 1.1 if z.size else Z_RANGE)
        self.z_plot.setYRange(-top, top, padding=0)
        self.z_plot.setXRange(-0.7, z.size - 0.3, padding=0)

    def refresh(self) -> None:
        """Redraw the curves from the data added so far."""
        x = np.asarray(self.steps, dtype=np.float64)
        self.total_curve.setData(x, np.asarray(self.totals, dtype=np.float64))
        if self.mode == "real":
            self.actual_curve.setData(x[: len(self.actual)], np.asarray(self.actual, dtype=np.float64))
        else:
            self.actual_curve.setData([], [])
        self.predicted_curve.setData(x[: len(self.predicted)], np.asarray(self.predicted, dtype=np.float64))
        if self.steps:
            for plot in (self.reward_plot, self.reward_step_plot):
                plot.enableAutoRange()
            self.set_z(self.z)

    def count(self) -> int:
        """Frames plotted in the current episode."""
        return len(self.steps)
