"""The Sketch panel's personal set and personal models: add / import, the fine-tune signal, the combo."""

from __future__ import annotations

import numpy as np

from gdl_studio.ui.sketch import commands
from gdl_studio.ui.sketch.drawing import Stroke


def _personal_model(name: str, base: str, kind: str = "vrnn"):
    from gdl_studio.core.personal import save_personal_model
    from gdl_studio.ink.models import PRESETS, build_model
    from gdl_studio.ink.models_io import tensors_for_saving

    cfg = PRESETS[f"{kind}-tiny"]
    card = {
        "name": name,
        "family": "ink",
        "architecture": cfg.to_dict(),
        "base_model": base,
        "preprocessing": {"scale": 20.0, "origin": [54.5, 54.5], "rdp_epsilon": 1.0},
    }
    return save_personal_model(tensors_for_saving(build_model(cfg)), card)


def _items(panel) -> list[tuple[str, str]]:
    combo = panel.model_combo
    return [(combo.itemData(i), combo.itemText(i)) for i in range(combo.count())]


def test_model_combo_lists_personal_models_and_falls_back_after_deletion(make_panel, tiny_models, qtbot):
    from gdl_studio.core.personal import delete_personal_model

    _personal_model("my-hand", base="ink-rnn-gmm")
    panel = make_panel(loader=lambda kind: tiny_models.get(kind, tiny_models["vrnn"]))
    assert _items(panel) == [("vrnn", "VRNN-GMM"), ("rnn-gmm", "RNN-GMM"), ("my-hand", "★ my-hand (VRNN)")]
    changed = []
    panel.model_changed.connect(changed.append)
    panel.set_model("my-hand")
    assert panel.kind == "my-hand" and panel.active_model() == "my-hand" and changed == ["my-hand"]
    assert panel.model_available()
    # it draws like any other model
    panel.undo_stack.push(commands.add_strokes(panel.document, [Stroke.make([(20, 30), (80, 35)])], "Draw stroke"))
    panel.extend()
    assert "with my-hand (VRNN)" in panel.message
    qtbot.waitUntil(lambda: not panel.streaming, timeout=10_000)
    assert panel.pending_points
    panel.reject()
    # a new personal model appears; the selection stays
    _personal_model("another", base="ink-vrnn", kind="rnn-gmm")
    panel.refresh_models()
    assert panel.kind == "my-hand" and ("another", "★ another (RNN-GMM)") in _items(panel)
    assert [d for d, _ in _items(panel)][:2] == ["vrnn", "rnn-gmm"]
    # the chosen one is deleted: fall back to its base model
    delete_personal_model("my-hand")
    panel.refresh_models()
    assert panel.kind == "rnn-gmm" and changed[-1] == "ink-rnn-gmm"
    assert "my-hand" not in [d for d, _ in _items(panel)]
    assert "gone" in panel.message


def test_add_to_set_import_and_the_finetune_signal(panel, qtbot, tmp_path, kanji_file):
    from gdl_studio.ink import personal_set

    assert not panel.add_to_set_button.isEnabled()
    assert not panel.finetune_button.isEnabled() and "add 5 more" in panel.set_label.text()
    panel.undo_stack.push(
        commands.add_strokes(panel.document, [Stroke.make([(20, 30), (50, 32), (85, 35)])], "Draw stroke")
    )
    assert panel.add_to_set_button.isEnabled()
    panel.add_to_set_button.click()
    assert personal_set.count() == 1 and panel.set_label.text().startswith("1 drawing in your set")
    saved = personal_set.list_drawings()[0]
    from gdl_studio.ink.svgio import read_svg_strokes

    assert np.allclose(read_svg_strokes(saved)[0], [(20, 30), (50, 32), (85, 35)], atol=0.01)
    (tmp_path / "broken.svg").write_text("<svg")
    for i in range(3):
        (tmp_path / f"k{i}.svg").write_bytes(kanji_file.read_bytes())
    assert panel.import_to_set([str(tmp_path)]) == 3
    assert "Skipped 1" in panel.message and "broken.svg" in panel.message
    assert personal_set.count() == 4 and not panel.finetune_button.isEnabled()
    assert panel.import_to_set([str(kanji_file)]) == 1
    assert panel.finetune_button.isEnabled() and panel.set_label.text() == "5 drawings in your set"
    with qtbot.waitSignal(panel.finetune_requested, timeout=1000) as sig:
        panel.finetune_button.click()
    assert sig.args == ["ink"]
