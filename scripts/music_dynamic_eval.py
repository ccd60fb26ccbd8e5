"""Does adapting the Transformer to each piece as it goes lower its nats/note? (issue #15; a probe)

    python3 scripts/music_dynamic_eval.py [--pieces 24] [--chunk 128] [--optimizer sgd|adam] [--lr 0.002 ...]

Dynamic evaluation: each piece is scored in chunks of ``--chunk`` events, each chunk with up to a
context (``max_len``) of the piece before it; after a chunk is scored, one gradient step on the
window that ends with it (notes already scored, so nothing is seen before it is predicted) adapts
a copy of the model to the piece. ``--lr 0`` is the unadapted model under the same chunking.
Validation pieces of the round-1 styles only (every k-th, a spread of chorales and Palestrina);
the test split plays no part. Prints one line per learning rate.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio


def adapted_nats(base, piece, lr: float, chunk: int, optimizer: str) -> float:
    """Total nats of ``piece``, each chunk scored before the model takes a step on it."""
    import torch

    from gdl_studio.music.evaluate import _style_of
    from gdl_studio.music.transformer import EVENT_KEYS, event_arrays

    cfg = base.config
    arr = event_arrays(piece.note_events(cfg.use_velocity), piece.bar_ticks)
    n = len(arr["tg_pitch"])
    style = torch.tensor([_style_of(piece, cfg, True)])
    model = copy.deepcopy(base)
    model.eval()  # no dropout: the adaptation is the only change
    opt = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(model.parameters(), lr=lr)
    total, a = 0.0, 0
    while a < n:
        b = min(n, a + chunk)
        s = max(0, b - cfg.max_len)
        ten = {k: torch.from_numpy(arr[k][s:b][None].copy()) for k in EVENT_KEYS}
        with torch.no_grad():
            nll, _ = model.batch_nll(ten, style=style)
            total += float(nll[0, a - s : b - s].double().sum())
        if lr > 0:
            opt.zero_grad()
            nll, _ = model.batch_nll(ten, style=style)
            nll.mean().backward()
            opt.step()
        a = b
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pieces", type=int, default=24)
    ap.add_argument("--chunk", type=int, default=128)
    ap.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    ap.add_argument("--lr", type=float, nargs="+", default=[0.0, 0.002, 0.004])
    ap.add_argument("--data", default="data/music.npz")
    args = ap.parse_args(argv)

    import torch

    from gdl_studio.music.corpus import ROUND1_STYLES, load_corpus
    from gdl_studio.music.models_io import load_music_model

    torch.manual_seed(0)
    pieces = load_corpus(args.data).split("valid", ROUND1_STYLES)
    pieces = pieces[:: max(1, len(pieces) // args.pieces)][: args.pieces]
    notes = sum(p.n_notes for p in pieces)
    base = load_music_model("transformer").model
    for lr in args.lr:
        t0 = time.perf_counter()
        nats = sum(adapted_nats(base, p, lr, args.chunk, args.optimizer) for p in pieces)
        print(
            f"{args.optimizer} lr {lr:g}: {nats / notes:.4f} nats/note on {len(pieces)} validation pieces "
            f"({notes} notes, chunks of {args.chunk}; {time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
