"""Fine-tuning the music models on the user's MIDI (gdl_studio.music.finetune) and using the
personal models it saves: loss goes down, Cancel and a failed save write nothing, a personal
model loads and generates (and can be fine-tuned again), bad input is a one-line UserError, and
the Compose panel lists personal models and falls back to the base when one is deleted."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from gdl_studio.core import paths
from gdl_studio.core.errors import UserError
from gdl_studio.core.finetuning import Cancelled, FinetuneSpec, Progress
from gdl_studio.core.registry import default_registry, sha256_file
from gdl_studio.finetune.runner import InlineControl
from gdl_studio.music.finetune import finetune
from gdl_studio.music.models_io import canonical_name, is_available, load_music_model, music_model_choices

FAST = {"epochs": 3, "lr": 3e-3, "seed": 0, "patience": 3}


@pytest.fixture
def user_midi(tmp_path, write_mid, make_notes):
    """Four MIDI files of four-voice chorale-like music (~500 notes), one in a subfolder."""
    folder = tmp_path / "my midi"
    folder.mkdir()
    files = []
    for i in range(4):
        path = write_mid(f"piece{i}.mid", make_notes(bars=9, seed=10 + i))
        target = folder / ("sub" if i == 2 else "") / path.name
        target.parent.mkdir(exist_ok=True)
        path.replace(target)
        files.append(target)
    return folder


def run(base, inputs, name="mine", control=None, **options):
    events = []
    spec = FinetuneSpec("music", base, [str(p) for p in inputs], name=name, options={**FAST, **options})
    summary = finetune(spec, events.append, control or InlineControl())
    return summary, [e for e in events if isinstance(e, Progress)]


def user_models() -> list[str]:
    root = paths.user_models_dir()
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_finetune_lowers_the_loss_and_saves_a_personal_model(kind, use_tiny_models, user_midi):
    control = InlineControl()
    summary, events = run(kind, [user_midi], name="My Chorales", control=control)
    metrics = summary["metrics"]
    assert summary["name"] == "my-chorales"
    assert metrics["valid_nats_per_note"] < metrics["base_valid_nats_per_note"] - 0.1
    assert abs(metrics["valid_nats_per_note"] - metrics["valid_nats_per_note_fp32"]) < 0.02  # fp16 holds
    # epoch 0 is the base model's held-out loss; then one report per epoch, with both losses
    assert [e.step for e in events if e.valid_loss is not None] == [0, 1, 2, 3]
    assert events[-1].train_loss is not None and events[-1].unit == "epoch" and events[-1].total == 3
    assert control.calls >= metrics["steps"]  # a checkpoint between optimiser steps

    card = json.loads((paths.user_models_dir() / "my-chorales" / "card.json").read_text())
    assert card["personal"] and card["family"] == "music" and card["display_name"] == "My Chorales"
    assert card["base_model"] == f"music-{kind}" and card["root_model"] == f"music-{kind}"
    assert card["architecture"]["kind"] == kind
    data = card["data"]
    assert data["files"] == 4 and data["notes"] > 400 and data["minutes"] > 0.5
    assert data["split"]["by"] == "file" and data["split"]["valid_pieces"] == 1
    assert card["metrics"]["base_valid_nats_per_note"] > card["metrics"]["valid_nats_per_note"]
    assert card["training_command"].startswith("gdl-studio finetune music ")
    assert "--base" in card["training_command"] and card["training"]["epochs"] == 3

    # the personal model loads through the registry and generates
    assert canonical_name("my-chorales") == "my-chorales" and is_available("my-chorales")
    composer = load_music_model("my-chorales")
    assert len(list(composer.generate([], n_notes=6, seed=1))) == 6
    label = "LSTM" if kind == "lstm" else "Transformer"
    assert ("my-chorales", f"★ My Chorales ({label})") in music_model_choices()
    assert music_model_choices()[:2] == [("music-lstm", "Attention LSTM"), ("music-transformer", "Transformer")]


def test_a_personal_model_can_be_finetuned_again(use_tiny_models, write_mid, make_notes, tmp_path):
    # one file: the held-out slice is the end of the piece
    one = write_mid("long.mid", make_notes(bars=24, seed=3))
    first, _ = run("lstm", [one], name="first", epochs=2)
    card = json.loads((paths.user_models_dir() / "first" / "card.json").read_text())
    assert card["data"]["split"]["by"].startswith("the last")
    split = card["data"]["split"]
    assert 0 < split["valid_notes"] < split["train_notes"]
    second, events = run("first", [one], name="second", epochs=2)
    assert events[1].valid_loss == pytest.approx(first["metrics"]["valid_nats_per_note"], abs=1e-6)
    card2 = json.loads((paths.user_models_dir() / "second" / "card.json").read_text())
    assert card2["base_model"] == "first" and card2["root_model"] == "music-lstm"
    assert card2["lineage"] == ["music-lstm", "first"]
    assert len(list(load_music_model("second").generate([], n_notes=3, seed=0))) == 3


def test_cancel_writes_nothing_and_leaves_the_base_untouched(use_tiny_models, user_midi):
    from gdl_studio.core.personal import delete_personal_model

    base = use_tiny_models / "music-lstm" / "music-lstm.safetensors"
    before = sha256_file(base)
    probe = InlineControl()  # counts the checkpoints of a whole run
    run("lstm", [user_midi], name="probe", control=probe)
    delete_personal_model("probe")
    assert user_models() == []
    # cancelled in the middle of training, and at the very last checkpoint (just before the save)
    for n in (probe.calls // 2, probe.calls):
        with pytest.raises(Cancelled):
            run("lstm", [user_midi], name="probe", control=InlineControl(cancel_after=n))
        assert user_models() == []
    assert sha256_file(base) == before


def test_an_interrupted_save_leaves_no_partial_model(use_tiny_models, user_midi, monkeypatch):
    from gdl_studio.core import personal

    good, _ = run("lstm", [user_midi], name="mine", epochs=1)
    card_before = (paths.user_models_dir() / "mine" / "card.json").read_text()
    real_save = personal.save_model

    def broken_save(directory, tensors, card, weights_name=None):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / (weights_name or "w.safetensors")).write_bytes(b"half a file")
        raise OSError("No space left on device")

    monkeypatch.setattr(personal, "save_model", broken_save)
    with pytest.raises(OSError):
        run("lstm", [user_midi], name="mine", epochs=1, seed=1)
    with pytest.raises(OSError):
        run("lstm", [user_midi], name="new-one", epochs=1)
    monkeypatch.setattr(personal, "save_model", real_save)
    assert user_models() == ["mine"]  # no temporary or half-written directory
    assert (paths.user_models_dir() / "mine" / "card.json").read_text() == card_before
    default_registry().forget()
    assert len(list(load_music_model("mine").generate([], n_notes=2, seed=0))) == 2


def test_bad_input_is_a_one_line_user_error(use_tiny_models, tmp_path, write_mid, make_notes):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not music")
    cases = []
    with pytest.raises(UserError, match="no MIDI files") as err:
        run("lstm", [empty])
    cases.append(err)
    with pytest.raises(UserError, match="no such file or folder"):
        run("lstm", [tmp_path / "missing"])
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    good = write_mid("good.mid", make_notes(bars=8, seed=1))
    with pytest.raises(UserError, match="broken.mid") as err:
        run("lstm", [good, broken])
    cases.append(err)
    short = write_mid("short.mid", make_notes(bars=2, seed=2))
    with pytest.raises(UserError, match="too few notes") as err:
        run("lstm", [short])
    cases.append(err)
    with pytest.raises(UserError, match="not installed|cannot fine-tune"):
        run("no-such-model", [good])
    with pytest.raises(UserError, match="shipped model"):
        run("lstm", [good], name="music-transformer")
    for e in cases:
        assert "\n" not in str(e.value)
    assert user_models() == []


def test_compose_panel_lists_personal_models_and_falls_back_after_delete(qtbot, tiny_lstm):
    from gdl_studio.core.personal import delete_personal_model, save_personal_model
    from gdl_studio.music import tokens as T

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "compose"))
    try:
        from compose_helpers import close_panel, make_panel
    finally:
        sys.path.pop(0)

    tensors = {k: v.half() for k, v in tiny_lstm.state_dict().items()}
    arch = {"kind": "lstm", **tiny_lstm.config.to_dict(), "tokenisation": T.vocab_signature()}
    save_personal_model(
        tensors,
        {
            "name": "my-bach",
            "display_name": "my-bach",
            "family": "music",
            "architecture": arch,
            "base_model": "music-lstm",
            "root_model": "music-lstm",
        },
    )
    panel, engine = make_panel(qtbot)
    try:
        combo = panel.model_combo
        items = [(combo.itemData(k), combo.itemText(k)) for k in range(combo.count())]
        assert items[:2] == [("music-lstm", "Attention LSTM"), ("music-transformer", "Transformer")]
        assert ("my-bach", "★ my-bach (LSTM)") in items
        combo.setCurrentIndex(combo.findData("music-transformer"))
        # a new personal model appears on refresh; the selection stays
        save_personal_model(
            tensors,
            {
                "name": "my-bach-2",
                "family": "music",
                "architecture": arch,
                "base_model": "my-bach",
                "root_model": "music-lstm",
            },
        )
        panel.refresh_models()
        assert combo.currentData() == "music-transformer" and combo.findData("my-bach-2") > 0
        combo.setCurrentIndex(combo.findData("my-bach-2"))
        assert panel.active_model() == "★ my-bach-2 (LSTM)"
        # deleted while selected: back to its base model
        delete_personal_model("my-bach-2")
        with qtbot.waitSignal(panel.model_changed, timeout=2000):
            panel.refresh_models()
        assert combo.currentData() == "music-lstm" and combo.findData("my-bach-2") < 0
        with qtbot.waitSignal(panel.finetune_requested, timeout=2000) as blocker:
            panel.finetune_button.click()
        assert blocker.args == ["music"]
    finally:
        close_panel(panel, engine)


def test_a_finetuned_transformer_fills_as_its_base(tiny_models_dir, monkeypatch, user_midi, tmp_path):
    """The base card's fill setting (the two-view weight, chosen on the corpus's validation
    gaps) travels to the personal model, marked as inherited, and its composer uses it."""
    import shutil

    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    card_path = root / "music-transformer" / "card.json"
    base_card = json.loads(card_path.read_text())
    base_card["fill"] = {"fim_weight": 0.7, "rule": "test"}
    card_path.write_text(json.dumps(base_card))
    monkeypatch.setenv("GDL_STUDIO_MODELS", str(root))
    default_registry().forget()
    try:
        run("transformer", [user_midi], name="my-fills", epochs=1)
        card = json.loads((paths.user_models_dir() / "my-fills" / "card.json").read_text())
        assert card["fill"] == {"fim_weight": 0.7, "rule": "test", "inherited_from": "music-transformer"}
        assert load_music_model("my-fills").fill_fim_weight == 0.7
    finally:
        default_registry().forget()
