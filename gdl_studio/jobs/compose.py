"""Engine jobs of the Compose panel and the composer adapter: the music models of
:mod:`gdl_studio.music` (their generators used as they are) for the panel, jam mode and the
live benchmark.

* :func:`continuation_job` — the job streaming a continuation's ``GenerationStep`` s;
* :func:`infill_job` — the job streaming the notes that fill a gap (bars A to B);
* :func:`fill_unsupported` — why a model cannot fill gaps ("" when it can), from its card;
* :func:`preload_job` — the job loading a model and running it once (jam mode's first answer);
* :data:`MODEL_CHOICES` — the shipped models a musician picks from, with display names;
* :func:`load_composer` — a shipped model through the registry (``ModelUnavailable`` if absent);
* :func:`tiny_composer` — a small randomly initialised model of either kind (tests, benches,
  and ``GDL_STUDIO_COMPOSE_DEMO=1`` when no weights are installed);
* :func:`save_tiny_infill_model` — writes a tiny random Transformer that fills gaps as an
  installed model (tests, screenshots);
* :func:`responder` — turns a composer into the ``(phrase, n) -> notes`` callable jam mode uses.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from gdl_studio.jobs.common import rested
from gdl_studio.music.notes import Note

MODEL_CHOICES = (("music-lstm", "Attention LSTM"), ("music-transformer", "Transformer"))
KIND_OF = {"music-lstm": "lstm", "music-transformer": "transformer"}


def display_name(name: str) -> str:
    return dict(MODEL_CHOICES).get(name, name)


def demo_mode() -> bool:
    """Whether to fall back to tiny random models when weights are missing (development)."""
    return os.environ.get("GDL_STUDIO_COMPOSE_DEMO", "") not in ("", "0")


def model_available(name: str) -> bool:
    """Whether the shipped weights of ``name`` are installed (nothing is loaded)."""
    try:
        from gdl_studio.music.models_io import is_available
    except ImportError:
        return False
    return is_available(name)


def missing_message(name: str) -> str:
    """What to tell the musician when a model is not installed."""
    return (
        f"The {display_name(name)} weights are not installed (models/{name}). "
        f"Train them with `gdl-studio train {name}`, or run with GDL_STUDIO_COMPOSE_DEMO=1 "
        "to try the panel with an untrained model."
    )


_tiny_cache: dict[tuple[str, int], object] = {}


def tiny_composer(kind: str, seed: int = 0):
    """A small, randomly initialised composer of ``kind`` ("lstm"/"music-lstm" or
    "transformer"/"music-transformer"); cached per (kind, seed)."""
    import torch

    kind = KIND_OF.get(kind, kind)
    key = (kind, seed)
    if key in _tiny_cache:
        return _tiny_cache[key]
    from gdl_studio.music.generate import Composer, LSTMComposer, TransformerComposer

    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        if kind == "lstm":
            from gdl_studio.music.lstm import AttentionLSTM, LSTMConfig

            model = AttentionLSTM(
                LSTMConfig(
                    hidden=64,
                    layers=1,
                    note_embedding=32,
                    duration_embedding=16,
                    voice_embedding=8,
                    metric_embedding=8,
                    window=32,
                    duration_hidden=64,
                    dropout=0.0,
                )
            )
            composer: Composer = LSTMComposer(model, {"name": "music-lstm", "tiny": True})
        elif kind == "transformer":
            from gdl_studio.music.transformer import MusicTransformer, TransformerConfig

            transformer = MusicTransformer(
                TransformerConfig(d_model=64, layers=2, heads=2, d_ff=128, max_len=256, pos_limit=2048, dropout=0.0)
            )
            composer = TransformerComposer(transformer, {"name": "music-transformer", "tiny": True})
        else:
            raise ValueError(f"unknown model kind {kind!r}")
    finally:
        torch.random.set_rng_state(state)
    _tiny_cache[key] = composer
    return composer


def save_tiny_infill_model(root, name: str = "music-transformer", seed: int = 0):
    """Write a small, randomly initialised Transformer trained for nothing but built for
    infilling (fill-in-the-middle sentinels, styles) as model ``name`` under the models
    directory ``root``; returns its card. Its notes are random: for tests and screenshots."""
    from pathlib import Path

    import torch

    from gdl_studio.core.registry import save_model
    from gdl_studio.music import tokens as T
    from gdl_studio.music.corpus import STYLES
    from gdl_studio.music.transformer import MusicTransformer, TransformerConfig

    cfg = TransformerConfig(
        d_model=32, layers=2, heads=2, d_ff=48, max_len=96, pos_limit=160, head_hidden=24, attr_embedding=8, dropout=0.0
    )
    cfg.infill, cfg.n_styles, cfg.rope = True, len(STYLES), True
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        model = MusicTransformer(cfg).eval()
    finally:
        torch.random.set_rng_state(state)
    arch = {"kind": "transformer", **cfg.to_dict(), "tokenisation": T.vocab_signature(), "styles": list(STYLES)}
    card = {
        "name": name,
        "family": "music",
        "architecture": arch,
        "data": {},
        "metrics": {},
        "training_command": "none: random weights (jobs.compose.save_tiny_infill_model)",
        "tiny": True,
    }
    return save_model(Path(root) / name, {k: v.half() for k, v in model.state_dict().items()}, card)


def load_composer(name: str, allow_demo: bool | None = None):
    """The composer of model ``name``: the shipped weights, or (demo mode) a tiny random one.

    Raises ``ModelUnavailable`` with a message for the musician when it cannot be had.
    """
    from gdl_studio.core.registry import ModelUnavailable

    allow_demo = demo_mode() if allow_demo is None else allow_demo
    try:
        from gdl_studio.music.models_io import load_music_model

        return load_music_model(name)
    except ModelUnavailable:
        if allow_demo:
            return tiny_composer(name)
        if not model_available(name):
            raise ModelUnavailable(missing_message(name)) from None
        raise


def warm_up(composer) -> list:
    """Run the model once on a short phrase (first calls on a thread are slow); returns []."""
    phrase = [Note(60 + (i * 5) % 12, i * 0.5, 0.5) for i in range(8)]
    for _step in composer.generate(phrase, n_notes=2, temperature=1.0, seed=0):
        pass
    return []


def is_tiny(composer) -> bool:
    return bool(getattr(composer, "card", {}).get("tiny"))


def responder(
    composer,
    temperature: float = 1.0,
    beats_per_bar: int = 4,
    seed: int | None = None,
    constraints=None,
    style=None,
    views: int | None = None,
):
    """A jam-mode responder: ``(phrase, n_notes) -> iterator of GenerationStep``; ``constraints``
    (a :class:`gdl_studio.music.steering.Constraints`) steer every answer (chords from the bar
    the answer starts in); ``views``: the model's transposition views (None: its own)."""

    def respond(phrase: Sequence[Note], n_notes: int) -> Iterator:
        return composer.generate(
            list(phrase),
            n_notes=n_notes,
            temperature=temperature,
            beats_per_bar=beats_per_bar,
            seed=seed,
            constraints=constraints,
            style=style,
            views=views,
        )

    return respond


