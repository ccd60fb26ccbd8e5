"""Fixtures for the ink tests: KanjiVG files, tiny models, a tiny data cache."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def kanjivg_dir() -> Path:
    from gdl_studio.ink.dataset import kanjivg_files

    files, _ = kanjivg_files()
    return files[0].parent


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory) -> Path:
    """A data cache built from the first 300 KanjiVG files (``<dir>/ink/kanjivg.npz``)."""
    from gdl_studio.ink import dataset

    root = tmp_path_factory.mktemp("inkdata")
    dataset.build(root / "ink" / "kanjivg.npz", workers=1, limit=300, log=lambda *a: None)
    return root / "ink" / "kanjivg.npz"


@pytest.fixture
def fresh_registry():
    from gdl_studio.core.registry import default_registry

    default_registry().forget()
    yield
    default_registry().forget()


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Tiny models run fastest, and least disturbed by a busy machine, on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
