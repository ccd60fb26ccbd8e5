"""Do short dreams from real states rank drivers better than 1,000-step dreams from the first frame?

    python3 scripts/racing_short_dreams.py FIDELITY_JSON [--controller NAME] [--episodes 8]
        [--stride 10] [--horizons 10,25,50,100] [--taus 0.5,1.0] [--json]

A diagnostic for issue #13, reading the output of ``gdl-studio bench racing --fidelity --json``
(run with the default controller count and seed, so that ``fidelity.controller_set`` rebuilds the
same controllers around the same base): the real returns there are the reference. Here the
base controller drives ``--episodes`` real tracks (seeds 3,007,000 …: neither the fidelity
bench's real, dream nor horizon tracks); M is fed every recorded frame (teacher-forced), and
every ``--stride`` steps its LSTM state and the frame's latent become a dream start
(``dream_batch(state0=…)``). Each controller then dreams H steps from every start; its score is
the mean summed reward scaled to 1,000 steps (× 1000 / H). Printed: the Spearman correlation of
that score with the real returns over all controllers and over the working ones (real ≥ 300),
and the base controller's score over its real return, for each (τ, H).

The starts are the base driver's states, as a Dreamer-style imagination would start from a
replay buffer; a controller that would never reach them in the real game is judged there anyway.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio

START_SEED_BASE = 3_007_000  # FIDELITY_SEED_BASE + 7,000: not a track of the fidelity bench


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("fidelity_json", type=Path)
    ap.add_argument("--controller", default=None, help="the base controller (default: the one in the JSON)")
    ap.add_argument("--episodes", type=int, default=8, help="real episodes of the base driver to start from")
    ap.add_argument("--stride", type=int, default=10, help="steps between dream starts")
    ap.add_argument("--horizons", type=_floats, default=[10, 25, 50, 100])
    ap.add_argument("--taus", type=_floats, default=[0.5, 1.0])
    ap.add_argument("--working", type=float, default=300.0)
    ap.add_argument("--json", action="store_true", help="print only JSON on stdout")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from gdl_studio.racing.dream_batch import dream_batch
    from gdl_studio.racing.fidelity import controller_set, record_episodes, spearman, spearman_among
    from gdl_studio.racing.models_io import controller_params
    from gdl_studio.racing.worlds import load_world_for

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    flat = json.loads(args.fidelity_json.read_text())
    real = np.asarray(flat["fidelity.per_controller.real"], float)
    name = args.controller or flat["controller"]
    world = load_world_for(name)
    base, _ = controller_params(name)
    controllers = np.asarray(controller_set(base, len(real), 0))
    t0 = time.perf_counter()
    episodes = record_episodes(world, base, [START_SEED_BASE + i for i in range(args.episodes)], 1000)
    log(f"recorded {args.episodes} episodes of {name} ({time.perf_counter() - t0:.0f}s)")

    horizon_max = int(max(args.horizons))
    zs, hs, cs = [], [], []
    mdn = world.mdn
    with torch.inference_mode():
        for mu, actions, _ in episodes:
            state = mdn.initial_state(1)
            z, a = torch.as_tensor(mu), torch.as_tensor(actions)
            for t in range(len(actions)):
                if t % args.stride == 0 and t + horizon_max <= len(actions):
                    zs.append(mu[t])
                    hs.append(state[0][0, 0].numpy().copy())
                    cs.append(state[1][0, 0].numpy().copy())
                _, state = mdn.step(z[t : t + 1], a[t : t + 1], state)
    starts = len(zs)
    n = len(controllers)
    z0 = np.tile(np.stack(zs), (n, 1))
    state0 = (np.tile(np.stack(hs), (n, 1)), np.tile(np.stack(cs), (n, 1)))
    params = np.repeat(controllers, starts, axis=0)
    working = real >= args.working
    rows = []
    for tau in args.taus:
        for horizon in args.horizons:
            res = dream_batch(mdn, params, z0, tau, 0, int(horizon), device="cpu", done_threshold=2.0, state0=state0)
            score = res.returns.reshape(n, starts).mean(1) * 1000.0 / horizon
            rows.append(
                {
                    "tau": tau,
                    "horizon": int(horizon),
                    "rank_corr": spearman(score, real),
                    "rank_corr_working": spearman_among(score, real, working),
                    "return_ratio": float(score[0] / real[0]) if real[0] else float("nan"),
                }
            )
            r = rows[-1]
            log(
                f"τ {tau:.2f}  H {int(horizon):4d}: rank corr {r['rank_corr']:.3f}, working "
                f"{r['rank_corr_working']:.3f}, ratio {r['return_ratio']:.3f} ({time.perf_counter() - t0:.0f}s)"
            )
    result = {
        "controller": name,
        "controllers": n,
        "controllers_working": int(working.sum()),
        "starts": starts,
        "episodes": args.episodes,
        "stride": args.stride,
        "first_seed": START_SEED_BASE,
        "reference": str(args.fidelity_json),
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if args.json:
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
