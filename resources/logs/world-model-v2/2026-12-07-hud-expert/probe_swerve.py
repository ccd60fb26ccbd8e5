"""The Dream panel's recovery test without the panel (session 40): the driver drives track SEED, a person steers hard
left with a little gas over steps 100-139, then lets go. Prints the nearest tile every 25 steps, how long the expert
drove after the hand-back, and the wrong-way steps after it (velocity against the track's direction at the nearest
tile, speed over 5). From the repository root:

    python resources/logs/world-model-v2/2026-12-07-hud-expert/probe_swerve.py CONTROLLER SEED
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, "scripts")
from racing_distill import TEACHER, Teacher

from gdl_studio.racing.agent import BatchAgent
from gdl_studio.racing.fast_env import make_env
from gdl_studio.racing.models_io import controller_params, load_world_model_from
from gdl_studio.racing.worlds import resolve_world

ctrl, seed = Path(sys.argv[1]), int(sys.argv[2])
wm = load_world_model_from(resolve_world("carracing-controller").models_dir())
params, _ = controller_params(ctrl)
env = make_env()
obs = env.reset(seed=seed)[0]
teacher = Teacher(env, {**TEACHER, "roff": 8})
agent = BatchAgent(wm.vae, wm.mdn, params[None])
total, tiles, wrong, expert = 0.0, [], 0, 0
for step in range(1000):
    teacher.act()
    a = agent.policy(agent.features(obs[None]))[0]
    if 100 <= step < 140:
        a = np.array([-1.0, 0.3, 0.0], np.float32)
    elif agent.expert is not None and agent.expert[0]:
        expert += 1
    agent.advance(a[None])
    car = env.unwrapped.car
    vel = np.array(car.hull.linearVelocity)
    i = int(teacher.i)
    tangent = teacher.track[(i + 1) % len(teacher.track)] - teacher.track[i]
    if step >= 140 and np.linalg.norm(vel) > 5 and tangent @ vel < 0:
        wrong += 1
    obs, r, term, trunc, _ = env.step(a)
    total += float(r)
    tiles.append(i)
    if term or trunc:
        break
print(
    f"{ctrl.parent.name}/{ctrl.name} track {seed}: return {total:.1f}; expert drove {expert} steps after the "
    f"hand-back; wrong-way steps after it: {wrong}"
)
print("nearest tile every 25 steps:", " ".join(str(t) for t in tiles[::25]))
