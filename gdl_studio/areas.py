"""The one table of the app's areas (music, ink, racing) and what is looked up through it.

Each area describes itself in one :class:`~gdl_studio.core.area.Area` object (its ``area.py``);
this module lists them. Loading any installed model by name dispatches on its card's family;
a fine-tuning job finds its function here (in the Training dock's child process too); the CLI
registers each area's commands from here.
"""

from __future__ import annotations

from typing import Any

from gdl_studio.core.area import Area, FinetuneFunction
from gdl_studio.core.registry import ModelCard, ModelUnavailable, default_registry
from gdl_studio.ink.area import AREA as INK
from gdl_studio.music.area import AREA as MUSIC
from gdl_studio.racing.area import AREA as RACING

AREAS: tuple[Area, ...] = (MUSIC, INK, RACING)


def area_named(name: str) -> Area:
    """The area called ``name`` ("music", "ink", "racing")."""
    for area in AREAS:
        if area.name == name:
            return area
    raise KeyError(f"no area '{name}'")


def finetune_area(family: str) -> Area:
    """The area whose fine-tuning jobs are called ``family`` ("music", "ink", "controller")."""
    for area in AREAS:
        if area.finetune_family == family:
            return area
    raise ValueError(f"unknown family '{family}' (choose from {', '.join(finetune_families())})")


def finetune_families() -> tuple[str, ...]:
    return tuple(area.finetune_family for area in AREAS)


def finetune_function(family: str) -> FinetuneFunction:
    """The fine-tune function of jobs of ``family``."""
    return finetune_area(family).finetune


def area_for(card: ModelCard) -> Area:
    """The area that loads ``card``'s family, or raise ModelUnavailable."""
    for area in AREAS:
        if area.loads(card.family):
            return area
    raise ModelUnavailable(f"no loader for model family '{card.family}' (model '{card.name}')")


def load_model(name: str) -> Any:
    """Load installed model ``name`` (shipped or personal), whatever its family."""
    card = default_registry().card(name)
    return area_for(card).load(name)


def load_all() -> dict[str, Any]:
    """Load every installed model; returns name → model or the ModelUnavailable raised."""
    loaded: dict[str, Any] = {}
    for card in default_registry().cards():
        try:
            loaded[card.name] = load_model(card.name)
        except ModelUnavailable as exc:
            loaded[card.name] = exc
    return loaded
