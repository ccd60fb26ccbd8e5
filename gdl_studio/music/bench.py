"""``gdl-studio bench music``: the two music models and an n-gram baseline on the test pieces.

Figures (JSON keys are ``<model>.<figure>``, models ``lstm``, ``transformer``, ``ngram`` — the
n-gram on the Transformer's event tokens — and ``ngram_steps`` — on the LSTM's steps):

- ``nats_per_note``: total NLL of each test piece over its number of notes (all pieces pooled)
- ``next_note_accuracy``: top-1 pitch of the next note given the true history
- ``latency_ms.first_note``: time to the first generated note after a 256-note primer
  (median of 5 runs, one CPU thread: ``torch.set_num_threads(1)``)
- ``latency_ms.p50`` / ``.p99``: time per generated note after the first (one thread)
- ``real_time_factor_120bpm``: seconds of music produced per second of compute at 120 bpm
- ``pitch_class_correlation``: Pearson correlation of the duration-weighted pitch-class
  histogram of a 64-note continuation with its 64-note primer (mean over test pieces);
  ``reference.pitch_class_correlation`` is the same for the pieces' real continuations
- ``peak_rss_mb.generation``: peak resident memory after loading the models and generating
  (what the app pays); ``peak_rss_mb.total``: after scoring and the n-gram tables too

Round 2 (issue #15):

- ``transformer.nats_per_note`` is on the round-1 test split, unchanged (each piece told its
  style where the model knows styles; ``nats_per_note_unknown_style``: told nothing), under the
  model's transposition ensemble ``transformer.transpose_views`` (the card's: a radius R, or
  the transpositions chosen by ``scripts/music_views.py``; ``transformer.views``: the
  transpositions either way; every Transformer figure here, latency included, is of that
  ensemble, as the app generates with it); ``transformer.nats_per_note_single_view``: the
  network alone. The LSTM's figures are likewise those of its own ensemble
  (``lstm.transpose_views``, ``lstm.views``, ``lstm.nats_per_note_single_view``)
- ``infill.nats_per_note``: the notes of one held-out 2–4-bar gap per test piece (fixed by the
  piece id), filled given the music on both sides as the app fills (the gap's own events; the
  two-view mixture of the card's ``fill.fim_weight``, ``infill.fim_weight``: see
  ``evaluate.fill_event_nll``); ``infill.l2r_nats_per_note``: the same notes scored left to
  right given the same music before the gap only (lower is better; infilling should be lower);
  ``infill.fim_nats_per_note``: the infilling view alone; ``infill.no_suffix_nats_per_note``:
  the app's fill with the music after the gap removed (the control: what the suffix is worth);
  ``infill.by_part.infill_nats_per_event`` / ``.l2r_nats_per_event``: the fill and left to
  right per event in each fifth of the gaps (first to last), where the music after the gap helps
- ``constraints.satisfied``: the share of generated notes that satisfy their constraints,
  checked independently of the sampler (continue with both models and infill, three steering
  scenarios on test primers: the primer's key and range; the primer's chords and ≤ 3 voices;
  ≤ 2 notes per beat, ≤ 2 voices, range G3–G5); ``constraints.nats_cost``: the mean, per
  generated note, of ``-log`` of the probability the masks left (0: the model obeyed anyway)
- ``styles.<style>.<model>``: nats per note on each newer style's held-out split

A model whose weights are not installed is skipped with a message (``<model>.available`` false).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from gdl_studio.core import bench as B

if TYPE_CHECKING:
    from gdl_studio.music.notes import Note

BOOK_YARDSTICK = 3.60
PRIMER_NOTES = 256
HIST_PRIMER = 64
HIST_NOTES = 64
HIST_PIECES = 8


def _piece_notes(piece) -> list:
    return piece.grid_notes().to_notes()


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def latency(composer, primer_notes, beats_per_bar: int, n_notes: int, runs: int = 5) -> dict:
    """Time to first note (median of ``runs``), per-note percentiles and real-time factor (from
    one full run of ``n_notes``), all on one CPU thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        firsts: list[float] = []
        per_note: list[float] = []
        rtf = float("nan")
        primer_end = max(n.end for n in primer_notes)
        for r in range(runs):
            wanted = n_notes if r == 0 else 1
            t0 = last = time.perf_counter()
            notes: list[Note] = []
            for step in composer.generate(primer_notes, n_notes=wanted, seed=r, beats_per_bar=beats_per_bar):
                now = time.perf_counter()
                (per_note if notes else firsts).append(now - last)
                notes.append(step.note)
                last = now
            if r == 0 and notes:
                total = time.perf_counter() - t0
                rtf = (max(n.end for n in notes) - primer_end) * 0.5 / total  # 120 bpm: 0.5 s per beat
        ms = B.percentiles([x * 1000.0 for x in per_note])
        return {
            "first_note": float(np.median(firsts)) * 1000.0 if firsts else float("nan"),
            "p50": ms["p50"],
            "p99": ms["p99"],
            "max": ms["max"],
            "samples": ms["n"],
            "rtf": rtf,
        }
    finally:
        torch.set_num_threads(threads)


