"""Fixtures for the Sketch panel tests: tiny random ink models, a running engine, the panel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_models():
    """Randomly initialised tiny VRNN and RNN-GMM wrapped like shipped models (no weights needed)."""
    import torch

    from gdl_studio.ink.models import PRESETS, build_model
    from gdl_studio.ink.models_io import InkModel

    torch.manual_seed(0)
    return {
        kind: InkModel(module=build_model(PRESETS[f"{kind}-tiny"]).eval(), kind=kind, scale=3.0)
        for kind in ("vrnn", "rnn-gmm")
    }


@pytest.fixture(scope="session")
def kanji_file() -> Path:
    """A KanjiVG file from the installed package (永, 5 strokes)."""
    spec = importlib.util.find_spec("kanji")
    folder = Path(list(spec.submodule_search_locations)[0])
    return folder / "06c38.svg"


@pytest.fixture
def make_panel(qtbot, engine, tiny_models):
    """Build a shown SketchPanel (tiny models unless ``loader`` is given; no animation pacing)."""
    from gdl_studio.ui.settings import Settings
    from gdl_studio.ui.sketch.panel import SketchPanel

    def make(loader="tiny", pace_s=0.0):
        if loader == "tiny":
            loader = tiny_models.__getitem__
        panel = SketchPanel(engine, Settings(), loader=loader)
        panel.pace_s = pace_s
        qtbot.addWidget(panel)
        panel.resize(1100, 740)
        panel.show()
        qtbot.waitExposed(panel)
        return panel

    return make


@pytest.fixture
def panel(make_panel):
    return make_panel()
