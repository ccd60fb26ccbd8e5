"""Generation: a lazy iterator of notes, deterministic per seed, after the primer, cancellable."""

from __future__ import annotations

import pytest
import torch

from gdl_studio.core.registry import ModelUnavailable, Registry
from gdl_studio.music.generate import LSTMComposer, TransformerComposer, continue_score
from gdl_studio.music.models_io import load_music_model
from gdl_studio.music.notes import GenerationStep, Note, Score
from gdl_studio.music.sampling import SamplingOptions, filter_logits, sample


@pytest.fixture(params=["lstm", "transformer"])
def composer(request, tiny_lstm, tiny_transformer):
    if request.param == "lstm":
        return LSTMComposer(tiny_lstm)
    return TransformerComposer(tiny_transformer)


def _notes(steps):
    return [(s.note.pitch, round(s.note.start, 6), round(s.note.duration, 6)) for s in steps]


def test_same_seed_same_notes(composer, make_notes):
    primer = make_notes(bars=2, seed=7)
    a = _notes(composer.generate(primer, n_notes=24, seed=11))
    b = _notes(composer.generate(primer, n_notes=24, seed=11))
    c = _notes(composer.generate(primer, n_notes=24, seed=12))
    assert a == b
    assert a != c
    assert len(a) == 24


def test_notes_continue_after_the_primer(composer, make_notes):
    primer = [n.moved(d_start=8.0) for n in make_notes(bars=2, seed=8)]  # starts in bar 3
    end = max(n.end for n in primer)
    steps = list(composer.generate(Score(notes=primer, beats_per_bar=4), n_notes=20, seed=1))
    assert all(isinstance(s, GenerationStep) for s in steps)
    assert [s.index for s in steps] == list(range(20))
    assert min(s.note.start for s in steps) >= end - 1e-9
    assert all(0 <= s.note.pitch < 128 and s.note.duration > 0 for s in steps)
    starts = [s.note.start for s in steps]
    assert starts == sorted(starts) or composer.kind == "lstm"  # events come in time order


def test_attention_maps_to_notes(composer, make_notes):
    primer = make_notes(bars=2, seed=9)
    steps = list(composer.generate(primer, n_notes=12, seed=3))
    for s in steps:
        assert s.attention is not None and s.attention.ndim == 1
        assert abs(float(s.attention.sum()) - 1.0) < 1e-4
        assert s.attention_notes.shape == s.attention.shape
        assert s.attention_notes.max() < len(primer) + s.index
        assert s.attention_notes.min() >= -1
    # later steps can point at generated notes (numbered after the primer)
    assert any((s.attention_notes >= len(primer)).any() for s in steps[1:])


def test_generation_is_lazy_and_cancellable(composer, make_notes, monkeypatch):
    primer = make_notes(bars=2, seed=10)
    calls = {"n": 0}
    model = composer.model
    original = model.step

    def counting(*args, **kwargs):
        calls["n"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "step", counting)
    it = composer.generate(primer, n_notes=1000, seed=0)
    assert calls["n"] == 0  # nothing happens before the first pull
    first = [next(it) for _ in range(3)]
    made = calls["n"]
    it.close()  # the app simply stops pulling
    assert calls["n"] == made and len(first) == 3
    assert made < 60


def test_empty_primer_and_bars_limit(composer):
    steps = list(composer.generate([], n_notes=8, seed=0))
    assert len(steps) == 8
    bounded = list(composer.generate([Note(60, 0, 1)], n_notes=500, seed=0, bars=1, beats_per_bar=4))
    assert all(s.note.start < 1 + 4 + 1e-9 for s in bounded)


def test_greedy_and_top_k_1_agree(composer, make_notes):
    primer = make_notes(bars=1, seed=2)
    greedy = _notes(composer.generate(primer, n_notes=10, temperature=0.0, seed=1))
    top1 = _notes(composer.generate(primer, n_notes=10, top_k=1, seed=2))
    assert greedy == top1


