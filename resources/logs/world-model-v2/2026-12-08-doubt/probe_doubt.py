"""Session 45 probe: does the road driver's members' disagreement rise before it leaves the road?

Drives the shipped gated driver alone (batch of 1) on the given tracks, as `racing_distill.py --trace` does, and
records each step: the car's distance from the centre line, its speed, the ensemble's action, the teacher's action on
the same state (not executed) and the spread of the road driver's 40 members (each 64 units: the members' raw outputs
are the unit blocks' shares times 40, less each member's mean offset, which is estimated on the steps driven).

    python probe_doubt.py OUT.npz TRACK [TRACK ...]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "scripts"))
from racing_distill import TEACHER, Teacher

from gdl_studio.racing import controller as C
from gdl_studio.racing.agent import BatchAgent
from gdl_studio.racing.fast_env import make_env
from gdl_studio.racing.models_io import controller_params, load_world_model_from


def member_raw(driver: np.ndarray, x: np.ndarray, units: int = 64) -> np.ndarray:
    """(members, B, 3): each unit block's contribution to the raw output, times the number of blocks."""
    w1, b1, w2, _ = (p[0] for p in C.unpack(driver[None]))
    hid = np.tanh(x @ w1.T + b1)  # (B, U)
    k = w1.shape[0] // units
    return np.stack([hid[:, j * units : (j + 1) * units] @ w2[:, j * units : (j + 1) * units].T * k for j in range(k)])


def main() -> int:
    out, tracks = Path(sys.argv[1]), [int(t) for t in sys.argv[2:]]
    wm = load_world_model_from(Path("models"))
    params, _ = controller_params(Path("models/carracing-controller-distilled"))
    driver, _, _ = C.split_gated(params)
    rows = {}
    for track in tracks:
        env = make_env()
        obs = env.reset(seed=track)[0]
        teacher = Teacher(env, TEACHER)
        agent = BatchAgent(wm.vae, wm.mdn, params[None])
        total, rec = 0.0, []
        for _ in range(1000):
            a_t = teacher.act()
            x = agent.features(obs[None])
            a = agent.policy(x)[0]
            m = member_raw(driver, x)[:, 0]  # (members, 3)
            agent.advance(a[None])
            car = env.unwrapped.car
            off = float(np.linalg.norm(teacher.track - np.array(car.hull.position), axis=1).min())
            speed = float(np.linalg.norm(np.array(car.hull.linearVelocity)))
            obs, r, term, trunc, _ = env.step(a)
            total += float(r)
            rec.append(np.concatenate([[total, off, speed, float(bool(agent.expert[0]))], a, a_t, m.ravel()]))
            if term or trunc:
                break
        env.close()
        rows[str(track)] = np.array(rec, np.float32)
        print(f"track {track}: return {total:.1f}", file=sys.stderr, flush=True)
    np.savez_compressed(out, **rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
