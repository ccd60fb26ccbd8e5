"""Which loaded World Model the Dream panel drives with (no widgets).

Each controller belongs to a world — the V and M it was trained with
(:func:`gdl_studio.racing.worlds.resolve_world`). The panel keeps one
:class:`~gdl_studio.jobs.dream.WorldSource` per world so that switching drivers back and forth
loads each V/M pair once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from gdl_studio.jobs import dream as jobs
from gdl_studio.ui.dream.session import SHIPPED_WORLD, DreamSession

if TYPE_CHECKING:
    from gdl_studio.core.registry import ModelCard


class WorldSources:
    """The shipped world's source plus one source per other world, chosen by controller."""

    def __init__(self, loader: Callable[[], object] | None = None) -> None:
        self.shipped = jobs.WorldSource(loader)
        self.current = self.shipped
        self.follow_cards = loader is None  # a custom loader (tests, a training --out) decides alone
        self._others: dict[tuple[str, str], jobs.WorldSource] = {}

    def forget(self) -> None:
        """Drop every loaded (or failed) world; the next choice loads again."""
        self.current.forget()
        self._others.clear()

    def missing_card(self) -> str | None:
        """Why the shipped V or M cannot be found (their cards; cheap, no torch), or None."""
        from gdl_studio.core.registry import ModelUnavailable, default_registry
        from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME

        for name in (VAE_NAME, MDN_NAME):
            try:
                default_registry().card(name)
            except ModelUnavailable as exc:
                return str(exc)
        return None

    def choose(self, spec: object, session: DreamSession) -> str | None:
        """Make ``spec``'s world (a controller name, directory or None for the shipped one) the
        current source and record it in ``session``. Returns a status message when the
        controller's world could not be found (the shipped controller then drives)."""
        if not self.follow_cards or not (spec is None or isinstance(spec, (str, os.PathLike))):
            session.dream_road = None
            return None  # parameters and controller objects keep the current world
        from gdl_studio.core.registry import ModelUnavailable, default_registry
        from gdl_studio.racing.models_io import VAE_NAME
        from gdl_studio.racing.worlds import resolve_world

        try:
            ref = resolve_world(spec)
        except ModelUnavailable as exc:
            if spec is None:  # no shipped world: the shipped source reports it
                self.current, session.world, session.world_note = self.shipped, SHIPPED_WORLD, ""
                return None
            session.watch(None)
            self.choose(None, session)
            session.world_note = f"The controller could not be loaded — {exc}. The shipped controller drives instead."
            return f"Dream: {exc}"
        try:
            shipped = ref.default and Path(default_registry().card(VAE_NAME).directory) == ref.vae_dir
        except ModelUnavailable:
            shipped = False
        if shipped:
            self.current = self.shipped
        else:
            key = (str(ref.vae_dir), str(ref.mdn_dir))
            if key not in self._others:
                self._others[key] = jobs.WorldSource(ref.load)
            self.current = self._others[key]
        session.world = ref.names
        session.world_note = f"Note: {ref.note}." if ref.note else ""
        session.dream_road = _dream_road_figure(ref.card)
        return None

    def first_driver(self, last: str = "") -> str | None:
        """Who drives when the panel opens: ``last`` (the driver last chosen in the Driver list) while it is
        installed, else the dream-trained driver when it is (its world is the one whose dreams keep the road; the
        shipped controller's round-1 world dreams it onto the grass), else None (the shipped controller, also for
        ``last`` naming it). A custom loader (tests, a training --out) keeps the shipped controller."""
        from gdl_studio.core.registry import ModelUnavailable
        from gdl_studio.racing.area import SHIPPED_CONTROLLER
        from gdl_studio.racing.finetune_options import DREAM_BASE
        from gdl_studio.racing.worlds import controller_card

        if not self.follow_cards:
            return None
        for name in (last, DREAM_BASE) if last else (DREAM_BASE,):
            if name == SHIPPED_CONTROLLER:
                return None
            try:
                controller_card(name)
            except (ModelUnavailable, OSError, ValueError):
                continue
            return name
        return None


def _dream_road_figure(card: ModelCard | None) -> dict | None:
    """The recorded dream-road figure (``bench racing --dream-road --record``) in a controller's card, or None
    (no card, or none recorded)."""
    from gdl_studio.racing.fidelity import DREAM_ROAD_METRIC

    figure = card.data.get("metrics", {}).get(DREAM_ROAD_METRIC) if card is not None else None
    return figure if isinstance(figure, dict) else None
