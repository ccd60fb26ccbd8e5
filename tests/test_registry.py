"""Model registry: safetensors + card, sha256 check, lazy cached loading, clear failures."""

from __future__ import annotations

import json

import pytest
import torch

from gdl_studio.core.registry import ModelUnavailable, Registry, read_card, save_model, sha256_file


def make_model(root, name="tiny", family="test"):
    layer = torch.nn.Linear(4, 3)
    card = {"name": name, "family": family, "architecture": {"in": 4, "out": 3}, "training_command": "none"}
    save_model(root / name, layer.state_dict(), card)
    return layer


def build(card, tensors):
    layer = torch.nn.Linear(card.architecture["in"], card.architecture["out"])
    layer.load_state_dict(tensors)
    return layer


def test_save_then_load_round_trip(tmp_path):
    layer = make_model(tmp_path)
    card = read_card(tmp_path / "tiny")
    assert card.data["sha256"] == sha256_file(card.weights_path)
    assert card.weights_path.suffix == ".safetensors"
    reg = Registry([tmp_path])
    loaded = reg.load("tiny", build)
    assert torch.equal(loaded.weight, layer.weight)
    assert reg.load("tiny", build) is loaded, "models stay cached"


def test_corrupt_weights_are_refused(tmp_path):
    make_model(tmp_path)
    weights = tmp_path / "tiny" / "tiny.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match="corrupt"):
        Registry([tmp_path]).load("tiny", build)


def test_missing_weights_and_missing_model(tmp_path):
    make_model(tmp_path)
    (tmp_path / "tiny" / "tiny.safetensors").unlink()
    reg = Registry([tmp_path])
    with pytest.raises(ModelUnavailable, match="missing"):
        reg.load("tiny", build)
    with pytest.raises(ModelUnavailable, match="not installed"):
        reg.load("nope", build)


def test_pickle_is_never_read(tmp_path):
    make_model(tmp_path)
    weights = tmp_path / "tiny" / "tiny.safetensors"
    torch.save({"weight": torch.zeros(3, 4)}, weights)  # a pickle in disguise
    card_path = tmp_path / "tiny" / "card.json"
    card = json.loads(card_path.read_text())
    card["sha256"] = sha256_file(weights)
    card_path.write_text(json.dumps(card))
    with pytest.raises(ModelUnavailable, match="unreadable"):
        Registry([tmp_path]).load("tiny", build)


def test_card_listing_skips_broken_cards(tmp_path):
    make_model(tmp_path, "good")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "card.json").write_text("{not json")
    names = [c.name for c in Registry([tmp_path]).cards()]
    assert names == ["good"]


def test_shipped_model_cards_match_their_weights():
    """Every model shipped in models/ has a card whose sha256 matches the weights."""
    from gdl_studio.core.paths import models_dir

    reg = Registry([models_dir()])
    for card in reg.cards():
        assert card.weights_path.suffix == ".safetensors"
        assert sha256_file(card.weights_path) == card.data["sha256"], card.name
        for key in ("architecture", "data", "metrics", "training_command"):
            assert key in card.data, f"{card.name} card lacks {key}"


def test_forget_never_waits_for_a_model_that_is_building(tmp_path):
    """The GUI thread calls forget() after a fine-tune while the engine may be loading a model."""
    import threading
    import time

    import torch

    from gdl_studio.core.registry import Registry, save_model

    save_model(tmp_path / "slow", {"w": torch.zeros(3)}, {"name": "slow", "family": "test", "architecture": {}})
    reg = Registry([tmp_path])
    started, release = threading.Event(), threading.Event()

    def builder(card, tensors):
        started.set()
        release.wait(5)
        return object()

    loader = threading.Thread(target=lambda: reg.load("slow", builder))
    loader.start()
    assert started.wait(5)
    t0 = time.perf_counter()
    reg.forget("slow")
    reg.forget()
    assert time.perf_counter() - t0 < 0.1, "forget waited for the build"
    release.set()
    loader.join(5)
    # the build that started before forget() is not cached: the next load builds afresh
    built = []
    reg.load("slow", lambda card, tensors: built.append(1) or object())
    assert built == [1]
    first = reg.load("slow", lambda card, tensors: built.append(2) or object())
    assert built == [1] and reg.load("slow", None) is first
