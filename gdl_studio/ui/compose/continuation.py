"""The Compose panel's continuation and fill: Continue, Fill (bars A to B), the streamed notes
and their attention, Accept, Reject and Regenerate, steered by the Steer group.

The state (which continuation or fill, its steps, accepted or not) is the panel's
:class:`~gdl_studio.ui.compose.session.ComposeSession`; this object submits the engine job
(:func:`gdl_studio.jobs.compose.continuation_job` or :func:`~gdl_studio.jobs.compose.infill_job`),
feeds the session with the results and draws them: pending notes in the roll at most 30 times a
second, the attention view a few times a second.
"""

from __future__ import annotations

import random

from PySide6.QtCore import QObject, QTimer

from gdl_studio.jobs import compose as composers
from gdl_studio.music.notes import GenerationStep, Note
from gdl_studio.music.steering import Constraints
from gdl_studio.ui.compose.commands import AddNotes, RemoveNotes
from gdl_studio.ui.compose.session import MAX_FILL_NOTES, FillPlan, plan_fill, primer_from, ruler_bars
from gdl_studio.ui.compose.steering_model import chords_text, primer_chord_bars
from gdl_studio.ui.panel import Panel


class Continuation(QObject):
    """Continuations of one Compose panel (``panel``: the ComposePanel that owns it)."""

    def __init__(self, panel: Panel) -> None:
        super().__init__(panel)
        self.p = panel
        self.session = panel.session
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.setInterval(33)
        self._flush_timer.timeout.connect(self.flush_results)
        self._attention_timer = QTimer(self)
        self._attention_timer.setSingleShot(True)
        self._attention_timer.setInterval(160)
        self._attention_timer.timeout.connect(self.flush_attention)
        box = panel.box
        box.continue_button.clicked.connect(self.continue_generation)
        box.accept_button.clicked.connect(self.accept)
        box.reject_button.clicked.connect(self.reject)
        box.regenerate_button.clicked.connect(self.regenerate)
        box.fill_button.clicked.connect(self.fill)
        panel.steering_box.chords_button.clicked.connect(self.chords_from_music)
        panel.roll.loop_changed.connect(self._on_ruler_range)
        panel.roll.pending_selected.connect(self._on_pending_selected)
        panel.attention.row_clicked.connect(self._on_attention_row)

    # ------------------------------------------------------------------ intents
    def continue_generation(self) -> None:
        """Continue from the end of the selection (or of the piece)."""
        p = self.p
        ids, notes, cut = primer_from(p.doc.sorted_items(), p.roll.selected, p.doc.end_beat)
        self._start(ids, notes, cut)

    def regenerate(self) -> None:
        """A new variation from the same primer, or of the same gap."""
        bars = self.session.regenerate_fill()
        if bars is not None:
            self.fill(bars)
            return
        primer = self.session.regenerate_primer(self.p.doc.notes)
        if primer is None:
            self.continue_generation()
        else:
            self._start(*primer)

    def fill(self, bars: tuple[int, int] | None = None) -> None:
        """Fill bars A up to B (the Fill row's, or ``bars``; counted from 1) given the music
        around them. A bad gap or steering: one message, nothing changes."""
        p = self.p
        a, b = bars or p.box.fill_row.bars()
        why_not = p._fill_why_not()
        if why_not:
            self.say(why_not)
            return
        try:
            plan = plan_fill(p.doc.sorted_items(), a, b, p.doc.beats_per_bar)
        except ValueError as exc:
            self.say(f"Cannot fill: {exc}.")
            return
        constraints = self.steering()
        if constraints is False:
            return
        self._start(plan.kept_ids, plan.kept_notes, plan.beats[1], constraints, plan)

    def steering(self) -> Constraints | None | bool:
        """The Steer group's constraints (None: none); False after saying why they cannot be used."""
        try:
            return self.p.steering_box.model().constraints()
        except ValueError as exc:
            self.say(f"Steering: {exc}. Nothing was generated.")
            return False

    def say(self, text: str) -> None:
        """One message in the panel (the progress line) and the status bar."""
        self.p.box.progress_label.setText(text)
        self.p.status_message.emit(text)

    def _start(
        self,
        ids: list[int],
        notes: list[Note],
        cut: float,
        constraints: Constraints | None | bool = None,
        plan: FillPlan | None = None,
    ) -> None:
        p = self.p
        name = p.picker.current()
        if not composers.model_available(name) and not composers.demo_mode():
            p._update_model_status()
            p._message(composers.missing_message(name))
            return
        if plan is None:
            constraints = self.steering()
            if constraints is False:
                return
        assert constraints is not False
        p.live.stop_audition()
        n_notes = p.box.length_spin.value()
        seed = random.randrange(1 << 30)
        temperature, bpb = p.box.temp_spin.value(), p.doc.beats_per_bar
        if plan is None:
            job = composers.continuation_job(name, notes, n_notes, temperature, seed, bpb, constraints, p.views())
            label = f"{p.picker.current_label()} continuation"
        else:
            job = composers.infill_job(
                name,
                plan.notes,
                plan.start_bar,
                plan.end_bar,
                MAX_FILL_NOTES,
                temperature,
                seed,
                bpb,
                constraints,
                p.views(),
            )
            label = f"{p.picker.current_label()} fill"
        request_id = p.engine.submit(p.panel_id, job, label=label)
        if plan is None:
            self.session.start(name, request_id, ids, notes, cut, seed)
            p.roll.set_gap(None)
        else:
            self.session.start_fill(name, request_id, plan, seed)
            p.roll.set_gap(plan.beats, plan.replaced_ids)
        p.roll.set_pending([])
        p.roll.select_pending(None)
        p.roll.set_attention({})
        p.attention.start(list(notes), p.picker.current_label())
        steer = f"steered: {constraints.describe()}" if constraints else ""
        p.box.progress_label.setText(self.session.start_text(n_notes, steer))
        p._update_buttons()
        p.live_io.timer.start()

    def accept(self) -> None:
        p = self.p
        was_running = self.session.running
        notes = self.session.accept()
        if notes is None:
            return
        if was_running:
            p.engine.cancel(p.panel_id)
        self.flush_attention()
        replaced = self.session.replaced_ids()
        gen = self.session.generation
        if gen is not None and gen.fill is not None:  # one undo step: the gap's old notes out, the new in
            p.undo_stack.beginMacro(f"Fill {gen.fill.label} with {len(notes)} notes")
            p.undo_stack.push(RemoveNotes(p.doc, replaced, "Replace the gap's notes"))
            cmd = AddNotes(p.doc, notes, f"Fill {gen.fill.label}")
            p.undo_stack.push(cmd)
            p.undo_stack.endMacro()
        else:
            cmd = AddNotes(p.doc, notes, f"Accept {len(notes)} generated notes")
            p.undo_stack.push(cmd)
        self.session.accepted(cmd.ids)
        p.roll.set_gap(None)
        p.roll.set_pending([])
        p.roll.select_pending(None)
        p.roll.set_attention({})
        p.box.progress_label.setText(
            f"Accepted {len(notes)} notes (Undo removes them). Select one to see its attention."
        )
        p._update_buttons()

    def reject(self) -> None:
        self.drop()
        self.p.box.progress_label.setText("Rejected.")
        self.p._update_buttons()

    def drop(self) -> None:
        """Forget the continuation (cancelling its job if it still runs)."""
        p = self.p
        gen = self.session.drop()
        if gen is not None and gen.running:
            p.engine.cancel(p.panel_id)
        p.live.stop_audition()
        p.roll.set_gap(None)
        p.roll.set_pending([])
        p.roll.select_pending(None)
        p.roll.set_attention({})
        p.attention.clear()

    # ------------------------------------------------------------------ engine results
    def on_result(self, request_id: int, item: object) -> None:
        if isinstance(item, GenerationStep) and self.session.add_step(request_id, item):
            p = self.p
            if p.box.audition_check.isChecked():
                p.live.audition_note(item.note, p.doc.tempo_bpm)
            if not self._flush_timer.isActive():
                self._flush_timer.start()

    def flush_results(self) -> None:
        """Draw the generated notes that arrived since the last frame (at most 30 times a second)."""
        p, gen = self.p, self.session.generation
        steps = self.session.take_incoming()
        if not steps:
            return
        p.roll.set_pending(p.roll.pending + [step.note for step in steps])
        if not gen.running or not self._attention_timer.isActive():
            self.flush_attention()
        if gen.running:
            p.box.progress_label.setText(self.session.progress_text(p.box.length_spin.value()))
        p._update_buttons()

    def flush_attention(self) -> None:
        """Redraw the attention plots (at most ~6 times a second while streaming)."""
        p, gen = self.p, self.session.generation
        steps = self.session.take_attention_backlog()
        if steps:
            p.attention.add_steps(steps, follow=False)
            if p.attention.selected is None or (not gen.running and not self.session.user_picked):
                # while streaming the first note stays selected (cheap); at the end, the last
                p.attention.select(len(p.attention.steps) - 1)
                p.roll.pending_index = p.attention.selected
                self.show_attention_in_roll()
        if gen is not None and gen.running:
            self._attention_timer.start()

    def on_finished(self, info) -> None:
        if self.session.finish(info.request_id):
            p = self.p
            self.flush_results()
            self.flush_attention()
            if not info.cancelled:
                p.box.progress_label.setText(self.session.done_text(info.seconds))
            p._update_buttons()

    def on_error(self, info) -> None:
        p = self.p
        if self.session.finish(info.request_id):
            gen = self.session.generation
            if gen is not None and gen.fill is not None and not gen.steps:  # nothing to show: un-shade the gap
                self.drop()
            p.box.progress_label.setText("")
            p.picker.set_status(info.message, "error")
            p._update_buttons()
        p.status_message.emit(info.message)

    # ------------------------------------------------------------------ ruler, chords
    def _on_ruler_range(self) -> None:
        """Bars picked in the ruler (a drag) become the Fill row's gap."""
        roll = self.p.roll
        if roll.loop is not None and roll.loop_enabled:
            self.p.box.fill_row.set_bars(*ruler_bars(roll.loop, self.p.doc.beats_per_bar))

    def chords_from_music(self) -> None:
        """ "From primer": the chords of the bars picked in the ruler, else of the last bars
        before the continuation point, into the Steer group's chords field."""
        p = self.p
        bpb = p.doc.beats_per_bar
        if p.roll.loop is not None and p.roll.loop_enabled:
            a, b = ruler_bars(p.roll.loop, bpb)
            first, count, where = a - 1, b - a, "the bars picked in the ruler"
        else:
            cut = primer_from(p.doc.sorted_items(), p.roll.selected, p.doc.end_beat)[2]
            first, count = primer_chord_bars(cut, bpb)
            where = f"bars {first + 1}–{first + count}"
        try:
            text = chords_text(list(p.doc.notes.values()), bpb, first, count)
        except ValueError as exc:
            self.say(f"Chords from the music: {exc}.")
            return
        p.steering_box.chords_edit.setText(text)
        self.say(f"Chords of {where}: {text}")

    # ------------------------------------------------------------------ attention
    def _on_pending_selected(self, k: int) -> None:
        p, gen = self.p, self.session.generation
        self.session.user_picked = True
        p.attention.select(k)
        self.show_attention_in_roll()
        if gen is not None and k < len(gen.steps):
            note = gen.steps[k].note
            p.live.preview(note.pitch, note.velocity)

    def _on_attention_row(self, k: int) -> None:
        p, gen = self.p, self.session.generation
        if gen is None:
            return
        self.session.user_picked = True
        if gen.accepted_ids is None:
            p.roll.pending_index = k
            p.roll.refresh_notes()
        elif k < len(gen.accepted_ids):
            p.roll.set_selection({gen.accepted_ids[k]})
        self.show_attention_in_roll()

    def on_selection(self, ids: list[int]) -> None:
        """Notes selected in the roll: one accepted generated note shows its attention."""
        gen = self.session.generation
        if gen is not None and gen.accepted_ids is not None and len(ids) == 1 and ids[0] in gen.accepted_ids:
            self.p.attention.select(gen.accepted_ids.index(ids[0]))
            self.show_attention_in_roll()

    def show_attention_in_roll(self) -> None:
        p, gen = self.p, self.session.generation
        k = p.attention.selected
        if gen is None or k is None:
            p.roll.set_attention({})
            return
        weights = {}
        for index, w in p.attention.weights_for_selected().items():
            key = gen.key_for(index)
            if key is not None:
                weights[key] = w
        target_key = gen.key_for(len(gen.primer_ids) + k)
        target = p.roll.note_for_key(target_key) if target_key else None
        p.roll.set_attention(weights, target)
