"""Round 2 (issue #15): fill-in-the-middle events, the infilling model and generator, and
``gdl-studio infill``."""

from __future__ import annotations

import math

import mido
import numpy as np
import pytest
import torch

from gdl_studio.cli import main
from gdl_studio.music import tokens as T
from gdl_studio.music.generate import LSTMComposer, TransformerComposer, prepare_fill
from gdl_studio.music.notes import Note, Score
from gdl_studio.music.transformer import MusicTransformer, TransformerConfig


@pytest.mark.parametrize("seed", range(5))
def test_segment_encoding_matches_the_stream_encoding(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    g = T.GridNotes.from_arrays(rng.integers(30, 90, n), np.sort(rng.integers(0, 800, n)), rng.integers(0, T.N_DUR, n))
    ev = T.encode_note_events(g)
    seg = T.encode_segment(g.pitch, g.start, g.dur, None, 0)
    for k in ("shift", "pitch", "dur", "time"):
        assert getattr(ev, k)[1:].tolist() == seg[k].tolist()


def test_fim_psm_layout():
    pre = T.encode_segment(np.array([60, 64]), np.array([0, 12]), np.array([11, 11]), None, 0)
    mid = (np.array([67]), np.array([80]), np.array([5]), np.array([T.VEL_NONE]))
    suf = (np.array([62, 65]), np.array([250, 262]), np.array([5, 5]), np.full(2, T.VEL_NONE))
    f = T.fim_arrange(pre, suf, mid, 48, 240)
    seq, given, mid_index = f["events"], f["given"], f["mid_index"]
    p = seq["pitch"].tolist()
    # prefix · HOLE@A · (GAPs) SUF@B · suffix · MID@A · middle · (GAPs) END@B
    assert p[:2] == [60, 64] and p[2] == T.HOLE and seq["time"][2] == 48
    i_suf = p.index(T.SUF)
    assert seq["time"][i_suf] == 240 and all(x == T.GAP for x in p[3:i_suf])
    assert p[i_suf + 1 : i_suf + 3] == [62, 65] and seq["time"][i_suf + 1] == 250
    assert p[mid_index] == T.MID and seq["time"][mid_index] == 48 and mid_index == i_suf + 3
    assert p[mid_index + 1] == 67 and seq["shift"][mid_index + 1] == 80 - 48
    assert p[-1] == T.END_IN and seq["time"][-1] == 240
    assert (np.diff(seq["time"][:mid_index]) >= 0).all() and (np.diff(seq["time"][mid_index:]) >= 0).all()
    assert (seq["shift"] <= T.MAX_SHIFT).all()
    # the structural events are given, the music is scored
    assert given.tolist() == [
        x in (T.HOLE, T.SUF, T.MID) or (T.HOLE in p[:i] and i < i_suf and x == T.GAP) for i, x in enumerate(p)
    ]
    assert T.target_pitch(np.array([60, T.GAP, T.EV_BOS, T.HOLE, T.SUF, T.MID, T.END_IN])).tolist() == [
        60,
        T.GAP,
        T.GAP,
        T.GAP,
        T.GAP,
        T.GAP,
        T.END,
    ]


def test_spm_layout_puts_the_suffix_first_and_the_middle_right_after_the_prefix():
    pre = T.encode_segment(np.array([60, 64]), np.array([0, 12]), np.array([11, 11]), None, 0)
    mid = (np.array([67]), np.array([80]), np.array([5]), np.array([T.VEL_NONE]))
    suf = (np.array([62, 65]), np.array([250, 262]), np.array([5, 5]), np.full(2, T.VEL_NONE))
    f = T.fim_arrange(pre, suf, mid, 48, 240, order="spm")
    seq, given, mid_index = f["events"], f["given"], f["mid_index"]
    p = seq["pitch"].tolist()
    # SUF@B · suffix · MID@P · prefix · HOLE@A · middle · END@B
    assert p[0] == T.SUF and seq["time"][0] == 240 and seq["shift"][0] == 0
    assert p[1:3] == [62, 65] and seq["time"][1] == 250 and seq["shift"][1] == 10 and f["suffix_index"] == 1
    assert p[3] == T.MID and seq["time"][3] == 0  # time goes back to where the prefix starts
    assert f["prefix_index"] == 4 and p[4:6] == [60, 64] and seq["shift"][4:6].tolist() == [0, 12]
    assert p[mid_index] == T.HOLE and seq["time"][mid_index] == 48 and mid_index == 6
    assert p[mid_index + 1] == 67 and seq["shift"][mid_index + 1] == 80 - 48
    assert p[-1] == T.END_IN and seq["time"][-1] == 240
    assert (seq["shift"] <= T.MAX_SHIFT).all() and (np.diff(seq["time"][3:]) >= 0).all()
    assert given.tolist() == [x in (T.SUF, T.MID, T.HOLE) for x in p]
    # the same events as "psm", rearranged; without a middle the sequence ends at HOLE@A
    psm = T.fim_arrange(pre, suf, mid, 48, 240)["events"]
    music = lambda s: sorted(zip(s["pitch"].tolist(), s["time"].tolist()))  # noqa: E731
    assert [x for x in music(seq) if x[0] < T.N_PITCH] == [x for x in music(psm) if x[0] < T.N_PITCH]
    start = T.fim_arrange(pre, suf, None, 48, 240, with_end=False, order="spm")
    assert start["events"]["pitch"][-1] == T.HOLE and start["mid_index"] == len(start["events"]["pitch"]) - 1
    with pytest.raises(ValueError):
        T.fim_arrange(pre, suf, mid, 48, 240, order="mps")


@pytest.mark.parametrize("rope", [False, True])
def test_cached_steps_match_the_full_pass(rope):
    torch.manual_seed(0)
    m = MusicTransformer(
        TransformerConfig(
            d_model=32,
            layers=2,
            heads=2,
            d_ff=48,
            max_len=16,
            pos_limit=64,
            head_hidden=16,
            attr_embedding=8,
            dropout=0.0,
            infill=True,
            n_styles=7,
            rope=rope,
        )
    ).eval()
    n = 12
    sh, p = torch.randint(0, 49, (n,)), torch.randint(0, T.N_EV_PITCH_IN_FIM, (n,))
    d, v, me = torch.randint(0, T.N_DUR, (n,)), torch.full((n,), T.VEL_NONE), torch.randint(0, 48, (n,))
    with torch.no_grad():
        h = m(sh[None], p[None], d[None], v[None], me[None], style=torch.tensor([3]))[0]
    cache = m.new_cache()
    h0, _ = m.prefill(sh[:5], p[:5], d[:5], v[:5], me[:5], cache, style=3)
    assert torch.allclose(h0, h[4], atol=1e-5)
    for i in range(5, n):
        hi, _ = m.step(sh[i], p[i], d[i], v[i], me[i], cache, style=3)
        assert torch.allclose(hi, h[i], atol=1e-5)


def test_training_windows_mix_fim_and_left_to_right(corpus_path):
    from gdl_studio.music.corpus import load_corpus
    from gdl_studio.music.train import EventData

    pieces = load_corpus(corpus_path).split("train")
    data = EventData(pieces, 64, False, 256, fim_rate=0.5, n_styles=7, style_dropout=0.0)
    rng = np.random.default_rng(0)
    arrs, mask = data.batch(data.windows(rng) * 4, rng)
    fim_rows = [b for b in range(len(mask)) if (arrs["in_pitch"][b] == T.MID).any()]
    assert 0 < len(fim_rows) < len(mask)
    for b in fim_rows:
        inp, tgt = arrs["in_pitch"][b], arrs["tg_pitch"][b]
        hole, suf, mid = (int(np.nonzero(inp == x)[0][0]) for x in (T.HOLE, T.SUF, T.MID))
        assert hole < suf < mid
        assert not mask[b, hole - 1] and not mask[b, suf - 1] and not mask[b, mid - 1]  # sentinels are not scored
        n = int(mask[b].sum() + (~mask[b]).sum())
        assert T.END in tgt[mid:n].tolist() and (tgt < T.N_EV_PITCH_OUT_FIM).all()
    assert "style" in arrs and "offset" in arrs


def test_spm_training_windows_read_the_suffix_first(corpus_path):
    from gdl_studio.music.corpus import load_corpus
    from gdl_studio.music.train import EventData

    pieces = load_corpus(corpus_path).split("train")
    data = EventData(pieces, 64, False, 256, fim_rate=1.0, n_styles=7, fim_order="spm")
    rng = np.random.default_rng(1)
    arrs, mask = data.batch(data.windows(rng) * 4, rng)
    fim_rows = [b for b in range(len(mask)) if (arrs["in_pitch"][b] == T.HOLE).any()]
    assert fim_rows
    for b in fim_rows:
        inp, tgt = arrs["in_pitch"][b], arrs["tg_pitch"][b]
        assert inp[0] == T.SUF
        mid, hole = (int(np.nonzero(inp == x)[0][0]) for x in (T.MID, T.HOLE))
        assert mid < hole and not mask[b, mid - 1] and not mask[b, hole - 1]
        n = int(mask[b].sum() + (~mask[b]).sum())
        assert T.END in tgt[hole:n].tolist()


def test_spm_model_fills_only_the_gap(tiny_infill_transformer):
    cfg = TransformerConfig.from_dict({**tiny_infill_transformer.config.to_dict(), "fim_order": "spm"})
    torch.manual_seed(2)
    composer = TransformerComposer(MusicTransformer(cfg).eval(), {"name": "music-transformer"})
    score = _piece(bars=12)
    steps = list(composer.infill(score, 3, 6, seed=4))
    assert steps and all(12.0 <= s.note.start < 24.0 for s in steps)
    # the attention's notes are the kept prefix and suffix notes (numbered prefix first) or new ones
    kept = len([n for n in score.notes if not 12.0 <= n.start < 24.0])
    assert all(((a >= -1) & (a < kept + len(steps))).all() for a in (s.attention_notes for s in steps))


def _piece(bars=8, seed=3):
    from music_notes_factory import chorale_like_notes

    return Score(notes=chorale_like_notes(bars=bars, seed=seed))


def test_infill_fills_only_the_gap_and_keeps_the_rest(tiny_infill_transformer):
    composer = TransformerComposer(tiny_infill_transformer, {"name": "music-transformer"})
    score = _piece()
    steps = list(composer.infill(score, 2, 4, seed=5))
    assert steps and all(8.0 <= s.note.start < 16.0 for s in steps)
    assert [s.index for s in steps] == list(range(len(steps)))
    again = [(s.note.pitch, s.note.start) for s in composer.infill(score, 2, 4, seed=5)]
    assert again == [(s.note.pitch, s.note.start) for s in steps]
    out = composer.filled(score, 2, 4, seed=5)
    outside = [n for n in score.notes if not 8.0 <= n.start < 16.0]
    assert sorted(outside, key=lambda n: (n.start, n.pitch)) == sorted(
        [n for n in out.notes if n.track <= 3], key=lambda n: (n.start, n.pitch)
    )
    assert len(out.notes) == len(outside) + len(steps)


@pytest.mark.parametrize(
    "bars, message",
    [
        ((0, 0), "bad bar range"),
        ((20, 22), "outside the piece"),
        ((0, 2), "nothing before bar 1"),
        ((7, 9), "nothing after bar 9"),
    ],
)
def test_infill_bad_gaps(tiny_infill_transformer, bars, message):
    composer = TransformerComposer(tiny_infill_transformer)
    with pytest.raises(ValueError, match=message):
        composer.infill(_piece(), *bars)


def test_models_that_cannot_fill_say_so(tiny_lstm, tiny_transformer):
    for composer in (LSTMComposer(tiny_lstm), TransformerComposer(tiny_transformer)):
        with pytest.raises(ValueError, match="cannot fill gaps"):
            composer.infill(_piece(), 2, 4)


def test_prepare_fill_splits_by_onset():
    score = Score(notes=[Note(60, 0, 4), Note(62, 3.5, 2), Note(64, 4, 1), Note(65, 7.9, 1), Note(67, 8, 1)])
    fc = prepare_fill(score, 1, 2)
    assert [n.pitch for n in fc.kept] == [60, 62, 67]  # 62 starts before bar 2 and sounds into it: kept
    assert (fc.a_tick, fc.b_tick) == (48, 96)


def _ticks(path):
    """(track name, tick, pitch) of every note-on, straight from the file."""
    out = []
    for tr in mido.MidiFile(str(path)).tracks:
        t = 0
        for msg in tr:
            t += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                out.append((t, msg.note))
    return sorted(out)


def test_cli_infill_keeps_every_note_outside_the_range(use_tiny_models, write_mid, tmp_path, capsys):
    notes = _piece(bars=8, seed=4).notes
    src = write_mid("in.mid", notes, tpb=96)
    out = tmp_path / "out.mid"
    assert main(["infill", str(src), "--bars", "3:5", "-o", str(out), "--seed", "3"]) == 0
    assert "filled into bars 3:5" in capsys.readouterr().err
    before = _ticks(src)
    after = _ticks(out)
    outside = [(t, p) for t, p in before if not 2 * 4 * 96 <= t < 4 * 4 * 96]
    new = [x for x in after if x not in outside]
    assert all(x in after for x in outside)
    assert mido.MidiFile(str(out)).ticks_per_beat == 96
    assert all(2 * 4 * 96 <= t < 4 * 4 * 96 for t, _ in new)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bars", "1:2"], "nothing before bar 1"),
        (["--bars", "30:32"], "outside the piece"),
        (["--bars", "8:9"], "nothing after"),
        (["--bars", "3:5", "--key", "C", "--range", "61:61"], "impossible constraints"),
        (["--bars", "3:5", "--chords", "C H7 F"], "chord symbol 'H7'"),
        (["--bars", "5:3"], "--bars"),
        (["--bars", "x"], "--bars"),
        (["--bars", "3:5", "--model", "lstm"], "cannot fill gaps"),
    ],
)
def test_cli_infill_bad_input_exit_2_no_output(use_tiny_models, write_mid, tmp_path, capsys, args, message):
    src = write_mid("in.mid", _piece(bars=8, seed=4).notes)
    out = tmp_path / "out.mid"
    code = main(["infill", str(src), "-o", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_the_shipped_models_load_with_this_code():
    """Whatever is in models/ (the round-1 weights until round 2 replaces them) loads and generates."""
    from gdl_studio.core import paths
    from gdl_studio.core.registry import Registry
    from gdl_studio.music.models_io import load_music_model

    root = paths.ROOT_DIR / "models"
    if not (root / "music-transformer" / "card.json").is_file():
        pytest.skip("no shipped music models in this checkout")
    for name in ("music-lstm", "music-transformer"):
        composer = load_music_model(name, registry=Registry([root]))
        primer = _piece(bars=2).notes
        assert len(list(composer.generate(primer, n_notes=4, seed=0))) == 4
        if composer.can_infill:
            assert list(composer.infill(_piece(bars=6).notes, 2, 3, seed=0, max_notes=8)) is not None


def test_infill_and_left_to_right_score_the_same_gap_notes(corpus_path, tiny_infill_transformer):
    """The infill figure scores the gap's own events (not the END chain that closes the gap),
    the left-to-right figure the same notes' events: the two are comparable note for note."""
    from gdl_studio.music.corpus import load_corpus
    from gdl_studio.music.evaluate import heldout_gaps, infill_case, score_infill

    pieces = load_corpus(corpus_path).split("test")
    gaps = heldout_gaps(pieces)
    assert gaps
    for g in gaps:
        c = infill_case(pieces[g.piece], g.a_tick, g.b_tick, 512)
        fim_span = c["fim"]["pitch"][c["fim_first"] : c["fim_last"]]
        l2r_span = c["l2r"]["pitch"][c["l2r_first"] :]
        assert int((fim_span < T.N_PITCH).sum()) == int((l2r_span < T.N_PITCH).sum()) == c["notes"]
        assert c["fim"]["pitch"][c["fim_last"] :].tolist()[-1] == T.END_IN  # the END chain is left out
    r = score_infill(tiny_infill_transformer, pieces, gaps)
    assert r["notes"] > 0 and np.isfinite(r["infill_nats_per_note"]) and r["infill_end_nats_per_gap"] > 0
    assert len(r["infill_by_part"]) == len(r["l2r_by_part"]) == 5


def test_gap_fifths_pool_every_event_once():
    """by_part: each gap's events split into fifths in order (a 7-event gap: 2,1,2,1,1 — the
    remainder spread as integer division gives it), pooled over gaps; every event counted once."""
    from gdl_studio.music.evaluate import _by_part

    a = np.arange(7, dtype=float)  # part of event i: (5 i) // 7 → 0 0 1 2 2 3 4
    b = np.full(5, 10.0)  # one event per part
    parts = _by_part([a, b])
    assert parts == [(0 + 1 + 10) / 3, (2 + 10) / 2, (3 + 4 + 10) / 3, (5 + 10) / 2, (6 + 10) / 2]
    assert np.isnan(_by_part([np.zeros(2)])).sum() == 3  # a 2-event gap fills two of the five parts


def test_warm_start_from_a_left_to_right_model_keeps_its_outputs(tiny_transformer, tmp_path):
    """--init-weights: an infilling, style-aware model started from a round-1 (left-to-right, no
    styles) model computes the same hidden states on a left-to-right sequence; the grown tables
    keep the old rows."""
    from dataclasses import replace

    from safetensors.torch import save_file

    from gdl_studio.core.errors import UserError
    from gdl_studio.music.train import warm_start

    save_file({k: v.contiguous() for k, v in tiny_transformer.state_dict().items()}, str(tmp_path / "m.safetensors"))
    cfg = replace(tiny_transformer.config, infill=True, n_styles=7)
    torch.manual_seed(5)
    warm = MusicTransformer(cfg).eval()
    line = warm_start(warm, tmp_path)
    assert "grown" in line and "pitch_emb.weight" in line
    n = 20
    rng = np.random.default_rng(0)
    args = [torch.from_numpy(rng.integers(0, hi, (1, n))) for hi in (T.MAX_SHIFT + 1, T.N_PITCH, T.N_DUR, 1, 16)]
    with torch.no_grad():
        h_old = tiny_transformer(*args)
        h_new = warm(*args, style=torch.tensor([3]))
    assert torch.allclose(h_old, h_new, atol=1e-5)
    old_rows = tiny_transformer.state_dict()["pitch_emb.weight"]
    assert torch.equal(warm.state_dict()["pitch_emb.weight"][: old_rows.shape[0]], old_rows)
    wider = MusicTransformer(replace(cfg, d_model=48))
    with pytest.raises(UserError, match="same shape"):
        warm_start(wider, tmp_path)


def test_two_view_draw_is_the_mixture_of_the_compound_events(tiny_infill_transformer, argmax_sampler):
    """With a second view, each attribute is drawn from the views' mixture under their
    posterior weights: the pitch offered after a drawn shift is Σ_v w_v p_v(s) p_v(pitch | s)
    normalised — the compound mixture's conditional, not the mix of the two conditionals."""
    import gdl_studio.music.generate as G

    model = tiny_infill_transformer
    composer = TransformerComposer(model, {"name": "music-transformer"})
    torch.manual_seed(0)
    h1, h2 = 4 * torch.randn(model.config.d_model), 4 * torch.randn(model.config.d_model)
    seen = argmax_sampler
    w2 = 0.3
    rng = torch.Generator().manual_seed(0)
    opts = G.SamplingOptions()
    rows = G._Rows.of(
        model.n_pitch_out,
        (h1[None], torch.tensor([math.log1p(-w2)]), (0,)),
        (h2[None], torch.tensor([math.log(w2)]), (0,)),
    )
    s, p, d, _, m = composer._decide(rows, 0, 0, 48, opts, rng)
    ls = [torch.log_softmax(model.shift_logits(h).float(), -1) for h in (h1, h2)]
    assert torch.allclose(seen[0].exp(), (1 - w2) * ls[0].exp() + w2 * ls[1].exp(), atol=1e-6)
    s_t, m_t = torch.tensor(s), torch.tensor(m)
    lp = [torch.log_softmax(model.pitch_logits(h, s_t, m_t).float(), -1) for h in (h1, h2)]
    joint = (1 - w2) * ls[0][s].exp() * lp[0].exp() + w2 * ls[1][s].exp() * lp[1].exp()
    assert torch.allclose(torch.softmax(seen[1], -1), joint / joint.sum(), atol=1e-6)
    naive = (1 - w2) * lp[0].exp() + w2 * lp[1].exp()
    assert not torch.allclose(torch.softmax(seen[1], -1), naive, atol=1e-3)  # the posterior matters here


def test_a_two_view_fill_mixes_from_its_first_note_and_keeps_the_rest(tiny_infill_transformer, monkeypatch):
    """A card with fill.fim_weight: the left-to-right view joins after the gap's first note
    (before it the infilling view decides alone), every step after that is a mixture, and the
    fill still stays inside the gap."""
    composer = TransformerComposer(tiny_infill_transformer, {"name": "music-transformer", "fill": {"fim_weight": 0.7}})
    assert composer.fill_fim_weight == 0.7
    assert TransformerComposer(tiny_infill_transformer, {"fill": {"fim_weight": 1.5}}).fill_fim_weight == 1.0
    calls: list[tuple[bool, float | None]] = []
    decide = TransformerComposer._decide

    def spy(self, rows, t, *args):
        mixed = rows.h.shape[0] == 2
        calls.append((mixed, float(rows.logw[1].exp()) if mixed else None))
        return decide(self, rows, t, *args)

    monkeypatch.setattr(TransformerComposer, "_decide", spy)
    score = _piece()
    steps = list(composer.infill(score, 2, 4, seed=5))
    assert steps and all(8.0 <= s.note.start < 16.0 for s in steps)
    assert calls[0] == (False, None)
    first_note_call = next(i for i, (mixed, _) in enumerate(calls) if mixed)
    assert all(mixed and abs(w - 0.3) < 1e-6 for mixed, w in calls[first_note_call:])


def test_fill_score_mixes_the_views_after_the_first_note():
    """fill_event_nll: the infilling view's NLL up to and including the first note, then
    -log(w e^-a + (1 - w) e^-b) of the aligned events; w = 1 is the infilling view alone."""
    from gdl_studio.music.evaluate import fill_event_nll

    gap = T.GAP
    case = {
        "fim": {"pitch": np.array([T.HOLE, 60, 62, gap, 64])},
        "fim_first": 1,
        "fim_last": 5,
        "l2r": {"pitch": np.array([55, gap, gap, 60, 62, gap, 64])},
        "l2r_first": 1,
    }
    a = np.array([1.0, 2.0, 3.0, 4.0])
    b = np.array([9.0, 9.0, 9.0, 0.5, 3.5, 1.0])
    w = 0.7
    got = fill_event_nll(case, a, b, w)
    tail = -np.log(w * np.exp(-a[1:]) + (1 - w) * np.exp(-b[3:]))
    assert np.allclose(got, np.concatenate([[1.0], tail]))
    assert fill_event_nll(case, a, b, 1.0) is a
    case["l2r"]["pitch"][-1] = 65
    with pytest.raises(ValueError, match="disagree"):
        fill_event_nll(case, a, b, w)


def test_warm_start_into_a_deeper_model_starts_where_the_old_one_was(tiny_infill_transformer, tmp_path):
    """--init-weights with more layers: the new blocks start as the identity (their output
    projections at zero, the rest random), so the deeper model computes the old hidden states
    and still has gradients to learn with."""
    from dataclasses import replace

    from safetensors.torch import save_file

    from gdl_studio.music.train import warm_start

    old = tiny_infill_transformer
    save_file({k: v.contiguous() for k, v in old.state_dict().items()}, str(tmp_path / "m.safetensors"))
    layers = old.config.layers
    torch.manual_seed(7)
    deep = MusicTransformer(replace(old.config, layers=layers + 2)).eval()
    warm_start(deep, tmp_path)
    extra = deep.block_list[layers]
    assert not extra.proj.weight.any() and not extra.ff_linears[1].weight.any()
    assert extra.qkv.weight.abs().sum() > 0 and extra.ff_linears[0].weight.abs().sum() > 0
    rng = np.random.default_rng(1)
    args = [torch.from_numpy(rng.integers(0, hi, (2, 24))) for hi in (T.MAX_SHIFT + 1, T.N_PITCH, T.N_DUR, 1, 16)]
    style = torch.tensor([1, 4])
    with torch.no_grad():
        assert torch.allclose(old(*args, style=style), deep(*args, style=style), atol=1e-5)
    deep.train()
    deep(*args, style=style).square().sum().backward()
    assert extra.ff_linears[1].weight.grad.abs().sum() > 0
