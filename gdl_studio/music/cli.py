"""Music commands: ``data music``, ``train music-lstm|music-transformer``, ``bench music``,
``continue`` and ``infill``. Nothing heavy is imported at module level (``--help`` stays instant and the
training machine needs only torch, numpy and safetensors)."""

from __future__ import annotations

import argparse


def register(commands) -> None:
    """Add the music leaves to the shared CLI (see :class:`gdl_studio.cli.Commands`)."""
    p = commands.data.add_parser("music", help="build the music corpus cache (data/music.npz) from music21's corpus")
    p.add_argument(
        "--corpus",
        default="all",
        help="comma-separated styles (chorale, renaissance, classical, folk, irish, madrigal) or "
        "music21 corpus folders (default: all styles)",
    )
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
        p.add_argument(
            "--patience", type=int, default=None, help="epochs without validation improvement before stopping"
        )
        p.add_argument("--seed", type=int, default=None)
        p.add_argument(
            "--tiny", action="store_true", help="a tiny model and a short run (to check the pipeline on a CPU)"
        )
        p.add_argument("--checkpoint-dir", help=f"where to keep the resumable checkpoint (default: runs/music-{kind})")
        p.add_argument("--restart", action="store_true", help="ignore an existing checkpoint instead of resuming it")
        p.add_argument("--arch", default=None, help="override architecture fields, e.g. 'd_model=256,layers=4'")
        p.add_argument("--weight-decay", type=float, default=None)
        p.add_argument("--style-dropout", type=float, default=None, help="share of windows told 'unknown style'")
        p.add_argument("--no-styles", action="store_true", help="no style embedding")
        p.add_argument(
            "--style-weights",
            default=None,
            metavar="STYLE=W,…",
            help="crops per epoch of those styles' pieces, times W (e.g. 'chorale=3,renaissance=2')",
        )
        p.add_argument(
            "--valid-styles",
            default=None,
            metavar="STYLE,…",
            help="keep the weights best on these styles' validation pieces (default: all styles)",
        )
        p.add_argument(
            "--workers", type=int, default=None, help="batch-making processes (default 0; the GPU script uses 3)"
        )
        p.add_argument("--eval-every", type=int, default=None, help="epochs between validation passes (default 1)")
        if kind == "transformer":
            p.add_argument(
                "--init-weights",
                default=None,
                metavar="MODEL_DIR",
                help="start from this model's weights (same shape; tables that grew keep the old rows)",
            )
            p.add_argument(
                "--teacher",
                default=None,
                metavar="MODEL_DIR",
                help="distil from this Transformer's transposition ensemble (same events)",
            )
            p.add_argument("--teacher-views", type=int, default=None, help="the teacher ensemble's radius R (±R)")
            p.add_argument(
                "--distill-weight", type=float, default=None, help="share of the loss that follows the teacher (0-1)"
            )
            p.add_argument(
                "--fim-rate",
                type=float,
                default=None,
                help="share of training windows rearranged for filling a gap (default 0.5)",
            )
        p.set_defaults(func=_train, kind=kind)

    p = commands.bench.add_parser(
        "music", help="NLL, accuracy, latency and memory of the music models on the test pieces"
    )
    p.add_argument("--json", action="store_true", help="print flat JSON instead of a table")
    p.add_argument("--data", help="corpus cache (default: data/music.npz)")
    p.add_argument("--pieces", type=int, default=None, help="use only the first N test pieces")
    p.add_argument("--ngram-order", type=int, default=5)
    p.add_argument("--latency-notes", type=int, default=128, help="notes generated for the latency figures")
    p.add_argument("--models", default="lstm,transformer", help="which models to measure")
    p.add_argument("--steer-pieces", type=int, default=8, help="test primers for the steering figures (default 8)")
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
    _views_flag(p)
    _steering_flags(p)
    p.set_defaults(func=_continue)

    p = commands.root.add_parser("infill", help="fill a range of bars of a MIDI file given the music around it")
    p.add_argument("input", metavar="IN.mid")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.mid",
        help="every note outside the range as it was, the range filled anew",
    )
    p.add_argument(
        "--bars",
        required=True,
        metavar="A:B",
        help="the bars to fill, counted from 1 as in a score, B not included (3:5 = bars 3 and 4); "
        "the notes starting in them are replaced",
    )
    p.add_argument("--model", default="transformer", help="a Transformer trained for infilling (default: transformer)")
    p.add_argument("--max-notes", type=int, default=512, help="at most this many notes (default 512)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0, help="sample from the k most likely tokens (0: off)")
    p.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling mass (1: off)")
    p.add_argument("--seed", type=int, default=None)
    _views_flag(p)
    _steering_flags(p)
    p.set_defaults(func=_infill)


def _views_flag(p) -> None:
    p.add_argument(
        "--views",
        type=int,
        default=None,
        metavar="R",
        help="average the model's predictions over the music transposed by -R..R semitones "
        "(0-6; more is a little better and slower; default: the model card's)",
    )


def _steering_flags(p) -> None:
    g = p.add_argument_group("steering (every generated note obeys these)")
    g.add_argument("--key", help="key/scale lock: C, Am, 'F# minor', 'D dorian', 'Bb pentatonic' …")
    g.add_argument(
        "--chords",
        help="one chord per bar from the first generated bar, e.g. 'C G Am F' (repeats); "
        "'primer' takes them from the input (continue: its last bars; infill: the "
        "bars being replaced)",
    )
    g.add_argument("--range", dest="pitch_range", metavar="LO:HI", help="pitch range, e.g. 48:84 or C3:C6")
    g.add_argument("--density", type=float, help="at most this many notes start per beat (0.5: one per two beats)")
    g.add_argument("--voices", type=int, help="at most this many notes sound at once")
    g.add_argument("--style", default=None, help="the style the model writes in (see the model card; default auto)")


PRIMER_CHORD_BARS = 4


def _constraints(args: argparse.Namespace, score, chord_bars: tuple[int, int] | None):
    """Constraints from the steering flags (``UserError`` with one line for bad ones);
    ``chord_bars``: 0-based ``(first, count)`` of the bars ``--chords primer`` reads."""
    from gdl_studio.core.errors import UserError
    from gdl_studio.music.steering import Constraints, chords_of, constraints_from_strings

    chords = args.chords
    try:
        if chords is not None and chords.strip().lower() == "primer":
            first, count = chord_bars if chord_bars else (0, 0)
            found = chords_of(score.notes, score.beats_per_bar, first, count) if count > 0 else ()
            if not any(c is not None for c in found):
                raise ValueError("--chords primer: no notes in the bars to take chords from")
            c = constraints_from_strings(args.key, None, args.pitch_range, args.density, args.voices)
            c = Constraints(c.key, tuple(found), c.pitch_range, c.density, c.voices).validated()
        else:
            c = constraints_from_strings(args.key, chords, args.pitch_range, args.density, args.voices)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return c if c.active else None


def _sampling(args: argparse.Namespace) -> None:
    from gdl_studio.core.errors import UserError
    from gdl_studio.music.sampling import SamplingOptions

    try:
        SamplingOptions(args.temperature, args.top_k, args.top_p, args.seed, args.views).validated()
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _load(name: str):
    from gdl_studio.core.errors import UserError
    from gdl_studio.core.registry import ModelUnavailable
    from gdl_studio.music.models_io import load_music_model

    try:
        return load_music_model(name)
    except ModelUnavailable as exc:
        raise UserError(str(exc)) from None


def _data(args: argparse.Namespace) -> int:
    from gdl_studio.music.corpus import build_corpus, parse_styles

    corpora = parse_styles(args.corpus)
    build_corpus(corpora, out=args.out, workers=args.workers, limit=args.limit)
    return 0


def _train(args: argparse.Namespace) -> int:
    from gdl_studio.music.train import default_settings, train_music

    settings = default_settings(args.kind, args.tiny)
    for field in (
        "max_minutes",
        "max_epochs",
        "batch_size",
        "lr",
        "patience",
        "seed",
        "weight_decay",
        "style_dropout",
        "workers",
        "eval_every",
        "fim_rate",
        "init_weights",
        "teacher",
        "teacher_views",
        "distill_weight",
        "style_weights",
        "valid_styles",
    ):
        value = getattr(args, field, None)
        if value is not None:
            setattr(settings, field, value)
    train_music(
        args.kind,
        data_path=args.data,
        out_dir=args.out,
        device=args.device,
        settings=settings,
        tiny=args.tiny,
        checkpoint_dir=args.checkpoint_dir,
        restart=args.restart,
        max_steps=args.max_steps,
        arch=args.arch,
        styles=not args.no_styles,
    )
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
    _sampling(args)
    from gdl_studio.music import tokens as T
    from gdl_studio.music.midi_io import read_midi, write_midi

    score = read_midi(args.input)
    end_bar = int(round(score.length_beats * T.TICKS_PER_BEAT)) // T.bar_ticks_for(score.beats_per_bar)
    constraints = _constraints(
        args, score, (max(0, end_bar - PRIMER_CHORD_BARS + 1), min(PRIMER_CHORD_BARS, end_bar + 1))
    )
    composer = _load(args.model)
    try:
        result = composer.continued(
            score,
            args.notes,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            seed=args.seed,
            bars=args.bars,
            constraints=constraints,
            style=args.style,
            views=args.views,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    write_midi(result, args.output)
    added = len(result.notes) - len(score.notes)
    steer = f" (steered: {constraints.describe()})" if constraints else ""
    print(
        f"wrote {args.output}: {len(score.notes)} primer notes + {added} from {composer.name}{steer}", file=sys.stderr
    )
    return 0


def parse_bar_range(text: str) -> tuple[int, int]:
    """``"3:5"`` (bars from 1, end not included) → 0-based ``(2, 4)``; ``UserError`` if bad."""
    from gdl_studio.core.errors import UserError

    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        raise UserError(f"--bars must be A:B (bars counted from 1, B not included), not '{text}'") from None
    if a < 1 or b <= a:
        raise UserError(f"--bars {text}: the range must start at bar 1 or later and end after it starts")
    return a - 1, b - 1


def _infill(args: argparse.Namespace) -> int:
    import sys

    from gdl_studio.core.errors import UserError

    start, end = parse_bar_range(args.bars)
    if args.max_notes < 1 or args.max_notes > 10_000:
        raise UserError(f"--max-notes must be between 1 and 10000, not {args.max_notes}")
    _sampling(args)
    from gdl_studio.music.midi_io import read_midi, write_midi

    score = read_midi(args.input)
    constraints = _constraints(args, score, (start, end - start))
    composer = _load(args.model)
    try:
        result = composer.filled(
            score,
            start,
            end,
            max_notes=args.max_notes,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            seed=args.seed,
            constraints=constraints,
            style=args.style,
            views=args.views,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    write_midi(result, args.output, ticks_per_beat=score.ticks_per_beat)  # the input's ticks, exactly
    kept = sum(1 for n in result.notes if n.track <= max((x.track for x in score.notes), default=0))
    steer = f" (steered: {constraints.describe()})" if constraints else ""
    print(
        f"wrote {args.output}: {kept} notes kept, {len(result.notes) - kept} filled into bars {args.bars} "
        f"by {composer.name}{steer}",
        file=sys.stderr,
    )
    return 0
