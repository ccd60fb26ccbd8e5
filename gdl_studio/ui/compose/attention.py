"""Attention view: what each generated note looked at.

Top: a pyqtgraph heatmap, one row per generated note, one column per earlier note (the last
notes of the primer, then the generated ones), the colour the attention weight the model gave
that note when it decided the row's note (weights of a position are summed per note;
positions that are rests or time shifts are left out and their share is reported).
Bottom: the selected generated note's row as bars, labelled with pitch names, on the same
x axis. Works for both models: the LSTM's windowed attention over its steps and the
Transformer's last-layer attention averaged over heads.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QPen
from PySide6.QtWidgets import QGraphicsRectItem, QLabel, QVBoxLayout, QWidget

from gdl_studio.music.notes import GenerationStep, Note
from gdl_studio.ui import theme

CONTEXT_NOTES = 32  # primer notes shown before the first generated one
_NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")


def _name(pitch: int) -> str:
    return f"{_NAMES[pitch % 12]}{pitch // 12 - 1}"


def note_weights(step: GenerationStep) -> tuple[dict[int, float], float]:
    """Attention of ``step`` summed per note index; plus the share on non-note positions."""
    if step.attention is None or step.attention_notes is None:
        return {}, 0.0
    att = np.asarray(step.attention, dtype=np.float64)
    idx = np.asarray(step.attention_notes, dtype=np.int64)[-att.size :]
    att = att[-idx.size :]
    weights: dict[int, float] = {}
    other = 0.0
    for i, w in zip(idx.tolist(), att.tolist()):
        if i < 0:
            other += w
        else:
            weights[i] = weights.get(i, 0.0) + w
    total = float(att.sum()) or 1.0
    return weights, other / total


class AttentionView(QWidget):
    """Heatmap of attention rows for the generated notes, with the selected row as bars."""

    row_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attentionView")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.caption = QLabel(
            "Attention appears here while a continuation is generated. "
            "Click a generated note to see what it attended to."
        )
        self.caption.setWordWrap(True)
        self.caption.setObjectName("attentionCaption")
        self.caption.setStyleSheet(theme.qss("color: @TEXT_DIM@; font-size: 8.5pt;"))
        self.glw = pg.GraphicsLayoutWidget()
        self.glw.setBackground(theme.SUNKEN)
        self.glw.setMinimumHeight(170)
        self.placeholder = QLabel(
            "No continuation yet.\n\nPress Continue: each generated note gets a row "
            "here showing how much it attended to every earlier note."
        )
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setStyleSheet(theme.qss("color: @TEXT_PLACEHOLDER@; font-size: 10pt; padding: 20px;"))
        layout.addWidget(self.placeholder, 1)
        layout.addWidget(self.glw, 1)
        layout.addWidget(self.caption)

        self.heat = self.glw.addPlot(row=0, col=0)
        self.heat.invertY(True)
        self.heat.setMenuEnabled(False)
        self.heat.hideButtons()
        self.heat.setMouseEnabled(x=False, y=False)
        self.heat.setLabel("left", "generated note")
        self.heat.getAxis("bottom").setStyle(showValues=False)
        self.image = pg.ImageItem()
        self.image.setColorMap(pg.colormap.get("inferno"))
        self.heat.addItem(self.image)
        self.marker = QGraphicsRectItem()
        self.marker.setPen(QPen(theme.HIGHLIGHT, 0))
        self.marker.setZValue(10)
        self.marker.setVisible(False)
        self.heat.addItem(self.marker)
        self.divider = pg.InfiniteLine(angle=90, pen=pg.mkPen(theme.GOOD, width=1, style=Qt.PenStyle.DashLine))
        self.divider.setVisible(False)
        self.heat.addItem(self.divider)
        self.image.mouseClickEvent = self._on_click

        self.bars_plot = self.glw.addPlot(row=1, col=0)
        self.bars_plot.setMenuEnabled(False)
        self.bars_plot.hideButtons()
        self.bars_plot.setMouseEnabled(x=False, y=False)
        self.bars_plot.setLabel("left", "weight")
        self.bars_plot.setLabel("bottom", "earlier notes: primer (violet) · generated (red)")
        self.bars_plot.setXLink(self.heat)
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=theme.ACCENT_LIGHT)
        self.bars_plot.addItem(self.bars)
        self.glw.ci.layout.setRowStretchFactor(0, 3)
        self.glw.ci.layout.setRowStretchFactor(1, 2)
        for plot in (self.heat, self.bars_plot):
            for axis in ("left", "bottom"):
                ax = plot.getAxis(axis)
                ax.setPen(pg.mkPen(theme.GRID_STRONG))
                ax.setTextPen(pg.mkPen(theme.TEXT_DIM))
            plot.getAxis("left").setWidth(44)
            plot.getAxis("left").enableAutoSIPrefix(False)
        self.clear()

    # ---------------------------------------------------------------- data
    def clear(self) -> None:
        self.context: list[Note] = []
        self.steps: list[GenerationStep] = []
        self._rows: list[tuple[dict[int, float], float]] = []
        self._shown_range = (0, 0)
        self.selected: int | None = None
        self.model_name = ""
        self._lo = 0
        self.image.clear()
        self.bars.setOpts(x=[], height=[])
        self.marker.setVisible(False)
        self.divider.setVisible(False)
        self.glw.setVisible(False)
        self.placeholder.setVisible(True)
        self.caption.setText("")

    def start(self, primer: list[Note], model_name: str) -> None:
        """A new continuation of ``primer`` by ``model_name`` begins."""
        self.clear()
        self.context = list(primer)
        self.model_name = model_name
        self._lo = max(0, len(primer) - CONTEXT_NOTES)
        self.caption.setText(f"{model_name}: generating…")

    def add_step(self, step: GenerationStep) -> None:
        """Add one generated note's attention (cheap: the view redraws on :meth:`flush`)."""
        self.add_steps([step])

    def add_steps(self, steps: list[GenerationStep], follow: bool = True) -> None:
        """Add several generated notes' attention and redraw once; ``follow`` selects the newest
        (while streaming the panel leaves the selection alone, which keeps redraws cheap)."""
        if not steps:
            return
        if not self.steps:
            self.placeholder.setVisible(False)
            self.glw.setVisible(True)
        follow = follow and (self.selected is None or self.selected == len(self.steps) - 1)
        for step in steps:
            self.steps.append(step)
            self._rows.append(note_weights(step))
        self._redraw_matrix()
        if follow:
            self.select(len(self.steps) - 1)
        elif self.selected is not None:
            self.marker.setRect(QRectF(0, self.selected, len(self.context) + len(self.steps) - self._lo, 1))

    def matrix(self) -> np.ndarray:
        """Rows: generated notes; columns: notes from ``self._lo`` on."""
        n_primer = len(self.context)
        cols = n_primer + len(self.steps) - self._lo
        m = np.zeros((max(len(self.steps), 1), max(cols, 1)), dtype=np.float32)
        for k, (weights, _other) in enumerate(self._rows):
            for i, w in weights.items():
                if self._lo <= i < n_primer + len(self.steps):
                    m[k, i - self._lo] += w
        return m

    def note_of(self, index: int) -> Note | None:
        """Primer or generated note by its index in primer + generated."""
        if index < len(self.context):
            return self.context[index]
        k = index - len(self.context)
        return self.steps[k].note if 0 <= k < len(self.steps) else None

    def _redraw_matrix(self) -> None:
        m = self.matrix()
        peak = float(m.max()) or 1.0
        self.image.setImage(m.T, levels=(0.0, peak), autoLevels=False)
        self.image.setRect(QRectF(0, 0, m.shape[1], m.shape[0]))
        # grow the view in steps of 16 so streaming does not re-layout the plots every note
        shown = (-(-m.shape[1] // 16) * 16, max(-(-m.shape[0] // 16) * 16, 16))
        if shown != self._shown_range:
            self._shown_range = shown
            self.heat.setXRange(0, shown[0], padding=0)
            self.heat.setYRange(0, shown[1], padding=0)
        split = len(self.context) - self._lo
        self.divider.setPos(split)
        self.divider.setVisible(split > 0)

    def select(self, k: int | None) -> None:
        """Show the attention of generated note ``k``."""
        if k is None or not (0 <= k < len(self.steps)):
            self.selected = None
            self.marker.setVisible(False)
            self.bars.setOpts(x=[], height=[])
            return
        self.selected = k
        cols = len(self.context) + len(self.steps) - self._lo
        self.marker.setRect(QRectF(0, k, cols, 1))
        self.marker.setVisible(True)
        step = self.steps[k]
        weights, other = self._rows[k]
        n_primer = len(self.context)
        xs, hs, brushes = [], [], []
        for i, w in sorted(weights.items()):
            if i < self._lo:
                continue
            xs.append(i - self._lo + 0.5)
            hs.append(w)
            brushes.append(pg.mkBrush(theme.GENERATED if i >= n_primer else theme.ACCENT_LIGHT))
        self.bars.setOpts(x=xs, height=hs, width=0.8, brushes=brushes)
        self.bars_plot.setYRange(0, max(hs, default=0.1) * 1.1, padding=0)
        top = sorted(weights.items(), key=lambda kv: -kv[1])[:8]
        ticks: list[tuple[float, str]] = []
        span = max(len(self.context) + len(self.steps) - self._lo, 1)
        for i, _w in top:
            note = self.note_of(i)
            x = i - self._lo + 0.5
            # label the strongest few, never two labels closer than 6% of the axis
            if note is not None and i >= self._lo and all(abs(x - t[0]) > 0.12 * span for t in ticks):
                ticks.append((x, _name(note.pitch)))
            if len(ticks) == 3:
                break
        self.bars_plot.getAxis("bottom").setTicks([sorted(ticks), []])
        note = step.note
        best = []
        for i, w in top[:3]:
            n = self.note_of(i)
            if n is not None:
                where = "generated" if i >= n_primer else "primer"
                best.append(f"{_name(n.pitch)} ({where}, beat {n.start:g}) {w:.0%}")
        text = (
            f"<b>{self.model_name}</b> · generated note {k + 1}: <b>{_name(note.pitch)}</b> at beat "
            f"{note.start:g}. Strongest attention: {', '.join(best) or '–'}."
        )
        if other > 0.005:
            text += f" {other:.0%} of the weight is on rests/time steps (not shown)."
        self.caption.setText(text)

    def weights_for_selected(self) -> dict[int, float]:
        """Attention of the selected generated note per note index (primer + generated)."""
        if self.selected is None:
            return {}
        return self._rows[self.selected][0]

    def _on_click(self, event) -> None:
        row = int(event.pos().y())
        if 0 <= row < len(self.steps):
            self.select(row)
            self.row_clicked.emit(row)
        event.accept()
