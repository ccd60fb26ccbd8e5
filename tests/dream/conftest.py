"""Fixtures for the Dream panel tests: a tiny random world model, a running engine, the panel."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


@pytest.fixture(scope="session")
def tiny_world():
    """Randomly initialised V, M and C built with the racing package's own classes (no weights needed)."""
    import torch

    from gdl_studio.racing.controller import LinearController, param_count
    from gdl_studio.racing.mdn_rnn import MDNRNN
    from gdl_studio.racing.models_io import WorldModel
    from gdl_studio.racing.vae import ConvVAE

    torch.manual_seed(0)
    params = np.random.default_rng(0).normal(0, 0.1, param_count())
    params[-2] += 1.0  # some gas
    return WorldModel(vae=ConvVAE().eval(), mdn=MDNRNN().eval(), controller=LinearController(params))


@pytest.fixture
def make_panel(qtbot, engine, tiny_world):
    """Build a shown DreamPanel (tiny world unless ``loader`` is given; fast frame rate)."""
    from gdl_studio.ui.dream.panel import DreamPanel
    from gdl_studio.ui.settings import Settings

    panels = []

    def make(loader="tiny", fps=400.0, show=True):
        if loader == "tiny":
            loader = lambda: tiny_world  # noqa: E731
        panel = DreamPanel(engine, Settings(), loader=loader)
        panel.playback.fps = fps
        qtbot.addWidget(panel)
        panels.append(panel)
        panel.resize(1168, 720)
        if show:
            panel.show()
            qtbot.waitExposed(panel)
        return panel

    yield make
    for panel in panels:
        panel.shutdown()


@pytest.fixture
def panel(make_panel):
    return make_panel()
