"""Choose a music model's transposition ensemble — on validation pieces and per-note time — and
record it in the card.

    python3 scripts/music_views.py [MODEL_DIR] [--pairs 1-7] [--max-views 7] [--max-combos 21]
                                   [--budget-ms 5] [--scores EARLIER.json] [--write]

MODEL_DIR is a Transformer's or an LSTM's (default: models/music-transformer). An ensemble
(``transpose_views`` in either config; :mod:`gdl_studio.music.views`) predicts each event (an
LSTM: each voice step) as the mean of the model's predictions for the history transposed by a
few intervals, each moved back (``mixture_nll``, and the same mixture in generation). Each view
costs a pass of the network per note, so the number of views trades likelihood for time, and
which intervals matters too (views a tritone away err differently from views a semitone away).

The search goes by pairs ±k (k from ``--pairs``; the sets are symmetric, so no key is
favoured): stage m holds the sets of m pairs. Each set is scored in nats/note on the round-1
styles' validation pieces (the pieces the shipped models were selected on): every set of m
pairs while there are at most ``--max-combos`` of them, else the best set of stage m − 1 plus one
more pair. The stage's best set is then timed per note on one thread (``bench.latency``, the
bench's primer; the count of views sets the time, not which). The search stops after
``--max-views`` views or at the first stage whose p99 exceeds ``--budget-ms``. Among the stages
within budget it keeps the one with the fewest views whose validation figure is within
``--tolerance`` of the best of them. ``--scores`` takes the validation figures from an
earlier run's JSON output on the same weights (they do not depend on the machine) and measures
only the latency again. ``--write`` stores the chosen transpositions and every figure in ``MODEL_DIR/card.json``;
the weights file is untouched. Test pieces play no part.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio


def cpu_name() -> str:
    """The processor's name (``platform.processor()`` is empty on Linux: /proc/cpuinfo then)."""
    name = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{platform.machine()} {name}, {os.cpu_count()} cores".strip()


