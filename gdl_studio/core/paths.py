"""Where things live: the repository's shipped models and resources, the user's data."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
ROOT_DIR = PACKAGE_DIR.parent


def models_dir() -> Path:
    """Directory of the shipped models (``GDL_STUDIO_MODELS`` overrides it)."""
    env = os.environ.get("GDL_STUDIO_MODELS")
    if env:
        return Path(env)
    bundled = PACKAGE_DIR / "_bundled" / "models"  # PyInstaller layout
    return bundled if bundled.is_dir() else ROOT_DIR / "models"


def resources_dir() -> Path:
    """Directory of icons, stylesheet and example files."""
    bundled = PACKAGE_DIR / "_bundled" / "resources"
    return bundled if bundled.is_dir() else ROOT_DIR / "resources"


def data_dir() -> Path:
    """Cache directory for preprocessed training data (``GDL_STUDIO_DATA`` overrides it).

    Defaults to ``data/`` in the repository (ignored by git) so that it can be carried to a
    training machine.
    """
    env = os.environ.get("GDL_STUDIO_DATA")
    return Path(env) if env else ROOT_DIR / "data"


def user_dir() -> Path:
    """Per-user data directory (personal models, sketches); created on demand."""
    env = os.environ.get("GDL_STUDIO_USER_DIR")
    if env:
        path = Path(env)
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("gdl-studio", "GDL Studio"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_models_dir() -> Path:
    """Directory for personal (fine-tuned) models."""
    path = user_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
