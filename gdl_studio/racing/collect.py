"""Rollout collection for the world model: random policies on the fast renderer, in parallel.

Each episode ``i`` is fully determined by its seed (``base_seed + i``): the track, the policy kind
and the policy's random weights. Episodes are written one file each,
``<out>/ep_<i>.npz`` (uint8 frames (T+1, 64, 64, 3), float32 actions (T, 3), rewards (T,),
terminated (T,)), atomically, so an interrupted collection resumes by skipping the files that
exist. Workers are processes (one environment each, torch limited to one thread).

Policies (as in the paper, plus plain random actions for coverage):

* ``controller`` — a random-weight linear controller on the features of randomly initialised
  V and M (the paper's ``extract.py``), weight scale drawn per episode;
* ``brownian`` — actions following a clipped Brownian motion (the public PyTorch port);
* ``hold`` — random actions held for a random number of steps, with gas favoured;
* ``agent`` — the current V + M + C (``models``) with exploration noise: its parameters perturbed
  by a per-episode scale (0 to 0.2) and temporally correlated (Ornstein–Uhlenbeck) noise on its
  actions (per-episode σ up to 0.3). This is Ha & Schmidhuber's iterative procedure: data
  where a competent driver goes, so that M learns what happens there.

``policy="iterate"`` draws ``agent`` with probability ``agent_share`` and one of the random
kinds otherwise (they keep the data covering crashes, grass and spins).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

POLICIES = ("controller", "brownian", "hold")
MIX = (0.5, 0.25, 0.25)
AGENT_PARAM_NOISE = (0.0, 0.02, 0.05, 0.1, 0.2)
SWERVE_RATE = (1 / 300, 1 / 100)  # per-episode range of the chance per step that a swerve starts
SWERVE_STEPS = (5, 25)  # a swerve's length, drawn uniformly


@dataclass
class CollectConfig:
    """What to collect and where."""

    out: Path
    episodes: int = 320
    max_steps: int = 1000
    base_seed: int = 0
    policy: str = "mix"
    workers: int = 1
    models: Path | None = None  # V, M and C for the ``agent`` policy
    agent_share: float = 0.75
    controller: str = "carracing-controller"  # the controller (in ``models``) the agent drives with


def episode_path(out: Path, index: int) -> Path:
    return Path(out) / f"ep_{index:06d}.npz"


def _choose_policy(rng: np.random.Generator, policy: str, agent_share: float = 0.75) -> str:
    if policy == "iterate":
        if rng.random() < agent_share:
            return "agent"
        policy = "mix"
    if policy != "mix":
        return policy
    return str(rng.choice(POLICIES, p=MIX))


class _RandomController:
    """A random linear controller on random-init V/M features (torch, one thread)."""

    def __init__(self, seed: int, rng: np.random.Generator) -> None:
        import torch

        from gdl_studio.racing.agent import BatchAgent
        from gdl_studio.racing.controller import param_count
        from gdl_studio.racing.mdn_rnn import MDNRNN
        from gdl_studio.racing.vae import ConvVAE

        torch.manual_seed(seed)
        vae, mdn = ConvVAE().eval(), MDNRNN().eval()
        scale = float(np.exp(rng.uniform(np.log(0.003), np.log(0.3))))
        params = rng.normal(0.0, scale, size=param_count())
        params[-2] += rng.uniform(0.0, 1.5)  # gas bias: a random policy that drives forwards
        self.agent = BatchAgent(vae, mdn, params[None])

    def __call__(self, obs: np.ndarray, t: int) -> np.ndarray:
        return self.agent.act(obs[None])[0]


class _Brownian:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.a = np.array([0.0, 0.5, 0.0])

    def __call__(self, obs: np.ndarray, t: int) -> np.ndarray:
        dt = 1.0 / 50
        self.a = self.a + np.sqrt(dt) * self.rng.normal(0.0, 1.0, 3) * np.array([2.0, 1.5, 1.0])
        self.a = np.clip(self.a, [-1, 0, 0], [1, 1, 1])
        return self.a.astype(np.float32)


class _Hold:
    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.left = 0
        self.a = np.zeros(3, np.float32)

    def __call__(self, obs: np.ndarray, t: int) -> np.ndarray:
        if self.left <= 0:
            r = self.rng
            brake = r.uniform(0, 0.8) if r.random() < 0.15 else 0.0
            self.a = np.array([r.uniform(-1, 1), r.uniform(0.2, 1.0), brake], np.float32)
            self.left = int(r.integers(1, 25))
        self.left -= 1
        return self.a


_AGENT_MODELS: dict = {}


class _NoisyAgent:
    """The current world-model agent with parameter and correlated action noise."""

    def __init__(self, models: str, controller: str, rng: np.random.Generator, swerve: bool = False) -> None:
        from gdl_studio.racing.agent import BatchAgent
        from gdl_studio.racing.models_io import controller_params, load_world_model_from

        key = f"{models}/{controller}"
        if key not in _AGENT_MODELS:
            _AGENT_MODELS.clear()
            world = load_world_model_from(models, need_controller=False)
            _AGENT_MODELS[key] = (world, controller_params(Path(models) / controller)[0])
        world, params = _AGENT_MODELS[key]
        self.param_noise = float(rng.choice(AGENT_PARAM_NOISE))
        params = params + rng.normal(0.0, self.param_noise, params.shape)
        self.sigma = float(rng.uniform(0.0, 0.3))
        self.rng = rng
        self.noise = np.zeros(3)
        self.agent = BatchAgent(world.vae, world.mdn, params[None])
        self.swerve_rate = float(rng.uniform(*SWERVE_RATE)) if swerve else 0.0
        self.swerve_left = 0  # steps left of the current swerve
        self.swerve_steer = 0.0

    def __call__(self, obs: np.ndarray, t: int) -> np.ndarray:
        a = self.agent.act(obs[None])[0]  # the driver sees every frame, also during a swerve
        # Ornstein–Uhlenbeck noise (θ = 0.15 per step): correlated over ~7 steps, like a driver's wobble
        self.noise += -0.15 * self.noise + self.sigma * np.sqrt(0.3) * self.rng.normal(0.0, 1.0, 3)
        out = np.clip(a + self.noise * np.array([1.0, 1.0, 0.5]), [-1, 0, 0], [1, 1, 1]).astype(np.float32)
        if self.swerve_left == 0 and self.swerve_rate and self.rng.random() < self.swerve_rate:
            self.swerve_left = int(self.rng.integers(SWERVE_STEPS[0], SWERVE_STEPS[1] + 1))
            self.swerve_steer = float(self.rng.choice((-1.0, 1.0)) * self.rng.uniform(0.4, 1.0))
        if self.swerve_left:
            self.swerve_left -= 1
            out[0] = self.swerve_steer
        return out


def make_policy(
    kind: str, seed: int, rng: np.random.Generator, models: str | None = None, controller: str = "carracing-controller"
):
    """A policy callable ``(obs, t) -> action`` of the given kind."""
    if kind in ("agent", "swerve"):
        if not models:
            raise ValueError(f"the {kind} policy needs a models directory (V, M and C)")
        return _NoisyAgent(str(models), controller, rng, swerve=kind == "swerve")
    if kind == "controller":
        return _RandomController(seed, rng)
    if kind == "brownian":
        return _Brownian(rng)
    if kind == "hold":
        return _Hold(rng)
    raise ValueError(f"unknown policy '{kind}'")


def collect_episode(
    index: int,
    out: str,
    max_steps: int,
    base_seed: int,
    policy: str,
    models: str | None = None,
    agent_share: float = 0.75,
    controller: str = "carracing-controller",
) -> tuple[int, int, float]:
    """Run and save episode ``index`` (no-op if its file exists). Returns (index, steps, return)."""
    from gdl_studio.core.atomic import atomic_path
    from gdl_studio.racing.fast_env import make_env
    from gdl_studio.racing.preprocess import preprocess

    path = episode_path(Path(out), index)
    if path.exists():
        return index, 0, float("nan")
    seed = base_seed + index
    rng = np.random.default_rng([seed, 7])
    kind = _choose_policy(rng, policy, agent_share)
    act = make_policy(kind, seed, rng, models, controller)
    env = make_env(fast=True)
    obs, _ = env.reset(seed=seed)
    frames = [preprocess(obs)]
    actions, rewards, terms = [], [], []
    for t in range(max_steps):
        a = np.asarray(act(obs, t), dtype=np.float32)
        obs, r, terminated, truncated, _ = env.step(a)
        frames.append(preprocess(obs))
        actions.append(a)
        rewards.append(r)
        terms.append(terminated)
        if terminated or truncated:
            break
    env.close()
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(
                fh,
                frames=np.stack(frames).astype(np.uint8),
                actions=np.stack(actions).astype(np.float32),
                rewards=np.asarray(rewards, np.float32),
                terminated=np.asarray(terms, bool),
                seed=np.int64(seed),
                policy=np.array(kind),
            )
    return index, len(actions), float(np.sum(rewards))


def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def collect(config: CollectConfig, log=print) -> dict:
    """Collect the missing episodes of ``config`` with a process pool; returns a summary."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed

    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    models = str(config.models) if config.models else None
    if config.policy in ("agent", "swerve", "iterate") and not models:
        raise ValueError("the agent, swerve and iterate policies need a models directory (V, M and C)")
    todo = [i for i in range(config.episodes) if not episode_path(out, i).exists()]
    done_before = config.episodes - len(todo)
    log(
        f"collect: {done_before} of {config.episodes} episodes already in {out}; "
        f"{len(todo)} to go on {config.workers} workers"
    )
    t0 = time.perf_counter()
    steps = 0
    returns = []
    if config.workers <= 1:
        _worker_init()
        results = (
            collect_episode(
                i,
                str(out),
                config.max_steps,
                config.base_seed,
                config.policy,
                models,
                config.agent_share,
                config.controller,
            )
            for i in todo
        )
        for n, (_i, s, ret) in enumerate(results, 1):
            steps += s
            returns.append(ret)
            _progress(log, n, len(todo), steps, t0)
    else:
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(config.workers, mp_context=ctx, initializer=_worker_init) as pool:
            futures = [
                pool.submit(
                    collect_episode,
                    i,
                    str(out),
                    config.max_steps,
                    config.base_seed,
                    config.policy,
                    models,
                    config.agent_share,
                    config.controller,
                )
                for i in todo
            ]
            for n, fut in enumerate(as_completed(futures), 1):
                i, s, ret = fut.result()
                steps += s
                returns.append(ret)
                _progress(log, n, len(todo), steps, t0)
    seconds = time.perf_counter() - t0
    return {
        "episodes": config.episodes,
        "new_episodes": len(todo),
        "new_steps": steps,
        "seconds": seconds,
        "steps_per_s": steps / seconds if seconds > 0 else float("nan"),
        "mean_return": float(np.mean(returns)) if returns else float("nan"),
    }


def _progress(log, n: int, total: int, steps: int, t0: float) -> None:
    elapsed = time.perf_counter() - t0
    if n == total or n % max(1, total // 20) == 0:
        eta = elapsed / n * (total - n)
        log(f"  {n}/{total} episodes, {steps} steps, {steps / max(elapsed, 1e-9):.0f} steps/s, ETA {eta:.0f}s")


def list_episodes(directory: Path) -> list[Path]:
    """The episode files of a rollout directory, in index order."""
    return sorted(Path(directory).glob("ep_*.npz"))
