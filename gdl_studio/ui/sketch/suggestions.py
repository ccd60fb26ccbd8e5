"""The Sketch panel's suggestions: Extend, Dream up and Endings streamed from the engine, and
Accept, Reject or picking an ending (each an undo step).

The state is the panel's :class:`~gdl_studio.ui.sketch.session.SketchSession`; this object
submits the engine jobs (:mod:`gdl_studio.jobs.sketch`), feeds the session with their results
and shows them on the canvas and in the endings view.
"""

from __future__ import annotations

import random

import numpy as np
from PySide6.QtCore import QObject

from gdl_studio.core.errors import UserError
from gdl_studio.jobs import sketch as jobs
from gdl_studio.ui.panel import Panel
from gdl_studio.ui.sketch import commands
from gdl_studio.ui.sketch.drawing import Stroke, group_points
from gdl_studio.ui.sketch.side_panel import ENDINGS_HINT

MAX_POINTS = 250


class Suggestions(QObject):
    """The suggestions of one Sketch panel (``panel``: the SketchPanel that owns it)."""

    def __init__(self, panel: Panel) -> None:
        super().__init__(panel)
        self.p = panel

    def _seed(self) -> int:
        p = self.p
        seed = p.seed_spin.value() or random.randrange(1, 1_000_000)
        p.session.last_seed = seed
        return seed

    def _can_generate(self) -> bool:
        p = self.p
        if not p.model_available():
            p._say(f"The {p._label(p.kind)} model is unavailable: {p.session.problems[p.kind]}", "error")
            return False
        return True

    def _primer(self) -> list[np.ndarray] | None:
        """The drawing as a primer, checked; ``None`` (after a message) when it cannot be one."""
        p = self.p
        from gdl_studio.ink.strokes import primer_stroke3

        if p.document.is_blank():
            p._say(
                "Nothing to extend: the canvas is blank. Draw a few strokes (or open an SVG) first, "
                "or press Dream up for a character from scratch.",
                "error",
            )
            return None
        strokes = p.document.arrays()
        try:
            primer_stroke3(strokes)
        except UserError as exc:
            p._say(f"Cannot continue this drawing: {exc}.", "error")
            return None
        return strokes

    def _submit(self, mode: str, primer, seeds: list[int], max_strokes: int | None, label: str) -> None:
        p = self.p
        self._discard_suggestion()
        p.session.mode = mode
        p.session.streaming = True
        p.session.pending = []
        job = jobs.generation_job(p.loader, p.kind, primer, p.temperature, seeds, MAX_POINTS, max_strokes, p.pace_s)
        p.session.request = p.engine.submit(p.panel_id, job, label)
        p.session.warmed.add(p.kind)
        p._update_ui()

    def extend(self) -> None:
        """Continue the drawing; the continuation streams in until accepted or rejected."""
        p = self.p
        if not self._can_generate():
            return
        primer = self._primer()
        if primer is None:
            return
        seed = self._seed()
        n = p.strokes_spin.value()
        self._submit("extend", primer, [seed], n, "Sketch: extend")
        p._say(
            f"Extending by {n} stroke{'s' if n > 1 else ''} with {p._label(p.kind)} "
            f"(temperature {p.temperature:.2f}, seed {seed})…",
            "busy",
        )

    def dream_up(self) -> None:
        """Draw a new character from scratch (accepting it replaces the drawing)."""
        p = self.p
        if not self._can_generate():
            return
        seed = self._seed()
        self._submit("dream", None, [seed], None, "Sketch: dream up")
        p.canvas.set_overlay([], None, dim_document=True)
        p._say(
            f"Dreaming up a character with {p._label(p.kind)} (temperature {p.temperature:.2f}, seed {seed})…", "busy"
        )

    def show_endings(self) -> None:
        """Draw N different continuations side by side; click one to keep it."""
        p = self.p
        if not self._can_generate():
            return
        primer = self._primer()
        if primer is None:
            return
        count = p.endings_spin.value()
        base = self._seed()
        seeds = [base + i for i in range(count)]
        self._submit("endings", primer, seeds, p.strokes_spin.value(), "Sketch: endings")
        p.endings.start(count, p.document.strokes)
        p.endings_hint.setText("Drawing endings…")
        p._say(f"Drawing {count} endings (seeds {base}–{base + count - 1})…", "busy")

    def accept(self) -> None:
        """Keep the streamed continuation (or dreamt character) as an undoable change."""
        p = self.p
        if p.session.mode not in ("extend", "dream"):
            if p.session.mode == "endings":
                p._say("Click one of the endings to keep it, or Reject to dismiss them.")
            return
        strokes = [Stroke.make(s, source="model") for s in group_points(p.session.pending)]
        mode = p.session.mode
        self._stop_engine()
        if not strokes:
            self._discard_suggestion()
            p._say("Nothing generated yet to accept.")
            return
        p._applying = True
        try:
            if mode == "extend":
                p.undo_stack.push(commands.add_strokes(p.document, strokes, "Accept extension"))
            else:
                p.undo_stack.push(commands.SetStrokesCommand(p.document, strokes, "Dream up"))
        finally:
            p._applying = False
        self._end_suggestion()
        p._say(f"Accepted {len(strokes)} stroke{'s' if len(strokes) != 1 else ''}. Undo (Ctrl+Z) takes them back.")

    def reject(self) -> None:
        """Throw the suggestion (extension, dream or endings) away."""
        p = self.p
        if p.session.mode is None:
            return
        self._discard_suggestion()
        p._say("Suggestion rejected.")

    def pick_ending(self, index: int) -> None:
        """Keep ending ``index`` (an undoable change)."""
        p = self.p
        if p.session.mode != "endings" or not (0 <= index < p.endings.count()):
            return
        strokes = [Stroke.make(s, source="model") for s in p.endings.candidate(index)]
        if not strokes:
            p._say("That ending has no strokes yet.")
            return
        self._stop_engine()
        p._applying = True
        try:
            p.undo_stack.push(commands.add_strokes(p.document, strokes, f"Accept ending {index + 1}"))
        finally:
            p._applying = False
        self._end_suggestion()
        p._say(f"Kept ending {index + 1}. Undo (Ctrl+Z) takes it back.")

    def _on_ending_hover(self, index: int) -> None:
        p = self.p
        p.session.preview = index
        p.endings.highlight(index)
        if p.session.mode == "endings" and index >= 0:
            p.canvas.set_overlay(p.endings.candidate(index))
        elif p.session.mode == "endings":
            p.canvas.clear_overlay()

    def _stop_engine(self) -> None:
        p = self.p
        if p.session.streaming:
            p.engine.cancel(p.panel_id)
        p.session.streaming = False

    def _end_suggestion(self) -> None:
        p = self.p
        p.session.mode = None
        p.session.pending = []
        p.session.preview = -1
        p.canvas.clear_overlay()
        p.endings.clear()
        p.endings_hint.setText(ENDINGS_HINT)
        p._update_ui()

    def _discard_suggestion(self) -> None:
        p = self.p
        if p.session.mode is None and not p.session.streaming:
            return
        self._stop_engine()
        self._end_suggestion()

    def on_result(self, request_id: int, item: object) -> None:
        p = self.p
        if request_id != p.session.request:
            return
        if isinstance(item, jobs.ModelReady):
            if p.session.problems.pop(item.model, None) is not None:
                p._show_problem()
                p._update_ui()
            return
        if isinstance(item, jobs.ModelProblem):
            p.session.problems[item.model] = item.message
            p.session.streaming = False
            if p.session.mode is not None:
                self._end_suggestion()
            p._show_problem()
            p._say(f"{p._label(item.model)} model unavailable: {item.message}", "error")
            p._update_ui()
            return
        if not isinstance(item, jobs.GenPoint) or p.session.mode is None:
            return
        if p.session.mode == "endings":
            p.endings.add_point(item.candidate, item)
            if p.session.preview == item.candidate:
                p.canvas.set_overlay(p.endings.candidate(item.candidate))
            return
        p.session.pending.append(item)
        p.canvas.set_overlay(group_points(p.session.pending), (item.x, item.y), dim_document=p.session.mode == "dream")
        if len(p.session.pending) == 1:
            p._update_ui()

    def on_finished(self, info) -> None:
        p = self.p
        if info.request_id != p.session.request or info.cancelled:
            return
        p.session.streaming = False
        if p.session.mode in ("extend", "dream"):
            if not p.session.pending:
                self._end_suggestion()
                p._say("The model drew nothing; try again or raise the temperature.")
            else:
                p.canvas.set_overlay(group_points(p.session.pending), None, dim_document=p.session.mode == "dream")
                n = len(group_points(p.session.pending))
                what = "Extension" if p.session.mode == "extend" else "Character"
                p._say(
                    f"{what} ready: {n} stroke{'s' if n != 1 else ''}, {len(p.session.pending)} points "
                    f"(seed {p.session.last_seed}). Accept (Enter) or Reject (Esc)."
                )
        elif p.session.mode == "endings":
            p.endings.finish()
            p.endings_hint.setText("Hover to preview on the canvas; click one to keep it. Reject (Esc) dismisses them.")
            p._say(f"{p.endings.count()} endings ready: click one to keep it.")
        p._update_ui()

    def on_error(self, info) -> None:
        p = self.p
        if info.request_id != p.session.request:
            return
        p.session.streaming = False
        if p.session.mode is not None:
            self._end_suggestion()
        p._say(f"Generation failed: {info.message}", "error")
        p._update_ui()
