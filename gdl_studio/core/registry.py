"""Model registry: safetensors weights plus a JSON model card, checked by sha256.

Layout of one model (shipped under ``models/`` or personal under the user directory)::

    models/<name>/card.json          # the model card
    models/<name>/<weights file>     # named by card["weights"], a .safetensors file

The card holds at least ``name``, ``family``, ``weights``, ``sha256``, ``architecture``
(hyper-parameters needed to rebuild the network), ``data``, ``metrics`` and
``training_command``. Weights are never unpickled: only safetensors are read.

Loading is lazy and cached; a missing or corrupt model raises :class:`ModelUnavailable` with a
message meant for a person, so that only the panel that needs the model is disabled.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gdl_studio.core import paths
from gdl_studio.core.atomic import atomic_path, write_text_atomic

CARD_NAME = "card.json"
REQUIRED_CARD_KEYS = ("name", "family", "weights", "sha256", "architecture")


class ModelUnavailable(RuntimeError):
    """A model cannot be loaded; ``str(err)`` is a one-line message for the user."""


@dataclass
class ModelCard:
    """A parsed model card plus where it was found."""

    directory: Path
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def family(self) -> str:
        return str(self.data["family"])

    @property
    def architecture(self) -> dict[str, Any]:
        architecture: dict[str, Any] = self.data.get("architecture", {})
        return architecture

    @property
    def weights_path(self) -> Path:
        return self.directory / str(self.data["weights"])

    @property
    def personal(self) -> bool:
        return bool(self.data.get("personal", False))


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_card(directory: str | Path) -> ModelCard:
    """Read and validate ``card.json`` in ``directory``."""
    directory = Path(directory)
    card_path = directory / CARD_NAME
    if not card_path.is_file():
        raise ModelUnavailable(f"model card missing: {card_path}")
    try:
        data = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"model card unreadable: {card_path} ({exc})") from None
    missing = [k for k in REQUIRED_CARD_KEYS if k not in data]
    if missing:
        raise ModelUnavailable(f"model card {card_path} lacks {', '.join(missing)}")
    return ModelCard(directory=directory, data=data)


def save_model(
    directory: str | Path,
    tensors: dict[str, Any],
    card: dict[str, Any],
    weights_name: str | None = None,
) -> ModelCard:
    """Write ``tensors`` (name → torch tensor) as safetensors and the card beside them.

    Both files are written atomically; the card records the weights' sha256. Returns the card.
    """
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights_name = weights_name or f"{card['name']}.safetensors"
    target = directory / weights_name
    contiguous = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    with atomic_path(target) as tmp:
        save_file(contiguous, str(tmp))
    data = dict(card)
    data["weights"] = weights_name
    data["sha256"] = sha256_file(target)
    data["size_bytes"] = target.stat().st_size
    write_text_atomic(directory / CARD_NAME, json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")
    return ModelCard(directory=directory, data=data)


def load_tensors(card: ModelCard, verify: bool = True) -> dict[str, Any]:
    """Load the weights of ``card`` as float32 torch tensors, checking the sha256 first."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = card.weights_path
    if not path.is_file():
        raise ModelUnavailable(f"weights missing for model '{card.name}': {path}")
    if verify:
        actual = sha256_file(path)
        if actual != card.data["sha256"]:
            raise ModelUnavailable(
                f"weights of model '{card.name}' are corrupt (sha256 {actual[:12]}… does not match "
                f"its card's {card.data['sha256'][:12]}…)"
            )
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelUnavailable(f"weights of model '{card.name}' unreadable: {exc}") from None

    return {k: (v.float() if v.is_floating_point() else v) for k, v in tensors.items()}


class Registry:
    """Finds model cards in the shipped and personal model directories; caches built models.

    ``load(name, builder)`` calls ``builder(card, tensors)`` once per name and caches the result,
    so a model is loaded lazily on first use and then shared.
    """

    def __init__(self, roots: list[Path] | None = None) -> None:
        self._roots = roots
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()  # guards the dicts only, never held while a model builds
        self._build_locks: dict[str, threading.Lock] = {}
        self._epoch: dict[str, int] = {}  # bumped by forget(): a build that started before is not cached

    def roots(self) -> list[Path]:
        if self._roots is not None:
            return list(self._roots)
        roots = [paths.models_dir()]
        try:
            roots.append(paths.user_models_dir())
        except (OSError, ImportError):
            pass  # no writable user directory (or no platformdirs on a training machine)
        return roots

    def cards(self) -> list[ModelCard]:
        """All readable cards, shipped ones first. Unreadable cards are skipped."""
        found = []
        for root in self.roots():
            if not root.is_dir():
                continue
            for card_path in sorted(root.glob(f"*/{CARD_NAME}")):
                try:
                    found.append(read_card(card_path.parent))
                except ModelUnavailable:
                    continue
        return found

    def card(self, name: str) -> ModelCard:
        """The card of model ``name`` (personal models may shadow nothing: names are unique)."""
        for root in self.roots():
            directory = root / name
            if (directory / CARD_NAME).is_file():
                return read_card(directory)
        raise ModelUnavailable(f"model '{name}' is not installed (looked in {', '.join(map(str, self.roots()))})")

    def load(self, name: str, builder: Callable[[ModelCard, dict[str, Any]], Any]) -> Any:
        """Build (once) and return model ``name``; raises :class:`ModelUnavailable`.

        Concurrent loads of one name build it once; other names and :meth:`forget` never wait
        for a build (the GUI thread may call ``forget`` while the engine loads a model).
        """
        with self._lock:
            if name in self._cache:
                return self._cache[name]
            build_lock = self._build_locks.setdefault(name, threading.Lock())
        with build_lock:
            with self._lock:
                if name in self._cache:
                    return self._cache[name]
                epoch = self._epoch.get(name, 0)
            card = self.card(name)
            tensors = load_tensors(card)
            try:
                model = builder(card, tensors)
            except ModelUnavailable:
                raise
            except Exception as exc:  # a card that does not fit its code
                raise ModelUnavailable(f"model '{name}' could not be built: {exc}") from exc
            with self._lock:
                if self._epoch.get(name, 0) == epoch:
                    self._cache[name] = model
            return model

    def forget(self, name: str | None = None) -> None:
        """Drop one cached model (or all), e.g. after a personal model was replaced."""
        with self._lock:
            names = list(self._cache) + list(self._build_locks) if name is None else [name]
            for n in names:
                self._epoch[n] = self._epoch.get(n, 0) + 1
            if name is None:
                self._cache.clear()
            else:
                self._cache.pop(name, None)


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry."""
    global _default
    if _default is None:
        _default = Registry()
    return _default
