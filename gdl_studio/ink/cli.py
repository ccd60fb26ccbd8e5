"""Command-line leaves of the ink area: ``data ink``, ``train vrnn|rnn-gmm``, ``bench ink``,
``sketch``. Heavy imports (torch, numpy work) happen inside the handlers."""

from __future__ import annotations

import argparse
from pathlib import Path

from gdl_studio.core.errors import UserError


def register(commands) -> None:
    """Add the ink commands to the shared CLI."""
    p = commands.data.add_parser("ink", help="build the KanjiVG stroke cache (data/ink/kanjivg.npz)")
    p.add_argument("--out", help="cache file (default data/ink/kanjivg.npz)")
    p.add_argument("--epsilon", type=float, help="RDP tolerance in KanjiVG units (default 1)")
    p.add_argument("--workers", type=int, default=0, help="parsing processes (default: CPU count, at most 8)")
    p.add_argument("--write-split", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_data)

    for kind in ("vrnn", "rnn-gmm"):
        what = "VRNN-GMM (variational RNN, GMM output)" if kind == "vrnn" else "RNN-GMM baseline"
        p = commands.train.add_parser(kind, help=f"train the {what} ink model on KanjiVG strokes")
        add_train_arguments(p)
        p.set_defaults(func=_train, kind=kind, _parser=p)

    p = commands.bench.add_parser("ink", help="ink models: test log-likelihood, sampling latency, memory")
    add_bench_arguments(p)
    p.set_defaults(func=_bench)

    p = commands.root.add_parser("sketch", help="draw (or continue) a character with an ink model into an SVG")
    p.add_argument("--prime", metavar="FILE.svg", help="strokes to continue (e.g. a KanjiVG file)")
    p.add_argument("--model", choices=("vrnn", "rnn-gmm"), default="vrnn")
    p.add_argument("--temperature", type=float, default=0.7, help="0.01–3 (default 0.7); see gdl_studio.ink.gmm")
    p.add_argument("--seed", type=int, default=None, help="random seed (same seed, same drawing)")
    p.add_argument("--strokes", type=int, default=None, help="strokes to add (default: a plausible count)")
    p.add_argument("--max-points", type=int, default=250, help="stop after this many points (default 250)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.svg", help="output .svg (or .json points)")
    p.set_defaults(func=_sketch)


def _data(args) -> int:
    from gdl_studio.ink import dataset

    if args.write_split:
        files, _ = dataset.kanjivg_files()
        counts = dataset.write_split_lists([dataset.character_of(f.stem) for f in files])
        print(f"wrote split lists to {dataset.split_dir()}: {counts}")
    report = dataset.build(Path(args.out) if args.out else None, epsilon=args.epsilon, workers=args.workers)
    seq = report["sequences"]
    print(
        f"wrote {report['path']} ({report['size_bytes'] / 1e6:.1f} MB) in {report['seconds']:.1f} s: "
        f"{sum(seq.values()):,} sequences (train {seq['train']:,} / valid {seq['valid']:,} / test {seq['test']:,}; "
        f"characters {report['characters']}), points per character median {report['points_median']:.0f}, "
        f"mean {report['points_mean']:.1f}, max {report['points_max']}; scale {report['scale']:.3f} units"
    )
    if report["unlisted_characters"]:
        print(
            f"note: {report['unlisted_characters']} characters not in the committed split lists were assigned by hash"
        )
    return 0


def _train(args) -> int:
    from gdl_studio.ink.train import train

    return train(args)


def _bench(args) -> int:
    from gdl_studio.ink.bench import run

    return run(args)