def continuation_job(
    name: str,
    primer: Sequence[Note],
    n_notes: int,
    temperature: float,
    seed: int,
    beats_per_bar: int = 4,
    constraints=None,
    views: int | None = None,
):
    """A job continuing ``primer`` with model ``name``: one ``GenerationStep`` per note, rested
    (:func:`~gdl_studio.jobs.common.rested`) so a fast model never starves the GUI thread.
    ``constraints``: a :class:`gdl_studio.music.steering.Constraints` (or None) every note obeys;
    ``views``: the model's transposition views (None: its own)."""
    primer = list(primer)

    def job(ctx):
        composer = load_composer(name)
        steps = composer.generate(
            primer,
            n_notes=n_notes,
            temperature=temperature,
            seed=seed,
            beats_per_bar=beats_per_bar,
            constraints=constraints,
            views=views,
        )
        yield from rested(steps)

    return job


def infill_job(
    name: str,
    notes: Sequence[Note],
    start_bar: int,
    end_bar: int,
    max_notes: int,
    temperature: float,
    seed: int,
    beats_per_bar: int = 4,
    constraints=None,
    views: int | None = None,
):
    """A job filling bars ``[start_bar, end_bar)`` (0-based) of ``notes`` with model ``name``,
    given the notes before and after the gap: one ``GenerationStep`` per new note, in time
    order, streamed like a continuation (the notes whose onsets fall in the gap are the ones
    replaced; the model does not see them). A model that cannot fill, or a bad gap, raises
    ``ValueError`` with one line when the job starts."""
    notes = list(notes)

    def job(ctx):
        composer = load_composer(name)
        steps = composer.infill(
            notes,
            start_bar,
            end_bar,
            max_notes=max_notes,
            temperature=temperature,
            seed=seed,
            beats_per_bar=beats_per_bar,
            constraints=constraints,
            views=views,
        )
        yield from rested(steps)

    return job


def fill_unsupported(name: str) -> str:
    """Why model ``name`` cannot fill a gap, or "" when it can: read from its card (nothing is
    loaded). Only a Transformer trained with fill-in-the-middle (``architecture.infill``) fills."""
    from gdl_studio.core.registry import ModelUnavailable, default_registry

    try:
        from gdl_studio.music.models_io import canonical_name

        card = default_registry().card(canonical_name(name))
    except (ModelUnavailable, ValueError, ImportError):
        card = None
    if card is None or not card.weights_path.is_file():
        if demo_mode():
            return (
                f"The demo {display_name(name)} (random weights) generates left to right only: "
                "it cannot fill a gap. Install a Transformer trained for infilling."
            )
        return missing_message(name)
    arch = card.architecture
    if arch.get("kind") == "transformer" and arch.get("infill"):
        return ""
    label = display_name(name)
    return (
        f"{label} was trained left to right only, so it cannot fill a gap. "
        "Fill needs a Transformer trained for infilling (gdl-studio train music-transformer)."
    )


def preload_job(name: str):
    """A job loading model ``name`` and running it once, so that the first answer is quick."""

    def job(ctx):
        return iter(warm_up(load_composer(name)))

    return job
