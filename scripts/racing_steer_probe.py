"""Does the dreamt car leave the road when the steering is wrong, as the real one does? (issue #13; a probe)

    python3 scripts/racing_steer_probe.py [--episodes 6] [--stride 25] [--m DIR ...]

``racing_action_probe.py`` showed that M's dream responds to the steering (its latents move apart when the
steering is flipped). It did not say *how*. Trained on on-policy data, where a competent driver steers left
because the road turns left, M could learn the correlation the wrong way round: "steering left → the road
turns left". Its dream would then bend the road under any driver, and a driver's mistakes would cost nothing
in the dream, which would explain why dream returns follow a dream's own road-keeping, not the real return.

The probe drives real tracks (seed 3,900,000 + i, used by no training or selection) with the shipped real
controller and, every ``--stride`` steps, branches 30 open-loop steps with the steering flipped: in the real
game and in each M's dream (``fidelity.steer_real`` / ``steer_dream``, the functions behind
``bench racing --fidelity``'s ``steer.*`` keys; here the real branches are replayed once for all Ms). It prints
the share of branches whose car is still on the road after 30 steps, with the recorded and with the flipped
steering, and of the branches whose real car left the road, the share whose dreamt car left too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--episodes", type=int, default=6)
    ap.add_argument("--stride", type=int, default=25)
    ap.add_argument("--m", type=Path, action="append", default=[], help="another M directory (on V v2)")
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    from gdl_studio.racing.fidelity import STEER_HORIZON, record_episodes, steer_dream, steer_real, steer_starts
    from gdl_studio.racing.models_io import CONTROLLER_NAME, controller_params, load_dir
    from gdl_studio.racing.worlds import load_world_for

    torch.set_num_threads(1)
    world = load_world_for(CONTROLLER_NAME)  # the shipped real controller with its own V and M (round 1)
    params, _ = controller_params(CONTROLLER_NAME)
    vae2 = load_dir("models/carracing-vae-v2")
    seeds = [3_900_000 + i for i in range(args.episodes)]
    ep_v1 = record_episodes(world, params, seeds, 1000)
    ep_v2 = record_episodes(world, params, seeds, 1000, encoder=vae2)
    starts = [steer_starts(len(actions), stride=args.stride) for _, actions, _ in ep_v1]
    real_on = []
    for seed, (_, actions, _), st in zip(seeds, ep_v1, starts, strict=True):
        real_on.append(steer_real(seed, actions, st))
        print(f"track {seed}: {len(actions)} steps, {len(st)} branches", file=sys.stderr, flush=True)
    real_off = ~np.concatenate(real_on)
    print(f"{real_off.size} branches on {args.episodes} tracks, {STEER_HORIZON} steps each")
    print(f"  real game, flipped steering: on the road after {STEER_HORIZON} steps in {1 - real_off.mean():.2f}")
    rows = [("round-1 M (random-policy data), V round 1", world.vae, world.mdn, ep_v1)]
    rows.append(("v2 M (on-policy rounds), V v2", vae2, load_dir("models/carracing-mdnrnn-v2"), ep_v2))
    rows += [(f"{d}, V v2", vae2, load_dir(d), ep_v2) for d in args.m]
    for label, vae, mdn, eps in rows:
        flags = [steer_dream(vae, mdn, mu, actions, st) for (mu, actions, _), st in zip(eps, starts, strict=True)]
        on = {flip: np.concatenate([f[flip] for f in flags]) for flip in (False, True)}  # f: (recorded, flipped)
        caught = float((~on[True])[real_off].mean())
        print(
            f"  {label}: dream on the road with the recorded steering {on[False].mean():.2f}, flipped "
            f"{on[True].mean():.2f}; of the {int(real_off.sum())} real departures the dream's car left too in "
            f"{caught:.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
