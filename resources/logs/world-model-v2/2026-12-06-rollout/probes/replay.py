"""Do the dreams leave the road where the recorded data do, given the recorded actions? (no new environment steps)

    python3 probes/replay.py ROLL_DIR SERIES.npz [--split val|train] [--kind swerve|iterate|all] DREAMER...

Along episodes of ROLL_DIR (split as M training splits them: every 20th episode is validation), every 20 steps
where the recorded car is on the road: M (behind M v4's reader, like M v5) is teacher-forced on V's means up to that
step, then dreams 30 steps open loop with the *recorded* actions (fidelity.flip_branches' first branch: the mean of
the likeliest component fed back). The real departure is the recorded frame 30 steps later off the road
(dream_batch.on_road on the stored 64x64 frame); the dream's, on V's decoding of the dreamt latent. SERIES.npz is
M training's latent cache of ROLL_DIR (train_mdn.encode_series).
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../2026-12-06-swerve/probes"))
from dreamers import load_dreamer

from gdl_studio.racing.collect import list_episodes
from gdl_studio.racing.dream_batch import on_road
from gdl_studio.racing.fidelity import STEER_HORIZON, flip_branches, teacher_forced_states
from gdl_studio.racing.preprocess import to_tensor
from gdl_studio.racing.worlds import load_world_for

ap = argparse.ArgumentParser()
ap.add_argument("roll")
ap.add_argument("series")
ap.add_argument("dreamers", nargs="+")
ap.add_argument("--split", choices=("val", "train"), default="val")
ap.add_argument("--kind", choices=("swerve", "iterate", "all"), default="all")
ap.add_argument("--limit", type=int, default=16, help="episodes at most")
args = ap.parse_args()
torch.set_num_threads(2)
vae = load_world_for("carracing-controller-dream").vae.eval()
files = list_episodes(args.roll)
s = np.load(args.series)
lengths = s["lengths"]
frame_off = np.concatenate([[0], np.cumsum(lengths + 1)])
step_off = np.concatenate([[0], np.cumsum(lengths)])
picks = [e for e in range(len(files)) if (e % 20 == 19) == (args.split == "val")]
if args.kind != "all":
    picks = [e for e in picks if (os.path.basename(files[e]).startswith("ep_1")) == (args.kind == "swerve")]
picks = picks[: args.limit]
cases = []  # (episode, start, real_off_at_start+H)
for e in picks:
    with np.load(files[e]) as d:
        road = on_road(to_tensor(d["frames"]))
    n = int(lengths[e])
    for t in range(20, n - STEER_HORIZON, 20):
        if road[t]:
            cases.append((e, t, not road[t + STEER_HORIZON]))
real_off = np.array([c[2] for c in cases])
print(
    f"{len(picks)} {args.split} episodes ({args.kind}), {len(cases)} starts on the road, "
    f"real off after {STEER_HORIZON} steps {real_off.mean():.3f}",
    flush=True,
)
for spec in args.dreamers:
    mdn = load_dreamer(spec)
    dream_off = []
    for e in picks:
        mu = s["mu"][frame_off[e] : frame_off[e + 1]].astype(np.float32)
        act = s["actions"][step_off[e] : step_off[e + 1]].astype(np.float32)
        starts = [t for (ee, t, _) in cases if ee == e]
        if not starts:
            continue
        states = teacher_forced_states(mdn, mu, act)
        ends = [flip_branches(mdn, mu, states, act, t, STEER_HORIZON)[0][-1:] for t in starts]
        with torch.inference_mode():
            dream_off += list(~on_road(vae.decode(torch.cat(ends))))
    d = np.array(dream_off)
    print(
        f"{spec}: dream off {d.mean():.3f}; of the real departures {d[real_off].mean():.3f}, "
        f"where the real car stayed {d[~real_off].mean():.3f}",
        flush=True,
    )