def _sketch(args) -> int:
    import numpy as np

    from gdl_studio.core.registry import ModelUnavailable
    from gdl_studio.ink import sampling, svgio
    from gdl_studio.ink.models_io import load_ink_model

    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in (".svg", ".json"):
        raise UserError(f"output must end in .svg or .json: {out}")
    if out.exists() and out.is_dir():
        raise UserError(f"output is a directory: {out}")
    primer = svgio.read_svg_strokes(args.prime) if args.prime else None
    sampling.check_temperature(args.temperature)
    try:
        model = load_ink_model(args.model)
    except ModelUnavailable as exc:
        raise UserError(str(exc)) from None
    rng = np.random.default_rng(args.seed)
    strokes = args.strokes
    if strokes is None:
        if primer is None:
            strokes = model.sample_stroke_count(rng)
        else:
            hist = np.asarray(model.stroke_count_hist, dtype=float)
            n = len(primer)
            if hist.size > n + 1 and hist[n + 1 :].sum() > 0:
                tail = hist[n + 1 :] / hist[n + 1 :].sum()
                strokes = min(10, int(rng.choice(len(tail), p=tail)) + 1)
            else:
                strokes = 1
    seed = int(rng.integers(2**31)) if args.seed is None else args.seed
    gen = model.generate(
        primer=primer, temperature=args.temperature, seed=seed, max_points=args.max_points, max_strokes=strokes
    )
    points = list(gen)
    generated = sampling.points_to_strokes(points)
    if suffix == ".svg":
        svgio.write_svg(out, primer or [], generated)
    else:
        svgio.write_points_json(out, primer or [], generated)
    print(
        f"wrote {out}: {len(primer or [])} primer strokes + {len(generated)} generated strokes "
        f"({len(points)} points, model {args.model}, temperature {args.temperature:g}, seed {seed})"
    )
    return 0


def add_train_arguments(p) -> None:
    """Arguments of ``gdl-studio train vrnn|rnn-gmm``."""
    p.add_argument("--device", default="auto", help="cuda, cpu or auto (default)")
    p.add_argument(
        "--max-minutes", type=float, default=8.0, help="wall-clock budget including the final test (default 8)"
    )
    p.add_argument(
        "--out",
        help="output directory (default models/ink-vrnn or models/ink-rnn-gmm; with --tiny runs/<name>-tiny/model)",
    )
    p.add_argument("--data", help="data cache (default data/ink/kanjivg.npz)")
    p.add_argument("--checkpoint", help="resumable checkpoint file (default runs/<name>/checkpoint.pt)")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    p.add_argument("--tiny", action="store_true", help="tiny model and data subset: an end-to-end check in seconds")
    p.add_argument("--epochs", type=int, default=0, help="maximum epochs (default: until early stop or budget)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clip (default 1)")
    p.add_argument(
        "--kl-anneal-steps", type=int, default=1000, help="VRNN KL weight 0→1 over these steps (default 1000)"
    )
    p.add_argument("--patience", type=int, default=6, help="epochs without validation improvement before stopping")
    p.add_argument("--lr-patience", type=int, default=3, help="halve the learning rate after this many bad epochs")
    p.add_argument("--eval-k", type=int, default=0, help="importance samples for the VRNN test estimate (default 100)")
    p.add_argument("--hidden", type=int, help="override the GRU size")
    p.add_argument("--latent", type=int, help="override the VRNN latent size")
    p.add_argument("--n-mix", type=int, help="override the number of mixture components")
    p.add_argument("--phi", type=int, help="override the feature size")
    p.add_argument("--dec-hidden", type=int, help="override the decoder hidden size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--no-amp", action="store_true", help="no bf16 autocast on CUDA")
    p.add_argument("--fp32", action="store_true", help="ship float32 weights")


def add_bench_arguments(p) -> None:
    """Arguments of ``gdl-studio bench ink``."""
    p.add_argument("--json", action="store_true", help="print flat JSON instead of tables")
    p.add_argument("--models", default="vrnn,rnn-gmm", help="comma-separated: vrnn, rnn-gmm")
    p.add_argument(
        "--limit",
        type=int,
        default=150,
        help="score a random subset of this many test sequences (default 150; 0 = all 574, slow on CPU)",
    )
    p.add_argument(
        "-k", "--k", type=int, default=100, help="importance samples per sequence for the VRNN (default 100)"
    )
    p.add_argument("--max-rows", type=int, default=500, help="rows per scoring batch (memory vs speed; default 500)")
    p.add_argument("--latency-points", type=int, default=1000, help="points to time per model")
    p.add_argument("--threads", type=int, default=2, help="torch threads for scoring (latency always uses 1)")
