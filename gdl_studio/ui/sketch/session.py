"""The Sketch panel's state, without widgets: the suggestion in progress (an extension, a
dreamt-up character or a set of endings), the points streamed so far, which models cannot be
loaded and which are warm, and what the buttons allow.

The panel (:mod:`gdl_studio.ui.sketch.panel`) renders it and forwards intents; nothing here
imports Qt (``tests/sketch/test_session.py`` runs without a GUI).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gdl_studio.jobs.sketch import GenPoint

EXTEND, DREAM, ENDINGS = "extend", "dream", "endings"


@dataclass(frozen=True)
class Buttons:
    """Which of the panel's controls are enabled."""

    clear: bool
    add_to_set: bool
    generate: bool  # Extend, Dream up, Show endings
    accept: bool
    reject: bool
    extending: bool  # Extend is drawing (its button says so)


@dataclass
class SketchSession:
    """See the module docstring. ``mode`` is None, "extend", "dream" or "endings"."""

    mode: str | None = None
    request: int | None = None
    streaming: bool = False
    pending: list[GenPoint] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # model kind → why it cannot be loaded
    warmed: set[str] = field(default_factory=set)  # models loaded (or being loaded) on the engine
    last_seed: int | None = None
    preview: int = -1  # the ending shown on the canvas (-1: none)
    bases: dict[str, str] = field(default_factory=dict)  # personal model → its base, for falling back
    personal_sha: dict[str, str] = field(default_factory=dict)

    # ------------------------------------------------------------------ suggestions
    def start(self, mode: str, request_id: int, kind: str) -> None:
        """A new suggestion of ``mode`` streams from request ``request_id`` with model ``kind``."""
        self.mode = mode
        self.request = request_id
        self.streaming = True
        self.pending = []
        self.warmed.add(kind)

    def add_point(self, request_id: int, point: GenPoint) -> bool:
        """A streamed point of an extension or a dreamt character; False (ignored) if stale."""
        if request_id != self.request or self.mode not in (EXTEND, DREAM):
            return False
        self.pending.append(point)
        return True

    def stop(self) -> bool:
        """The engine stops streaming; whether it was (the caller cancels the job)."""
        was, self.streaming = self.streaming, False
        return was

    def end(self) -> None:
        """The suggestion is over (accepted, rejected or failed)."""
        self.mode = None
        self.pending = []
        self.preview = -1

    @property
    def has_suggestion(self) -> bool:
        return self.mode is not None

    def buttons(self, blank: bool, model_ok: bool) -> Buttons:
        return Buttons(
            clear=not blank,
            add_to_set=not blank,
            generate=model_ok,
            accept=self.mode in (EXTEND, DREAM) and bool(self.pending),
            reject=self.mode is not None,
            extending=self.streaming and self.mode == EXTEND,
        )

    # ------------------------------------------------------------------ models
    def model_ready(self, kind: str) -> bool:
        """``kind`` loaded; whether that cleared a problem."""
        return self.problems.pop(kind, None) is not None

    def model_problem(self, kind: str, message: str) -> None:
        self.problems[kind] = message
        self.streaming = False

    def available(self, kind: str) -> bool:
        return kind not in self.problems

    def needs_warm_up(self, kind: str) -> bool:
        """Whether to load ``kind`` in the background now (once, if it can be, when idle)."""
        return kind not in self.warmed and kind not in self.problems and self.mode is None

    def personal_model_seen(self, name: str, sha: str) -> bool:
        """A personal model is listed with weights ``sha``; True when it is new or was replaced
        (fine-tuned again) since last seen, so that it is loaded afresh."""
        if self.personal_sha.get(name) == sha:
            return False
        replaced = name in self.personal_sha
        self.personal_sha[name] = sha
        self.warmed.discard(name)
        self.problems.pop(name, None)
        return replaced

    def problem_text(self, kind: str, label: str, shipped_models: tuple[tuple[str, str], ...], shipped: bool) -> str:
        """The banner's text when model ``kind`` (shown as ``label``) cannot be loaded ("" if it
        can); ``shipped_models``: ``(kind, label)`` of the shipped models, to suggest another."""
        message = self.problems.get(kind)
        if not message:
            return ""
        others = [name for k, name in shipped_models if k != kind and k not in self.problems]
        alt = f" Choose {others[0]}, or install" if others else " Install"
        fix = (
            f"{alt} the model (<code>gdl-studio train {kind}</code>)."
            if shipped
            else f"{alt.replace('install', 'fine-tune it again').replace('Install', 'Fine-tune it again')}."
        )
        return (
            f"<b>The {label} model is unavailable</b> — {message}<br>"
            f"Drawing, opening and exporting still work; generation is off.{fix}"
        )

    def fallback(self, kind: str) -> str | None:
        """What to choose when personal model ``kind`` is gone: the model it was fine-tuned from."""
        return self.bases.get(kind)
