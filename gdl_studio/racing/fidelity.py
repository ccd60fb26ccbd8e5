"""How far the dream can be trusted: ``gdl-studio bench racing --fidelity``.

A world model is useful for learning when a controller that does better in the dream also does
better in the real game, and when the dream's returns are on the real scale. This module
measures exactly that, on fixed seeds that no training or selection uses
(:data:`FIDELITY_SEED_BASE` …):

* a set of controllers spanning weak to strong — the base controller, perturbations of it at
  step sizes from tiny to destructive, and any extra controllers given (e.g. CMA-ES snapshots);
* each one's **real** return (mean over ``real_episodes`` tracks; the pixel-identical fast
  renderer by default, the stock class with ``stock=True``) and **dream** return (mean over
  ``dreams`` dreams of ``dream_steps`` steps at temperature τ, started from V's encodings of
  real first frames);
* ``rank_corr``: Spearman correlation of dream vs real over all controllers, ``rank_corr_top``:
  the same over those whose real return is ≥ ``top_threshold``, ``rank_corr_working`` over
  those ≥ ``working_threshold`` (the drivers that drive: is a better one dreamt better?);
* ``real_reliability`` (and ``_working``, ``_top``): how well the real ranking reproduces itself —
  the Spearman correlation between the controllers' mean real returns on the even-numbered and the
  odd-numbered tracks, stepped up to the whole track set (Spearman–Brown, 2r / (1 + r)). No dream
  can rank the controllers much better against these real means than they rank themselves, so
  this is the ceiling of the rank correlations above at this number of tracks;
* ``dream_reliability`` (and ``_working``): the same split-half figure for the dream means (odd vs
  even dreams of the world's M): how well the dream ranking reproduces itself at ``dreams`` dreams
  per controller. A rank correlation far below it is the dream's bias, not the noise of too few
  dreams (one dream's return varies by ±150 and more);
* ``by_road.*``: the same controllers ranked by their dreams' road-keeping instead of M's reward
  (the share of checked frames, every ``road_every``-th decoded by V, with the car on the road):
  whether the dreamt pictures know more of the drivers' real order than the reward head does;
* ``teacher_forced.*``: the same correlations and the base controller's return ratio for M's
  reward head summed along the real episodes (fed the real frames): whether M's reward head
  ranks the drivers when its dynamics are not in the way;
* ``return_ratio``: the base controller's mean dream return over ``base_dreams`` dreams divided
  by its mean real return; ``on_road``: the fraction of its dreams whose car stays on the road
  (checked on V's decoded frames) in ≥ 95% of the checked frames;
* ``z_nll.hN``: the negative log-likelihood per latent dimension of the true next latents at
  horizon N from real states: M is run teacher-forced up to a real time step, then open loop
  on its own samples with the real actions for N−1 steps; the likelihood of the real latent is
  that of the mixture over ``samples`` such rollouts (h1 is the usual one-step figure).
  ``reward_err.h50``: mean absolute error of the summed predicted reward over those 50 steps;
* ``steer.*`` (:func:`steer_check`): along the same real episodes, whether the dreamt car leaves
  the road when the steering is turned the wrong way for 30 steps, as the real car does
  (``steer.caught``: the share of the real departures that the dream reproduces).

With ``critics`` (other Ms on the same V) every controller's dream return pools the Ms' means
by ``pool`` (by default the lowest), as dream CMA-ES with critics scores its candidates;
``per_pool.rank_corr`` gives the rank correlation of every pooling rule, ``per_m`` each M's own
rank correlation, return ratio and dream returns (the M of the world first). The horizon and
road figures stay those of the world's M.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from gdl_studio.racing.dream_batch import ROAD_EVERY

FIDELITY_SEED_BASE = 3_000_000  # never drawn for training (random 31-bit seeds) nor by the bench (1_000_000…)
DREAM_ROAD_SEED_BASE = FIDELITY_SEED_BASE + 20_000  # dream starts of ``bench racing --dream-road``
DREAM_ROAD_METRIC = "dream_road"  # a controller card's metrics key for its recorded `bench racing --dream-road` figure
MAX_LOCKSTEP = 128  # tracks one real_returns task drives at once (~70 MB each: 256 in two workers ran out of 24 GiB)
ON_ROAD_SHARE = 0.95  # a dream stays on the road when the car is on it in at least this share of checked frames
STEER_HORIZON = 30  # steer check: open-loop steps with the steering flipped
STEER_STRIDE = 50  # steer check: steps between branch points along a real episode
PERTURBATION_SCALES = (0.02, 0.04, 0.06, 0.08, 0.1, 0.13, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0, 1.5, 2.5)


@dataclass
class FidelityConfig:
    """What to measure (defaults: the full benchmark; :meth:`quick` for a 2-core smoke run)."""

    controllers: int = 33
    real_episodes: int = 8
    real_steps: int = 1000
    dreams: int = 16
    dream_steps: int = 1000
    base_dreams: int = 64
    base_real_episodes: int = 16
    tau: float = 1.0
    top_threshold: float = 700.0
    working_threshold: float = 300.0  # rank_corr_working: controllers that drive (real return ≥ this)
    horizons: tuple[int, ...] = (1, 10, 50)
    nll_episodes: int = 4
    nll_steps: int = 1000
    nll_samples: int = 16
    road_every: int = ROAD_EVERY
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    device: str = "auto"
    stock: bool = False
    seed: int = 0
    extra: list[np.ndarray] = field(default_factory=list)  # more controllers (e.g. CMA-ES snapshots)
    # more Ms on the same V (dream-controller --critic-mdn): a controller's dream return pools the
    # Ms' means by ``pool`` (racing.pooling.POOLS), as dream CMA-ES with critics scores candidates
    critics: list[Path] = field(default_factory=list)
    pool: str = "min"

    @classmethod
    def quick(cls, **kw) -> FidelityConfig:
        base = cls(
            controllers=6,
            real_episodes=2,
            real_steps=250,
            dreams=4,
            dream_steps=200,
            base_dreams=8,
            base_real_episodes=2,
            nll_episodes=1,
            nll_steps=200,
            nll_samples=4,
            top_threshold=-1e9,
        )
        return replace(base, **kw)


def spearman(x, y) -> float:
    """Spearman's rank correlation (average ranks for ties); nan with fewer than 3 points."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3:
        return float("nan")
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt((rx**2).sum() * (ry**2).sum())
    return float((rx * ry).sum() / denom) if denom > 0 else float("nan")


