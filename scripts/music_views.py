"""Choose a music model's transposition ensemble — on validation pieces and per-note time — and
record it in the card.

    python3 scripts/music_views.py [MODEL_DIR] [--radii 0,1,2,3,6] [--budget-ms 5] [--write]

MODEL_DIR is a Transformer's or an LSTM's (default: models/music-transformer). The ensemble of
radius R (``transpose_views`` in either config; :mod:`gdl_studio.music.views`) predicts each
event (an LSTM: each voice step) as the mean of the model's predictions for the history
transposed by −R…R semitones (each moved back; ``mixture_nll``, and the same mixture in
generation). Each view costs a pass of the network per note, so R trades likelihood for time.
For each R this prints the nats/note on the round-1 styles' validation pieces (the pieces the
shipped models were selected on) and the per-note generation latency on one thread
(``bench.latency``, the bench's primer). Among the radii whose p99 stays within ``--budget-ms``
on this machine (the bench's target) it keeps the smallest whose validation figure is within
``--tolerance`` of the best of them. ``--write`` stores R and these figures in
``MODEL_DIR/card.json``; the weights file is
untouched. Test pieces play no part.
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", nargs="?", type=Path, default=Path("models/music-transformer"))
    ap.add_argument("--data", type=Path, default=Path("data/music.npz"))
    ap.add_argument("--radii", default="0,1,2,3,6", help="the radii R to compare (comma-separated)")
    ap.add_argument("--budget-ms", type=float, default=5.0, help="per-note p99 latency allowed (one thread)")
    ap.add_argument(
        "--tolerance",
        type=float,
        default=0.002,
        help="keep the smallest R whose validation nats/note is within this of the best one in budget",
    )
    ap.add_argument("--latency-notes", type=int, default=128)
    ap.add_argument("--write", action="store_true", help="record the choice in the model's card")
    args = ap.parse_args(argv)

    from gdl_studio.core.registry import load_tensors, read_card
    from gdl_studio.music.bench import PRIMER_NOTES, _piece_notes, latency
    from gdl_studio.music.corpus import ROUND1_STYLES, load_corpus
    from gdl_studio.music.evaluate import score_lstm, score_transformer
    from gdl_studio.music.models_io import build_composer

    radii = sorted({int(r) for r in args.radii.split(",") if r.strip()})
    card = read_card(args.model_dir)
    composer = build_composer(card, load_tensors(card))
    model = composer.model
    corpus = load_corpus(args.data)
    valid = corpus.split("valid", ROUND1_STYLES)
    test = corpus.split("test")  # only for the latency primer, as the bench takes it
    longest = max(test, key=lambda p: p.n_notes)
    primer = _piece_notes(longest)[:PRIMER_NOTES]
    bpb = max(1, longest.bar_ticks // 12)
    rows = {}
    for r in radii:
        model.config.transpose_views = r
        t0 = time.perf_counter()
        scorer = score_lstm if card.architecture.get("kind") == "lstm" else score_transformer
        nats = scorer(model, valid).summary()["nats_per_note"]
        lat = latency(composer, primer, bpb, args.latency_notes)  # on one thread
        rows[str(r)] = {
            "views": 2 * r + 1,
            "valid_round1_nats_per_note": round(nats, 4),
            "latency_ms": {k: round(lat[k], 2) for k in ("first_note", "p50", "p99")},
        }
        print(f"R {r}: {rows[str(r)]} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    within = [r for r in radii if rows[str(r)]["latency_ms"]["p99"] <= args.budget_ms]
    best = 0
    if within:
        top = min(rows[str(r)]["valid_round1_nats_per_note"] for r in within)
        best = min(r for r in within if rows[str(r)]["valid_round1_nats_per_note"] <= top + args.tolerance)
    out = {
        "transpose_views": best,
        "by_radius": rows,
        "budget_ms": args.budget_ms,
        "tolerance_nats": args.tolerance,
        "machine": cpu_name(),
    }
    print(json.dumps(out, indent=1))
    if args.write:
        card_path = args.model_dir / "card.json"
        data = json.loads(card_path.read_text())
        data["architecture"]["transpose_views"] = best
        data["views"] = {
            "transpose_views": best,
            "how": "each event is predicted by the mean of the model's predictions for the history transposed by "
            "-R..R semitones, each moved back (gdl_studio.music.views; scoring and generation alike)",
            "rule": "among the radii whose per-note p99 latency on one thread stays within "
            f"{args.budget_ms} ms on the machine that ran this, the smallest whose nats/note on the round-1 styles' "
            f"validation pieces is within {args.tolerance} of the lowest (more views for less would only cost "
            "time); never the test",
            "by_radius": rows,
            "machine": cpu_name(),
            "command": f"python3 scripts/music_views.py {args.model_dir} --radii {args.radii} "
            f"--budget-ms {args.budget_ms:g} --tolerance {args.tolerance} --write",
        }
        card_path.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        print(f"wrote transpose_views = {best} to {card_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
