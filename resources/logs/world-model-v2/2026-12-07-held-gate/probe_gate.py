"""Session 38: a gated controller alone on one track (a lockstep batch of 1); from step FROM, every 10th step: the
return so far, the car's distance from its nearest tile's centre, its speed, the gate's logit (and whether it is over
the threshold) and the action. Run from the repository root:
python <this file> TRACK FROM [MODEL] (default MODEL runs/held-gate2-model/carracing-controller-distilled)."""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, "scripts")
from racing_distill import TEACHER, Teacher

from gdl_studio.racing.agent import BatchAgent
from gdl_studio.racing.controller import unpack
from gdl_studio.racing.fast_env import make_env
from gdl_studio.racing.models_io import controller_params, load_dir


def main() -> None:
    track, first = int(sys.argv[1]), int(sys.argv[2])
    model = Path(sys.argv[3] if len(sys.argv) > 3 else "runs/held-gate2-model/carracing-controller-distilled")
    vae, mdn = load_dir(Path("models/carracing-vae")), load_dir(Path("models/carracing-mdnrnn"))
    flat, _ = controller_params(model)
    _, _, g, c, threshold = unpack(flat[None])
    env = make_env()
    obs, _ = env.reset(seed=track)
    teacher = Teacher(env, {**TEACHER, "roff": 8})  # only for its nearest tile and distance
    agent = BatchAgent(vae, mdn, flat[None])
    total = 0.0
    for t in range(1000):
        teacher.act()
        x = agent.features(obs[None])
        a = agent.policy(x)
        logit = float(x[0] @ g[0] + c[0])
        if t >= first and t % 10 == 0:
            speed = np.linalg.norm(env.unwrapped.car.hull.linearVelocity)
            is_open = "open" if logit > float(threshold[0]) else "    "
            print(
                t,
                round(total, 1),
                f"off {teacher.distance():.1f} v {speed:.1f} gate {logit:.1f}",
                is_open,
                a[0].round(2),
            )
        agent.advance(a)
        obs, r, term, trunc, _ = env.step(a[0])
        total += float(r)
        if term or trunc:
            break
    print("return", round(total, 1))


if __name__ == "__main__":
    main()