def spearman_among(x: np.ndarray, y: np.ndarray, keep: np.ndarray) -> float:
    """:func:`spearman` over the controllers in ``keep`` (NaN for fewer than three)."""
    return spearman(x[keep], y[keep]) if keep.sum() >= 3 else float("nan")


def split_half_reliability(per_episode: np.ndarray, keep: np.ndarray | None = None) -> float:
    """Spearman–Brown corrected rank correlation between the mean returns on the even and the odd
    episodes (columns) of ``per_episode`` (controllers × episodes), over the rows in ``keep``.

    A negative half-to-half correlation is returned as it is: stepping it up (2r / (1 + r) falls
    below −1) would mean nothing. NaN with fewer than two episodes or three controllers."""
    per_episode = np.asarray(per_episode, float)
    if per_episode.shape[1] < 2:
        return float("nan")
    keep = np.ones(len(per_episode), bool) if keep is None else np.asarray(keep, bool)
    r = spearman_among(per_episode[:, 0::2].mean(1), per_episode[:, 1::2].mean(1), keep)
    if not np.isfinite(r):
        return float("nan")
    return float(2 * r / (1 + r)) if r > 0 else float(r)


def _ranks(a: np.ndarray) -> np.ndarray:
    order = np.argsort(a, kind="mergesort")
    ranks = np.empty(len(a))
    ranks[order] = np.arange(len(a), dtype=float)
    for v in np.unique(a):  # average ranks of ties
        idx = a == v
        if idx.sum() > 1:
            ranks[idx] = ranks[idx].mean()
    return ranks


def controller_set(base: np.ndarray, count: int, seed: int = 0, extra=()) -> list[np.ndarray]:
    """The base controller, then perturbations of it at increasing scales, then ``extra``.

    Scales cycle through :data:`PERTURBATION_SCALES` so any count spans small to large steps.
    """
    rng = np.random.default_rng([seed, 31337])
    base = np.asarray(base, np.float64)
    out = [base.copy()]
    n_pert = max(0, count - 1 - len(extra))
    for i in range(n_pert):
        scale = PERTURBATION_SCALES[i % len(PERTURBATION_SCALES)]
        out.append(base + rng.normal(0.0, scale, base.shape))
    out.extend(np.asarray(e, np.float64) for e in extra)
    return out


# ---------------------------------------------------------------- real returns (process pool)
_W: dict = {}


def _init_worker(models_dir: str) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME, load_dir

    _W["vae"] = load_dir(Path(models_dir) / VAE_NAME)
    _W["mdn"] = load_dir(Path(models_dir) / MDN_NAME)


def _real_task(task) -> tuple[int, int, list[float], int, list[float]]:
    index, start, params, seeds, max_steps, stock = task
    from gdl_studio.racing.agent import run_episodes
    from gdl_studio.racing.fast_env import make_env

    predicted = np.zeros(len(seeds))
    returns, steps = run_episodes(
        lambda: make_env(fast=not stock),
        _W["vae"],
        _W["mdn"],
        np.repeat(params[None], len(seeds), axis=0),
        seeds,
        max_steps=max_steps,
        predicted=predicted,
    )
    return index, start, returns.tolist(), steps, predicted.tolist()


