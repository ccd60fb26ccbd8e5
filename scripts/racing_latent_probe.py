"""Does V's latent (and M's hidden state) hold where the car is on the road? (issue #13; a probe)

    python3 scripts/racing_latent_probe.py [--controller carracing-controller] [--episodes 12]
        [--steer-noise 0.3] [--steps 600] [--out probe.json]

The dream fails to tell which working driver keeps the road (``racing_return_parts.py``). This asks
whether that information is in what M is given. A controller drives real tracks (seeds
4,100,000…, never used for selection; the fast renderer), half of the episodes with Gaussian noise
added to its steering so that the car visits more of the road's width. At every step it records
V's posterior mean μ (what the controller reads, and what M is fed), M's hidden state h, and the
ground truth from the simulator: the car's signed distance from the track's centre line (in
half-widths: ±1 at the edges) and its heading relative to the track (radians). Ridge regressions
(λ chosen on the training episodes by 5-fold cross-validation) predict each quantity from μ, from
h and from both; R² is on the held-out episodes (the last quarter of the episodes, noisy and
clean alike); a k-nearest-neighbour regression on μ's varying dimensions (k 10) gives what a
non-linear reader could get. The control is the frame itself: V's 64x64 input averaged to
32x32 (ridge), and its first 64 principal components (k-nearest neighbours). Also: how many of
μ's dimensions vary at all (std > 0.05 over the frames).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio


ZOOM_STEPS = 50  # CarRacing zooms in over its first second; those frames are left out


def road_frame(env) -> tuple[float, float]:
    """The car's signed offset from the centre line (half-widths) and its heading error (rad)."""
    import numpy as np
    from gymnasium.envs.box2d.car_racing import TRACK_WIDTH

    u = env.unwrapped
    track = np.asarray([(t[2], t[3]) for t in u.track])
    pos = np.asarray(u.car.hull.position)
    i = int(np.argmin(((track - pos) ** 2).sum(1)))
    a, b = track[i], track[(i + 1) % len(track)]
    tangent = (b - a) / max(float(np.linalg.norm(b - a)), 1e-9)
    rel = pos - a
    offset = float(tangent[0] * rel[1] - tangent[1] * rel[0]) / TRACK_WIDTH
    beta = float(u.track[i][1])
    heading = (float(u.car.hull.angle) - beta + math.pi) % (2 * math.pi) - math.pi
    return offset, heading


def ridge_r2(x_train, y_train, x_test, y_test) -> tuple[float, float]:
    """R² on the test rows of a ridge regression whose λ is chosen by 5-fold CV on the training rows."""
    import numpy as np

    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    xt, xv = (x_train - mu) / sd, (x_test - mu) / sd
    ym = y_train.mean()

    def fit(x, y, lam):
        x1 = np.hstack([x, np.ones((len(x), 1))])
        reg = lam * np.eye(x1.shape[1])
        reg[-1, -1] = 0
        return np.linalg.solve(x1.T @ x1 + reg, x1.T @ y)

    def pred(x, w):
        return np.hstack([x, np.ones((len(x), 1))]) @ w

    folds = np.arange(len(xt)) % 5
    best, best_lam = -np.inf, 1.0
    for lam in (0.01, 0.1, 1.0, 10.0, 100.0, 1000.0):
        sse = 0.0
        for f in range(5):
            w = fit(xt[folds != f], y_train[folds != f], lam)
            sse += float(((pred(xt[folds == f], w) - y_train[folds == f]) ** 2).sum())
        if -sse > best:
            best, best_lam = -sse, lam
    w = fit(xt, y_train, best_lam)
    resid = ((pred(xv, w) - y_test) ** 2).sum()
    total = ((y_test - ym) ** 2).sum()
    return float(1 - resid / total), best_lam


def knn_r2(x_train, y_train, x_test, y_test, k: int = 10) -> float:
    """R² on the test rows of a k-nearest-neighbour regression (standardised inputs): what a
    non-linear reader could get out of the same inputs."""
    import numpy as np

    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    xt, xv = (x_train - mu) / sd, (x_test - mu) / sd
    pred = np.empty(len(xv))
    for start in range(0, len(xv), 500):
        d = ((xv[start : start + 500, None, :] - xt[None]) ** 2).sum(-1)
        near = np.argpartition(d, k, axis=1)[:, :k]
        pred[start : start + 500] = y_train[near].mean(1)
    return float(1 - ((pred - y_test) ** 2).sum() / ((y_test - y_train.mean()) ** 2).sum())


