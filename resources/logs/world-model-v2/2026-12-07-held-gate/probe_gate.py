import sys, json
from pathlib import Path
import numpy as np
sys.path.insert(0, "/work/main"); sys.path.insert(0, "/work/main/scripts")
from racing_distill import TEACHER, Teacher
from gdl_studio.racing.models_io import load_dir, controller_params
from gdl_studio.racing.agent import BatchAgent
from gdl_studio.racing.fast_env import make_env
from gdl_studio.racing.controller import unpack
vae = load_dir(Path("/work/main/models/carracing-vae")); mdn = load_dir(Path("/work/main/models/carracing-mdnrnn"))
flat, _ = controller_params(Path("/work/main/runs/held-gate2-model/carracing-controller-distilled"))
parts = unpack(flat[None]); g, c, thr = parts[2][0], float(parts[3][0]), float(parts[4][0])
env = make_env(); obs, _ = env.reset(seed=int(sys.argv[1]))
tc = Teacher(env, {**TEACHER, "roff": 8})
agent = BatchAgent(vae, mdn, flat[None]); total = 0.0
for t in range(1000):
    tc.act(); x = agent.features(obs[None]); a = agent.policy(x)
    logit = float(x[0] @ g + c)
    if t >= int(sys.argv[2]) and t % 10 == 0:
        car = env.unwrapped.car.hull
        print(t, round(total, 1), "off %.1f" % tc.distance(), "v %.1f" % np.linalg.norm(car.linearVelocity), "gate %.1f" % logit, "open" if logit > thr else "    ", a[0].round(2), "tile", tc.nearest() if hasattr(tc, "nearest") else "")
    agent.advance(a); obs, r, term, trunc, _ = env.step(a[0]); total += r
    if term or trunc: break
print("return", round(total, 1))
