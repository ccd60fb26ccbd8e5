"""The two networks: incremental inference equals the full forward pass; they can learn."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from gdl_studio.music import tokens as T
from gdl_studio.music.lstm import AttentionLSTM, LSTMConfig, lstm_inputs
from gdl_studio.music.transformer import MusicTransformer, TransformerConfig


def _piece(make_notes, seed=0, bars=6):
    g = T.quantise(make_notes(bars=bars, seed=seed))
    voice, n = T.assign_voices(g)
    return g, T.encode_steps(g, voice, n), n


def _lstm_tensors(steps, n_voices):
    inp = lstm_inputs(steps.note, steps.dur, n_voices, 48)
    return {k: torch.as_tensor(v) for k, v in inp.items()}


def test_lstm_stepwise_equals_full_sequence(tiny_lstm, make_notes):
    _, steps, n_voices = _piece(make_notes)
    x = _lstm_tensors(steps, n_voices)
    assert len(steps) > 3 * tiny_lstm.config.window  # the attention window slides
    with torch.no_grad():
        full_note, full_dur = tiny_lstm(
            *(x[k][None] for k in ("note", "dur", "voice", "n_voices", "metric", "target_note"))
        )
    state = tiny_lstm.initial_state()
    for t in range(len(steps)):
        logits, feats, attn = tiny_lstm.step(
            int(x["note"][t]), int(x["dur"][t]), int(x["voice"][t]), n_voices, int(x["metric"][t]), state
        )
        dur_logits = tiny_lstm.duration_logits(feats, int(x["target_note"][t]))
        torch.testing.assert_close(logits[0], full_note[0, t], atol=1e-5, rtol=1e-4)  # one row: one view
        torch.testing.assert_close(dur_logits[0], full_dur[0, t], atol=1e-5, rtol=1e-4)
        assert attn.shape == (min(t + 1, tiny_lstm.config.window),)
        assert abs(attn.sum() - 1) < 1e-5


def test_lstm_prefill_then_step_equals_full_sequence(tiny_lstm, make_notes):
    _, steps, n_voices = _piece(make_notes, seed=1)
    x = _lstm_tensors(steps, n_voices)
    with torch.no_grad():
        full_note, _ = tiny_lstm(*(x[k][None] for k in ("note", "dur", "voice", "n_voices", "metric", "target_note")))
    k = 29  # not a multiple of the window: the ring buffer must still line up
    state = tiny_lstm.prefill(*(x[key][:k] for key in ("note", "dur", "voice", "n_voices", "metric")))
    for t in range(k, len(steps)):
        logits, _, _ = tiny_lstm.step(
            int(x["note"][t]), int(x["dur"][t]), int(x["voice"][t]), n_voices, int(x["metric"][t]), state
        )
        torch.testing.assert_close(logits[0], full_note[0, t], atol=1e-5, rtol=1e-4)


def test_lstm_attention_is_the_books_alignment(tiny_lstm):
    h = torch.randn(20, tiny_lstm.config.hidden)
    weights = tiny_lstm.attention_weights(h)
    ctx = tiny_lstm.windowed_context(h[None])[0]
    torch.testing.assert_close(weights @ h, ctx, atol=1e-5, rtol=1e-4)
    e = torch.tanh(tiny_lstm.align(h)).squeeze(-1)
    w = tiny_lstm.config.window
    expected = torch.softmax(e[20 - w :], 0)  # last row: softmax of tanh(Dense1(h)) over the window
    torch.testing.assert_close(weights[-1, 20 - w :], expected, atol=1e-6, rtol=1e-5)
    assert torch.all(weights[-1, : 20 - w] == 0)


def _event_tensors(g, bar_ticks=48):
    from gdl_studio.music.transformer import event_arrays

    ev = T.encode_note_events(g)
    arr = event_arrays({k: getattr(ev, k) for k in ("shift", "pitch", "dur", "vel", "time")}, bar_ticks)
    return {k: torch.as_tensor(v) for k, v in arr.items()}


def _heads(model, h, x, i):
    """All head outputs at position(s) ``i`` given the true next event."""
    s, m, p = x["tg_shift"][i], x["tg_metric"][i], x["tg_pitch"][i]
    return (model.shift_logits(h), model.pitch_logits(h, s, m), model.dur_logits(h, s, m, p))


def test_kv_cache_equals_full_recompute(tiny_transformer, make_notes):
    g, _, _ = _piece(make_notes, seed=2)
    x = _event_tensors(g)
    n = tiny_transformer.config.max_len
    ins = [x[f"in_{k}"][:n] for k in ("shift", "pitch", "dur", "vel", "metric")]
    with torch.no_grad():
        full = tiny_transformer(*(t[None] for t in ins))[0]
        full_heads = [_heads(tiny_transformer, full[i], x, i) for i in range(n)]
    cache = tiny_transformer.new_cache()
    h, attn = tiny_transformer.prefill(*(t[:7] for t in ins), cache)
    torch.testing.assert_close(h[0], full[6], atol=1e-4, rtol=1e-4)
    assert attn.shape == (7,)
    for i in range(7, n):
        h, attn = tiny_transformer.step(*(int(t[i]) for t in ins), cache)
        torch.testing.assert_close(h[0], full[i], atol=1e-4, rtol=1e-4)
        with torch.no_grad():
            for a, b in zip(_heads(tiny_transformer, h[0], x, i), full_heads[i]):
                torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
        assert attn.shape == (i + 1,) and abs(attn.sum() - 1) < 1e-5


def test_kv_cache_slides_past_the_context(tiny_transformer):
    c = tiny_transformer.config
    cache = tiny_transformer.new_cache()
    tiny_transformer.prefill(*(torch.tensor([v]) for v in (0, T.EV_BOS, T.DUR_NONE, T.VEL_NONE, 0)), cache)
    for i in range(c.max_len + 10):
        h, attn = tiny_transformer.step(i % 3, 60 + i % 12, 11, T.VEL_NONE, i % 48, cache)
        assert torch.isfinite(h).all()
    assert cache.filled == c.max_len and attn.shape == (c.max_len,)
    assert cache.next_pos == c.max_len + 11


def _overfit(model, loss_fn, steps=60):
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


def test_lstm_loss_goes_down(make_notes):
    torch.manual_seed(0)
    model = AttentionLSTM(LSTMConfig(hidden=32, layers=2, window=8, dropout=0.0))
    _, steps, n_voices = _piece(make_notes, seed=4, bars=3)
    x = {k: v[None] for k, v in _lstm_tensors(steps, n_voices).items()}

    def loss_fn():
        note_logits, dur_logits = model(x["note"], x["dur"], x["voice"], x["n_voices"], x["metric"], x["target_note"])
        return F.cross_entropy(note_logits[0], x["target_note"][0]) + F.cross_entropy(dur_logits[0], x["target_dur"][0])

    losses = _overfit(model, loss_fn)
    assert losses[-1] < 0.3 * losses[0], losses[::10]


def test_transformer_loss_goes_down(make_notes):
    torch.manual_seed(0)
    model = MusicTransformer(
        TransformerConfig(
            d_model=32, layers=2, heads=2, d_ff=64, max_len=128, head_hidden=32, attr_embedding=8, dropout=0.0
        )
    )
    g, _, _ = _piece(make_notes, seed=5, bars=3)
    x = {k: v[None] for k, v in _event_tensors(g).items()}
    target = {k: x[f"tg_{k}"] for k in ("shift", "pitch", "dur", "vel", "metric")}

    def loss_fn():
        h = model(x["in_shift"], x["in_pitch"], x["in_dur"], x["in_vel"], x["in_metric"])
        return model.event_nll(h, target)[0].mean()

    losses = _overfit(model, loss_fn)
    assert losses[-1] < 0.3 * losses[0], losses[::10]


def test_event_nll_is_the_chain_rule(tiny_transformer, make_notes):
    g, _, _ = _piece(make_notes, seed=6, bars=2)
    x = {k: v[None] for k, v in _event_tensors(g).items()}
    target = {k: x[f"tg_{k}"] for k in ("shift", "pitch", "dur", "vel", "metric")}
    with torch.no_grad():
        h = tiny_transformer(x["in_shift"], x["in_pitch"], x["in_dur"], x["in_vel"], x["in_metric"])
        nll, _ = tiny_transformer.event_nll(h, target)
        i = 3
        s, m, p, d = (target[k][0, i] for k in ("shift", "metric", "pitch", "dur"))
        lp = (
            F.log_softmax(tiny_transformer.shift_logits(h[0, i]), -1)[s]
            + F.log_softmax(tiny_transformer.pitch_logits(h[0, i], s, m), -1)[p]
            + F.log_softmax(tiny_transformer.dur_logits(h[0, i], s, m, p), -1)[d]
        )
    torch.testing.assert_close(nll[0, i], -lp, atol=1e-5, rtol=1e-5)


def test_position_offset_changes_nothing_but_positions(tiny_transformer):
    ins = [
        torch.tensor([[0, 0, 4]]),
        torch.tensor([[T.EV_BOS, 60, 64]]),
        torch.tensor([[T.DUR_NONE, 11, 11]]),
        torch.full((1, 3), T.VEL_NONE),
        torch.zeros(1, 3, dtype=torch.long),
    ]
    with torch.no_grad():
        a = tiny_transformer(*ins)
        b = tiny_transformer(*ins, torch.tensor([0]))
        c = tiny_transformer(*ins, torch.tensor([37]))
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_models_fit_the_size_budget_at_default_size(kind):
    model = AttentionLSTM() if kind == "lstm" else MusicTransformer()
    n = sum(p.numel() for p in model.parameters())
    assert n * 2 < 15e6, f"{n} parameters do not fit 15 MB in fp16"


def test_time_embedding_cache_equals_full_recompute_and_time_matters(make_notes):
    """With ``time_embedding`` the onset ticks enter the input (counted from the first event
    given): prefill + step give the forward pass's hidden states, wherever the sequence starts
    in time; the same events at other onsets give other states."""
    from dataclasses import replace

    from gdl_studio.music.transformer import MusicTransformer, TransformerConfig

    torch.manual_seed(3)
    cfg = replace(
        TransformerConfig(
            d_model=32, layers=2, heads=2, d_ff=48, max_len=48, pos_limit=160, head_hidden=24, attr_embedding=8
        ),
        dropout=0.0,
        time_embedding=True,
    )
    model = MusicTransformer(cfg).eval()
    assert float(model.time_proj.weight.abs().sum()) == 0.0  # starts neutral (warm starts)
    torch.nn.init.normal_(model.time_proj.weight, std=0.3)
    g, _, _ = _piece(make_notes, seed=4)
    x = _event_tensors(g)
    n = 30
    ins = [x[f"in_{k}"][:n] for k in ("shift", "pitch", "dur", "vel", "metric")]
    time = x["in_time"][:n] + 960  # a window that starts later in the piece: only differences count
    with torch.no_grad():
        full = model(*(t[None] for t in ins), time=time[None])[0]
        moved = model(*(t[None] for t in ins), time=(time * 2)[None])[0]
    assert (full - moved).abs().max() > 1e-3
    cache = model.new_cache()
    h, _ = model.prefill(*(t[:7] for t in ins), cache, time=time[:7])
    torch.testing.assert_close(h[0], full[6], atol=1e-4, rtol=1e-4)
    for i in range(7, n):
        h, _ = model.step(*(int(t[i]) for t in ins), cache, time=int(time[i]))
        torch.testing.assert_close(h[0], full[i], atol=1e-4, rtol=1e-4)