def trained_r2(kind: str, x, y, test, epochs: int = 12, seed: int = 0) -> float:
    """R² on the test rows of a small network trained on the training rows (Adam, MSE): ``mlp``
    on vectors (two hidden layers of 128), ``cnn`` on uint8 frames (N, 64, 64, 3; four stride-2
    convolutions, as V's encoder, then a linear read-out). The strongest reader here."""
    import numpy as np
    import torch
    from torch import nn

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    if kind == "cnn":
        xs = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1))).float() / 255.0
        net: nn.Module = nn.Sequential(
            nn.Conv2d(3, 16, 4, 2), nn.ReLU(), nn.Conv2d(16, 32, 4, 2), nn.ReLU(),
            nn.Conv2d(32, 64, 4, 2), nn.ReLU(), nn.Conv2d(64, 64, 4, 2), nn.ReLU(),
            nn.Flatten(), nn.Linear(256, 1),
        )  # fmt: skip
    else:
        xs = torch.from_numpy(np.asarray(x, np.float32))
        xs = (xs - xs[torch.from_numpy(~test)].mean(0)) / (xs[torch.from_numpy(~test)].std(0) + 1e-6)
        net = nn.Sequential(nn.Linear(xs.shape[1], 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 1))
    ys = torch.from_numpy(np.asarray(y, np.float32))
    train_idx = torch.from_numpy(np.flatnonzero(~test))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        for batch in train_idx[torch.randperm(len(train_idx))].split(128):
            loss = ((net(xs[batch]).squeeze(-1) - ys[batch]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        pred = torch.cat([net(c).squeeze(-1) for c in xs[torch.from_numpy(test)].split(512)]).numpy()
    y_test, y_train = np.asarray(y)[test], np.asarray(y)[~test]
    return float(1 - ((pred - y_test) ** 2).sum() / ((y_test - y_train.mean()) ** 2).sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--controller", default="carracing-controller")
    ap.add_argument("--episodes", type=int, default=12)
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--steer-noise", type=float, default=0.3, help="σ of the steering noise (half the episodes)")
    ap.add_argument("--seed", type=int, default=4_100_000)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--trained-readers", action="store_true", help="also train a small MLP on μ and a CNN on the frames"
    )
    args = ap.parse_args(argv)

    import numpy as np
    import torch

    torch.set_num_threads(1)
    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import preprocess
    from gdl_studio.racing.worlds import load_world_for

    world = load_world_for(args.controller)
    rng = np.random.default_rng(0)
    rows: dict[str, list] = {k: [] for k in ("mu", "h", "px", "offset", "heading", "episode", "noisy", "reward")}
    t0 = time.perf_counter()
    for ep in range(args.episodes):
        env = make_env()
        obs, _ = env.reset(seed=args.seed + ep)
        agent = BatchAgent(world.vae, world.mdn, np.asarray(world.controller.get_params())[None])
        noisy = ep % 2 == 1
        for t in range(args.steps):
            h_before = agent.h[0].copy()
            action = agent.act(obs[None])[0].copy()
            mu = agent.last_z[0].copy()
            road_frame_before = road_frame(env)  # where the car is in the frame V just read
            if noisy:
                action[0] = float(np.clip(action[0] + rng.normal(0, args.steer_noise), -1, 1))
            obs_seen = obs
            obs, r, term, trunc, _ = env.step(action)
            if term or trunc:
                break
            if t < ZOOM_STEPS:  # the game's opening zoom: another picture of the same road
                continue
            offset, heading = road_frame_before
            frame = preprocess(obs_seen[None])[0]  # what V saw, 64x64x3
            rows["px"].append(frame)
            rows["mu"].append(mu)
            rows["h"].append(h_before)
            rows["offset"].append(offset)
            rows["heading"].append(heading)
            rows["episode"].append(ep)
            rows["noisy"].append(noisy)
            rows["reward"].append(r)
        env.close()
        print(f"episode {ep} ({'noisy' if noisy else 'clean'}): {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    mu = np.asarray(rows["mu"], np.float64)
    h = np.asarray(rows["h"], np.float64)
    ep = np.asarray(rows["episode"])
    test = ep >= args.episodes - args.episodes // 4
    out: dict = {
        "controller": args.controller,
        "frames": int(len(ep)),
        "test_frames": int(test.sum()),
        "mu_dims_varying": int((mu.std(0) > 0.05).sum()),
        "offset_abs_mean": float(np.abs(rows["offset"]).mean()),
        "share_off_road": float((np.abs(rows["offset"]) > 1).mean()),
    }
    frames = np.asarray(rows["px"])  # (N, 64, 64, 3) uint8
    px = frames.astype(np.float64).reshape(-1, 32, 2, 32, 2, 3).mean((2, 4)).reshape(len(frames), -1) / 255.0
    # the control: the frame itself (V's input at half resolution), linearly and by neighbours in
    # its first 64 principal components (fitted on the training frames)
    centre = px[~test].mean(0)
    _, _, vt = np.linalg.svd(px[~test][::4] - centre, full_matrices=False)
    pcs = (px - centre) @ vt[:64].T
    inputs = {"mu": mu, "h": h, "mu+h": np.hstack([mu, h]), "pixels": px}
    for target in ("offset", "heading"):
        y = np.asarray(rows[target], np.float64)
        if target == "offset":
            y = np.clip(y, -3, 3)  # beyond the grass the exact distance does not matter
        for name, x in inputs.items():
            r2, lam = ridge_r2(x[~test], y[~test], x[test], y[test])
            out[f"r2.{target}.{name}"] = round(r2, 3)
            out[f"lambda.{target}.{name}"] = lam
        active = mu.std(0) > 0.05
        out[f"r2_knn.{target}.mu"] = round(knn_r2(mu[~test][:, active], y[~test], mu[test][:, active], y[test]), 3)
        out[f"r2_knn.{target}.pixels_pca64"] = round(knn_r2(pcs[~test], y[~test], pcs[test], y[test]), 3)
        if args.trained_readers:
            out[f"r2_mlp.{target}.mu"] = round(trained_r2("mlp", mu, y, test), 3)
            out[f"r2_cnn.{target}.frame"] = round(trained_r2("cnn", frames, y, test), 3)
        print(f"{target}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    print(json.dumps(out, indent=1))
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
