"""Fixtures for the racing tests: tiny random-weight V, M and C saved like shipped models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory) -> Path:
    """A models directory with random-init carracing-vae, carracing-mdnrnn and carracing-controller."""
    import torch

    from gdl_studio.racing.controller import param_count
    from gdl_studio.racing.mdn_rnn import MDNRNN
    from gdl_studio.racing.models_io import save_controller, save_mdn, save_vae
    from gdl_studio.racing.vae import ConvVAE

    root = tmp_path_factory.mktemp("wm_models")
    torch.manual_seed(0)
    card = {"data": {}, "metrics": {}, "training_command": "test fixture"}
    save_vae(ConvVAE(), root, dict(card))
    save_mdn(MDNRNN(), root, dict(card))
    params = np.random.default_rng(0).normal(0, 0.1, param_count())
    params[-2] += 1.0  # some gas
    save_controller(params, root, dict(card))
    return root


@pytest.fixture
def tiny_world(tiny_models_dir):
    from gdl_studio.racing.models_io import load_world_model_from

    return load_world_model_from(tiny_models_dir)


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """The test machine has 2 cores shared with other work: keep torch on one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
