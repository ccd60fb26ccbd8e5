"""Choose how a fill mixes its two views — on validation gaps only — and record it in the card.

    python3 scripts/music_fill_weight.py [MODEL_DIR] [--write] [--data data/music.npz]

A fill (``TransformerComposer.infill``) draws each event after the gap's first note from the
mixture ``w·p_fill + (1 − w)·p_l2r`` of the infilling view (prefix and suffix) and the
left-to-right view (the same prefix only); ``w`` = the card's ``fill.fim_weight`` (without one:
1, the infilling view alone). This scores the held-out 2–4-bar gaps of the validation pieces
(all styles; ``evaluate.heldout_gaps``) for each ``w`` of the grid and keeps the lowest
nats/note. The round-1 styles' validation gaps and the same fill without the suffix (the
control: what the music after the gap is worth) are printed for the record. ``--write`` stores
the choice with these figures in ``MODEL_DIR/card.json`` (default: models/music-transformer);
the weights file is untouched. Test gaps play no part.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio

GRID = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", nargs="?", type=Path, default=Path("models/music-transformer"))
    ap.add_argument("--data", type=Path, default=Path("data/music.npz"))
    ap.add_argument("--write", action="store_true", help="record the choice in the model's card")
    args = ap.parse_args(argv)

    import torch

    from gdl_studio.core.registry import load_tensors, read_card
    from gdl_studio.music.corpus import ROUND1_STYLES, load_corpus
    from gdl_studio.music.evaluate import fill_nats_per_note, gap_views, heldout_gaps
    from gdl_studio.music.models_io import build_composer

    card = read_card(args.model_dir)
    model = build_composer(card, load_tensors(card)).model
    corpus = load_corpus(args.data)
    sets = {"valid": corpus.split("valid"), "valid_round1": corpus.split("valid", ROUND1_STYLES)}
    table: dict[str, dict[str, float]] = {}
    control: dict[str, dict[str, float]] = {}
    with torch.no_grad():
        for name, pieces in sets.items():
            gaps = heldout_gaps(pieces)
            full, bare = gap_views(model, pieces, gaps), gap_views(model, pieces, gaps, max_suffix=0)
            table[name] = {f"{w:.1f}": round(fill_nats_per_note(full, w), 4) for w in GRID}
            control[name] = {f"{w:.1f}": round(fill_nats_per_note(bare, w), 4) for w in GRID}
            cases, _, l2r_ev = full
            table[name]["l2r"] = round(sum(float(x.sum()) for x in l2r_ev) / sum(c["notes"] for c in cases), 4)
            print(f"{name}: fill {table[name]}; without the suffix {control[name]}", file=sys.stderr)
    best = min(GRID, key=lambda w: table["valid"][f"{w:.1f}"])
    print(json.dumps({"fim_weight": best, "valid_gaps": table, "no_suffix": control}, indent=1))
    if args.write:
        card_path = args.model_dir / "card.json"
        data = json.loads(card_path.read_text())
        data["fill"] = {
            "fim_weight": best,
            "how": "each event after the gap's first note is drawn from w·p(infilling view: prefix and suffix) "
            "+ (1 − w)·p(left-to-right view: the same prefix only); the first note from the infilling view alone",
            "rule": "lowest nats/note over the held-out 2-4-bar gaps of the validation pieces (all styles) "
            f"among w in {list(GRID)}; never the test gaps",
            "valid_gaps_nats_per_note": table,
            "no_suffix_nats_per_note": control,
            "command": "python3 scripts/music_fill_weight.py " + str(args.model_dir) + " --write",
        }
        card_path.write_text(json.dumps(data, indent=1, ensure_ascii=False))
        print(f"wrote fill.fim_weight = {best} to {card_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
