"""Music commands: ``data music``, ``train music-lstm|music-transformer``, ``bench music`` and
``continue``. Nothing heavy is imported at module level (``--help`` stays instant and the
training machine needs only torch, numpy and safetensors)."""

from __future__ import annotations

import argparse


def register(commands) -> None:
    """Add the music leaves to the shared CLI (see :class:`gdl_studio.cli.Commands`)."""
    p = commands.data.add_parser("music", help="build the music corpus cache (data/music.npz) from music21's corpus")
    p.add_argument("--corpus", default="bach,palestrina",
                   help="comma-separated music21 composers (default: bach,palestrina)")
    p.add_argument("--out", help="output .npz (default: data/music.npz)")
    p.add_argument("--workers", type=int, default=None, help="parser processes (default: all cores)")
    p.add_argument("--limit", type=int, default=None, help="only the first N scores of each composer (quick check)")
    p.set_defaults(func=_data)

    for kind in ("lstm", "transformer"):
        p = commands.train.add_parser(f"music-{kind}", help=f"train the music {kind} from data/music.npz")
        p.add_argument("--data", help="corpus cache (default: data/music.npz)")
        p.add_argument("--out", help=f"model directory (default: models/music-{kind})")
        p.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
        p.add_argument("--max-minutes", type=float, default=None, help="time budget (default 8.5; tiny: 1)")
        p.add_argument("--max-epochs", type=int, default=None)
        p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimiser steps")
        p.add_argument("--batch-size", type=int, default=None)
        p.add_argument("--lr", type=float, default=None)
        p.add_argument("--patience", type=int, default=None, help="epochs without validation improvement before stopping")
        p.add_argument("--seed", type=int, default=None)
        p.add_argument("--tiny", action="store_true", help="a tiny model and a short run (to check the pipeline on a CPU)")
        p.add_argument("--checkpoint-dir", help=f"where to keep the resumable checkpoint (default: runs/music-{kind})")
        p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint instead of resuming it")
        p.set_defaults(func=_train, kind=kind)

    p = commands.bench.add_parser("music", help="NLL, accuracy, latency and memory of the music models on the test pieces")
    p.add_argument("--json", action="store_true", help="print flat JSON instead of a table")
    p.add_argument("--data", help="corpus cache (default: data/music.npz)")
    p.add_argument("--pieces", type=int, default=None, help="use only the first N test pieces")
    p.add_argument("--ngram-order", type=int, default=5)
    p.add_argument("--latency-notes", type=int, default=128, help="notes generated for the latency figures")
    p.add_argument("--models", default="lstm,transformer", help="which models to measure")
    p.set_defaults(func=_bench)

    p = commands.root.add_parser("continue", help="continue a MIDI file with a music model")
    p.add_argument("input", metavar="IN.mid")
    p.add_argument("-o", "--output", required=True, metavar="OUT.mid", help="primer followed by the continuation")
    p.add_argument("--model", default="transformer", help="lstm or transformer (default: transformer)")
    p.add_argument("--notes", type=int, default=64, help="notes to add (default 64)")
    p.add_argument("--bars", type=int, default=None, help="stop after this many bars as well")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0, help="sample from the k most likely tokens (0: off)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1: off)")
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=_continue)


def _data(args: argparse.Namespace) -> int:
    from gdl_studio.music.corpus import build_corpus

    corpora = [c.strip() for c in args.corpus.split(",") if c.strip()]
    build_corpus(corpora, out=args.out, workers=args.workers, limit=args.limit)
    return 0


def _train(args: argparse.Namespace) -> int:
    from gdl_studio.music.train import default_settings, train_music

    settings = default_settings(args.kind, args.tiny)
    for field in ("max_minutes", "max_epochs", "batch_size", "lr", "patience", "seed"):
        value = getattr(args, field)
        if value is not None:
            setattr(settings, field, value)
    train_music(args.kind, data_path=args.data, out_dir=args.out, device=args.device, settings=settings,
                tiny=args.tiny, checkpoint_dir=args.checkpoint_dir, restart=args.restart, max_steps=args.max_steps)
    return 0


def _bench(args: argparse.Namespace) -> int:
    from gdl_studio.music.bench import run_bench

    run_bench(args)
    return 0


def _continue(args: argparse.Namespace) -> int:
    import sys

    from gdl_studio.core.errors import UserError

    if args.notes < 1 or args.notes > 10_000:
        raise UserError(f"--notes must be between 1 and 10000, not {args.notes}")
    if args.bars is not None and args.bars < 1:
        raise UserError(f"--bars must be positive, not {args.bars}")
    from gdl_studio.music.sampling import SamplingOptions

    try:
        SamplingOptions(args.temperature, args.top_k, args.top_p, args.seed).validated()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    from gdl_studio.core.registry import ModelUnavailable
    from gdl_studio.music.midi_io import read_midi, write_midi
    from gdl_studio.music.models_io import load_music_model

    score = read_midi(args.input)
    try:
        composer = load_music_model(args.model)
    except ModelUnavailable as exc:
        raise UserError(str(exc)) from None
    result = composer.continued(score, args.notes, temperature=args.temperature, top_k=args.top_k,
                                     top_p=args.top_p, seed=args.seed, bars=args.bars)
    write_midi(result, args.output)
    added = len(result.notes) - len(score.notes)
    print(f"wrote {args.output}: {len(score.notes)} primer notes + {added} from {composer.name}", file=sys.stderr)
    return 0