def test_bad_options_fail_at_once(composer):
    with pytest.raises(ValueError):
        composer.generate([], n_notes=4, temperature=-1)
    with pytest.raises(ValueError):
        composer.generate([], n_notes=4, top_p=0.0)
    with pytest.raises(ValueError):
        composer.generate([], n_notes=4, top_k=-3)


def test_continue_score_helpers(composer, make_notes):
    score = Score(notes=make_notes(bars=1, seed=4), tempo_bpm=100)
    out = composer.continued(score, 6, seed=5)
    assert len(out.notes) == len(score.notes) + 6 and out.tempo_bpm == 100
    assert len(list(continue_score(composer, score, n_notes=3, seed=1))) == 3


def test_sampling_filters():
    logits = torch.tensor([0.0, 1.0, 2.0, 3.0])
    assert torch.isinf(filter_logits(logits, 1.0, top_k=2)[:2]).all()
    kept = torch.isfinite(filter_logits(logits, 1.0, top_p=0.5))
    assert kept.tolist() == [False, False, False, True]  # softmax(3) alone is 0.64 ≥ 0.5
    g = SamplingOptions(seed=1).generator()
    draws = [sample(logits, SamplingOptions(temperature=1.0), g) for _ in range(200)]
    assert set(draws) == {0, 1, 2, 3}
    mask = torch.tensor([True, True, False, False])
    assert all(sample(logits, SamplingOptions(), g, mask) in (0, 1) for _ in range(50))
    assert sample(logits, SamplingOptions(temperature=0), g) == 3


def test_load_music_model_through_registry(tiny_models_dir):
    reg = Registry([tiny_models_dir])
    lstm = load_music_model("lstm", registry=reg)
    assert isinstance(lstm, LSTMComposer) and lstm.name == "music-lstm"
    tr = load_music_model("music-transformer", registry=reg)
    assert isinstance(tr, TransformerComposer)
    assert load_music_model("transformer", registry=reg) is tr  # cached
    steps = list(tr.generate([Note(60, 0, 1)], n_notes=4, seed=0))
    assert len(steps) == 4
    with pytest.raises(ModelUnavailable):
        load_music_model("music-lstm", registry=Registry([tiny_models_dir / "nowhere"]))
    with pytest.raises(ModelUnavailable):
        load_music_model("piano", registry=reg)


def test_corrupt_weights_are_refused(tiny_models_dir, tmp_path):
    import shutil

    broken = tmp_path / "models"
    shutil.copytree(tiny_models_dir, broken)
    weights = broken / "music-lstm" / "music-lstm.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match="corrupt"):
        load_music_model("lstm", registry=Registry([broken]))


def test_long_primer_is_trimmed_consistently(tiny_lstm, tiny_transformer, make_notes, monkeypatch):
    import gdl_studio.music.generate as G

    monkeypatch.setattr(G, "MAX_LSTM_PRIMER_STEPS", 10)
    primer = make_notes(bars=12, seed=11)  # far longer than 10 steps and than the tiny context
    for composer in (LSTMComposer(tiny_lstm), TransformerComposer(tiny_transformer)):
        steps = list(composer.generate(primer, n_notes=6, seed=0))
        assert len(steps) == 6
        for s in steps:
            assert s.attention_notes.shape == s.attention.shape
            known = s.attention_notes[s.attention_notes >= 0]
            assert known.size == 0 or known.max() < len(primer) + s.index


def test_signature_check_is_per_model_kind(tiny_models_dir, tmp_path):
    """An LSTM needs only the step tokenisation to match; a Transformer its event scheme."""
    import json
    import shutil

    root = tmp_path / "models"
    shutil.copytree(tiny_models_dir, root)
    for name in ("music-lstm", "music-transformer"):
        card_path = root / name / "card.json"
        card = json.loads(card_path.read_text())
        card["architecture"]["tokenisation"]["tokeniser_version"] = 1  # an older cache/tokeniser
        card["architecture"]["tokenisation"].pop("transformer_events")  # … before compound events
        card_path.write_text(json.dumps(card))
    reg = Registry([root])
    assert isinstance(load_music_model("lstm", registry=reg), LSTMComposer)
    with pytest.raises(ModelUnavailable, match="retrain"):
        load_music_model("transformer", registry=reg)
