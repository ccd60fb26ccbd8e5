"""Can M be taught to rank drivers the way the real game does? (issue #13; an experiment)

    python3 scripts/racing_value_equiv.py real --set train|valid [--controllers 49] [--tracks 8] [--workers 2]
    python3 scripts/racing_value_equiv.py train [--iters 60] [--out runs/ve/m-ve] ...
    python3 scripts/racing_dream_count.py FIDELITY_JSON --mdn runs/ve/m-ve/carracing-mdnrnn   # the test figure
    python3 scripts/racing_value_equiv.py score --models DIR [--tracks 32] CONTROLLER|SNAPSHOTS.npz …
    python3 scripts/racing_value_equiv.py reward [--mdn DIR --read-world] [--out runs/ve/m-reward] ...

``--base`` (real, train) is the driver the controllers surround, by default the shipped dream driver. Session
20's runs (`resources/logs/world-model-v2/2026-12-05-value-equivalence/`) surrounded the dream driver shipped
before them, kept there as ``controller-session19`` (its world: V v2 + M v2); pass that directory to repeat them.
Session 21's second round (``…-value-equivalence-r2/``) surrounded session 20's driver, kept there as
``controller-session20``.

M is trained for the next latent's likelihood. What dream CMA-ES needs is different: that among the
controllers it samples (Gaussian perturbations of its mean) the one that dreams better also drives
better. That is the value-equivalence idea of model learning (Grimm et al., 2020; policy-aware model
learning, Abachi et al., 2020): fit the model so that the returns it predicts for a family of policies
match their real returns. Here:

* ``real``: a set of controllers around the shipped dream driver (``fidelity.controller_set``, seed 1
  for training, seed 2 for validation; the bench uses seed 0) and their real returns on tracks of
  their own (8,000,000… for training, 8,100,000… for validation). Nothing here uses the bench's
  controllers or tracks.
* ``train``: only M's output heads (mixture and reward) are trained; the LSTM is frozen. In the real
  game a controller reads M's hidden state h, which depends on the LSTM alone, so every controller's
  real return stays what ``real`` measured (and what the bench measured with the shipped M). Each
  iteration dreams a batch of training controllers (z drawn with the reparameterisation trick, the
  mixture component by straight-through Gumbel-softmax) and fits the mean dream return of each to its
  real mean (the spread within the batch, and apart from it the batch's level); an L2 pull towards
  the shipped heads keeps M near its likelihood fit. Every ``--every``
  iterations the validation controllers are dreamed (no gradients) and ranked against their real
  returns; the heads with the best validation rank correlation among the working drivers are kept.
* ``train --read-world`` (session 29): the trained M becomes the *dreamer* of a ``ReadMDNRNN``
  (``racing/mdn_rnn.py``) whose reader is the world's M: the controllers read h from the world's LSTM, as in
  the real game, and the dreamer's own LSTM (``--train-lstm``) and heads may then be trained too, since no
  controller's real return depends on them. ``--mdn`` names the dreamer to start from (e.g. session 10's
  span25 M, whose dreams keep the road).
* ``reward``: only the reward head is refitted, in closed form. With the other weights fixed the dreams do
  not change, and a dream's return is linear in the head (w · Σ_t h_t + b · steps), so one pass of dreams
  per controller gives the features and a ridge regression towards the current head (its weight chosen on
  the validation controllers) gives the head.
* ``score``: real returns of one or two controllers (directories or names) on the same tracks in the
  world of ``--models`` (a directory with ``carracing-vae`` and ``carracing-mdnrnn``), paired when two.
* the test figure, read only after selection: ``racing_dream_count.py`` dreams the bench's own
  controllers (seed 0) with the trained M against the bench's stored real returns (valid for this M,
  since its LSTM is the shipped one).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: gdl_studio

SETS = {"train": (1, 8_000_000), "valid": (2, 8_100_000)}  # controller seed, first real track
START_SEEDS = {"train": 8_200_000, "valid": 8_300_000}  # first frames the dreams start from
CONTROLLER = "carracing-controller-dream"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def cmd_real(args) -> int:
    import numpy as np

    from gdl_studio.racing.fidelity import controller_set, real_returns
    from gdl_studio.racing.models_io import controller_params
    from gdl_studio.racing.worlds import controller_card, resolve_world

    seed, track0 = SETS[args.set]
    params, _ = controller_params(args.base)
    controllers = controller_set(params, args.controllers, seed)
    models_dir = resolve_world(controller_card(args.base)).models_dir()
    tracks = [track0 + i for i in range(args.tracks)]
    t0 = time.perf_counter()
    real, steps, _ = real_returns(models_dir, controllers, tracks, args.workers, log=log)
    out = args.out or Path(f"runs/ve/real-{args.set}.npz")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(out, params=np.asarray(controllers), real=real, tracks=np.asarray(tracks), seed=seed)
    means = real.mean(1)
    log(
        f"{args.set}: {len(controllers)} controllers × {len(tracks)} tracks, {steps} env steps, "
        f"{time.perf_counter() - t0:.0f} s; means {np.round(np.sort(means)[::-1], 1).tolist()}"
    )
    return 0


def st_sample(out, tau: float, gen, shared: int = 0, gumbel_tau: float = 1.0):
    """z ~ M's mixture at temperature τ, differentiable: the Gaussian by reparameterisation, the
    component by straight-through Gumbel-softmax (the forward value is the hard draw). With
    ``shared`` = D the rows are controller-major blocks of D dreams and dream d of every block gets
    the same random numbers (common random numbers: the controllers' differences are less noisy)."""
    import torch
    import torch.nn.functional as F

    logits = out.logpi / tau
    rows = logits.shape[0]
    draw = (shared, *logits.shape[1:]) if shared else logits.shape
    u = torch.rand(draw, generator=gen, device=logits.device).clamp_(1e-20, 1.0)
    eps = torch.randn((*draw[:1], *out.mu.shape[1:-1]), generator=gen, device=logits.device)  # (…, z) for a joint M too
    if shared:
        u, eps = u.repeat(rows // shared, 1, 1), eps.repeat(rows // shared, 1)
    g = logits - torch.log(-torch.log(u))
    soft = F.softmax(g / gumbel_tau, dim=-1)
    hard = F.one_hot(g.argmax(-1), logits.shape[-1]).to(soft.dtype)
    y = hard - soft.detach() + soft
    mu = (y * out.mu).sum(-1)
    sigma = (y * out.logsigma.exp()).sum(-1)
    return mu + sigma * (tau**0.5) * eps


def diff_dream(mdn, params, z0, tau: float, steps: int, gen, window: int, shared: int = 0):
    """Summed predicted reward of each row's dream (B,), with gradients to M's heads; the graph is
    cut every ``window`` steps (truncated backpropagation through time)."""
    import torch

    from gdl_studio.racing.dream_batch import DREAM_MIN_STEPS, controller_tensors, squash_torch

    device = next(mdn.parameters()).device
    weight, bias = controller_tensors(params, mdn.config.z_size, mdn.config.hidden, device)
    z = torch.as_tensor(z0, dtype=torch.float32, device=device)
    state = mdn.initial_state(len(z), device)
    total = torch.zeros(len(z), device=device)
    alive = torch.ones(len(z), dtype=torch.bool, device=device)
    for t in range(steps):
        if window and t and t % window == 0:
            z, state = z.detach(), tuple(s.detach() for s in state)
        a = squash_torch(torch.einsum("bij,bj->bi", weight, torch.cat([z, state[0][0]], 1)) + bias)
        out, state = mdn.step(z, a, state)
        total = total + out.reward * alive.float()
        if t + 1 >= DREAM_MIN_STEPS:
            alive = alive & (torch.sigmoid(out.done_logit.detach()) <= 0.5)
        z = st_sample(out, tau, gen, shared)
    return total


def validate(mdn, va, z0, tau: float, seed: int, threshold: float, crn: bool) -> dict:
    """Dream every controller of ``va`` (an npz of ``real``) from each of ``z0``; rank against the
    real means (with ``crn`` every controller meets the same random numbers, as in training)."""
    import numpy as np
    import torch

    from gdl_studio.racing.fidelity import dream_returns, spearman, spearman_among

    device = next(mdn.parameters()).device
    if crn:
        params = np.repeat(va["params"], len(z0), axis=0)
        with torch.no_grad():
            gen = torch.Generator(device=device).manual_seed(seed)
            ret = diff_dream(mdn, params, np.tile(z0, (len(va["params"]), 1)), tau, 1000, gen, 0, len(z0))
        dream = ret.cpu().numpy().reshape(len(va["params"]), len(z0))
    else:
        dream, _, _ = dream_returns(mdn, list(va["params"]), z0, tau, 1000, seed, device)
    means, real = dream.mean(1), va["real"].mean(1)
    working = real >= threshold
    return {
        "rank_corr": spearman(means, real),
        "rank_corr_working": spearman_among(means, real, working),
        "working": int(working.sum()),
        "base_dream": float(means[0]),
        "base_real": float(real[0]),
        "fit_rmse": float(np.sqrt(np.mean((means - real) ** 2))),
    }


def cmd_train(args) -> int:
    import copy

    import numpy as np
    import torch

    from gdl_studio.core.registry import read_card
    from gdl_studio.racing.fidelity import first_frame_latents
    from gdl_studio.racing.mdn_rnn import ReadMDNRNN
    from gdl_studio.racing.models_io import load_dir, save_mdn
    from gdl_studio.racing.worlds import load_world_for

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    # the gradients run back through the frozen LSTM, which stays in eval mode; cuDNN's RNN backward refuses that
    torch.backends.cudnn.enabled = False
    world = load_world_for(args.base)
    mdn = (load_dir(args.mdn) if args.mdn else copy.deepcopy(world.mdn)).float()
    if args.read_world:  # the controllers read h from the world's M (as in the real game); the trained M dreams
        mdn = ReadMDNRNN.from_pair(world.mdn.float(), mdn)
    mdn = mdn.to(args.device)
    if args.train_lstm and not isinstance(mdn, ReadMDNRNN):
        raise SystemExit("--train-lstm needs a ReadMDNRNN (--read-world): the controllers' h must stay as it was")
    heads = [mdn.mdn, mdn.reward_head] + ([mdn.dynamics] if args.train_lstm else [])
    for p in mdn.parameters():
        p.requires_grad_(False)
    trainable = [p for m in heads for p in m.parameters()]
    for p in trainable:
        p.requires_grad_(True)
    anchor = [p.detach().clone() for p in trainable]
    tr, va = np.load(args.real_train), np.load(args.real_valid)
    params, real = tr["params"], tr["real"].mean(1)
    z_train = first_frame_latents(world.vae, [START_SEEDS["train"] + i for i in range(args.starts)])
    z_valid = first_frame_latents(world.vae, [START_SEEDS["valid"] + i for i in range(args.valid_dreams)])
    opt = torch.optim.Adam(trainable, lr=args.lr)
    gen = torch.Generator(device=args.device).manual_seed(args.seed)
    history = []

    def check(it: int, t0: float) -> dict:
        with torch.no_grad():
            v = validate(mdn, va, z_valid, args.tau, 12345, args.working, args.crn)
            fit = validate(mdn, tr, z_train[: args.valid_dreams], args.tau, 54321, args.working, args.crn)
        v.update(train_rank_corr=fit["rank_corr"], train_rank_corr_working=fit["rank_corr_working"])
        v.update(iteration=it, seconds=round(time.perf_counter() - t0, 1))
        history.append(v)
        log(
            f"  valid @{it}: rank_corr {v['rank_corr']:.3f}, working {v['rank_corr_working']:.3f} "
            f"({v['working']}); base dream {v['base_dream']:.1f} / real {v['base_real']:.1f}; "
            f"fit rmse {v['fit_rmse']:.1f}; train set {v['train_rank_corr']:.3f} / "
            f"{v['train_rank_corr_working']:.3f} [{v['seconds']} s]"
        )
        return v

    t0 = time.perf_counter()
    best = check(0, t0)
    best_state = copy.deepcopy(mdn.state_dict())
    for it in range(1, args.iters + 1):
        idx = rng.choice(len(params), args.batch_controllers, replace=False)
        rows = np.repeat(params[idx], args.dreams, axis=0)
        if args.crn:  # every controller of the batch dreams from the same starts with the same noise
            starts = np.tile(z_train[rng.integers(0, len(z_train), args.dreams)], (len(idx), 1))
        else:
            starts = z_train[rng.integers(0, len(z_train), len(rows))]
        ret = diff_dream(mdn, rows, starts, args.tau, args.steps, gen, args.window, args.dreams if args.crn else 0)
        pred = ret.view(len(idx), args.dreams).mean(1)
        target = torch.as_tensor(real[idx], dtype=torch.float32, device=args.device)
        # the spread among the batch's controllers (their order) and, weighted apart, the level
        spread = (((pred - pred.mean()) - (target - target.mean())) / args.scale).pow(2).mean()
        level = ((pred.mean() - target.mean()) / args.scale).pow(2)
        fit = spread + args.level_weight * level
        pull = sum(((p - a) ** 2).sum() for p, a in zip(trainable, anchor, strict=True))
        loss = fit + args.anchor * pull
        opt.zero_grad()
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(trainable, args.clip))
        opt.step()
        c = np.corrcoef(pred.detach().cpu().numpy(), real[idx])[0, 1]
        spread, level, pull = spread.detach(), level.detach(), pull.detach()
        log(
            f"iter {it}: spread {float(spread):.3f} level {float(level):.3f} pull {float(pull):.4f} "
            f"grad {gnorm:.2f} corr(batch) {c:.2f} "
            f"[{time.perf_counter() - t0:.0f} s]"
        )
        if it % args.every == 0 or it == args.iters:
            v = check(it, t0)
            if (v["rank_corr_working"], v["rank_corr"]) > (best["rank_corr_working"], best["rank_corr"]):
                best, best_state = v, copy.deepcopy(mdn.state_dict())
    mdn.load_state_dict(best_state)
    mdn.cpu()
    card = {
        "data": {
            "vae_sha256": world.cards["carracing-vae"].data["sha256"],
            "init": str(args.mdn) if args.mdn else world.cards["carracing-mdnrnn"].name,
            "init_sha256": (read_card(args.mdn) if args.mdn else world.cards["carracing-mdnrnn"]).data["sha256"],
            # a ReadMDNRNN: the controllers read h from this M's LSTM, the trained one only dreams
            "reader": world.cards["carracing-mdnrnn"].name if args.read_world else None,
            "reader_sha256": world.cards["carracing-mdnrnn"].data["sha256"] if args.read_world else None,
        },
        "value_equivalence": {"args": {k: str(v) for k, v in vars(args).items()}, "selected": best, "history": history},
        "training_command": "python3 scripts/racing_value_equiv.py " + " ".join(sys.argv[1:]),
    }
    save_mdn(mdn, args.out, card, fp16=False)
    log(f"kept iteration {best['iteration']}: {json.dumps(best)}; saved to {args.out}")
    print(json.dumps({"selected": best, "history": history}))
    return 0


def dream_features(mdn, params, z0, tau: float, steps: int, seed: int, done_threshold: float = 0.5):
    """Dream each controller of ``params`` from every start of ``z0`` (no gradients) and return, per controller,
    the mean over its dreams of Σ_t h_t (the hidden state M's reward head reads, summed over the steps the dream
    is alive) and of the number of those steps, and every dream's return under the current head (n, dreams).
    A dream's return is ``w · Σ h + b · steps`` for the reward head (w, b): linear in the head, so the head can
    be refitted in closed form while the dreams stay the same.
    Dreamt by :func:`gdl_studio.racing.dream_batch.dream_batch` (its sampler and random stream), on the CPU."""
    import numpy as np
    import torch

    from gdl_studio.racing.dream_batch import dream_batch
    from gdl_studio.racing.mdn_rnn import ReadMDNRNN

    n, d = len(params), len(z0)
    dyn = 2 if isinstance(mdn, ReadMDNRNN) else 0  # where the heads' h sits in the state
    feat = torch.zeros(n * d, mdn.config.hidden, dtype=torch.float64)

    def observe(out, state, alive) -> None:
        feat.add_(alive[:, None].double() * state[dyn][0].double())

    rows, starts = np.repeat(np.asarray(params), d, axis=0), np.tile(z0, (n, 1))
    res = dream_batch(mdn, rows, starts, tau, seed, steps, device="cpu", done_threshold=done_threshold, observe=observe)
    per_feat = feat.numpy().reshape(n, d, -1).mean(1)
    return per_feat, res.lengths.reshape(n, d).mean(1).astype(np.float64), res.returns.reshape(n, d)


def cmd_reward(args) -> int:
    """Refit only M's reward head so that the dreams' mean returns match the real ones (ridge towards the
    current head, the ridge weight chosen on the validation controllers); the dreams themselves (z, h, episode
    ends) do not change, so neither does anything but the dreamt return."""
    import copy

    import numpy as np
    import torch

    from gdl_studio.core.registry import read_card
    from gdl_studio.racing.fidelity import first_frame_latents, spearman, spearman_among
    from gdl_studio.racing.mdn_rnn import ReadMDNRNN
    from gdl_studio.racing.models_io import load_dir, save_mdn
    from gdl_studio.racing.worlds import load_world_for

    torch.set_num_threads(args.threads)
    world = load_world_for(args.base)
    mdn = (load_dir(args.mdn) if args.mdn else copy.deepcopy(world.mdn)).float()
    if args.read_world:
        mdn = ReadMDNRNN.from_pair(world.mdn.float(), mdn)
    mdn.eval()
    parts = [np.load(f) for f in args.real_train]  # several files: their controllers together
    tr = {
        "params": np.concatenate([p["params"] for p in parts]),
        "real": np.concatenate([p["real"].mean(1) for p in parts]),
    }
    va = {"params": np.load(args.real_valid)["params"], "real": np.load(args.real_valid)["real"].mean(1)}
    t0 = time.perf_counter()
    sets = {}
    for name, data, seeds, n in (
        ("train", tr, START_SEEDS["train"], args.dreams),
        ("valid", va, START_SEEDS["valid"], args.valid_dreams),
    ):
        z0 = first_frame_latents(world.vae, [seeds + i for i in range(n)])
        f, c, ret = dream_features(mdn, list(data["params"]), z0, args.tau, args.steps, args.seed)
        sets[name] = (f, c, ret.mean(1), data["real"])
        log(f"{name}: {len(f)} controllers × {n} dreams [{time.perf_counter() - t0:.0f} s]")
    w0 = mdn.reward_head.weight.detach().double().numpy()[0]
    b0 = float(mdn.reward_head.bias.detach().double().numpy()[0])
    for name, (f, c, dream, _) in sets.items():  # the features reproduce the dreams' returns
        err = np.abs(f @ w0 + b0 * c - dream).max()
        log(f"{name}: features reproduce the dream returns to {err:.3g}")

    def figures(f, c, real, w, b) -> dict:
        pred = f @ w + b * c
        working, top = real >= args.working, real >= 700.0
        return {
            "rank_corr": spearman(pred, real),
            "rank_corr_working": spearman_among(pred, real, working),
            "rank_corr_top": spearman_among(pred, real, top),
            "fit_rmse": float(np.sqrt(np.mean((pred - real) ** 2))),
            "base_dream": float(pred[0]),
        }

    f, c, _, real = sets["train"]
    x = np.concatenate([f, c[:, None]], axis=1)
    x_scale = np.abs(x).mean(0) + 1e-9  # the ridge acts on standardised columns
    xs = x / x_scale
    resid = real - (f @ w0 + b0 * c)
    history = []
    best = None
    for lam in [float(v) for v in args.ridge]:
        delta = np.linalg.solve(xs.T @ xs + lam * np.eye(xs.shape[1]), xs.T @ resid) / x_scale
        w, b = w0 + delta[:-1], b0 + delta[-1]
        row = {
            "ridge": lam,
            "train": figures(f, c, real, w, b),
            "valid": figures(*sets["valid"][:2], sets["valid"][3], w, b),
        }
        history.append(row)
        log(f"ridge {lam:g}: train {json.dumps(row['train'])}\n          valid {json.dumps(row['valid'])}")
        key = (row["valid"]["rank_corr_working"], row["valid"]["rank_corr"])
        if best is None or key > best[0]:
            best = (key, lam, w, b)
    start = {"train": figures(f, c, real, w0, b0), "valid": figures(*sets["valid"][:2], sets["valid"][3], w0, b0)}
    log(f"the head as it was: train {json.dumps(start['train'])}\n          valid {json.dumps(start['valid'])}")
    _, lam, w, b = best
    with torch.no_grad():
        mdn.reward_head.weight.copy_(torch.as_tensor(w[None], dtype=torch.float32))
        mdn.reward_head.bias.copy_(torch.as_tensor([b], dtype=torch.float32))
    src = read_card(args.mdn) if args.mdn else world.cards["carracing-mdnrnn"]
    card = {
        "data": {
            "vae_sha256": world.cards["carracing-vae"].data["sha256"],
            "init": str(args.mdn) if args.mdn else src.name,
            "init_sha256": src.data["sha256"],
            "reader": world.cards["carracing-mdnrnn"].name if isinstance(mdn, ReadMDNRNN) else None,
        },
        "reward_refit": {
            "args": {k: str(v) for k, v in vars(args).items()},
            "selected_ridge": lam,
            "start": start,
            "history": history,
        },
        "training_command": "python3 scripts/racing_value_equiv.py " + " ".join(sys.argv[1:]),
    }
    save_mdn(mdn, args.out, card, fp16=False)
    log(f"kept ridge {lam:g}; saved to {args.out}")
    print(json.dumps({"selected_ridge": lam, "start": start, "history": history}))
    return 0


def cmd_score(args) -> int:
    import numpy as np

    from gdl_studio.racing.fidelity import real_returns
    from gdl_studio.racing.models_io import controller_params

    names, params = [], []
    for c in args.controllers:  # a controller (name or directory), or a CMA-ES snapshots.npz: each of its means
        if str(c).endswith(".npz"):
            snaps = np.load(c)
            names += [f"{c}:{k}" for k in sorted(snaps.files)]
            params += [snaps[k].astype(np.float64) for k in sorted(snaps.files)]
        else:
            names.append(str(c))
            params.append(controller_params(c)[0])
    seeds = [args.first + i for i in range(args.tracks)]
    real, steps, _ = real_returns(args.models, params, seeds, args.workers)
    out = {"controllers": names, "first_track": args.first, "returns": real.tolist(), "env_steps": int(steps)}
    for name, row in zip(names, real, strict=True):
        log(f"{name}: {row.mean():.1f} ± {row.std():.1f} (min {row.min():.1f}, under 800 {np.mean(row < 800):.2f})")
    if len(params) == 2:
        d = real[1] - real[0]
        out["paired"] = {"mean": float(d.mean()), "se": float(d.std() / np.sqrt(len(d))), "better": int((d > 0).sum())}
        log(f"paired {d.mean():+.1f} ± {d.std() / np.sqrt(len(d)):.1f} (s.e.), better on {int((d > 0).sum())}/{len(d)}")
    print(json.dumps(out))
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("real")
    r.add_argument("--set", choices=sorted(SETS), required=True)
    r.add_argument("--base", default=CONTROLLER, help="the controller (name or directory) the set surrounds")
    r.add_argument("--controllers", type=int, default=49)
    r.add_argument("--tracks", type=int, default=8)
    r.add_argument("--workers", type=int, default=2)
    r.add_argument("--out", type=Path)
    t = sub.add_parser("train")
    t.add_argument("--real-train", type=Path, default=Path("runs/ve/real-train.npz"))
    t.add_argument("--real-valid", type=Path, default=Path("runs/ve/real-valid.npz"))
    t.add_argument("--out", type=Path, default=Path("runs/ve/m-ve"))
    t.add_argument("--base", default=CONTROLLER, help="controller (name or directory) whose V the dreams use")
    t.add_argument("--mdn", type=Path, help="M to start from (default: the M of --base's world)")
    t.add_argument(
        "--read-world",
        action="store_true",
        help="train a ReadMDNRNN: the controllers read h from the world's M (frozen, as in the real game) and the "
        "M being trained (--mdn) only dreams",
    )
    t.add_argument("--train-lstm", action="store_true", help="with --read-world: also train the dreaming LSTM")
    t.add_argument("--iters", type=int, default=60)
    t.add_argument("--every", type=int, default=10, help="validate every this many iterations")
    t.add_argument("--batch-controllers", type=int, default=16)
    t.add_argument("--dreams", type=int, default=8, help="dreams per controller per iteration")
    t.add_argument("--starts", type=int, default=64, help="training start frames")
    t.add_argument("--valid-dreams", type=int, default=32)
    t.add_argument("--steps", type=int, default=1000)
    t.add_argument("--window", type=int, default=100, help="truncated BPTT window")
    t.add_argument("--tau", type=float, default=1.0)
    t.add_argument("--lr", type=float, default=3e-5)
    t.add_argument("--scale", type=float, default=100.0, help="returns are fitted in units of this")
    t.add_argument("--level-weight", type=float, default=0.2, help="weight of the batch's mean return error")
    t.add_argument("--anchor", type=float, default=1.0, help="weight of the L2 pull to the shipped heads")
    t.add_argument("--clip", type=float, default=1.0)
    t.add_argument("--working", type=float, default=300.0)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--crn", action="store_true", help="common random numbers across a batch's controllers")
    t.add_argument("--device", default="cpu", help="torch device of the differentiable dreams (cpu, cuda)")
    w = sub.add_parser("reward", help="refit only M's reward head, in closed form (the dreams stay the same)")
    w.add_argument("--real-train", type=Path, nargs="+", default=[Path("runs/ve/real-train.npz")])
    w.add_argument("--real-valid", type=Path, default=Path("runs/ve/real-valid.npz"))
    w.add_argument("--out", type=Path, default=Path("runs/ve/m-reward"))
    w.add_argument("--base", default=CONTROLLER, help="controller (name or directory) whose V the dreams use")
    w.add_argument("--mdn", type=Path, help="M to refit (default: the M of --base's world)")
    w.add_argument(
        "--read-world", action="store_true", help="as train's: --mdn dreams, the controllers read the world's M"
    )
    w.add_argument("--dreams", type=int, default=32, help="dreams per training controller")
    w.add_argument("--valid-dreams", type=int, default=64)
    w.add_argument("--steps", type=int, default=1000)
    w.add_argument("--tau", type=float, default=1.0)
    w.add_argument("--ridge", type=float, nargs="+", default=[0.01, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000])
    w.add_argument("--working", type=float, default=300.0)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--threads", type=int, default=2)
    c = sub.add_parser("score")
    c.add_argument("controllers", nargs="+", type=Path, help="controllers (names, directories) or snapshots.npz files")
    c.add_argument("--models", type=Path, required=True)
    c.add_argument("--first", type=int, default=6_000_000, help="first track seed")
    c.add_argument("--tracks", type=int, default=32)
    c.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    return {"real": cmd_real, "train": cmd_train, "reward": cmd_reward, "score": cmd_score}[args.cmd](args)


if __name__ == "__main__":
    raise SystemExit(main())
