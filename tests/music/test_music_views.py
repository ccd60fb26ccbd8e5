"""The Transformer's transposition ensemble (``TransformerConfig.transpose_views``): scoring
(:meth:`MusicTransformer.mixture_nll`), the views' cache in generation, and the draw that moves
each view's pitch distribution back."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch

from gdl_studio.music import tokens as T
from gdl_studio.music.generate import TransformerComposer
from gdl_studio.music.transformer import EVENT_KEYS, event_arrays
from gdl_studio.music.views import (
    describe_views,
    pitch_gather,
    transpose_pitches,
    untranspose_logits,
    view_transpositions,
)


def _batch(make_notes, seed=3, shift_pitch=0):
    g = T.quantise(make_notes(seed=seed))
    if shift_pitch:
        g.pitch[:] = np.clip(g.pitch + shift_pitch, 0, 127)
    ev = T.encode_note_events(g)
    arr = event_arrays({k: getattr(ev, k) for k in ("shift", "pitch", "dur", "vel", "time")}, 48)
    n = 40
    return {k: torch.as_tensor(arr[k][:n])[None] for k in EVENT_KEYS}


def _moved(batch, k):
    out = dict(batch)
    for key in ("in_pitch", "tg_pitch"):
        out[key] = transpose_pitches(batch[key], k)[0]
    return out


def _view_nll(model, batch, k):
    """NLL of the events in view ``k``: the model on the music moved by ``k``, its pitch softmax
    over the outputs that move back into 0..127 (what the view can express)."""
    moved = _moved(batch, k)
    h = model(*(moved[f"in_{a}"] for a in ("shift", "pitch", "dur", "vel", "metric")))
    back = torch.arange(T.N_PITCH)[None, :] - k
    tg = {a: moved[f"tg_{a}"] for a in ("shift", "pitch", "dur", "vel", "metric")}
    return model.event_nll(h, tg, (back < 0) | (back >= T.N_PITCH))[0]


def _with_views(model, views):
    m = copy.deepcopy(model)
    m.config.transpose_views = views
    return m


def test_view_transpositions_and_the_gather():
    assert view_transpositions(0) == (0,)
    assert view_transpositions(2) == (0, 1, -1, 2, -2)
    idx, bad = pitch_gather((0, 3), T.N_PITCH + 3)
    logits = torch.arange(2 * (T.N_PITCH + 3), dtype=torch.float32).view(2, -1)
    back = untranspose_logits(logits, idx, bad)
    assert torch.equal(back[0], logits[0])  # view 0 is itself
    assert float(back[1, 60]) == float(logits[1, 63])  # pitch 60 is the +3 view's 63
    assert torch.isinf(back[1, 125 : T.N_PITCH]).all() and not torch.isinf(back[1, :125]).any()
    assert torch.equal(back[1, T.N_PITCH :], logits[1, T.N_PITCH :])  # specials are not moved


def test_a_chosen_set_of_views_is_checked_and_labelled():
    """A card may list its transpositions (scripts/music_views.py picks them): taken as given
    once checked (0 first, whole semitones, no repeats, within an octave)."""
    assert view_transpositions([0, 1, -1, 6, -6]) == (0, 1, -1, 6, -6)
    assert view_transpositions((0, 5)) == (0, 5)
    assert describe_views([0, 1, -1, 6, -6]) == "0 ±1 ±6" and describe_views(0) == "0"
    assert describe_views([0, 5]) == "0 +5" and describe_views(2) == "0 ±1 ±2"
    for bad, why in (([1, 0], "first view"), ([0, 2, 2], "repeat"), ([0, 13], "at most"), ([0, 1.5], "whole")):
        with pytest.raises(ValueError, match=why):
            view_transpositions(bad)


@pytest.mark.parametrize("views", [2, [0, 6, -6, 1]])
def test_mixture_nll_is_the_mean_of_the_views_probabilities(tiny_transformer, make_notes, views):
    batch = _batch(make_notes)
    ks = view_transpositions(views)
    with torch.no_grad():
        single, _ = tiny_transformer.batch_nll(batch)
        same, _ = tiny_transformer.mixture_nll(batch, views=0)
        torch.testing.assert_close(same, single)
        each = [_view_nll(tiny_transformer, batch, k) for k in ks]
        mixed, _ = tiny_transformer.mixture_nll(batch, views=views)
    # far from the pitch range's ends every view stays alive: a plain mean
    expected = -(torch.logsumexp(-torch.stack(each).double(), 0) - math.log(len(ks)))
    torch.testing.assert_close(mixed.double(), expected, atol=2e-4, rtol=1e-5)
    assert float(mixed.sum()) != pytest.approx(float(single.sum()), rel=1e-3)  # the views do differ


def test_a_view_that_cannot_transpose_the_history_drops_out(tiny_transformer, make_notes):
    batch = _batch(make_notes, shift_pitch=127 - 40)  # push the top of the piece to the range's end
    top = int(batch["in_pitch"][batch["in_pitch"] < T.N_PITCH].max())
    assert top >= 126
    with torch.no_grad():
        mixed, _ = tiny_transformer.mixture_nll(batch, views=2)
    assert torch.isfinite(mixed).all()  # the views that can still express the music carry it
    # after the first event at pitch 126+, the +2 view is gone, so the mixture is not the 5-view mean
    first = int(torch.nonzero(batch["in_pitch"][0] >= 126)[0])
    alive_after = [k for k in view_transpositions(2) if top + k < T.N_PITCH]
    assert len(alive_after) < 5
    with torch.no_grad():
        views = {k: _view_nll(tiny_transformer, batch, k) for k in alive_after}
    later = -(torch.logsumexp(-torch.stack([views[k][0, first + 1 :] for k in alive_after]).double(), 0)
              - math.log(len(alive_after)))  # fmt: skip
    torch.testing.assert_close(mixed[0, first + 1 :].double(), later, atol=2e-4, rtol=1e-5)


@pytest.mark.parametrize("views", [1, [0, 1, -1, 6, -6]])
def test_the_views_cache_equals_the_forward_pass_on_the_transposed_music(tiny_transformer, make_notes, views):
    model = _with_views(tiny_transformer, views)
    ks = view_transpositions(views)
    batch = _batch(make_notes, seed=4)
    ins = [batch[f"in_{k}"][0] for k in ("shift", "pitch", "dur", "vel", "metric")]
    cache = model.new_cache()
    assert cache.views == len(ks) and cache.transpositions == ks
    h, _ = model.prefill(*(t[:6] for t in ins), cache)
    with torch.no_grad():
        full = {k: model(*(t[None] for t in (ins[0], transpose_pitches(ins[1], k)[0], *ins[2:])))[0] for k in ks}
    for row, k in enumerate(ks):
        torch.testing.assert_close(h[row], full[k][5], atol=1e-4, rtol=1e-4)
    for i in range(6, 30):
        h, attn = model.step(*(int(t[i]) for t in ins), cache)
        for row, k in enumerate(ks):
            torch.testing.assert_close(h[row], full[k][i], atol=1e-4, rtol=1e-4)
        # the last layer's attention in view 0, over the cache, as the forward pass computes it
        assert attn.shape == (i + 1,) and attn.sum() == pytest.approx(1.0, abs=1e-5)
        if i == 29:
            torch.testing.assert_close(torch.from_numpy(attn), _last_attention(model, ins, i), atol=1e-5, rtol=1e-4)
    assert bool(cache.alive.all())
    model.step(0, 127, 3, T.VEL_NONE, 0, cache)  # the +1 view (and +6) cannot play pitch 127
    assert cache.alive.tolist() == [k <= 0 for k in ks]
    alive = sum(k <= 0 for k in ks)
    assert torch.isinf(cache.log_weights()[1]) and float(cache.log_weights()[0].exp()) == pytest.approx(1 / alive)


def _last_attention(model, ins, i):
    """The untransposed model's last-layer attention (mean over heads) of event ``i`` over events
    0..i, from a prefill of the first i + 1 events into a one-view cache."""
    cache = model.new_cache((0,))
    _, attn = model.prefill(*(t[: i + 1] for t in ins), cache)
    return torch.from_numpy(attn)


def test_the_draw_is_the_ensemble_mixture_with_each_pitch_moved_back(tiny_transformer, argmax_sampler):
    """Generation with views: the shift is drawn from the views' mean, the pitch from the
    compound mixture's conditional with each view's pitch distribution moved back."""
    import gdl_studio.music.generate as G

    model = tiny_transformer
    composer = TransformerComposer(model, {"name": "music-transformer"})
    torch.manual_seed(0)
    h = 4 * torch.randn(3, model.config.d_model)
    ks = (0, 1, -1)
    seen = argmax_sampler
    rows = G._Rows.of(model.n_pitch_out, (h, torch.full((3,), -math.log(3)), ks))
    s, p, d, _, m = composer._decide(rows, 0, 0, 48, G.SamplingOptions(), torch.Generator().manual_seed(0))
    ls = torch.log_softmax(model.shift_logits(h).float(), -1)
    torch.testing.assert_close(seen[0].exp(), ls.exp().mean(0), atol=1e-6, rtol=1e-5)
    s_t, m_t = torch.full((3,), s), torch.full((3,), m)
    own = torch.log_softmax(model.pitch_logits(h, s_t, m_t).float(), -1)  # each view in its own key
    joint = torch.zeros(model.n_pitch_out)
    for row, k in enumerate(ks):
        back = torch.full((model.n_pitch_out,), float("-inf"))
        for q in range(T.N_PITCH):
            if 0 <= q + k < T.N_PITCH:
                back[q] = own[row, q + k]
        back[T.N_PITCH :] = own[row, T.N_PITCH :]
        joint += ls[row, s].exp() * torch.softmax(back, -1)
    torch.testing.assert_close(torch.softmax(seen[1], -1), joint / joint.sum(), atol=1e-6, rtol=1e-5)
    # the duration is asked of each view with its own (moved) pitch
    assert p < T.N_PITCH and len(seen) == 3


def test_generation_with_views_runs_and_is_reproducible(tiny_transformer, make_notes):
    composer = TransformerComposer(_with_views(tiny_transformer, 1), {"name": "music-transformer"})
    primer = make_notes(seed=5)[:12]
    a = [s.note for s in composer.generate(primer, n_notes=12, seed=3)]
    b = [s.note for s in composer.generate(primer, n_notes=12, seed=3)]
    assert len(a) == 12 and a == b
    plain = TransformerComposer(tiny_transformer, {"name": "music-transformer"})
    c = [s.note for s in plain.generate(primer, n_notes=12, seed=3)]
    assert a != c  # the ensemble is what draws


def test_the_teacher_targets_are_the_ensemble_mixture_by_the_chain_rule(tiny_transformer, make_notes):
    """ensemble_targets: the shift, pitch-given-shift and duration-given-both distributions of
    the compound mixture; their product at the true event is the mixture's probability
    (mixture_nll), and at radius 0 they are the model's own distributions."""
    batch = _batch(make_notes, seed=6)
    tg = {k: batch[f"tg_{k}"] for k in ("shift", "pitch", "dur", "vel", "metric")}
    with torch.no_grad():
        q0 = tiny_transformer.ensemble_targets(batch, 0)
        h = tiny_transformer(*(batch[f"in_{k}"] for k in ("shift", "pitch", "dur", "vel", "metric")))
        own = tiny_transformer.attribute_log_probs(h, tg)
        for key in ("shift", "pitch", "dur"):
            torch.testing.assert_close(q0[key], own[key], atol=1e-5, rtol=1e-5)
        q = tiny_transformer.ensemble_targets(batch, 2)
        mixed, _ = tiny_transformer.mixture_nll(batch, views=2)
    for key in ("shift", "pitch", "dur"):
        torch.testing.assert_close(q[key].exp().sum(-1), torch.ones(q[key].shape[:-1]), atol=1e-4, rtol=0)
    is_note = tg["pitch"] < T.N_PITCH
    chain = (
        q["shift"].gather(-1, tg["shift"][..., None]).squeeze(-1)
        + q["pitch"].gather(-1, tg["pitch"][..., None]).squeeze(-1)
        + q["dur"].gather(-1, tg["dur"].clamp(max=T.N_DUR - 1)[..., None]).squeeze(-1) * is_note
    )
    torch.testing.assert_close(-chain, mixed, atol=1e-3, rtol=1e-4)