def real_returns(
    models_dir: Path,
    controllers: list[np.ndarray],
    seeds: list[int],
    workers: int,
    max_steps: int = 1000,
    stock: bool = False,
    log=None,
) -> tuple[np.ndarray, int, np.ndarray]:
    """(len(controllers), len(seeds)) real returns; the env steps; and the same shape of M's predicted returns on
    those real episodes (its reward head fed the real frames: teacher-forced). Each task drives one controller on a
    lockstep batch of tracks: all its tracks, or with fewer controllers than ``workers`` a share of them, so that
    every worker drives, and never more than :data:`MAX_LOCKSTEP` of them. Each track is its own env and M state,
    but V and M run batched, and the float rounding of a batched matrix product depends on the batch's size: a
    driver's return on a track can change with how many tracks share its batch (the imitation-trained driver on
    6,000,723: 896.6 in batches of 1 and 4, 699.3 in batches of 32 and 128), where the driving is marginal.
    Compare drivers scored with the same tracks per task."""
    per = max(1, min(len(seeds), -(-workers // max(1, len(controllers))))) if workers > 1 else 1
    per = max(per, -(-len(seeds) // MAX_LOCKSTEP))
    cuts = np.linspace(0, len(seeds), per + 1).astype(int)
    tasks = [
        (i, int(a), np.asarray(p, np.float64), list(seeds[a:b]), max_steps, stock)
        for i, p in enumerate(controllers)
        for a, b in zip(cuts[:-1], cuts[1:], strict=True)
        if b > a
    ]
    out = np.zeros((len(controllers), len(seeds)))
    pred = np.zeros_like(out)
    steps = 0

    def put(result: tuple[int, int, list[float], int, list[float]]) -> None:
        nonlocal steps
        i, a, rets, s, p = result
        out[i, a : a + len(rets)], pred[i, a : a + len(rets)] = rets, p
        steps += s

    if workers > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(
            min(workers, len(tasks)),
            mp_context=mp.get_context("spawn"),
            initializer=_init_worker,
            initargs=(str(models_dir),),
        ) as pool:
            futures = [pool.submit(_real_task, t) for t in tasks]
            for n, fut in enumerate(as_completed(futures), 1):
                put(fut.result())
                if log and n % max(1, len(tasks) // 8) == 0:
                    log(f"  real: {n}/{len(tasks)} tasks")
    else:
        _init_worker(str(models_dir))
        for n, t in enumerate(tasks, 1):
            put(_real_task(t))
            if log:
                log(f"  real: {n}/{len(tasks)} tasks")
    return out, steps, pred


def first_frame_latents(vae, seeds: list[int]) -> np.ndarray:
    """V's μ of the first observation of each track (the dreams start there)."""
    import torch

    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import preprocess, to_tensor

    env = make_env()
    try:
        frames = [preprocess(env.reset(seed=int(s))[0]) for s in seeds]
    finally:
        env.close()
    with torch.inference_mode():
        return vae.encode(to_tensor(np.stack(frames)))[0].numpy()


def dream_returns(
    mdn,
    controllers: list[np.ndarray],
    z0: np.ndarray,
    tau: float,
    steps: int,
    seed: int,
    device,
    decoder=None,
    road_every: int = 0,
    max_batch: int = 8192,
    done_threshold: float = 0.5,
):
    """(len(controllers), len(z0)) dream returns (and on-road fractions when a decoder is given).

    A dream ends when M's episode-end probability passes ``done_threshold`` (> 1: never)."""
    from gdl_studio.racing.dream_batch import dream_batch

    n, d = len(controllers), len(z0)
    params = np.repeat(np.asarray(controllers), d, axis=0)
    starts = np.tile(z0, (n, 1))
    rets, road, total_steps = [], [], 0
    for lo in range(0, len(params), max_batch):
        res = dream_batch(
            mdn,
            params[lo : lo + max_batch],
            starts[lo : lo + max_batch],
            tau,
            seed + lo,
            steps,
            device=device,
            decoder=decoder,
            road_every=road_every,
            done_threshold=done_threshold,
        )
        rets.append(res.returns)
        total_steps += res.steps
        if res.on_road is not None:
            road.append(res.on_road)
    returns = np.concatenate(rets).reshape(n, d)
    on_road = np.concatenate(road).reshape(n, d) if road else None
    return returns, on_road, total_steps


def road_figures(road_frac: np.ndarray | None) -> dict[str, float]:
    """``on_road``: the share of dreams whose car is on the road in ≥ :data:`ON_ROAD_SHARE` of the
    checked frames; ``on_road_frames``: the share of checked frames with the car on the road
    (``road_frac``: per dream, from :func:`dream_returns` with a decoder; None gives nan)."""
    frac = np.asarray(road_frac, float) if road_frac is not None else np.array([np.nan])
    return {"on_road": float(np.mean(frac >= ON_ROAD_SHARE)), "on_road_frames": float(np.mean(frac))}


def dream_road(
    world,
    params: np.ndarray,
    starts: int = 50,
    tau: float = 1.0,
    steps: int = 1000,
    road_every: int = ROAD_EVERY,
    seed: int = 0,
    device: str = "auto",
    stop_on_done: bool = False,
    log=None,
) -> dict:
    """Does ``params`` keep the car on the road in ``world``'s dreams? (``bench racing --dream-road``)

    ``starts`` dreams of ``steps`` steps at temperature τ, each from V's encoding of the first frame
    of a fixed track (:data:`DREAM_ROAD_SEED_BASE` …, not the bench's scoring tracks), the controller
    driving; every ``road_every``-th decoded frame is checked. Figures as :func:`road_figures`, plus
    the dreams' mean return. Like the Dream panel's, the dreams run all ``steps`` frames whatever
    M's episode-end head says, unless ``stop_on_done``.
    """
    from gdl_studio.racing.dream_batch import best_device

    t0 = time.perf_counter()
    dev = best_device(device)
    seeds = [DREAM_ROAD_SEED_BASE + i for i in range(starts)]
    z0 = first_frame_latents(world.vae, seeds)
    if log:
        log(f"dream-road: {starts} dreams of {steps} steps at τ {tau} on {dev}, road checked every {road_every} frames")
    mdn = world.mdn.to(dev)
    vae = world.vae.to(dev)
    try:
        returns, road, dream_steps = dream_returns(
            mdn,
            [np.asarray(params, np.float64)],
            z0,
            tau,
            steps,
            seed,
            dev,
            decoder=vae.decode,
            road_every=road_every,
            done_threshold=0.5 if stop_on_done else 2.0,
        )
    finally:
        world.vae.to("cpu")
        world.mdn.to("cpu")
    return {
        **road_figures(road[0] if road is not None else None),
        "starts": starts,
        "first_seed": seeds[0],
        "tau": tau,
        "steps_max": steps,
        "road_every": road_every,
        "stop_on_done": stop_on_done,
        "dream_return_mean": float(np.mean(returns)),
        "dream_return_std": float(np.std(returns)),
        "dream_steps": int(dream_steps),
        "seconds": round(time.perf_counter() - t0, 1),
    }


# ---------------------------------------------------------------- latent prediction at horizons
def record_episodes(
    world,
    params: np.ndarray,
    seeds: list[int],
    max_steps: int,
    stock: bool = False,
    encoder=None,
    frames_out: list | None = None,
):
    """Drive real tracks with ``params``; returns per episode (μ (T+1, z), actions (T, 3), rewards (T,)).

    The latents μ come from ``encoder`` (another V) when given, else from the driving world's V.
    ``frames_out`` (a list) receives each episode's preprocessed frames, (T+1, 64, 64, 3) uint8.
    """
    import torch

    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import preprocess, to_tensor

    episodes = []
    for seed in seeds:
        env = make_env(fast=not stock)
        obs, _ = env.reset(seed=int(seed))
        agent = BatchAgent(world.vae, world.mdn, np.asarray(params)[None])
        frames, actions, rewards = [preprocess(obs)], [], []
        for _ in range(max_steps):
            a = agent.act(obs[None])[0]
            obs, r, term, trunc, _ = env.step(a)
            frames.append(preprocess(obs))
            actions.append(a)
            rewards.append(r)
            if term or trunc:
                break
        env.close()
        enc = encoder or world.vae
        with torch.inference_mode():
            mu = torch.cat(
                [enc.encode(to_tensor(np.stack(frames[i : i + 512])))[0] for i in range(0, len(frames), 512)]
            ).numpy()
        episodes.append((mu, np.asarray(actions, np.float32), np.asarray(rewards, np.float32)))
        if frames_out is not None:
            frames_out.append(np.stack(frames))
    return episodes


def flip_steering(action: np.ndarray) -> np.ndarray:
    """The steering turned the other way; a wheel held near straight (|steer| ≤ 0.2) turned to 0.8."""
    out = np.array(action, np.float32, copy=True)
    out[0] = -out[0] if abs(out[0]) > 0.2 else 0.8
    return out


def steer_starts(steps: int, horizon: int = STEER_HORIZON, stride: int = STEER_STRIDE) -> list[int]:
    """The branch points of the steer check along an episode of ``steps`` actions."""
    return list(range(stride, steps - horizon, stride))


def flipped_frames(seed: int, actions: np.ndarray, start: int, horizon: int = STEER_HORIZON, stock: bool = False):
    """Preprocessed frames (horizon, 64, 64, 3) of the real car for ``horizon`` steps with the steering flipped
    from ``start``, replaying track ``seed`` with the recorded ``actions`` up to it (the simulator is deterministic)."""
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import preprocess

    env = make_env(fast=not stock)
    env.reset(seed=int(seed))
    for t in range(start):
        env.step(actions[t])
    out = [preprocess(env.step(flip_steering(actions[start + k]))[0]) for k in range(horizon)]
    env.close()
    return np.stack(out)


def steer_real(seed: int, actions: np.ndarray, starts: list[int], horizon: int = STEER_HORIZON, stock: bool = False):
    """On-road flags (len(starts),) of the real car after :func:`flipped_frames` from each start."""
    from gdl_studio.racing.dream_batch import on_road
    from gdl_studio.racing.preprocess import to_tensor

    last = [flipped_frames(seed, actions, s, horizon, stock)[-1] for s in starts]
    return on_road(to_tensor(np.stack(last))) if last else np.zeros(0, bool)


def teacher_forced_states(mdn, mu: np.ndarray, actions: np.ndarray) -> list:
    """M's recurrent state after each real step: ``states[t]`` follows M fed latent ``mu[t]`` and ``actions[t]``
    (and every step before)."""
    import torch

    with torch.inference_mode():
        z, acts = torch.as_tensor(mu), torch.as_tensor(actions)
        state, states = mdn.initial_state(1), []
        for t in range(len(actions)):
            _, state = mdn.step(z[t : t + 1], acts[t : t + 1], state)
            states.append(state)
    return states


def open_loop(mdn, z0, state, actions):
    """(len(actions), z) latents of M run open loop from latent ``z0`` (1, z) and ``state`` on ``actions``,
    each step fed the mean of its most likely mixture component (no sampling)."""
    import torch

    from gdl_studio.racing.mdn_rnn import component_values

    out_z = []
    with torch.inference_mode():
        zc = torch.as_tensor(z0)
        for a in actions:
            out, state = mdn.step(zc, torch.as_tensor(np.asarray(a, np.float32)[None]), state)
            zc = component_values(out.mu, out.logpi.argmax(-1))
            out_z.append(zc)
    return torch.cat(out_z)


def flip_branches(mdn, mu: np.ndarray, states: list, actions: np.ndarray, start: int, horizon: int):
    """The two open-loop dreams (horizon, z) that branch at real step ``start`` (M's state from
    :func:`teacher_forced_states`, then :func:`open_loop` from latent ``mu[start]``): (with the recorded
    actions, with their steering flipped by :func:`flip_steering`)."""
    branch = actions[start : start + horizon]
    z0, state = mu[start : start + 1], states[start - 1]
    return open_loop(mdn, z0, state, branch), open_loop(mdn, z0, state, [flip_steering(a) for a in branch])


def steer_dream(vae, mdn, mu: np.ndarray, actions: np.ndarray, starts: list[int], horizon: int = STEER_HORIZON):
    """On-road flags (len(starts),) of the dreamt car after ``horizon`` open-loop steps from each start
    (:func:`flip_branches`; M teacher-forced on the real latents ``mu`` up to it): (with the recorded
    actions, with their steering flipped)."""
    import torch

    from gdl_studio.racing.dream_batch import on_road

    if not starts:
        return np.zeros(0, bool), np.zeros(0, bool)
    states = teacher_forced_states(mdn, mu, actions)
    pairs = [flip_branches(mdn, mu, states, actions, s, horizon) for s in starts]
    with torch.inference_mode():
        kept, flipped = (on_road(vae.decode(torch.cat([p[i][-1:] for p in pairs]))) for i in (0, 1))
    return kept, flipped


def steer_check(vae, mdn, seeds: list[int], episodes, stock: bool = False) -> dict:
    """``steer.*``: does the dreamt car leave the road when the steering is wrong, as the real one does?

    Along real episodes of the tracks ``seeds`` (``record_episodes``, latents from ``vae``), every
    :data:`STEER_STRIDE` steps, :data:`STEER_HORIZON` open-loop steps with the recorded steering
    flipped (:func:`flip_steering`), in the real game (:func:`steer_real`) and in the dream
    (:func:`steer_dream`), and in the dream with the recorded actions; on the road or not is
    :func:`dream_batch.on_road` on the real and the decoded frames.

    Keys: ``real_off`` (share of branches whose real car left the road with the flipped steering),
    ``dream_off`` (the same in the dream), ``caught`` (of the branches whose real car left, the share
    whose dreamt car left too: 1 for a dream in which a wrong wheel costs what it costs on the real
    track), ``dream_off_kept`` (dreams that leave the road with the recorded, competent actions:
    false alarms), ``branches``. An M trained only on competent driving can learn "steering left →
    the road turns left" and bend the dreamt road under any wheel: ``caught`` near 0 says so.
    """
    real, dream, kept = [], [], []
    for seed, (mu, actions, _) in zip(seeds, episodes, strict=True):
        starts = steer_starts(len(actions))
        real.append(steer_real(seed, actions, starts, stock=stock))
        on_kept, on_flipped = steer_dream(vae, mdn, mu, actions, starts)
        dream.append(on_flipped)
        kept.append(on_kept)
    real_off, dream_off = ~np.concatenate(real), ~np.concatenate(dream)
    if not real_off.size:
        nan = float("nan")
        return {"real_off": nan, "dream_off": nan, "caught": nan, "dream_off_kept": nan, "branches": 0}
    return {
        "real_off": float(real_off.mean()),
        "dream_off": float(dream_off.mean()),
        "caught": float(dream_off[real_off].mean()) if real_off.any() else float("nan"),
        "dream_off_kept": float((~np.concatenate(kept)).mean()),
        "branches": int(real_off.size),
    }


def horizon_nll(
    mdn,
    episodes,
    horizons=(1, 10, 50),
    samples: int = 16,
    stride: int = 25,
    warmup: int = 25,
    seed: int = 0,
    device="cpu",
) -> dict:
    """``z_nll.hN`` and ``reward_err.hN`` (see the module doc) over real episodes."""
    import torch

    from gdl_studio.racing.dream_batch import _sample as sample_gumbel
    from gdl_studio.racing.mdn_rnn import z_log_prob
    from gdl_studio.racing.train_mdn import REWARD_CLIP

    device = torch.device(device)
    hmax = max(horizons)
    gen = torch.Generator(device=device).manual_seed(seed)
    nll: dict[int, list[np.ndarray]] = {h: [] for h in horizons}  # per start, per horizon
    rerr: dict[int, list[np.ndarray]] = {h: [] for h in horizons}
    with torch.inference_mode():
        for mu, actions, rewards in episodes:
            T = len(actions)
            starts = list(range(warmup, T - hmax, stride))
            if not starts:
                continue
            z = torch.as_tensor(mu, device=device)
            a = torch.as_tensor(actions, device=device)
            r = torch.as_tensor(np.clip(rewards, *REWARD_CLIP), device=device)
            # teacher-forced pass, keeping M's state and outputs after every step
            states, outs = [], []
            state = mdn.initial_state(1, device=device)
            for t in range(T):
                out, state = mdn.step(z[t : t + 1], a[t : t + 1], state)
                states.append(state)
                outs.append(out)
            s_idx = torch.tensor(starts, device=device)
            B = len(starts) * samples
            state = tuple(
                torch.cat([states[s - 1][i] for s in starts], dim=1).repeat_interleave(samples, dim=1)
                for i in range(len(state))
            )
            fields = zip(*(outs[s - 1] for s in starts), strict=True)  # each of M's outputs, over the starts
            out = type(out)(*(torch.cat(f).repeat_interleave(samples, dim=0) for f in fields))
            # out predicts z[s] (horizon 1) given the real z[s-1], a[s-1]
            pred_reward = torch.zeros(B, device=device)
            for k in range(1, hmax + 1):
                target = z[s_idx + k - 1].repeat_interleave(samples, dim=0)  # (B, zdim)
                if k in nll:
                    lp = z_log_prob(target, out.logpi.float(), out.mu.float(), out.logsigma.float())
                    lp = lp.view(len(starts), samples)
                    joint = torch.logsumexp(lp, dim=1) - np.log(samples)
                    nll[k].append((-joint / z.shape[1]).cpu().numpy())
                    real_sum = torch.stack([r[s - 1 : s - 1 + k].sum() for s in starts])
                    rerr[k].append((pred_reward.view(len(starts), samples).mean(1) - real_sum).abs().cpu().numpy())
                if k == hmax:
                    break
                zk = sample_gumbel(out, 1.0, gen)  # M's own sample of z[s+k-1]
                act = a[s_idx + k - 1].repeat_interleave(samples, dim=0)
                out, state = mdn.step(zk, act, state)
                pred_reward = pred_reward + out.reward.float()
    # reward_err.hN compares predicted rewards r[s], …, r[s+N-2] (N-1 open-loop steps) with the real ones
    result = {}
    for k in horizons:
        vals = np.concatenate(nll[k]) if nll[k] else np.array([np.nan])
        result[f"h{k}"] = float(np.mean(vals))
    rew = {}
    for k in horizons:
        if k > 1 and rerr[k]:
            rew[f"h{k}"] = float(np.mean(np.concatenate(rerr[k])))
    return {"z_nll": result, "reward_err": rew}


def compare_m(
    vae_dir: Path,
    mdn_dirs: list[Path],
    driver_models: Path,
    driver_controller: str,
    episodes: int = 4,
    samples: int = 16,
    device: str = "auto",
    seed_base: int = FIDELITY_SEED_BASE + 90_000,
) -> dict:
    """Latent NLL and reward error at horizons 1/10/50 of several Ms on the same real episodes.

    The episodes are driven by ``driver_models``/``driver_controller`` on validation tracks
    (``seed_base`` …, not the benchmark's) and encoded by the V in ``vae_dir``, which every M
    compared must share. Used to choose M's training options on validation data.
    """
    from gdl_studio.racing.dream_batch import best_device
    from gdl_studio.racing.models_io import controller_params, load_dir, load_world_model_from

    dev = best_device(device)
    driver = load_world_model_from(driver_models, need_controller=False)
    params, _ = controller_params(Path(driver_models) / driver_controller)
    vae = load_dir(vae_dir)
    eps = record_episodes(driver, params, [seed_base + i for i in range(episodes)], 1000, encoder=vae)
    out = {}
    for d in mdn_dirs:
        mdn = load_dir(d).to(dev)
        out[str(d)] = horizon_nll(mdn, eps, (1, 10, 50), samples, device=dev)
    return out


# ---------------------------------------------------------------- the benchmark
def run_fidelity(models_dir: Path, base_params: np.ndarray, cfg: FidelityConfig, log=print) -> dict:
    """All fidelity figures for the V and M in ``models_dir`` and controllers around ``base_params``."""
    from gdl_studio.racing.dream_batch import best_device
    from gdl_studio.racing.models_io import load_critic_mdns, load_world_model_from
    from gdl_studio.racing.pooling import POOLS, check_pool, pool_returns

    check_pool(cfg.pool)

    t0 = time.perf_counter()
    device = best_device(cfg.device)
    world = load_world_model_from(models_dir, need_controller=False)
    critics = load_critic_mdns(models_dir, cfg.critics, world.mdn)
    base = 10_000 * cfg.seed + FIDELITY_SEED_BASE
    seeds_real = [base + i for i in range(max(cfg.real_episodes, cfg.base_real_episodes))]
    seeds_dream = [base + 1000 + i for i in range(max(cfg.dreams, cfg.base_dreams))]
    seeds_nll = [base + 5000 + i for i in range(cfg.nll_episodes)]
    controllers = controller_set(base_params, cfg.controllers, cfg.seed, cfg.extra)
    log(
        f"fidelity: {len(controllers)} controllers × {cfg.real_episodes} real tracks, × {cfg.dreams} dreams of "
        f"{cfg.dream_steps} steps at τ {cfg.tau}; device {device}, {cfg.workers} workers"
    )
    # on the CPU: dream starts, the episodes for the horizon figures, the real returns (process pool)
    z0 = first_frame_latents(world.vae, seeds_dream)
    episodes = record_episodes(world, base_params, seeds_nll, cfg.nll_steps, stock=cfg.stock)
    real_all, env_steps, pred_all = real_returns(
        models_dir,
        controllers,
        seeds_real[: cfg.real_episodes],
        cfg.workers,
        max_steps=cfg.real_steps,
        stock=cfg.stock,
        log=log,
    )
    real = real_all.mean(1)
    base_real = real_all[0]
    if cfg.base_real_episodes > cfg.real_episodes:
        extra_seeds = seeds_real[cfg.real_episodes : cfg.base_real_episodes]
        more, s, _ = real_returns(
            models_dir, [controllers[0]], extra_seeds, cfg.workers, max_steps=cfg.real_steps, stock=cfg.stock
        )
        base_real = np.concatenate([base_real, more[0]])
        env_steps += s
    log(f"fidelity: real returns done ({time.perf_counter() - t0:.0f}s)")
    # on the device: the dreams and the horizon figures
    mdn = world.mdn.to(device)
    decoder = world.vae.to(device).decode
    try:
        dream, dream_road, dream_steps = dream_returns(  # V decodes every road_every-th frame: by_road below
            mdn,
            controllers,
            z0[: cfg.dreams],
            cfg.tau,
            cfg.dream_steps,
            cfg.seed,
            device,
            decoder=decoder,
            road_every=cfg.road_every,
        )
        base_dream, base_road, s = dream_returns(
            mdn,
            [controllers[0]],
            z0[: cfg.base_dreams],
            cfg.tau,
            cfg.dream_steps,
            cfg.seed + 777,
            device,
            decoder=decoder,
            road_every=cfg.road_every,
        )
        dream_steps += s
        per_m = [dream.mean(1)]  # each M's mean dream return per controller (M first)
        base_per_m = [float(np.mean(base_dream))]
        for critic in critics:
            critic.to(device)
            d_c, _, s = dream_returns(critic, controllers, z0[: cfg.dreams], cfg.tau, cfg.dream_steps, cfg.seed, device)
            b_c, _, s2 = dream_returns(
                critic, [controllers[0]], z0[: cfg.base_dreams], cfg.tau, cfg.dream_steps, cfg.seed + 777, device
            )
            critic.to("cpu")
            per_m.append(d_c.mean(1))
            base_per_m.append(float(np.mean(b_c)))
            dream_steps += s + s2
        dream_mean = pool_returns(per_m, cfg.pool)
        base_dream_mean = float(pool_returns([[b] for b in base_per_m], cfg.pool)[0])
        horizons = tuple(h for h in cfg.horizons if h < cfg.nll_steps - 30)
        hz = horizon_nll(mdn, episodes, horizons, cfg.nll_samples, seed=cfg.seed, device=device)
    finally:
        world.vae.to("cpu")
        world.mdn.to("cpu")
    log(f"fidelity: dreams done ({time.perf_counter() - t0:.0f}s)")
    steer = steer_check(world.vae, world.mdn, seeds_nll, episodes, stock=cfg.stock)
    log(f"fidelity: steer check done ({time.perf_counter() - t0:.0f}s)")
    top = real >= cfg.top_threshold
    working = real >= cfg.working_threshold
    teacher = pred_all.mean(1)
    base_real_mean = float(np.mean(base_real))
    road = road_figures(base_road[0] if base_road is not None else None)
    road_share = dream_road.mean(1)  # per controller: the share of its dreamt frames with the car on the road
    result = {
        "rank_corr": spearman(dream_mean, real),
        "rank_corr_top": spearman_among(dream_mean, real, top),
        "controllers": len(controllers),
        "controllers_top": int(top.sum()),
        "top_threshold": cfg.top_threshold,
        "rank_corr_working": spearman_among(dream_mean, real, working),
        "controllers_working": int(working.sum()),
        "working_threshold": cfg.working_threshold,
        "real_reliability": split_half_reliability(real_all),
        "real_reliability_working": split_half_reliability(real_all, working),
        "real_reliability_top": split_half_reliability(real_all, top),
        "dream_reliability": split_half_reliability(dream),
        "dream_reliability_working": split_half_reliability(dream, working),
        "by_road": {  # the same controllers ranked by how much of their dreams they keep on the road
            "rank_corr": spearman(road_share, real),
            "rank_corr_working": spearman_among(road_share, real, working),
        },
        "teacher_forced": {
            "rank_corr": spearman(teacher, real),
            "rank_corr_working": spearman_among(teacher, real, working),
            "return_ratio": float(pred_all[0].mean() / real_all[0].mean()) if real_all[0].mean() else float("nan"),
        },
        "return_ratio": base_dream_mean / base_real_mean if base_real_mean else float("nan"),
        "base_dream_mean": base_dream_mean,
        "base_dream_std": float(np.std(base_dream)),
        "base_real_mean": base_real_mean,
        "base_real_std": float(np.std(base_real)),
        "base_dreams": int(base_dream.size),
        **road,
        "z_nll": hz["z_nll"],
        "reward_err": hz["reward_err"],
        "steer": steer,
        "tau": cfg.tau,
        "dream_steps_max": cfg.dream_steps,
        "real_steps_max": cfg.real_steps,
        "real_episodes": cfg.real_episodes,
        "dreams": cfg.dreams,
        "renderer": "stock" if cfg.stock else "fast (pixel-identical)",
        "env_steps": int(env_steps),
        "dream_steps": int(dream_steps),
        "seconds": round(time.perf_counter() - t0, 1),
        "per_controller": {
            "real": [round(float(v), 1) for v in real],
            "real_episodes": [[round(float(v), 1) for v in row] for row in real_all],
            "dream": [round(float(v), 1) for v in dream_mean],
            "dream_road": [round(float(v), 3) for v in road_share],
            "teacher_forced": [round(float(v), 1) for v in teacher],
        },
    }
    if critics:
        # the same figures for each M alone, and the rank correlation of every pooling rule,
        # beside the pooled ones above
        result["critics"] = len(critics)
        result["pool"] = cfg.pool
        result["per_pool"] = {"rank_corr": {rule: spearman(pool_returns(per_m, rule), real) for rule in POOLS}}
        result["per_m"] = {
            "rank_corr": [spearman(m, real) for m in per_m],
            "return_ratio": [b / base_real_mean if base_real_mean else float("nan") for b in base_per_m],
            "dream": [[round(float(v), 1) for v in m] for m in per_m],
        }
    return result