def parse_pairs(text: str) -> list[int]:
    """``"1-7"`` or ``"1,2,5,6"`` → the interval sizes k whose pairs ±k may be added."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        lo, _, hi = part.partition("-")
        out.extend(range(int(lo), int(hi or lo) + 1))
    if not out or any(k < 1 for k in out):
        raise SystemExit(f"--pairs: positive interval sizes, e.g. 1-7 (not {text!r})")
    return sorted(set(out))


def views_of(pairs) -> tuple[int, ...]:
    """The transpositions of a symmetric set: 0, then ±k for each k (ascending)."""
    out = [0]
    for k in sorted(set(pairs)):
        out.extend((k, -k))
    return tuple(out)


def key_of(ks) -> str:
    """A set's key in the figures: its transpositions, 0 first, then ±k ascending."""
    return ",".join(str(k) for k in views_of(abs(int(k)) for k in ks if int(k)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", nargs="?", type=Path, default=Path("models/music-transformer"))
    ap.add_argument("--data", type=Path, default=Path("data/music.npz"))
    ap.add_argument("--pairs", default="1-7", help="the interval sizes k whose pairs ±k may join (e.g. 1-7)")
    ap.add_argument("--max-views", type=int, default=7, help="stop after this many views")
    ap.add_argument(
        "--max-combos",
        type=int,
        default=21,
        help="search every set of m pairs while there are at most this many; beyond, add one pair to the best",
    )
    ap.add_argument("--budget-ms", type=float, default=5.0, help="per-note p99 latency allowed (one thread)")
    ap.add_argument(
        "--tolerance",
        type=float,
        default=0.002,
        help="keep the fewest views whose validation nats/note is within this of the best stage in budget",
    )
    ap.add_argument("--latency-notes", type=int, default=128)
    ap.add_argument("--scores", type=Path, default=None, help="reuse the validation figures of an earlier run's JSON")
    ap.add_argument("--write", action="store_true", help="record the choice in the model's card")
    args = ap.parse_args(argv)

    from gdl_studio.core.registry import load_tensors, read_card
    from gdl_studio.music.bench import PRIMER_NOTES, _piece_notes, latency
    from gdl_studio.music.corpus import ROUND1_STYLES, load_corpus
    from gdl_studio.music.evaluate import score_lstm, score_transformer
    from gdl_studio.music.models_io import build_composer
    from gdl_studio.music.views import MAX_VIEW_SHIFT, describe_views

    pairs = [k for k in parse_pairs(args.pairs) if k <= MAX_VIEW_SHIFT]
    known: dict[str, float] = {}
    sha = json.loads((args.model_dir / "card.json").read_text()).get("sha256")
    if args.scores:
        earlier = json.loads(args.scores.read_text())
        if earlier.get("weights_sha256") != sha:
            raise SystemExit(f"--scores: {args.scores} scored other weights than {args.model_dir}'s")
        for stage in earlier.get("stages", []):
            for key, nats in stage.get("candidates", {}).items():
                known[key_of(int(x) for x in key.split(","))] = nats
    card = read_card(args.model_dir)
    composer = build_composer(card, load_tensors(card))
    model = composer.model
    corpus = load_corpus(args.data)
    valid = corpus.split("valid", ROUND1_STYLES)
    test = corpus.split("test")  # only for the latency primer, as the bench takes it
    longest = max(test, key=lambda p: p.n_notes)
    primer = _piece_notes(longest)[:PRIMER_NOTES]
    bpb = max(1, longest.bar_ticks // 12)
    scorer = score_lstm if card.architecture.get("kind") == "lstm" else score_transformer

    def score(ks: tuple[int, ...]) -> float:
        key = key_of(ks)
        if key not in known:
            t0 = time.perf_counter()
            known[key] = round(scorer(model, valid, views=list(ks)).summary()["nats_per_note"], 4)
            print(f"  {describe_views(ks):>16}: {known[key]:.4f} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        return known[key]

    stages = []
    chosen_pairs: tuple[int, ...] = ()
    for m in range(0, len(pairs) + 1):
        if 2 * m + 1 > args.max_views:
            break
        every = math.comb(len(pairs), m) <= args.max_combos
        if every:  # every set of m pairs
            options = list(itertools.combinations(pairs, m))
        else:  # the best set of the stage before, plus one more pair
            options = [(*chosen_pairs, k) for k in pairs if k not in chosen_pairs]
        candidates = {key_of(ks): score(ks) for ks in map(views_of, options)}
        best_key = min(candidates, key=lambda c: candidates[c])
        current = tuple(int(x) for x in best_key.split(","))
        chosen_pairs = tuple(k for k in current if k > 0)
        model.config.transpose_views = list(current)
        lat = latency(composer, primer, bpb, args.latency_notes)  # on one thread; the count matters, not which
        stage = {
            "views": list(current),
            "label": describe_views(current),
            "valid_round1_nats_per_note": candidates[best_key],
            "latency_ms": {k: round(lat[k], 2) for k in ("first_note", "p50", "p99")},
            "searched": "every set" if every else "one more pair",
            "candidates": candidates,
        }
        stages.append(stage)
        print(
            f"{len(current)} views ({stage['label']}): {stage['valid_round1_nats_per_note']:.4f} nats/note, "
            f"p99 {stage['latency_ms']['p99']} ms",
            file=sys.stderr,
        )
        if stage["latency_ms"]["p99"] > args.budget_ms:
            break
    within = [s for s in stages if s["latency_ms"]["p99"] <= args.budget_ms] or stages[:1]
    top = min(s["valid_round1_nats_per_note"] for s in within)
    chosen = min(
        (s for s in within if s["valid_round1_nats_per_note"] <= top + args.tolerance), key=lambda s: len(s["views"])
    )
    spec: int | list[int] = chosen["views"] if len(chosen["views"]) > 1 else 0
    out = {
        "transpose_views": spec,
        "weights_sha256": sha,
        "stages": stages,
        "budget_ms": args.budget_ms,
        "tolerance_nats": args.tolerance,
        "machine": cpu_name(),
    }
    print(json.dumps(out, indent=1))
    if args.write:
        card_path = args.model_dir / "card.json"
        data = json.loads(card_path.read_text())
        data["architecture"]["transpose_views"] = spec
        data["views"] = {
            "transpose_views": spec,
            "how": "each event is predicted by the mean of the model's predictions for the history transposed by "
            "each of these intervals, each moved back (gdl_studio.music.views; scoring and generation alike)",
            "rule": f"sets of pairs ±k (k in {args.pairs}) scored in nats/note on the round-1 styles' validation "
            f"pieces, every set of m pairs while there are at most {args.max_combos}, else the best of m - 1 pairs "
            "plus one; among the stages (the best set of each size) whose per-note p99 latency "
            f"on one thread stays within {args.budget_ms} ms on the machine that ran this, the fewest views within "
            f"{args.tolerance} nats/note of the lowest; never the test",
            "stages": stages,
            "machine": cpu_name(),
            "command": f"python3 scripts/music_views.py {args.model_dir} --pairs {args.pairs} "
            f"--max-views {args.max_views} --max-combos {args.max_combos} --budget-ms {args.budget_ms:g} "
            f"--tolerance {args.tolerance}" + (f" --scores {args.scores}" if args.scores else "") + " --write",
        }
        card_path.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        print(f"wrote transpose_views = {spec} to {card_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
