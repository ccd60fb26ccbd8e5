"""Fine-tuning the ink models on a user's drawings; personal ink models; the personal set."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from gdl_studio.core.errors import UserError
from gdl_studio.core.finetuning import Cancelled, FinetuneSpec, Progress
from gdl_studio.core.registry import ModelUnavailable, sha256_file
from gdl_studio.finetune.runner import InlineControl

SHIPPED_PREPROCESSING = {"scale": 20.75453518678023, "origin": [54.5, 54.5], "rdp_epsilon": 1.0}
FAST = {"epochs": 3, "lr": 3e-3, "seed": 0, "batch_size": 8, "min_sequences": 24, "is_samples": 8, "patience": 5}


@pytest.fixture(scope="module")
def user_drawings(tmp_path_factory) -> Path:
    """Ten slanted, wobbly KanjiVG test-split characters: a small "personal" set."""
    from gdl_studio.ink.finetune import write_reference_set

    folder = tmp_path_factory.mktemp("userink")
    write_reference_set(folder, count=10)
    return folder


@pytest.fixture
def tiny_bases(tmp_path, monkeypatch, fresh_registry):
    """Random tiny models installed as the shipped ``ink-vrnn`` / ``ink-rnn-gmm`` in a temp dir."""
    import torch

    from gdl_studio.core.registry import save_model
    from gdl_studio.ink.models import PRESETS, build_model
    from gdl_studio.ink.models_io import tensors_for_saving

    models = tmp_path / "models"
    monkeypatch.setenv("GDL_STUDIO_MODELS", str(models))
    torch.manual_seed(0)
    for kind, name in (("vrnn", "ink-vrnn"), ("rnn-gmm", "ink-rnn-gmm")):
        module = build_model(PRESETS[f"{kind}-tiny"])
        card = {
            "name": name,
            "family": "ink",
            "architecture": PRESETS[f"{kind}-tiny"].to_dict(),
            "preprocessing": dict(SHIPPED_PREPROCESSING),
            "data": {"stroke_count_hist": [0, 2, 3, 1]},
            "training_command": "test",
            "license": "test",
        }
        save_model(models / name, tensors_for_saving(module, half=False), card)
    return models


def _run(base="vrnn", inputs=(), name="mine", control=None, **options):
    from gdl_studio.ink.finetune import finetune

    events: list[Progress] = []
    spec = FinetuneSpec("ink", base, [str(p) for p in inputs], name, {**FAST, **options})
    summary = finetune(spec, events.append, control or InlineControl())
    return summary, events


def _user_models() -> list[str]:
    from gdl_studio.core import paths

    return sorted(os.listdir(paths.user_models_dir()))


@pytest.mark.parametrize("kind", ["vrnn", "rnn-gmm"])
def test_finetune_lowers_the_loss_on_held_out_user_drawings(tiny_bases, user_drawings, kind):
    from gdl_studio.core.registry import read_card
    from gdl_studio.ink.models_io import build_from_card

    summary, events = _run(kind, [user_drawings], name=f"my {kind}")
    m = summary["metrics"]
    assert m["valid_nll"] < m["base_valid_nll"] and m["improved"]
    if kind == "vrnn":
        assert m["valid_nll_is"] < m["base_valid_nll_is"]
    # progress: the base's valid loss first as epoch 0, then one report per epoch
    scored = [e for e in events if e.valid_loss is not None]
    assert scored[0].step == 0 and scored[0].valid_loss == pytest.approx(m["base_valid_nll"], abs=1e-3)
    assert [e.step for e in scored[1:]] == [1, 2, 3] and all(e.unit == "epoch" and e.total == 3 for e in scored)
    assert all(e.train_loss is not None for e in scored[1:])
    card = read_card(Path(summary["path"]))
    assert card.name == f"my-{kind}" and card.personal and card.family == "ink"
    assert card.data["display_name"] == f"my {kind}"
    assert card.data["base_model"] == f"ink-{kind}"
    assert card.data["preprocessing"] == SHIPPED_PREPROCESSING
    data = card.data["data"]
    assert data["drawings"] == 10 and data["split"]["train"] + data["split"]["valid"] == 10
    assert data["split"]["valid"] == 2 and data["points"] > 100
    assert card.data["training"]["epochs"] == 3 and card.data["training"]["steps"] == 9
    assert "finetune ink" in card.data["training_command"]
    # loadable by the generic builder
    from gdl_studio.core.registry import load_tensors

    assert build_from_card(card, load_tensors(card)).kind == kind


def test_personal_set_is_used_when_there_are_no_inputs(tiny_bases, user_drawings):
    from gdl_studio.ink import personal_set

    with pytest.raises(UserError, match="empty"):
        _run("vrnn", [])
    added, errors = personal_set.import_svgs([user_drawings])
    assert len(added) == 10 and not errors
    summary, _ = _run("rnn-gmm", [], name="from-set", epochs=1)
    card = json.loads((Path(summary["path"]) / "card.json").read_text())
    assert card["data"]["source"] == "personal drawing set" and card["data"]["drawings"] == 10


@pytest.mark.parametrize("after", [1, 4, "last"])
def test_cancel_writes_nothing_and_leaves_the_base_untouched(tiny_bases, user_drawings, after, tmp_path, monkeypatch):
    weights = tiny_bases / "ink-vrnn" / "ink-vrnn.safetensors"
    before = sha256_file(weights)
    if after == "last":  # count the checkpoints of a whole run (elsewhere), then cancel at the last one
        monkeypatch.setenv("GDL_STUDIO_USER_DIR", str(tmp_path / "counting"))
        counter = InlineControl()
        _run("vrnn", [user_drawings], control=counter)
        monkeypatch.setenv("GDL_STUDIO_USER_DIR", str(tmp_path / "user"))
        after = counter.calls
    control = InlineControl(cancel_after=after)
    with pytest.raises(Cancelled):
        _run("vrnn", [user_drawings], control=control)
    assert control.calls == after
    assert _user_models() == []
    assert sha256_file(weights) == before == json.loads((tiny_bases / "ink-vrnn" / "card.json").read_text())["sha256"]


def test_an_interrupted_save_leaves_no_partial_model(tiny_bases, user_drawings, monkeypatch):
    import gdl_studio.core.personal as personal
    from gdl_studio.ink.models_io import load_ink_model

    summary, _ = _run("vrnn", [user_drawings], name="mine", epochs=1)
    good = sha256_file(Path(summary["path"]) / "mine.safetensors")
    real = personal.save_model

    def save_then_fail(directory, tensors, card, weights_name=None):
        real(directory, tensors, card, weights_name=weights_name)  # everything written to the temp dir…
        raise OSError("disk full")  # …and then the process dies before the rename

    monkeypatch.setattr(personal, "save_model", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        _run("vrnn", [user_drawings], name="mine", epochs=2, seed=3)
    with pytest.raises(OSError):
        _run("vrnn", [user_drawings], name="other", epochs=1)
    assert _user_models() == ["mine"]  # no temp dirs, no half-written "other"
    assert sha256_file(Path(summary["path"]) / "mine.safetensors") == good
    assert load_ink_model("mine").kind == "vrnn"


def test_personal_model_loads_back_and_generates(tiny_bases, user_drawings):
    from gdl_studio.areas import load_model
    from gdl_studio.ink import models_io

    _run("vrnn", [user_drawings], name="My Hand", epochs=1)
    assert models_io.resolve_name("my-hand") == "my-hand"
    model = models_io.load_ink_model("my-hand")
    assert model.kind == "vrnn" and model.card["personal"]
    assert models_io.load("my-hand") is model and load_model("my-hand") is model
    points = list(model.generate(temperature=0.8, seed=1, max_points=30))
    assert 1 <= len(points) <= 30 and all(np.isfinite([p.x, p.y]).all() for p in points)
    primed = list(model.generate(primer=[np.array([[20.0, 30.0], [80.0, 35.0]])], seed=2, max_points=10))
    assert len(primed) >= 1
    assert models_io.ink_model_choices() == [
        ("ink-vrnn", "VRNN-GMM"),
        ("ink-rnn-gmm", "RNN-GMM"),
        ("my-hand", "★ My Hand (VRNN)"),
    ]
    # a personal model can be the base of the next fine-tune
    summary, _ = _run("my-hand", [user_drawings], name="my-hand-2", epochs=1)
    card = json.loads((Path(summary["path"]) / "card.json").read_text())
    assert card["base_model"] == "my-hand" and card["root_model"] == "ink-vrnn"


def test_shipped_vrnn_finetunes_in_a_few_steps(user_drawings, fresh_registry):
    """The real shipped model: the preprocessing matches its card and a few steps help."""
    from gdl_studio.core.registry import default_registry
    from gdl_studio.ink.models_io import load_ink_model

    try:
        card = default_registry().card("ink-vrnn")
    except ModelUnavailable:
        pytest.skip("shipped ink-vrnn not installed")
    before = sha256_file(card.weights_path)
    summary, _ = _run("ink-vrnn", [user_drawings], name="real", epochs=1, lr=1e-3, batch_size=8, min_sequences=32)
    m = summary["metrics"]
    assert m["valid_nll"] < m["base_valid_nll"]
    assert sha256_file(card.weights_path) == before
    assert len(list(load_ink_model("real").generate(seed=0, max_points=5))) >= 1


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_bad_input_gives_one_line_user_errors(tiny_bases, user_drawings, tmp_path):
    from gdl_studio.core import paths

    files = sorted(user_drawings.glob("*.svg"))
    cases = [
        (dict(inputs=[tmp_path / "missing"]), "no such file"),
        (dict(inputs=[_write(tmp_path / "nothing" / "notes.txt", "no drawings here").parent]), "no SVG"),
        (dict(inputs=files[:3]), "too few"),
        (dict(inputs=[*files[:6], _write(tmp_path / "bad" / "broken.svg", "<svg><path d='M 1 1 L")]), "broken.svg"),
        (
            dict(
                inputs=[
                    *files[:6],
                    _write(tmp_path / "bad2" / "empty.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>"),
                ]
            ),
            "empty.svg: the SVG has no strokes",
        ),
        (dict(inputs=files, base="nope"), "unknown ink model"),
        (dict(inputs=files, name="bad/name"), "model name"),
        (dict(inputs=files, name="ink-rnn-gmm"), "shipped model"),
        (dict(inputs=files, epochs=0), "epochs"),
    ]
    for kwargs, pattern in cases:
        options = {k: kwargs.pop(k) for k in list(kwargs) if k in ("epochs",)}
        with pytest.raises(UserError, match=pattern) as err:
            _run(**kwargs, **options)
        assert "\n" not in str(err.value)
    # a base of another family
    import torch

    from gdl_studio.core.registry import save_model

    save_model(
        paths.user_models_dir() / "tune",
        {"w": torch.zeros(2)},
        {"name": "tune", "family": "music", "architecture": {}, "personal": True},
    )
    with pytest.raises(UserError, match="not an ink model"):
        _run(base="tune", inputs=files)
    assert _user_models() == ["tune"]


def test_resolve_name_errors_are_user_errors_and_model_unavailable(tiny_bases):
    from gdl_studio.ink.models_io import load_ink_model, resolve_name

    assert resolve_name("vrnn") == "ink-vrnn" and resolve_name("ink-rnn-gmm") == "ink-rnn-gmm"
    for bad in ("nope", "../models", ""):
        with pytest.raises(UserError):
            resolve_name(bad)
        with pytest.raises(ModelUnavailable):
            load_ink_model(bad)


def test_personal_set_add_list_remove_clear_import(tmp_path, user_drawings):
    from gdl_studio.ink import personal_set
    from gdl_studio.ink.svgio import read_svg_strokes

    assert personal_set.count() == 0 and personal_set.list_drawings() == []
    strokes = [np.array([[10.0, 10.0], [50.0, 60.0], [90.0, 20.0]]), np.array([[30.0, 80.0], [70.0, 80.0]])]
    first = personal_set.add(strokes)
    second = personal_set.add(strokes[:1])
    assert personal_set.list_drawings() == sorted([first, second]) and personal_set.count() == 2
    back = read_svg_strokes(first)
    assert len(back) == 2 and np.allclose(back[0], strokes[0], atol=0.01)
    with pytest.raises(UserError, match="blank"):
        personal_set.add([])
    personal_set.remove(first.name)
    assert personal_set.list_drawings() == [second]
    with pytest.raises(UserError):
        personal_set.remove(first)
    with pytest.raises(UserError):
        personal_set.remove(tmp_path / "elsewhere.svg")
    bad = _write(tmp_path / "in" / "bad.svg", "not svg")
    files = sorted(user_drawings.glob("*.svg"))[:3]
    added, errors = personal_set.import_svgs([*files, bad.parent])
    assert len(added) == 3 and len(errors) == 1 and errors[0].startswith("bad.svg")
    assert personal_set.count() == 4
    assert not [p for p in personal_set.set_dir().iterdir() if p.suffix != ".svg"]  # no temp files left
    assert personal_set.clear() == 4 and personal_set.count() == 0