def test_distill_loss_weights_the_true_event_and_the_teacher(tiny_transformer, make_notes):
    from gdl_studio.music.train import distill_loss

    batch = _batch(make_notes, seed=7)
    with torch.no_grad():
        nll, _ = tiny_transformer.batch_nll(batch)
        torch.testing.assert_close(distill_loss(tiny_transformer, (tiny_transformer, 1, 0.0), batch), nll)
        # its own distributions as the teacher (radius 0): the soft part is its entropy, below the NLL on average
        soft = distill_loss(tiny_transformer, (tiny_transformer, 0, 1.0), batch)
        half = distill_loss(tiny_transformer, (tiny_transformer, 0, 0.5), batch)
    torch.testing.assert_close(half, 0.5 * nll + 0.5 * soft)
    assert not torch.allclose(soft, nll)


def test_training_with_a_teacher_runs_and_records_it(tmp_path, corpus_path):
    """`train music-transformer --teacher DIR --teacher-views 1 --distill-weight 0.5`: a tiny
    teacher, then a tiny student taught by its ensemble; the card records the teacher."""
    import json

    from gdl_studio.cli import main

    def train(out, *extra):
        argv = [
            "train",
            "music-transformer",
            "--tiny",
            "--device",
            "cpu",
            "--data",
            str(corpus_path),
            "--out",
            str(out),
            "--checkpoint-dir",
            str(out.parent / (out.name + "-ck")),
            "--max-epochs",
            "1",
        ]
        return main([*argv, *extra])  # fmt: skip

    teacher = tmp_path / "teacher" / "music-transformer"
    assert train(teacher) == 0
    student = tmp_path / "student" / "music-transformer"
    assert train(student, "--teacher", str(teacher), "--teacher-views", "1", "--distill-weight", "0.5") == 0
    card = json.loads((student / "card.json").read_text())
    assert card["training"]["teacher"] == str(teacher) and card["training"]["teacher_views"] == 1
    assert card["training"]["distill_weight"] == 0.5
    assert card["metrics"]["valid"]["nats_per_note"] > 0


