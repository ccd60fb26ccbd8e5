"""Load any installed model by name, dispatching on its card's family to the area's loader.

Areas register a loader module for their families here; each such module exposes
``load(name)`` returning the ready model (cached by the registry).
"""

from __future__ import annotations

import importlib
from typing import Any

from gdl_studio.core.registry import ModelCard, ModelUnavailable, default_registry

# card family prefix → module with ``load(name)``
FAMILY_LOADERS = {
    "music": "gdl_studio.music.models_io",
    "ink": "gdl_studio.ink.models_io",
    "world-model": "gdl_studio.racing.models_io",
}


def loader_for(card: ModelCard):
    """The area module that loads ``card``'s family, or raise ModelUnavailable."""
    for prefix, module_name in FAMILY_LOADERS.items():
        if card.family.startswith(prefix):
            return importlib.import_module(module_name)
    raise ModelUnavailable(f"no loader for model family '{card.family}' (model '{card.name}')")


def load_model(name: str) -> Any:
    """Load installed model ``name`` (shipped or personal), whatever its family."""
    card = default_registry().card(name)
    return loader_for(card).load(name)


def load_all() -> dict[str, Any]:
    """Load every installed model; returns name → model or the ModelUnavailable raised."""
    loaded: dict[str, Any] = {}
    for card in default_registry().cards():
        try:
            loaded[card.name] = load_model(card.name)
        except ModelUnavailable as exc:
            loaded[card.name] = exc
    return loaded
