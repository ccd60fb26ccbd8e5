"""``gdl-studio bench live``: MIDI output timing, jam response time and GUI stalls.

Nothing heavy is imported here (``--help`` stays instant); see :mod:`gdl_studio.live.bench`.
"""

from __future__ import annotations

import argparse


def register(commands) -> None:
    """Add ``bench live`` to the shared CLI (see :class:`gdl_studio.cli.Commands`)."""
    p = commands.bench.add_parser(
        "live", help="MIDI timing at a JACK client while a model generates, jam response, GUI stalls",
        description="Starts a private JACK server (dummy driver) unless --server is given, sends MIDI "
                    "through the app's scheduler to an independent JACK client in another process, "
                    "and measures |received - scheduled| while a music model generates; then times "
                    "jam mode's first answered note after the silence window and the GUI event-loop "
                    "stalls while a continuation streams into the Compose panel.")
    p.add_argument("--json", action="store_true", help="print flat JSON instead of a table")
    p.add_argument("--model", default="lstm", help="lstm or transformer (default: lstm)")
    p.add_argument("--tiny", action="store_true",
                   help="use a small untrained model (no weights needed; timing only)")
    p.add_argument("--seconds", type=float, default=8.0, help="length of the MIDI timing run (default 8)")
    p.add_argument("--jam-rounds", type=int, default=5, help="call-and-response rounds (default 5)")
    p.add_argument("--period", type=int, default=64,
                   help="frames per period of the private JACK server at 48 kHz (default 64 = 1.3 ms)")
    p.add_argument("--server", default=None,
                   help="measure on this running JACK server instead of starting a private one")
    p.add_argument("--no-gui", action="store_true", help="skip the GUI stall figure")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, gui_figure=None) -> int:
    """Check the arguments and run the benchmark (``gui_figure``: see :func:`gdl_studio.live.bench.run_bench`)."""
    from gdl_studio.core.errors import UserError

    if args.seconds <= 0 or args.seconds > 600:
        raise UserError(f"--seconds must be in (0, 600], not {args.seconds}")
    if args.jam_rounds < 0 or args.jam_rounds > 100:
        raise UserError(f"--jam-rounds must be between 0 and 100, not {args.jam_rounds}")
    if args.period not in (16, 32, 64, 128, 256, 512, 1024):
        raise UserError(f"--period must be a power of two from 16 to 1024, not {args.period}")
    if args.model not in ("lstm", "transformer", "music-lstm", "music-transformer"):
        raise UserError(f"--model must be lstm or transformer, not {args.model}")
    from gdl_studio.live.bench import run_bench

    return run_bench(args, gui_figure)