def pitch_class_figure(composer, pieces) -> float:
    from gdl_studio.music.notes import pitch_class_histogram

    vals = []
    for i, p in enumerate(pieces):
        notes = _piece_notes(p)
        primer = notes[:HIST_PRIMER]
        gen = [
            s.note
            for s in composer.generate(
                primer, n_notes=HIST_NOTES, seed=100 + i, beats_per_bar=max(1, p.bar_ticks // 12)
            )
        ]
        vals.append(_corr(pitch_class_histogram(primer), pitch_class_histogram(gen)))
    return float(np.nanmean(vals)) if vals else float("nan")


def run_bench(args) -> dict:
    """Run every figure; prints a table (or JSON with ``args.json``) and returns the results."""
    from gdl_studio.core.registry import ModelUnavailable
    from gdl_studio.music.corpus import load_corpus
    from gdl_studio.music.evaluate import score_lstm, score_transformer
    from gdl_studio.music.models_io import load_music_model
    from gdl_studio.music.ngram import fit_ngram, score_ngram
    from gdl_studio.music.notes import pitch_class_histogram
    from gdl_studio.music.views import view_transpositions

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    corpus = load_corpus(args.data)
    test = corpus.split("test")
    if args.pieces:
        test = test[: args.pieces]
    from gdl_studio.music.corpus import ROUND1_STYLES

    train = corpus.split("train", ROUND1_STYLES)  # the n-gram baselines as in round 1 (the test is round 1's)
    results: dict[str, Any] = {"data": {"test_pieces": len(test), "test_notes": int(sum(p.n_notes for p in test))}}
    hist_pieces = [p for p in test if p.n_notes >= HIST_PRIMER + HIST_NOTES][:HIST_PIECES]
    ref = []
    for p in hist_pieces:
        notes = _piece_notes(p)
        ref.append(
            _corr(
                pitch_class_histogram(notes[:HIST_PRIMER]),
                pitch_class_histogram(notes[HIST_PRIMER : HIST_PRIMER + HIST_NOTES]),
            )
        )
    results["reference"] = {"pitch_class_correlation": float(np.nanmean(ref)) if ref else float("nan")}
    longest = max(test, key=lambda p: p.n_notes)
    primer = _piece_notes(longest)[:PRIMER_NOTES]
    primer_bpb = max(1, longest.bar_ticks // 12)

    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    composers = {}
    for kind in ("lstm", "transformer"):  # phase 1: what the app does — load and generate
        if kind not in wanted:
            continue
        try:
            composer = load_music_model(kind)
        except ModelUnavailable as exc:
            log(f"skipping {kind}: {exc}")
            results[kind] = {"available": False}
            continue
        composers[kind] = composer
        log(f"{kind}: measuring latency and continuations …")
        lat = latency(composer, primer, primer_bpb, args.latency_notes)
        results[kind] = {
            "available": True,
            "latency_ms": {"first_note": lat["first_note"], "p50": lat["p50"], "p99": lat["p99"], "max": lat["max"]},
            "real_time_factor_120bpm": lat["rtf"],
            "pitch_class_correlation": pitch_class_figure(composer, hist_pieces),
            "parameters": int(sum(p.numel() for p in composer.model.parameters())),
            "weights_mb": composer.card.get("size_bytes", 0) / 1e6,
        }
    generation_rss = B.peak_rss_mb()
    for kind, composer in composers.items():  # phase 2: likelihood of the test pieces
        t0 = time.perf_counter()
        scorer = score_lstm if kind == "lstm" else score_transformer
        s = scorer(composer.model, test).summary()
        log(f"{kind}: {s['nats_per_note']:.3f} nats/note on {len(test)} test pieces ({time.perf_counter() - t0:.0f}s)")
        results[kind].update({k: s[k] for k in ("nats_per_note", "nats_per_token", "next_note_accuracy")})

        if kind == "transformer" and getattr(composer.model.config, "n_styles", None):
            s0 = score_transformer(composer.model, test, use_style=False).summary()
            results[kind]["nats_per_note_unknown_style"] = s0["nats_per_note"]
        spec = getattr(composer.model.config, "transpose_views", 0)
        results[kind]["transpose_views"] = spec  # as the card has it: a radius or the transpositions
        results[kind]["views"] = list(view_transpositions(spec))
        if len(results[kind]["views"]) > 1:
            one = scorer(composer.model, test, views=0).summary()
            results[kind]["nats_per_note_single_view"] = one["nats_per_note"]

    _style_figures(results, corpus, composers, args, log)
    if "transformer" in composers:
        _infill_figures(results, composers["transformer"], test, log)
    steer_pieces = [p for p in test if p.n_notes >= 32][: getattr(args, "steer_pieces", HIST_PIECES)]
    _constraint_figures(results, composers, steer_pieces, log)

    t0 = time.perf_counter()
    for key, kind in (("ngram", "events"), ("ngram_steps", "steps")):
        log(f"{key}: fitting a {args.ngram_order}-gram (Kneser-Ney) on {len(train)} training pieces …")
        model = fit_ngram(train, kind, args.ngram_order)
        s = score_ngram(model, test, kind).summary()
        results[key] = {
            "order": args.ngram_order,
            "nats_per_note": s["nats_per_note"],
            "nats_per_token": s["nats_per_token"],
            "next_note_accuracy": s["next_note_accuracy"],
        }
        del model
    log(f"n-grams done ({time.perf_counter() - t0:.0f}s)")
    results["peak_rss_mb"] = {"generation": generation_rss, "total": B.peak_rss_mb()}
    results["book_yardstick_nats_per_note"] = BOOK_YARDSTICK

    if args.json:
        B.emit(results, True)
    else:
        _print_table(results)
    return results


def _style_figures(results: dict, corpus, composers: dict, args, log) -> None:
    """Nats per note on each newer style's held-out split."""
    from gdl_studio.music.corpus import ROUND1_STYLES
    from gdl_studio.music.evaluate import score_lstm, score_transformer

    styles = {}
    for style in corpus.styles():
        if style in ROUND1_STYLES:
            continue
        pieces = corpus.split("heldout", style)
        if args.pieces:
            pieces = pieces[: args.pieces]
        if not pieces:
            continue
        row: dict[str, Any] = {"pieces": len(pieces), "notes": int(sum(p.n_notes for p in pieces))}
        for kind, composer in composers.items():
            scorer = score_lstm if kind == "lstm" else score_transformer
            row[kind] = scorer(composer.model, pieces).summary()["nats_per_note"]
        styles[style] = row
        log(f"held-out {style}: " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)))
    results["styles"] = styles


