"""Screenshots of a long dream (issue #13) at a laptop size: the dream-trained driver
(carracing-controller-dream, in its own world carracing-vae-v2 + carracing-mdnrnn-v5) drives the
real game for 100 frames, then dreams on from that frame at τ 1.0 to 1,000 frames. Run from the
repository root under a display (Xvfb) or offscreen:

    QT_QPA_PLATFORM=offscreen python scripts/screenshots/dream_long.py resources/screenshots

Writes ``dream-long-real.png`` (the real game at frame 100), ``dream-long-500.png`` and
``dream-long-1000.png`` (the dream at frames 500 and 1,000). ``--driver NAME --real-frames N --prefix P``
picks another driver in the Driver list, lets it drive the real game for N frames first and names the files
``P-real.png`` … (``--dream-frames`` 0: no dream), e.g. the imitation-trained driver at the end of its lap::

    python scripts/screenshots/dream_long.py resources/screenshots --driver carracing-controller-distilled \
        --real-frames 900 --dream-frames 0 --prefix dream-distilled

A driver that finishes the lap ends the episode before N frames, and the panel then waits for N or R; the script
then says so and shoots the lap's last frame (session 41's driver laps in about 800 frames, and an earlier version
waited for frame 850 until its limit).

``--swerve N`` first takes the wheel at frame 100 and steers hard left with a little gas for N frames (as a person
at the keyboard would), hands it back and waits for the driver's recovery expert to take over: ``P-recovering.png``
(a gated driver, e.g. carracing-controller-distilled since session 39)::

    python scripts/screenshots/dream_long.py resources/screenshots --driver carracing-controller-distilled \
        --swerve 40 --real-frames 400 --dream-frames 0 --prefix dream-recovery
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shot_app import open_window, pump

DRIVER = "carracing-controller-dream"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir", nargs="?", default="resources/screenshots")
    ap.add_argument("--driver", default=DRIVER)
    ap.add_argument("--real-frames", type=int, default=100)
    ap.add_argument("--dream-frames", type=int, nargs="*", default=[500, 1000])
    ap.add_argument("--prefix", default="dream-long")
    ap.add_argument("--swerve", type=int, default=0, metavar="N")
    args = ap.parse_args(argv)
    app, engine, window, _tmp = open_window(1366, 768)
    window.show_panel("dream")
    panel = window.current_panel()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    panel.set_temperature(1.0)
    panel.watch_controller(args.driver)
    if args.swerve:
        pump(app, lambda: panel.mode == "real" and panel.frame_count() >= 100, 400)
        panel.controls.set_action((-1.0, 0.3, 0.0))
        pump(app, lambda: panel.frame_count() >= 100 + args.swerve, 300)
        panel.controls.set_action(None)
        ok = pump(app, lambda: panel.last_frame() is not None and panel.last_frame().recovering, 300)
        panel.refresh_plots()
        window.grab().save(str(out / f"{args.prefix}-recovering.png"))
        print("recovering:", ok, panel.frame_count(), "frames")

    def real_reached() -> bool:  # N frames, or the episode ended first (the lap was finished; the panel waits)
        n = panel.frame_count() if panel.mode == "real" else 0
        return n >= args.real_frames or (n > 0 and not panel.streaming)

    ok = pump(app, real_reached, 300 + args.real_frames)
    if panel.frame_count() < args.real_frames:
        print(
            f"the episode ended at frame {panel.frame_count()} (the lap was finished), before --real-frames "
            f"{args.real_frames}: the shot shows its last frame"
        )
    panel.refresh_plots()
    window.grab().save(str(out / f"{args.prefix}-real.png"))
    print("real:", ok, panel.frame_count(), "frames, driver", panel.active_model())

    frames_wanted = [n for n in args.dream_frames if n > 0]
    if frames_wanted:
        panel.dream_from_here()
    for frames in frames_wanted:
        ok = pump(app, lambda n=frames: panel.mode == "dream" and panel.frame_count() >= n, 600)
        panel.refresh_plots()
        window.grab().save(str(out / f"{args.prefix}-{frames}.png"))
        print(f"dream: {ok} {panel.frame_count()} frames at τ {panel.temperature:.1f}")
    window.close()
    engine.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
