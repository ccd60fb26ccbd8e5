"""``gdl-studio bench live``: MIDI output timing, jam response time and GUI stalls.

Nothing heavy is imported here (``--help`` stays instant); see :mod:`gdl_studio.live.bench`.
"""

from __future__ import annotations

import argparse


def register(commands) -> None:
    """Add ``bench live`` to the shared CLI (see :class:`gdl_studio.cli.Commands`)."""
    p = commands.bench.add_parser(
        "live",
        help="MIDI timing at a JACK client while a model generates, jam response, GUI stalls",
        description="Starts a private JACK server (dummy driver) unless --server is given, sends MIDI "
        "through the app's scheduler to an independent JACK client in another process, "
        "and measures |received - scheduled| while a music model generates; then times "
        "jam mode's first answered note after the silence window and the GUI event-loop "
        "stalls while a continuation streams into the Compose panel.",
    )
    p.add_argument("--json", action="store_true", help="print flat JSON instead of a table")
    p.add_argument("--model", default="lstm", help="lstm or transformer (default: lstm)")
    p.add_argument("--tiny", action="store_true", help="use a small untrained model (no weights needed; timing only)")
    p.add_argument("--seconds", type=float, default=8.0, help="length of the MIDI timing run (default 8)")
    p.add_argument("--jam-rounds", type=int, default=5, help="call-and-response rounds (default 5)")
    p.add_argument(
        "--period",
        type=int,
        default=64,
        help="frames per period of the private JACK server at 48 kHz (default 64 = 1.3 ms)",
    )
    p.add_argument(
        "--server", default=None, help="measure on this running JACK server instead of starting a private one"
    )
    p.add_argument("--no-gui", action="store_true", help="skip the GUI stall figure")
    p.add_argument(
        "--sync-seconds",
        type=float,
        default=8.0,
        help="length of the sample-accurate MIDI, audio latency and clock-follow runs (default 8)",
    )
    p.add_argument(
        "--no-sync",
        action="store_true",
        help="skip midi.timing_ms, audio.latency_ms, clock.follow_error_ms and render.realtime_factor",
    )
    p.set_defaults(func=run)

    p = commands.root.add_parser(
        "render",
        help="bounce a MIDI file to WAV/FLAC with the General MIDI instrument (FluidSynth)",
        description="Renders offline, faster than real time, with the instrument the app plays: FluidSynth "
        "with a General MIDI SoundFont (the built-in additive synth if none is found).",
    )
    p.add_argument("input", metavar="IN.mid")
    p.add_argument("-o", "--output", required=True, metavar="OUT.wav|OUT.flac")
    p.add_argument("--soundfont", metavar="F", help="a .sf2/.sf3 SoundFont (default: the GM SoundFont found)")
    p.add_argument(
        "--program",
        type=int,
        default=None,
        metavar="N",
        help="GM program 0-127 for every melodic channel (default: the file's programs, else piano)",
    )
    p.add_argument("--rate", type=int, default=44100, help="sample rate in Hz (default 44100)")
    p.add_argument("--additive", action="store_true", help="render with the built-in additive synth")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_render)


def run(args: argparse.Namespace, gui_figure=None) -> int:
    """Check the arguments and run the benchmark (``gui_figure``: see :func:`gdl_studio.live.bench.run_bench`)."""
    from gdl_studio.core.errors import UserError

    if args.seconds <= 0 or args.seconds > 600:
        raise UserError(f"--seconds must be in (0, 600], not {args.seconds}")
    if args.sync_seconds <= 0 or args.sync_seconds > 600:
        raise UserError(f"--sync-seconds must be in (0, 600], not {args.sync_seconds}")
    if args.jam_rounds < 0 or args.jam_rounds > 100:
        raise UserError(f"--jam-rounds must be between 0 and 100, not {args.jam_rounds}")
    if args.period not in (16, 32, 64, 128, 256, 512, 1024):
        raise UserError(f"--period must be a power of two from 16 to 1024, not {args.period}")
    if args.model not in ("lstm", "transformer", "music-lstm", "music-transformer"):
        raise UserError(f"--model must be lstm or transformer, not {args.model}")
    from gdl_studio.live.bench import run_bench

    return run_bench(args, gui_figure)


def _render(args: argparse.Namespace) -> int:
    import json
    import sys

    from gdl_studio.live.render import render_midi_file

    res = render_midi_file(
        args.input,
        args.output,
        soundfont=args.soundfont,
        program=args.program,
        samplerate=args.rate,
        instrument="additive" if args.additive else "gm",
    )
    if res.message:
        print(res.message, file=sys.stderr)
    for warning in res.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    info = {
        "output": res.path,
        "seconds": round(res.seconds, 3),
        "render_s": round(res.wall_s, 3),
        "realtime_factor": round(res.realtime_factor, 1),
        "render_factor": round(res.render_factor, 1),
        "load_s": round(res.load_s, 3),
        "instrument": res.instrument,
        "samplerate": res.samplerate,
        "rms": round(res.rms, 5),
        "peak": round(res.peak, 5),
    }
    if args.json:
        print(json.dumps(info))
    else:
        print(
            f"{res.path}: {res.seconds:.2f} s of audio in {res.wall_s:.2f} s ({res.realtime_factor:.0f}x real time, "
            f"{res.render_factor:.0f}x without loading the SoundFont), "
            f"{res.instrument}, RMS {res.rms:.4f}, peak {res.peak:.3f}"
        )
    return 0
