"""Which V and M a controller drives with (headless; no Qt).

A controller is only meaningful with the V and M it was trained on: its 867 weights read V's
latent z and M's hidden state h. The shipped ``carracing-controller`` drives with the shipped
``carracing-vae`` / ``carracing-mdnrnn``; a controller shipped from an iteration round
(``gdl-studio train world-model ship``) names its own in its card::

    "world": {"vae": "carracing-vae-v2", "mdn": "carracing-mdnrnn-v2",
              "vae_sha256": "…", "mdn_sha256": "…"}

:func:`resolve_world` turns a controller (a model name or a directory) into a :class:`WorldRef`:
the names and directories of its V and M. V and M are looked up, in this order, in the models
directory given (``--models``), beside the controller (a round's ``models/`` folder), and in the
registry's roots (shipped, then personal). Without a ``world`` field the world is the shipped
names. Everything that lets a controller drive — the Dream panel, ``gdl-studio dream``,
``bench racing --controller``, dream fine-tuning — goes through here, so a controller always
runs with its own V and M.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdl_studio.core.registry import CARD_NAME, ModelCard, ModelUnavailable, Registry, default_registry, read_card
from gdl_studio.racing.models_io import CONTROLLER_NAME, FAMILY_CONTROLLER, MDN_NAME, VAE_NAME

DEFAULT_WORLD = (VAE_NAME, MDN_NAME)


@dataclass(frozen=True)
class WorldRef:
    """A controller's V and M: their model names and the directories holding them."""

    vae: str
    mdn: str
    vae_dir: Path
    mdn_dir: Path
    note: str = ""  # e.g. a V whose sha256 differs from the one the controller's card names
    card: ModelCard | None = field(default=None, compare=False)  # the controller card it was resolved from

    @property
    def names(self) -> tuple[str, str]:
        return self.vae, self.mdn

    @property
    def default(self) -> bool:
        """Whether this is the shipped world (``carracing-vae`` + ``carracing-mdnrnn``)."""
        return self.names == DEFAULT_WORLD

    def label(self) -> str:
        """``carracing-vae + carracing-mdnrnn`` (for read-outs and JSON)."""
        return f"{self.vae} + {self.mdn}"

    def load(self, controller: Any = None, controller_card: ModelCard | None = None):
        """V and M built from their directories (float32, eval) as a :class:`~.models_io.WorldModel`.

        ``cards`` is keyed by role (``carracing-vae``, ``carracing-mdnrnn``, ``carracing-controller``)
        whatever the models are called; each card carries its real name.
        """
        from gdl_studio.racing.models_io import WorldModel, load_dir

        cards = {VAE_NAME: read_card(self.vae_dir), MDN_NAME: read_card(self.mdn_dir)}
        if controller_card is not None:
            cards[CONTROLLER_NAME] = controller_card
        return WorldModel(vae=load_dir(self.vae_dir), mdn=load_dir(self.mdn_dir), controller=controller, cards=cards)

    def models_dir(self) -> Path:
        """A directory laid out like a training ``--out`` (``carracing-vae/``, ``carracing-mdnrnn/``)
        holding this world's V and M, for the code that takes a models directory (score episodes,
        CMA-ES evaluators, Ray shipping). The shipped layout is returned as it is; any other is
        linked (or, where links are not allowed, copied) into a temporary directory keyed by the
        weights' sha256, made once and reused."""
        if (
            self.vae_dir.name == VAE_NAME
            and self.mdn_dir.name == MDN_NAME
            and self.vae_dir.parent == self.mdn_dir.parent
        ):
            return self.vae_dir.parent
        shas = [read_card(d).data.get("sha256", "") for d in (self.vae_dir, self.mdn_dir)]
        key = hashlib.sha256("|".join([str(self.vae_dir), str(self.mdn_dir), *shas]).encode()).hexdigest()[:16]
        root = Path(tempfile.gettempdir()) / f"gdl-studio-world-{self.vae}+{self.mdn}-{key}"
        if (root / VAE_NAME / CARD_NAME).is_file() and (root / MDN_NAME / CARD_NAME).is_file():
            return root
        staging = Path(tempfile.mkdtemp(prefix=root.name + ".", dir=root.parent))
        for role, src in ((VAE_NAME, self.vae_dir), (MDN_NAME, self.mdn_dir)):
            try:
                os.symlink(src.resolve(), staging / role, target_is_directory=True)
            except OSError:
                shutil.copytree(src, staging / role)
        try:
            os.replace(staging, root)
        except OSError:  # another process made it meanwhile
            shutil.rmtree(staging, ignore_errors=True)
        return root


def _roots(models: Path | None, beside: Path | None, registry: Registry | None) -> list[Path]:
    roots: list[Path] = []
    for root in (
        ([Path(models)] if models else []) + ([beside] if beside else []) + (registry or default_registry()).roots()
    ):
        if root not in roots:
            roots.append(root)
    return roots


