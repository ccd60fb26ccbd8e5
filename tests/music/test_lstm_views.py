"""The LSTM's transposition ensemble (``LSTMConfig.transpose_views``): scoring
(:meth:`AttentionLSTM.mixture_nll`), the views' state in generation, and the draw."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gdl_studio.music import tokens as T
from gdl_studio.music.generate import LSTMComposer
from gdl_studio.music.lstm import lstm_inputs
from gdl_studio.music.views import transpose_pitches, view_transpositions

KEYS = ("note", "dur", "voice", "n_voices", "metric", "target_note", "target_dur")


def _steps(make_notes, seed=3, shift_pitch=0, n=80):
    g = T.quantise(make_notes(seed=seed))
    if shift_pitch:
        g.pitch[:] = np.clip(g.pitch + shift_pitch, 0, 127)
    voice, n_voices = T.assign_voices(g)
    steps = T.encode_steps(g, voice, n_voices)
    inp = lstm_inputs(steps.note, steps.dur, n_voices, 48)
    return {k: torch.as_tensor(inp[k][:n])[None] for k in KEYS}


def _with_views(model, radius):
    m = copy.deepcopy(model)
    m.config.transpose_views = radius
    return m


def _view_nll(model, batch, k):
    """Per-step NLL (note and duration) in view ``k``: the network on the steps moved by ``k``,
    its note softmax over the outputs that move back into 0..127."""
    note = transpose_pitches(batch["note"], k)[0]
    target = transpose_pitches(batch["target_note"], k)[0]
    nl, dl = model(note, batch["dur"], batch["voice"], batch["n_voices"], batch["metric"], target)
    back = torch.arange(T.N_STEP_NOTE_OUT) - k
    cannot = (torch.arange(T.N_STEP_NOTE_OUT) < T.N_PITCH) & ((back < 0) | (back >= T.N_PITCH))
    lp = F.log_softmax(nl.masked_fill(cannot, float("-inf")), -1).gather(-1, target[..., None])[..., 0]
    return -(lp + F.log_softmax(dl, -1).gather(-1, batch["target_dur"][..., None])[..., 0])


def test_lstm_mixture_nll_is_the_mean_of_the_views_probabilities(tiny_lstm, make_notes):
    batch = _steps(make_notes)
    with torch.no_grad():
        single, logits = tiny_lstm.mixture_nll(batch, views=0)
        nl, dl = tiny_lstm(*(batch[k] for k in KEYS[:6]))
        plain = -(
            F.log_softmax(nl, -1).gather(-1, batch["target_note"][..., None])[..., 0]
            + F.log_softmax(dl, -1).gather(-1, batch["target_dur"][..., None])[..., 0]
        )
        torch.testing.assert_close(single, plain)
        torch.testing.assert_close(logits, nl)
        views = [_view_nll(tiny_lstm, batch, k) for k in view_transpositions(2)]
        mixed, _ = tiny_lstm.mixture_nll(batch, views=2)
    expected = -(torch.logsumexp(-torch.stack(views).double(), 0) - math.log(5))
    torch.testing.assert_close(mixed.double(), expected, atol=2e-5, rtol=1e-5)
    assert (mixed - single).abs().max() > 0.01  # the views do differ


def test_an_lstm_view_that_cannot_transpose_the_history_drops_out(tiny_lstm, make_notes):
    batch = _steps(make_notes, shift_pitch=127 - 60)
    notes = batch["note"][batch["note"] < T.N_PITCH]
    top = int(notes.max())
    assert top >= 126
    with torch.no_grad():
        mixed, _ = tiny_lstm.mixture_nll(batch, views=2)
        assert torch.isfinite(mixed).all()
        first = int(torch.nonzero(batch["note"][0] == top)[0])
        alive = [k for k in view_transpositions(2) if top + k < T.N_PITCH]
        assert len(alive) < 5
        views = {k: _view_nll(tiny_lstm, batch, k)[0, first:] for k in alive}
    later = -(torch.logsumexp(-torch.stack(list(views.values())).double(), 0) - math.log(len(alive)))
    torch.testing.assert_close(mixed[0, first:].double(), later, atol=2e-5, rtol=1e-5)


def test_the_lstm_views_state_equals_the_network_on_the_transposed_music(tiny_lstm, make_notes):
    model = _with_views(tiny_lstm, 1)
    batch = _steps(make_notes, seed=4)
    x = {k: batch[k][0] for k in KEYS}
    with torch.no_grad():
        full = {}
        for k in (0, 1, -1):
            moved = (transpose_pitches(x[a], k)[0] if a in ("note", "target_note") else x[a] for a in KEYS[:6])
            full[k] = model(*(m[None] for m in moved))[0][0]
    state = model.prefill(*(x[a][:9] for a in KEYS[:5]))
    assert state.views == 3 and state.transpositions == (0, 1, -1)
    for t in range(9, 60):
        logits, feats, attn = model.step(*(int(x[a][t]) for a in KEYS[:5]), state)
        for row, k in enumerate((0, 1, -1)):
            torch.testing.assert_close(logits[row], full[k][t], atol=1e-5, rtol=1e-4)
        assert abs(attn.sum() - 1) < 1e-5
    assert bool(state.alive.all())
    model.step(127, 3, 0, 4, 0, state)  # the +1 view cannot sing pitch 127
    assert state.alive.tolist() == [True, False, True]
    assert torch.isinf(state.log_weights()[1]) and float(state.log_weights()[0].exp()) == pytest.approx(0.5)


def test_the_lstm_draw_is_the_views_mixture_with_each_note_moved_back(tiny_lstm, make_notes, argmax_sampler):
    """The first generated step: its note from the views' mean with each view's distribution moved
    back, its duration from the views weighted by the probability each gave that note."""
    model = _with_views(tiny_lstm, 1)
    composer = LSTMComposer(model, {"name": "music-lstm"})
    primer = make_notes(seed=6)[:16]
    steps = composer.generate(primer, n_notes=1, seed=0)
    next(steps)
    seen = argmax_sampler
    # the same step by hand: the state after the primer, then one step of each view
    import gdl_studio.music.generate as G

    pr = G.prepare_primer(primer)
    voice, n_voices = T.assign_voices(pr.grid)
    st = T.encode_steps(pr.grid, voice, n_voices, end_tick=pr.end_tick)
    inp = lstm_inputs(st.note, st.dur, n_voices, pr.bar_ticks)
    state = model.prefill(*(torch.as_tensor(inp[k]) for k in ("note", "dur", "voice", "n_voices", "metric")))
    clock = T.VoiceClock(n_voices, np.full(n_voices, pr.end_tick))
    v, onset = clock.next()
    metric = int(T.metric_index(onset, pr.bar_ticks))
    logits, feats, _ = model.step(int(st.note[-1]), int(st.dur[-1]), v, n_voices, metric, state)
    own = torch.log_softmax(logits, -1)
    mean = torch.zeros(T.N_STEP_NOTE_OUT)
    backs = []
    for row, k in enumerate((0, 1, -1)):
        back = torch.full((T.N_STEP_NOTE_OUT,), float("-inf"))
        for q in range(T.N_PITCH):
            if 0 <= q + k < T.N_PITCH:
                back[q] = own[row, q + k]
        back[T.REST] = own[row, T.REST]
        backs.append(torch.softmax(back, -1))
        mean += backs[-1] / 3
    torch.testing.assert_close(torch.softmax(seen[0], -1), mean, atol=1e-6, rtol=1e-5)
    note = int(seen[0].argmax())
    chosen = transpose_pitches(torch.full((3,), note), torch.tensor([0, 1, -1]))[0]
    weight = torch.stack([b[note] for b in backs])  # each view's probability of the note drawn
    weight = weight / weight.sum()
    dur = torch.softmax(model.duration_logits(feats, chosen), -1)
    torch.testing.assert_close(torch.softmax(seen[1], -1), (weight[:, None] * dur).sum(0), atol=1e-5, rtol=1e-4)


def test_lstm_views_generation_is_reproducible_and_views_0_is_the_network_alone(tiny_lstm, make_notes):
    primer = make_notes(seed=8)[:12]
    alone = LSTMComposer(tiny_lstm, {"name": "music-lstm"})
    ensemble = LSTMComposer(_with_views(tiny_lstm, 1), {"name": "music-lstm"})

    def draw(composer, **kw):
        return [s.note for s in composer.generate(primer, n_notes=10, seed=4, **kw)]

    a = draw(ensemble)
    assert len(a) == 10 and a == draw(ensemble)
    assert a != draw(alone)  # the ensemble is what draws
    assert draw(ensemble, views=0) == draw(alone)
    assert draw(alone, views=1) == a
