"""The contract between an area (music, ink, racing) and the rest of the app.

Each area exposes one :class:`Area` object in its ``area.py``; :mod:`gdl_studio.areas` lists
them, and everything that needs to know "which areas exist" asks that list: loading a model by
its card's family, the models a panel's picker offers, the fine-tune function a Training-dock
job runs in its child process, the model a fine-tune starts from, the CLI commands.

An ``area.py`` imports nothing heavy (no torch, no Qt): its functions import their area's
modules when called (:class:`Deferred`), so that ``gdl-studio --help`` stays instant.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gdl_studio.core.finetuning import FinetuneSpec

FinetuneFunction = Callable[["FinetuneSpec", Callable[[Any], None], Any], dict[str, Any]]


@dataclass(frozen=True)
class Deferred:
    """A function named ``"package.module:function"``, imported only when first called: an area's ``load``,
    ``finetune`` … without importing torch when the app or the CLI starts."""

    target: str

    def resolve(self) -> Callable[..., Any]:
        """The function itself (importing its module)."""
        module, _, name = self.target.partition(":")
        function: Callable[..., Any] = getattr(importlib.import_module(module), name)
        return function

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)


@dataclass(frozen=True)
class Area:
    """What one area tells the app about itself."""

    name: str
    """The area's package name: ``"music"``, ``"ink"``, ``"racing"``."""
    card_families: tuple[str, ...]
    """Model-card ``family`` prefixes this area loads (``"music"``, ``"world-model"``, …)."""
    load: Callable[[str], Any]
    """Installed model name → the ready model (shipped or personal; cached by the registry).
    Raises :class:`~gdl_studio.core.registry.ModelUnavailable`."""
    choices: Callable[[], list[tuple[str, str]]]
    """``[(model name, label)]`` a model picker offers: the shipped models, then the personal
    ones marked ★."""
    finetune_family: str
    """What a fine-tuning job of this area is called (``FinetuneSpec.family``)."""
    finetune_title: str
    """How the Training dock names such a job, e.g. ``"Music (Compose)"``."""
    finetune: FinetuneFunction
    """``finetune(spec, report, control) -> summary``: see :mod:`gdl_studio.core.finetuning`."""
    default_base: str
    """The model a new fine-tune starts from unless the person picks another."""
    base_families: tuple[str, ...]
    """Card families a fine-tune of this area may start from."""
    finetune_inputs: str
    """File-dialog filter of the person's files a fine-tune learns from ("" if it needs none)."""
    register_cli: Callable[[Any], None]
    """``register(commands)``: adds the area's commands (see :class:`gdl_studio.cli.Commands`)."""
    base_filter: Callable[[Any], bool] | None = None
    """Optional: whether an installed card of a base family can be a base (the racing area's CMA-ES searches
    linear controllers only, so its imitation-trained MLP driver is not offered)."""

    def loads(self, family: str) -> bool:
        """Whether a card of ``family`` belongs to this area."""
        return any(family.startswith(prefix) for prefix in self.card_families)

    def can_start_from(self, family: str, card: Any = None) -> bool:
        """Whether a model of card ``family`` (and, given it, that card) can be the base of this area's fine-tune."""
        if not any(family.startswith(prefix) for prefix in self.base_families):
            return False
        return card is None or self.base_filter is None or self.base_filter(card)
