"""Loading the music models (shipped or personal) through the registry, ready to generate.

    composer = load_music_model("music-lstm")          # or "music-transformer", "lstm", "transformer",
                                                        # or a personal (fine-tuned) music model's name
    for step in composer.generate(score, n_notes=32, temperature=0.9, seed=1):
        ...

Raises :class:`~gdl_studio.core.registry.ModelUnavailable` (one line for the user) when the
model is not installed, corrupt or does not fit this code.
"""

from __future__ import annotations

from typing import Any

from gdl_studio.core.personal import personal_label
from gdl_studio.core.registry import ModelCard, ModelUnavailable, Registry, default_registry

ALIASES = {"lstm": "music-lstm", "transformer": "music-transformer"}
MUSIC_MODELS = ("music-lstm", "music-transformer")
SHIPPED_LABELS = {"music-lstm": "Attention LSTM", "music-transformer": "Transformer"}
KIND_LABELS = {"lstm": "LSTM", "transformer": "Transformer"}


def _music_card(name: str, registry: Registry | None = None) -> ModelCard | None:
    """The card of installed model ``name`` if it is a music model, else ``None``."""
    try:
        card = (registry or default_registry()).card(name)
    except ModelUnavailable:
        return None
    return card if str(card.data.get("family", "")).startswith("music") else None


def canonical_name(name: str, registry: Registry | None = None) -> str:
    """``"lstm"`` → ``"music-lstm"`` etc.; a shipped name, or any installed model whose card's
    family is "music" (personal models); raises ``ValueError`` for other names."""
    name = ALIASES.get(name, name)
    if name in MUSIC_MODELS:
        return name
    plain = bool(name) and not name.startswith(".") and "/" not in name and "\\" not in name
    if plain and _music_card(name, registry) is not None:
        return name
    raise ValueError(f"unknown music model '{name}' (choose lstm, transformer or one of your fine-tuned music models)")


def personal_music_cards(registry: Registry | None = None) -> list[ModelCard]:
    """Cards of the personal (fine-tuned) music models, by display name."""
    cards = [
        c
        for c in (registry or default_registry()).cards()
        if c.personal and str(c.data.get("family", "")).startswith("music") and c.name not in MUSIC_MODELS
    ]
    return sorted(cards, key=lambda c: str(c.data.get("display_name", c.name)).lower())


def model_label(card: ModelCard) -> str:
    """What the model pickers show: "Attention LSTM", or "★ my-bach (LSTM)" for a personal model."""
    if card.name in SHIPPED_LABELS and not card.personal:
        return SHIPPED_LABELS[card.name]
    kind = KIND_LABELS.get(str(card.architecture.get("kind")), "?")
    return personal_label(f"{card.data.get('display_name', card.name)} ({kind})")


def music_model_choices(registry: Registry | None = None) -> list[tuple[str, str]]:
    """``[(name, label)]`` of the shipped music models (always listed) and then the personal ones."""
    choices = [(name, SHIPPED_LABELS[name]) for name in MUSIC_MODELS]
    choices.extend((card.name, model_label(card)) for card in personal_music_cards(registry))
    return choices


def root_model(name: str, registry: Registry | None = None) -> str:
    """The shipped model a music model descends from (itself for a shipped one): what to fall back
    to when a personal model goes away."""
    name = ALIASES.get(name, name)
    if name in MUSIC_MODELS:
        return name
    card = _music_card(name, registry)
    if card is None:
        return MUSIC_MODELS[0]
    root = card.data.get("root_model")
    if root in MUSIC_MODELS:
        return root
    return ALIASES.get(str(card.architecture.get("kind")), MUSIC_MODELS[0])


def build_composer(card: ModelCard, tensors: dict[str, Any]):
    """Registry builder: rebuild the network from the card's architecture and load weights."""
    from gdl_studio.music import tokens as T
    from gdl_studio.music.generate import LSTMComposer, TransformerComposer
    from gdl_studio.music.lstm import AttentionLSTM, LSTMConfig
    from gdl_studio.music.transformer import MusicTransformer, TransformerConfig

    arch = card.architecture
    kind = arch.get("kind")
    if kind in ("lstm", "transformer") and not T.signature_matches(arch.get("tokenisation"), kind):
        raise ModelUnavailable(
            f"model '{card.name}' was trained for another tokenisation; retrain it with 'gdl-studio train {card.name}'"
        )
    if kind == "lstm":
        lstm = AttentionLSTM(LSTMConfig.from_dict(arch))
        lstm.load_state_dict(tensors)
        return LSTMComposer(lstm.eval(), card.data)
    if kind == "transformer":
        transformer = MusicTransformer(TransformerConfig.from_dict(arch))
        transformer.load_state_dict(tensors)
        return TransformerComposer(transformer.eval(), card.data)
    raise ModelUnavailable(f"model '{card.name}' is not a music model (kind {kind!r})")


def load_music_model(name: str, registry: Registry | None = None):
    """The generator object of a shipped (or personal) music model, built once and cached."""
    try:
        name = canonical_name(name, registry)
    except ValueError as exc:
        raise ModelUnavailable(str(exc)) from None
    return (registry or default_registry()).load(name, build_composer)


def load(name: str):
    """Entry point for :mod:`gdl_studio.areas` (family "music")."""
    return load_music_model(name)


def is_available(name: str, registry: Registry | None = None) -> bool:
    """Whether the model's card and weights file are present (without loading them)."""
    try:
        card = (registry or default_registry()).card(canonical_name(name, registry))
    except (ModelUnavailable, ValueError):
        return False
    return card.weights_path.is_file()
