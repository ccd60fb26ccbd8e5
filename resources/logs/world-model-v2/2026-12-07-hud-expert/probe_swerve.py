"""The Dream panel's recovery test without the panel (session 40): the driver drives track SEED, a person steers hard
left with a little gas over steps 100-139, then lets go. Prints the nearest tile every 25 steps, how long the expert
drove after the hand-back, and the wrong-way steps after it (velocity against the track's direction at the nearest
tile, speed over 5). The episode is ``takeover.take_the_wheel``. From the repository root:

    python resources/logs/world-model-v2/2026-12-07-hud-expert/probe_swerve.py CONTROLLER SEED
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[4]))  # the repository root
sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from racing_distill import TEACHER
from takeover import take_the_wheel

from gdl_studio.racing.models_io import load_world_model_from
from gdl_studio.racing.worlds import resolve_world

ctrl, seed = Path(sys.argv[1]), int(sys.argv[2])
wm = load_world_model_from(resolve_world("carracing-controller").models_dir())
total, wrong, expert, tiles = take_the_wheel(wm, ctrl, seed, {**TEACHER, "roff": 8})
print(
    f"{ctrl.parent.name}/{ctrl.name} track {seed}: return {total:.1f}; expert drove {expert} steps after the "
    f"hand-back; wrong-way steps after it: {wrong}"
)
print("nearest tile every 25 steps:", " ".join(str(t) for t in tiles[::25]))