def _infill_figures(results: dict, composer, test, log) -> None:
    from gdl_studio.music.evaluate import heldout_gaps, score_infill

    if not composer.can_infill:
        results["infill"] = {"available": False}
        log("infill: the installed Transformer was not trained to fill gaps")
        return
    t0 = time.perf_counter()
    r = score_infill(composer.model, test, heldout_gaps(test), fim_weight=composer.fill_fim_weight, control=True)
    results["infill"] = {
        "nats_per_note": r["infill_nats_per_note"],
        "l2r_nats_per_note": r["l2r_nats_per_note"],
        "fim_nats_per_note": r["fim_nats_per_note"],
        "no_suffix_nats_per_note": r["no_suffix_nats_per_note"],
        "fim_weight": r["fim_weight"],
        "gaps": r["gaps"],
        "notes": r["notes"],
        "by_part": {"infill_nats_per_event": r["infill_by_part"], "l2r_nats_per_event": r["l2r_by_part"]},
    }
    log(
        f"infill: {r['infill_nats_per_note']:.3f} nats/note given both sides vs {r['l2r_nats_per_note']:.3f} left to "
        f"right ({r['gaps']} gaps, {r['notes']} notes, {time.perf_counter() - t0:.0f}s)"
    )


CONSTRAINT_NOTES = 48