def controller_card(
    controller: str | os.PathLike[str] | None, models: Path | None = None, registry: Registry | None = None
) -> ModelCard:
    """The card of a controller given by name (looked up in ``models``, then the registry) or directory."""
    if controller is None:
        controller = CONTROLLER_NAME
    path = Path(controller)
    if (path / CARD_NAME).is_file():
        card = read_card(path)
    else:
        for root in _roots(models, None, registry):
            if (root / str(controller) / CARD_NAME).is_file():
                card = read_card(root / str(controller))
                break
        else:
            raise ModelUnavailable(f"controller '{controller}' is not installed")
    if card.family != FAMILY_CONTROLLER:
        raise ModelUnavailable(f"'{card.name}' is not a driving controller (family {card.family})")
    return card


def world_names(card: ModelCard | dict | None) -> tuple[str, str]:
    """(V name, M name) a controller card names in its ``world`` field (default: the shipped ones)."""
    data = card.data if isinstance(card, ModelCard) else (card or {})
    world = data.get("world") or {}
    if not isinstance(world, dict):
        return DEFAULT_WORLD
    return str(world.get("vae") or VAE_NAME), str(world.get("mdn") or MDN_NAME)


def resolve_world(
    controller: str | os.PathLike[str] | ModelCard | None = None,
    models: Path | None = None,
    registry: Registry | None = None,
) -> WorldRef:
    """The V and M ``controller`` drives with (see the module docstring); raises ModelUnavailable.

    ``controller`` is a model name, a directory holding a controller's card, a card, or None
    (the shipped controller's world, which is the shipped V and M even when no controller is
    installed). When the card records the sha256 of its V and M, a copy with those weights is
    preferred over an earlier one in the search order; failing that the first found is used and
    :attr:`WorldRef.note` says so.
    """
    card: ModelCard | None
    if isinstance(controller, ModelCard):
        card = controller
    else:
        try:
            card = controller_card(controller, models, registry)
        except ModelUnavailable:
            if controller is not None and controller != CONTROLLER_NAME:
                raise
            card = None  # no shipped controller: its world is still the shipped V and M
    vae, mdn = world_names(card)
    world = (card.data.get("world") if card is not None else None) or {}
    beside = Path(card.directory).parent if card is not None else None
    roots = _roots(models, beside, registry)
    found: dict[str, Path] = {}
    notes = []
    driver = card.name if card is not None else "the controller"  # who the notes speak of
    for role, name in (("vae", vae), ("mdn", mdn)):
        dirs = [root / name for root in roots if (root / name / CARD_NAME).is_file()]
        if not dirs:
            who = f"controller '{card.name}'" if card is not None else "the shipped controller"
            raise ModelUnavailable(
                f"{who} drives with {name}, which is not installed (looked in {', '.join(map(str, roots))})"
            )
        want = world.get(f"{role}_sha256") if isinstance(world, dict) else None
        match = [d for d in dirs if want and read_card(d).data.get("sha256") == want]
        found[role] = (match or dirs)[0]
        if want and not match:
            notes.append(f"{name} differs from the one {driver} was shipped with")
        elif models and Path(models) / name in dirs and found[role] != Path(models) / name:
            # a --models copy passed over for the card's sha256: say so, or a bench of a candidate M runs the old one
            notes.append(f"{name} in {models} is not the one {driver} names; {found[role]} is used")
    return WorldRef(vae, mdn, found["vae"], found["mdn"], "; ".join(notes), card)


def load_world_for(
    controller: str | os.PathLike[str] | None = None,
    models: Path | None = None,
    registry: Registry | None = None,
    need_controller: bool = True,
):
    """A :class:`~.models_io.WorldModel` whose V and M are ``controller``'s and whose C is it.

    With ``need_controller=False`` a missing shipped controller leaves C None (V and M still load).
    """
    from gdl_studio.racing.models_io import load_dir

    try:
        card = controller_card(controller, models, registry)
    except ModelUnavailable:
        if need_controller or (controller is not None and controller != CONTROLLER_NAME):
            raise
        return resolve_world(None, models, registry).load()
    return resolve_world(card, models, registry).load(controller=load_dir(card.directory), controller_card=card)


def shipped_controllers(registry: Registry | None = None) -> list[ModelCard]:
    """The controller cards that ship with the app (not personal): ``carracing-controller`` first,
    then the others (e.g. ``carracing-controller-dream``) by name."""
    cards = [c for c in (registry or default_registry()).cards() if c.family == FAMILY_CONTROLLER and not c.personal]
    seen: set[str] = set()
    unique = []
    for c in sorted(cards, key=lambda c: (c.name != CONTROLLER_NAME, c.name)):
        if c.name not in seen:
            seen.add(c.name)
            unique.append(c)
    return unique


def driver_label(card: ModelCard) -> str:
    """What the Driver list and the training dock call a controller: its display name, and the
    world it drives with when that is not the shipped one."""
    if card.name == CONTROLLER_NAME:
        label = "Shipped controller"
    else:
        label = str(card.data.get("display_name") or card.name)
    names = world_names(card)
    if names != DEFAULT_WORLD:
        v = names[0].removeprefix(VAE_NAME + "-")
        m = names[1].removeprefix(MDN_NAME + "-")
        label += f" ({v} world)" if v == m else f" (V {v}, M {m})"
    return label
