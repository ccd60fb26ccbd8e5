"""Session 45 probe: the shipped gated driver with a doubt governor, in lockstep batches.

Where the road driver drives (the gate closed) and its members disagree on the steering (the standard deviation of
the 40 members' raw steer, each a 64-unit block times 40, over ``theta``), the governor lifts the gas and, above
speed ``vmin`` (the HUD's speed bar), brakes with ``brake``.

    python probe_govern.py OUT.json FIRST N THETA BRAKE VMIN [THETA BRAKE VMIN ...]   # THETA inf: the driver as it is
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from gdl_studio.racing.agent import BatchAgent
from gdl_studio.racing.fast_env import make_env
from gdl_studio.racing.models_io import controller_params, load_world_model_from
from gdl_studio.racing.preprocess import hud_gauges


def steer_doubt(parts, x: np.ndarray, units: int = 64) -> np.ndarray:
    """(B,) the members' spread of raw steer for features x (B, in); parts: the driver's unpacked rows."""
    w1, b1, w2 = parts[0], parts[1], parts[2]
    hid = np.tanh(np.einsum("bij,bj->bi", w1, x) + b1)  # (B, U)
    b, u = hid.shape
    k = u // units
    contrib = hid.reshape(b, k, units) * w2[:, 0, :].reshape(b, k, units)
    return (contrib.sum(-1) * k).std(1)


def drive(wm, params, seeds, theta, brake, vmin, batch=16):
    out, gov_steps = [], 0
    for s0 in range(0, len(seeds), batch):
        ss = seeds[s0 : s0 + batch]
        envs = [make_env() for _ in ss]
        obs = np.stack([e.reset(seed=int(s))[0] for e, s in zip(envs, ss)])
        agent = BatchAgent(wm.vae, wm.mdn, np.repeat(params[None], len(ss), 0))
        tot = np.zeros(len(ss))
        alive = np.arange(len(ss))
        for t in range(1000):
            x = agent.features(obs)
            a = agent.policy(x)
            if np.isfinite(theta):
                d = steer_doubt(agent.parts[0], x)
                speed = np.array([hud_gauges(o)[0] for o in obs]) / 0.02
                on = (d > theta) & ~np.asarray(agent.expert, bool)
                a[on, 1] = 0.0
                fast = on & (speed > vmin)
                a[fast, 2] = np.maximum(a[fast, 2], brake)
                gov_steps += int(on.sum())
            agent.advance(a)
            keep, nxt = [], []
            for j, i in enumerate(alive):
                o, r, term, trunc, _ = envs[i].step(a[j])
                tot[i] += r
                if not (term or trunc or t == 999):
                    keep.append(j)
                    nxt.append(o)
            if not keep:
                break
            alive = alive[np.asarray(keep)]
            agent.keep(np.asarray(keep))
            obs = np.stack(nxt)
        out += tot.tolist()
        print(
            f"  {theta} {brake} {vmin}: {s0 + len(ss)}/{len(seeds)} mean {np.mean(out):.1f}",
            file=sys.stderr,
            flush=True,
        )
    return out, gov_steps


def main() -> int:
    path, first, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    if first < 0:  # the listed tracks
        seeds = [int(t) for t in sys.argv[4].split(",")]
        rest = sys.argv[5:]
    else:
        seeds = list(range(first, first + n))
        rest = sys.argv[4:]
    wm = load_world_model_from(Path("models"))
    params, _ = controller_params(Path("models/carracing-controller-distilled"))
    res = {"seeds": seeds, "runs": []}
    for k in range(0, len(rest), 3):
        theta, brake, vmin = (float(v) for v in rest[k : k + 3])
        ret, g = drive(wm, params, seeds, theta, brake, vmin)
        r = np.array(ret)
        row = {
            "theta": theta,
            "brake": brake,
            "vmin": vmin,
            "mean": r.mean(),
            "std": r.std(),
            "min": r.min(),
            "under800": int((r < 800).sum()),
            "governed_steps": g,
            "returns": ret,
        }
        res["runs"].append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "returns"}), file=sys.stderr, flush=True)
        path.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