def constraint_scenarios(primer: list) -> list:
    """The three steering scenarios of the bench for one primer (see the module docstring)."""
    from gdl_studio.music.steering import Constraints, chords_of, estimate_key

    lo, hi = min(n.pitch for n in primer), max(n.pitch for n in primer)
    bar = 4
    last_bar = int(max(n.end for n in primer) // bar)
    bar_chords = chords_of(primer, bar, max(0, last_bar - 3), min(4, last_bar + 1))
    chords = bar_chords if any(bar_chords) else None
    return [
        Constraints(key=estimate_key(primer), pitch_range=(max(0, lo - 2), min(127, hi + 2))).validated(),
        Constraints(chords=chords, voices=3).validated(),
        Constraints(density=2.0, voices=2, pitch_range=(55, 79)).validated(),
    ]


def _constraint_figures(results: dict, composers: dict, pieces, log) -> None:
    """Steered continuations (both models) and fills (the Transformer): the share of notes that
    satisfy the constraints (checked from scratch) and the nats the masks cost."""
    from gdl_studio.music import tokens as T
    from gdl_studio.music.steering import check_notes

    t0 = time.perf_counter()
    per: dict[str, list] = {}
    for i, p in enumerate(pieces):
        notes = _piece_notes(p)
        primer = notes[: min(HIST_PRIMER, len(notes) // 2)]
        bpb = max(1, p.bar_ticks // 12)
        for j, cons in enumerate(constraint_scenarios(primer)):
            end = max(round(n.end * T.TICKS_PER_BEAT) for n in primer)
            bar = T.bar_ticks_for(bpb)
            ctx = [(round(n.start * 12), round(n.end * 12)) for n in primer]
            for kind, composer in composers.items():
                steps = list(
                    composer.generate(
                        primer, n_notes=CONSTRAINT_NOTES, seed=1000 + 10 * i + j, beats_per_bar=bpb, constraints=cons
                    )
                )
                gen = [(round(s.note.start * 12), round(s.note.end * 12), s.note.pitch) for s in steps]
                ok = check_notes(cons, gen, bar, end // bar * bar, ctx)
                per.setdefault(kind, []).extend((not m, s.constraint_nats) for m, s in zip(ok, steps))
                if kind == "transformer" and composer.can_infill:
                    n_bars = max(round(n.start * 12) for n in notes) // bar
                    if n_bars >= 4:
                        a = min(2, n_bars - 2)
                        fill_ctx = [
                            (round(n.start * 12), round(n.end * 12))
                            for n in notes
                            if not (a * bar <= round(n.start * 12) < (a + 2) * bar)
                        ]
                        steps = list(
                            composer.infill(
                                notes, a, a + 2, seed=2000 + 10 * i + j, beats_per_bar=bpb, constraints=cons
                            )
                        )
                        gen = [(round(s.note.start * 12), round(s.note.end * 12), s.note.pitch) for s in steps]
                        ok = check_notes(cons, gen, bar, a * bar, fill_ctx)
                        per.setdefault("transformer_infill", []).extend(
                            (not m, s.constraint_nats) for m, s in zip(ok, steps)
                        )
    all_rows = [r for rows in per.values() for r in rows]
    if not all_rows:
        return
    results["constraints"] = {
        "satisfied": float(np.mean([r[0] for r in all_rows])),
        "nats_cost": float(np.mean([r[1] for r in all_rows])),
        "notes": len(all_rows),
        "by_model": {
            k: {
                "satisfied": float(np.mean([r[0] for r in v])),
                "nats_cost": float(np.mean([r[1] for r in v])),
                "notes": len(v),
            }
            for k, v in per.items()
        },
    }
    c = results["constraints"]
    log(
        f"constraints: {c['satisfied']:.4f} of {c['notes']} notes satisfy them, {c['nats_cost']:.3f} nats/note cost "
        f"({time.perf_counter() - t0:.0f}s)"
    )


def _print_table(results: dict) -> None:
    from gdl_studio.music.views import describe_views

    cols = [c for c in ("lstm", "transformer", "ngram", "ngram_steps") if c in results]
    figures = [
        ("nats/note (test)", ("nats_per_note",)),
        ("  the network alone (no transposition views)", ("nats_per_note_single_view",)),
        ("transposition views (semitones)", ("views",)),
        ("nats/token", ("nats_per_token",)),
        ("next-note accuracy", ("next_note_accuracy",)),
        ("first note after 256-note primer, ms", ("latency_ms", "first_note")),
        ("per note p50, ms", ("latency_ms", "p50")),
        ("per note p99, ms", ("latency_ms", "p99")),
        ("real-time factor @120 bpm", ("real_time_factor_120bpm",)),
        ("pitch-class corr. with primer", ("pitch_class_correlation",)),
        ("parameters", ("parameters",)),
        ("weights, MB", ("weights_mb",)),
    ]
    rows = []
    for label, path in figures:
        row = [label]
        for c in cols:
            v: Any = results.get(c, {})
            for k in path:
                v = v.get(k, "–") if isinstance(v, dict) else "–"
            if path == ("views",) and isinstance(v, list):
                v = describe_views(v)
            if isinstance(results.get(c), dict) and results[c].get("available") is False:
                v = "unavailable"
            row.append(v)
        rows.append(tuple(row))
    B.print_table(
        f"music models on {results['data']['test_pieces']} test pieces "
        f"({results['data']['test_notes']:,} notes); latency on one CPU thread",
        rows,
        header=("figure", *cols),
    )
    print(
        f"\n  real continuations' pitch-class corr. with primer: {results['reference']['pitch_class_correlation']:.3f}"
    )
    rss = results["peak_rss_mb"]
    print(
        f"  peak RSS: {rss['generation']:.0f} MB loading and generating with the models, "
        f"{rss['total']:.0f} MB after scoring and the n-grams"
    )
    print(f"  book yardstick: {BOOK_YARDSTICK} nats/note (LSTM, cello suites, window split — not like for like)")
    inf = results.get("infill", {})
    if "nats_per_note" in inf:
        print(
            f"  infill (Transformer, {inf['gaps']} held-out 2-4-bar gaps, {inf['notes']} notes): "
            f"{inf['nats_per_note']:.4f} nats/note given both sides vs {inf['l2r_nats_per_note']:.4f} left to right"
        )
        if "fim_nats_per_note" in inf:
            print(
                f"    the fill mixes its infilling view (weight {inf['fim_weight']:.1f}) with left to right: "
                f"infilling view alone {inf['fim_nats_per_note']:.4f}; "
                f"the same fill without the music after the gap {inf['no_suffix_nats_per_note']:.4f}"
            )
        part = inf.get("by_part")
        if part:
            print(
                "    nats/event by fifth of the gap, first → last: infill "
                + " ".join(f"{x:.3f}" for x in part["infill_nats_per_event"])
                + " | left to right "
                + " ".join(f"{x:.3f}" for x in part["l2r_nats_per_event"])
            )
    con = results.get("constraints")
    if con:
        print(
            f"  constraints: {con['satisfied']:.4f} of {con['notes']} steered notes satisfy them; "
            f"cost {con['nats_cost']:.3f} nats/note ("
            + ", ".join(f"{k} {v['satisfied']:.3f}/{v['nats_cost']:.3f}" for k, v in con["by_model"].items())
            + ")"
        )
    for style, row in results.get("styles", {}).items():
        figs = ", ".join(f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float))
        print(f"  held-out {style} ({row['pieces']} pieces, {row['notes']:,} notes): {figs} nats/note")