def test_a_draw_can_ask_for_other_views_than_the_card(tiny_transformer, make_notes):
    """generate(views=R) overrides the model's radius for one draw: views=0 on a model with
    views is the network alone, note for note; views=1 on a model without them is the ensemble."""
    primer = make_notes(seed=8)[:12]
    alone = TransformerComposer(tiny_transformer, {"name": "music-transformer"})
    ensemble = TransformerComposer(_with_views(tiny_transformer, 1), {"name": "music-transformer"})

    def draw(composer, **kw):
        return [s.note for s in composer.generate(primer, n_notes=10, seed=4, **kw)]

    assert draw(ensemble, views=0) == draw(alone)
    assert draw(alone, views=1) == draw(ensemble)
    with pytest.raises(ValueError, match="views"):
        draw(alone, views=9)


def test_the_step_sees_weights_changed_in_place(tiny_transformer, make_notes):
    """:meth:`MusicTransformer.step` keeps transposed copies of the blocks' matrices; a weight
    changed in place (as an optimiser does while fine-tuning) must reach the next event."""
    model = copy.deepcopy(tiny_transformer)
    batch = _batch(make_notes, seed=9)
    ins = [batch[f"in_{k}"][0] for k in ("shift", "pitch", "dur", "vel", "metric")]

    def last_hidden():
        cache = model.new_cache((0,))
        model.prefill(*(t[:8] for t in ins), cache)
        h, _ = model.step(*(int(t[8]) for t in ins), cache)
        with torch.no_grad():
            full = model(*(t[None, :9] for t in ins))[0, 8]
        return h[0], full

    before, full = last_hidden()
    torch.testing.assert_close(before, full, atol=1e-4, rtol=1e-4)
    with torch.no_grad():
        for blk in model.block_list:
            blk.ff_linears[1].weight.mul_(1.5)
            blk.qkv.weight.add_(0.05)
    after, full = last_hidden()
    torch.testing.assert_close(after, full, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(after, before, atol=1e-3)
