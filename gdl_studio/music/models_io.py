"""Loading the shipped music models through the registry, ready to generate.

    composer = load_music_model("music-lstm")          # or "music-transformer", "lstm", "transformer"
    for step in composer.generate(score, n_notes=32, temperature=0.9, seed=1):
        ...

Raises :class:`~gdl_studio.core.registry.ModelUnavailable` (one line for the user) when the
model is not installed, corrupt or does not fit this code.
"""

from __future__ import annotations

from typing import Any

from gdl_studio.core.registry import ModelCard, ModelUnavailable, Registry, default_registry

ALIASES = {"lstm": "music-lstm", "transformer": "music-transformer"}
MUSIC_MODELS = ("music-lstm", "music-transformer")


def canonical_name(name: str) -> str:
    """``"lstm"`` → ``"music-lstm"`` etc.; raises ``ValueError`` for other names."""
    name = ALIASES.get(name, name)
    if name not in MUSIC_MODELS:
        raise ValueError(f"unknown music model '{name}' (choose lstm or transformer)")
    return name


def build_composer(card: ModelCard, tensors: dict[str, Any]):
    """Registry builder: rebuild the network from the card's architecture and load weights."""
    from gdl_studio.music import tokens as T
    from gdl_studio.music.generate import LSTMComposer, TransformerComposer
    from gdl_studio.music.lstm import AttentionLSTM, LSTMConfig
    from gdl_studio.music.transformer import MusicTransformer, TransformerConfig

    arch = card.architecture
    kind = arch.get("kind")
    if kind in ("lstm", "transformer") and not T.signature_matches(arch.get("tokenisation"), kind):
        raise ModelUnavailable(f"model '{card.name}' was trained for another tokenisation; retrain it with "
                               f"'gdl-studio train {card.name}'")
    if kind == "lstm":
        model = AttentionLSTM(LSTMConfig.from_dict(arch))
        composer_cls = LSTMComposer
    elif kind == "transformer":
        model = MusicTransformer(TransformerConfig.from_dict(arch))
        composer_cls = TransformerComposer
    else:
        raise ModelUnavailable(f"model '{card.name}' is not a music model (kind {kind!r})")
    model.load_state_dict(tensors)
    model.eval()
    return composer_cls(model, card.data)


def load_music_model(name: str, registry: Registry | None = None):
    """The generator object of a shipped (or personal) music model, built once and cached."""
    try:
        name = canonical_name(name)
    except ValueError as exc:
        raise ModelUnavailable(str(exc)) from None
    return (registry or default_registry()).load(name, build_composer)


def load(name: str):
    """Entry point for :mod:`gdl_studio.core.model_loaders` (family "music")."""
    return load_music_model(name)


def is_available(name: str, registry: Registry | None = None) -> bool:
    """Whether the model's card and weights file are present (without loading them)."""
    try:
        card = (registry or default_registry()).card(canonical_name(name))
    except (ModelUnavailable, ValueError):
        return False
    return card.weights_path.is_file()
