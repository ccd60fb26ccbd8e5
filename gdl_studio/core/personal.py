"""Personal (fine-tuned) models in the user data directory: save atomically, list, rename, delete.

A personal model is a registry model directory (safetensors + card.json) whose card says
``"personal": true`` and names its ``base_model``. It is written into a temporary directory
first and renamed into place, so an interrupted save never leaves a half-written model.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from gdl_studio.core import paths
from gdl_studio.core.errors import UserError
from gdl_studio.core.registry import CARD_NAME, ModelCard, Registry, default_registry, read_card, save_model

PERSONAL_MARK = "★"  # what model pickers put before a personal model's label


def personal_label(text: str) -> str:
    """The picker label of a personal model: ``"★ my-bach (LSTM)"``."""
    return f"{PERSONAL_MARK} {text}"


def is_personal_label(label: str) -> bool:
    return label.startswith(PERSONAL_MARK)


def without_personal_mark(label: str) -> str:
    """A picker label without the personal mark (shipped labels come back as they are)."""
    return label.removeprefix(PERSONAL_MARK).strip()


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$")


def slug(name: str) -> str:
    """A safe directory name for a personal model."""
    cleaned = re.sub(r"[^A-Za-z0-9_.\-]+", "-", name.strip()).strip("-.").lower()
    return cleaned or "personal"


def check_name(name: str) -> str:
    """Validate a user-chosen model name; returns its directory name."""
    if not _NAME_RE.match(name or ""):
        raise UserError("a model name is 1–64 letters, digits, spaces, '-', '_' or '.'")
    return slug(name)


def save_personal_model(
    tensors: dict[str, Any],
    card: dict[str, Any],
    root: Path | None = None,
) -> ModelCard:
    """Save a personal model atomically (a temp directory renamed into place).

    ``card`` must hold ``name`` (directory name), ``family``, ``architecture`` and ``base_model``;
    ``personal`` and ``created`` are added.
    """
    root = Path(root) if root is not None else paths.user_models_dir()
    root.mkdir(parents=True, exist_ok=True)
    name = check_name(card["name"])
    data = dict(card)
    data["name"] = name
    data.setdefault("display_name", card["name"])
    data["personal"] = True
    data["created"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    tmp = root / f".tmp-{name}-{uuid.uuid4().hex[:8]}"
    try:
        save_model(tmp, tensors, data, weights_name=f"{name}.safetensors")
        target = root / name
        old = None
        if target.exists():
            old = root / f".old-{name}-{uuid.uuid4().hex[:8]}"
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    default_registry().forget(name)
    return read_card(root / name)


def personal_models(family_prefix: str = "", root: Path | None = None) -> list[ModelCard]:
    """Personal model cards, optionally only those whose family starts with ``family_prefix``."""
    root = Path(root) if root is not None else paths.user_models_dir()
    cards = [c for c in Registry([root]).cards() if c.personal]
    return [c for c in cards if c.family.startswith(family_prefix)]


def rename_personal_model(name: str, display_name: str, root: Path | None = None) -> None:
    """Change the name shown for a personal model (its directory name stays)."""
    root = Path(root) if root is not None else paths.user_models_dir()
    check_name(display_name)
    card_path = root / name / CARD_NAME
    if not card_path.is_file():
        raise UserError(f"no personal model '{name}'")
    data = json.loads(card_path.read_text(encoding="utf-8"))
    data["display_name"] = display_name
    from gdl_studio.core.atomic import write_text_atomic

    write_text_atomic(card_path, json.dumps(data, indent=2) + "\n")


def delete_personal_model(name: str, root: Path | None = None) -> None:
    """Delete a personal model (shipped models cannot be deleted)."""
    root = Path(root) if root is not None else paths.user_models_dir()
    directory = root / name
    card = read_card(directory)
    if not card.personal:
        raise UserError(f"'{name}' is not a personal model")
    shutil.rmtree(directory)
    default_registry().forget(name)
