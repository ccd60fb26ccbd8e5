"""The one model picker every panel uses: a combo of an area's models (the shipped ones, then the
person's fine-tuned ones marked ★), an optional Fine-tune… button and a status line.

The three widgets are created here and placed by the panel where its layout wants them
(:meth:`ModelPicker.row` holds the combo and the button; :attr:`ModelPicker.status_label` goes
anywhere). After a fine-tune, rename or delete, :meth:`ModelPicker.refresh` re-reads the models,
keeping the choice while it exists and otherwise falling back (a deleted personal model → the
model it was fine-tuned from).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QSize, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QStyleOptionComboBox,
    QToolButton,
    QWidget,
)

from gdl_studio.core.personal import is_personal_label, without_personal_mark
from gdl_studio.core.registry import ModelUnavailable

Choices = Callable[[], list[tuple[str, str]]]


class ModelPicker(QObject):
    """Combo + ★ personal models + Fine-tune… button + status line (see the module docstring).

    ``choices()`` returns ``[(model name, label)]`` (an :class:`~gdl_studio.core.area.Area`'s
    ``choices``); ``key(name)`` is what the combo stores for a model (default: the name);
    ``fallback(key)`` names what to choose when ``key`` is gone (None: the first model).
    """

    changed = Signal(str)
    """The person chose another model (its key)."""
    finetune_requested = Signal()
    """The Fine-tune… button was pressed."""

    def __init__(
        self,
        choices: Choices,
        parent: QWidget | None = None,
        *,
        key: Callable[[str], str] | None = None,
        fallback: Callable[[str], str | None] | None = None,
        finetune_text: str | None = "Fine-tune…",
        finetune_tip: str = "",
        tool_button: bool = True,
        status: bool = True,
    ) -> None:
        super().__init__(parent)
        self._choices = choices
        self._key = key or (lambda name: name)
        self._fallback = fallback
        self.combo = QComboBox(parent)
        self.finetune_button: QToolButton | QPushButton | None = None
        if finetune_text is not None:
            self.finetune_button = QToolButton(parent) if tool_button else QPushButton(parent)
            self.finetune_button.setText(finetune_text)
            self.finetune_button.setToolTip(finetune_tip)
            self.finetune_button.clicked.connect(self.finetune_requested.emit)
        self.status_label: QLabel | None = None
        if status:
            self.status_label = QLabel("", parent)
            self.status_label.setObjectName("modelStatus")
            self.status_label.setWordWrap(True)
        self.combo.currentIndexChanged.connect(self._on_index)

    # ------------------------------------------------------------------ layout
    def row(self) -> QHBoxLayout:
        """The combo (stretching) and the Fine-tune… button, side by side."""
        row = QHBoxLayout()
        row.addWidget(self.combo, 1)
        if self.finetune_button is not None:
            row.addWidget(self.finetune_button)
        return row

    # ------------------------------------------------------------------ models
    def fill(self, fallback_choices: list[tuple[str, str]] | None = None) -> list[tuple[str, str]]:
        """(Re)fill the combo from ``choices()`` (or ``fallback_choices`` when they cannot be read,
        e.g. no readable user directory) without announcing a change; returns what was listed."""
        try:
            choices = self._choices()
        except (OSError, ModelUnavailable):
            if fallback_choices is None:
                raise
            choices = list(fallback_choices)
        self.combo.blockSignals(True)
        try:
            self.combo.clear()
            for name, label in choices:
                self.combo.addItem(label, self._key(name))
        finally:
            self.combo.blockSignals(False)
        self._keep_shipped_labels_whole([label for _, label in choices if not is_personal_label(label)])
        return choices

    def _keep_shipped_labels_whole(self, labels: list[str]) -> None:
        """A layout may squeeze the combo, but never below its longest shipped label (a long
        personal name may still be cut: it must not widen the window past small screens)."""
        if not labels:
            return
        self.combo.ensurePolished()  # the stylesheet's font and padding, before the first show
        metrics = self.combo.fontMetrics()
        text = max(metrics.horizontalAdvance(label) for label in labels)
        option = QStyleOptionComboBox()
        self.combo.initStyleOption(option)
        # the frame, padding and drop-down arrow around the text, as the (style sheet's) style sizes them
        size = self.combo.style().sizeFromContents(
            QStyle.ContentsType.CT_ComboBox, option, QSize(text, metrics.height()), self.combo
        )
        self.combo.setMinimumWidth(size.width())

    def current(self) -> str:
        """The chosen model's key."""
        return self.combo.currentData() or ""

    def current_label(self) -> str:
        return self.combo.currentText()

    def label_of(self, key: str) -> str:
        """The label shown for ``key`` without the ★ mark ("" if not listed)."""
        index = self.combo.findData(key)
        return without_personal_mark(self.combo.itemText(index)) if index >= 0 else ""

    def set_current(self, key: str, quiet: bool = False) -> bool:
        """Choose ``key`` if listed (``quiet``: without announcing it); whether it is listed."""
        index = self.combo.findData(key)
        if index < 0:
            return False
        self.combo.blockSignals(quiet)
        try:
            self.combo.setCurrentIndex(index)
        finally:
            self.combo.blockSignals(False)
        return True

    def refresh(self, fallback_choices: list[tuple[str, str]] | None = None) -> bool:
        """Re-read the models keeping the choice while it exists, else falling back; whether the
        choice changed (then :attr:`changed` was emitted)."""
        previous = self.current()
        self.fill(fallback_choices)
        index = self.combo.findData(previous)
        seen = set()
        key = previous
        while index < 0 and self._fallback is not None and key not in seen:
            seen.add(key)
            key = self._fallback(key) or ""
            index = self.combo.findData(key)
        self.combo.blockSignals(True)
        try:
            self.combo.setCurrentIndex(max(0, index))
        finally:
            self.combo.blockSignals(False)
        if self.current() != previous:
            self.changed.emit(self.current())
            return True
        return False

    def set_status(self, text: str, kind: str = "") -> None:
        """The status line: ``kind`` "ok", "warn" or "error" picks its colour (style.qss)."""
        if self.status_label is None:
            return
        self.status_label.setText(text)
        if self.status_label.property("kind") != kind:
            self.status_label.setProperty("kind", kind)
            self.status_label.style().unpolish(self.status_label)
            self.status_label.style().polish(self.status_label)

    def _on_index(self, _index: int) -> None:
        self.changed.emit(self.current())
