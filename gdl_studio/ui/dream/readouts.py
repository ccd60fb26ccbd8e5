"""The Dream panel's read-out tiles: reward so far, step, frames/s, this step's reward, M's guess
and the third figure (V's error in the real game, τ in the dream), in 3 columns (2 when narrow).
The texts come from :meth:`gdl_studio.ui.dream.session.DreamSession.readouts`."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QSizePolicy, QWidget

from gdl_studio.ui.dream.views import StatTile


class Readouts(QWidget):
    """Six :class:`StatTile` read-outs in a grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.total, self.step, self.fps = StatTile("Reward"), StatTile("Step"), StatTile("Frames/s")
        self.reward, self.model, self.third = StatTile("This step"), StatTile("M predicted"), StatTile("Dream τ")
        self.tiles = (self.total, self.step, self.fps, self.reward, self.model, self.third)
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(6)
        for tile in self.tiles:
            tile.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            tile.setMinimumWidth(72)
        self.columns = 0
        self.set_columns(3)

    def set_columns(self, columns: int) -> None:
        """Lay the tiles out in ``columns`` columns."""
        if columns == self.columns:
            return
        self.columns = columns
        for tile in self.tiles:
            self._grid.removeWidget(tile)
        for i, tile in enumerate(self.tiles):
            self._grid.addWidget(tile, i // columns, i % columns)
        for c in range(3):
            self._grid.setColumnStretch(c, 1 if c < columns else 0)

    def clear(self, third_too: bool) -> None:
        """Dashes before the first frame (the third tile keeps τ in the dream)."""
        for tile in self.tiles[:5] + ((self.third,) if third_too else ()):
            tile.set_value("–")

    def show_texts(self, texts: dict[str, str], fps: float | None) -> None:
        """One frame's texts (keys step, total, reward, model and, in the real game, error)."""
        self.step.set_value(texts["step"])
        self.total.set_value(texts["total"])
        self.reward.set_value(texts["reward"])
        self.model.set_value(texts["model"])
        if "error" in texts:
            self.third.set_value(texts["error"])
        if fps is not None:
            self.fps.set_value(f"{fps:.0f}")
