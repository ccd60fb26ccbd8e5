"""``gdl-studio finetune music|ink|controller`` (``bench finetune`` is in :mod:`gdl_studio.bench`)."""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from gdl_studio.areas import finetune_area


class _Commands(Protocol):
    """The part of :class:`gdl_studio.cli.Commands` this module uses (cli.py is a layer above)."""

    finetune: argparse._SubParsersAction[argparse.ArgumentParser]


def register(commands: _Commands) -> None:
    for family, help_text, inputs_help in (
        ("music", "adapt the LSTM or Transformer to your MIDI files", "MIDI files or folders"),
        ("ink", "adapt the VRNN (or RNN-GMM) to your drawings", "SVG files or folders"),
        ("controller", "continue CMA-ES on the Dream controller", None),
    ):
        p = commands.finetune.add_parser(family, help=help_text)
        if family == "ink":
            p.add_argument("inputs", nargs="*", help=f"{inputs_help} (default: your drawing set from the Sketch panel)")
        elif inputs_help:
            p.add_argument("inputs", nargs="+", help=inputs_help)
        base = finetune_area(family).default_base
        if family == "controller":  # None: the mode's default, from racing.finetune_options.default_base
            from gdl_studio.racing.finetune_options import DREAM_BASE

            p.add_argument(
                "--base",
                help=f"controller to start from (default: {DREAM_BASE} for a dream run when it is installed, "
                f"else {base})",
            )
        else:
            p.add_argument("--base", default=base, help=f"model to start from (default {base})")
        p.add_argument("--name", required=True, help="name of the personal model to save")
        if family == "controller":
            from gdl_studio.racing.finetune_options import defaults

            dream, real = defaults("dream"), defaults("real")
            # None: the run takes its mode's default from racing.finetune_options (one place for them)
            p.add_argument(
                "--generations",
                type=int,
                help=f"CMA-ES generations (default {dream['generations']} in the dream, {real['generations']} real)",
            )
            p.add_argument(
                "--mode",
                choices=("real", "dream"),
                default=dream["mode"],
                help="train in the dream or in the real game",
            )
            p.add_argument("--tau", type=float, help=f"dream temperature (default {dream['tau']:g})")
            p.add_argument("--population", type=int, help=f"candidates a generation (default {dream['population']})")
            p.add_argument(
                "--rollouts",
                type=int,
                help=f"rollouts per candidate (default {dream['rollouts']} in the dream, {real['rollouts']} real)",
            )
            p.add_argument(
                "--workers",
                type=int,
                help="processes for real-game rollouts (default 1), "
                "or Ray tasks in flight (default: all CPUs of the cluster)",
            )
            from gdl_studio.racing.backends import add_arguments

            add_arguments(p)
            p.add_argument(
                "--sigma", type=float, help=f"initial CMA-ES step size around the base (default {dream['sigma']:g})"
            )
            p.add_argument("--max-steps", type=int, help=f"steps per episode (default {dream['max_steps']})")
            p.add_argument(
                "--valid-rollouts",
                type=int,
                help="fixed validation dreams or tracks, base vs result "
                f"(default {dream['valid_rollouts']} dreams, {real['valid_rollouts']} tracks)",
            )
            p.add_argument(
                "--real-check-tracks",
                type=int,
                help="dream mode: also score base and result on this many real tracks "
                f"(default {dream['real_check_tracks']}; 0: skip)",
            )
        else:
            p.add_argument(
                "--epochs", type=int, default=10, help="at most this many epochs (early stopping on held-out data)"
            )
            p.add_argument("--lr", type=float, default=3e-4)
            p.add_argument("--patience", type=int, help="stop after this many epochs without a better held-out loss")
            p.add_argument("--valid-fraction", type=float, help="share of your data held out for early stopping")
            if family == "music":
                p.add_argument(
                    "--transpose", type=int, help="random transposition of ± this many semitones (default 3)"
                )
            else:
                p.add_argument(
                    "--no-augment",
                    dest="augment",
                    action="store_false",
                    default=None,
                    help="no random scale/rotation/shear jitter of your drawings",
                )
        p.add_argument("--seed", type=int, default=0)
        p.set_defaults(func=_finetune, family=family)


def _finetune(args: argparse.Namespace) -> int:
    import time

    from gdl_studio.core.finetuning import ETA, FinetuneSpec, Progress, format_eta
    from gdl_studio.finetune.runner import InlineControl, family_function

    not_options = {"func", "family", "inputs", "base", "name", "command", "verbose"}
    options = {k: v for k, v in vars(args).items() if k not in not_options and not k.startswith("_")}
    base = args.base
    if base is None:  # a controller run names none: its mode's default among the installed controllers
        from gdl_studio.racing.finetune_options import default_base

        area = finetune_area(args.family)
        base = default_base(args.mode, (name for name, _ in area.choices()), area.default_base)
        print(f"base: {base}", flush=True)
    spec = FinetuneSpec(
        family=args.family,
        base=base,
        inputs=list(getattr(args, "inputs", []) or []),
        name=args.name,
        options=options,
    )
    eta = ETA()

    def report(event: Any) -> None:
        if isinstance(event, Progress):
            left = eta.seconds_left(event.step, event.total)
            parts = [f"{event.unit} {event.step}/{event.total}"]
            if event.train_loss is not None:
                parts.append(f"train {event.train_loss:.4f}")
            if event.valid_loss is not None:
                parts.append(f"valid {event.valid_loss:.4f}")
            parts.extend(f"{k} {v:.3f}" for k, v in event.extra.items() if isinstance(v, (int, float)))
            if event.message:
                parts.append(event.message)
            parts.append(f"ETA {format_eta(left)}")
            print("  " + " · ".join(parts), flush=True)

    t0 = time.perf_counter()
    summary = family_function(args.family)(spec, report, InlineControl())
    print(f"saved personal model '{summary.get('name')}' in {time.perf_counter() - t0:.1f} s")
    if summary.get("headline"):
        print(f"  {summary['headline']}")
    for key, value in summary.get("metrics", {}).items():
        print(f"  {key}: {value}")
    return 0
