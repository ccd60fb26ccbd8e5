"""Measurements behind ``gdl-studio bench racing``.

* :func:`renderer_speed` — stock CarRacing-v3 and :class:`FastCarRacing` stepped side by side in
  one process (same tracks, same random actions, alternating steps so both see the same machine
  load), comparing every observation byte for byte.
* :func:`score` — the world-model agent's mean ± std return on the **stock** environment (made
  with ``gym.make("CarRacing-v3")``) over fixed seeds.
* :func:`dream_latency` — per-frame time of decode + MDN step (+ sampling) on one CPU thread.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

SCORE_SEED_BASE = (
    1_000_000  # bench tracks: seeds 1_000_000 … (never drawn for training, which uses random 31-bit seeds)
)


def renderer_speed(
    steps: int = 400, seeds: tuple[int, ...] = (0, 1, 2), action_seed: int = 0, renderer: str = "native"
) -> dict:
    """Steps per second of stock vs fast CarRacing, and how many frames differed (should be 0).

    Steps alternate between the two environments, so both see the same machine load. Speeds
    are per core: CPU time of this process (``time.process_time``), which time-slicing by other
    processes does not inflate; wall-clock figures are reported too. ``renderer`` picks how the
    fast environment draws: ``"native"`` (the sparse rasteriser, when built) or ``"pygame"``; the
    key ``renderer`` says which one really drew the frames.
    """
    from gdl_studio.racing.fast_env import CarRacing, FastCarRacing

    rng = np.random.default_rng(action_seed)
    cpu = {"stock": 0.0, "fast": 0.0}
    wall = {"stock": 0.0, "fast": 0.0}
    frames = mismatches = fast_frames = 0
    used = set()
    for seed in seeds:
        envs = {"stock": CarRacing(), "fast": FastCarRacing()}
        envs["fast"].use_native = renderer == "native"
        first = {k: env.reset(seed=seed)[0] for k, env in envs.items()}
        frames += 1
        mismatches += int(not np.array_equal(first["stock"], first["fast"]))
        action = np.zeros(3, np.float32)
        for t in range(steps):
            if t % 10 == 0:
                action = rng.uniform([-1, 0, 0], [1, 1, 0.4]).astype(np.float32)
            out = {}
            order = ("stock", "fast") if t % 2 == 0 else ("fast", "stock")
            for k in order:
                c0, w0 = time.process_time(), time.perf_counter()
                out[k] = envs[k].step(action)
                cpu[k] += time.process_time() - c0
                wall[k] += time.perf_counter() - w0
            frames += 1
            (a, ra, da, _, _), (b, rb, db, _, _) = out["stock"], out["fast"]
            mismatches += int(not np.array_equal(a, b) or ra != rb or da != db)
            if da or db:
                break
        used.add(envs["fast"].render_backend)
        fast_frames += envs["fast"].fast_frames
        for env in envs.values():
            env.close()
    n = frames - len(seeds)
    result = {
        k: {"steps_per_s": n / cpu[k], "ms_per_step": 1e3 * cpu[k] / n, "wall_steps_per_s": n / wall[k]} for k in cpu
    }
    result.update(
        {
            "speedup": cpu["stock"] / cpu["fast"],
            "speedup_wall": wall["stock"] / wall["fast"],
            "frames_compared": frames,
            "frames_different": mismatches,
            "fast_path_frames": fast_frames,
            "renderer": "+".join(sorted(used)),
        }
    )
    return result


def _score_episode(args: tuple) -> tuple[int, float, int]:
    """One episode of the agent on the stock env (gym.make) → (seed, return, steps).

    ``args`` is (models_dir, seed, max_steps) or (models_dir, seed, max_steps, params): the
    controller's parameters when another than the installed ``carracing-controller`` drives.
    """
    models_dir, seed, max_steps = args[:3]
    params = args[3] if len(args) > 3 else None
    import torch

    torch.set_num_threads(1)
    import gymnasium as gym

    from gdl_studio.racing.agent import BatchAgent
    from gdl_studio.racing.models_io import load_world_model, load_world_model_from

    need = params is None
    world = load_world_model_from(models_dir, need) if models_dir else load_world_model(need_controller=need)
    agent = BatchAgent(world.vae, world.mdn, (world.controller.get_params() if need else params)[None])
    env = gym.make("CarRacing-v3", max_episode_steps=max_steps)
    obs, _ = env.reset(seed=seed)
    total, steps = 0.0, 0
    while True:
        action = agent.act(obs[None])[0]
        obs, r, terminated, truncated, _ = env.step(action)
        total += float(r)
        steps += 1
        if terminated or truncated:
            break
    env.close()
    return seed, total, steps


def score(
    episodes: int,
    models_dir: str | None = None,
    workers: int = 1,
    max_steps: int = 1000,
    log=None,
    params: np.ndarray | None = None,
    seed_base: int = SCORE_SEED_BASE,
    backend: str = "local",
    address: str | None = None,
) -> dict:
    """Mean ± std return of V+M+C over ``episodes`` fixed tracks of the stock CarRacing-v3, and each episode's return
    (``returns``, in track order from ``first_seed``).

    ``params``: drive with these controller parameters instead of the installed controller;
    ``seed_base``: the first track (the bench's fixed tracks by default; another set checks
    that a controller was not selected on them). Progress goes to ``log`` (stderr by default).
    ``backend``: episodes on a process pool when ``workers > 1``, or as Ray tasks.
    """
    import sys

    log = log or (lambda msg: print(msg, file=sys.stderr))
    seeds = [seed_base + i for i in range(episodes)]
    extra = () if params is None else (np.asarray(params, np.float64),)
    tasks = [(models_dir, s, max_steps, *extra) for s in seeds]
    t0 = time.perf_counter()
    returns, steps = [], 0
    if workers > 1 or backend != "local":
        from gdl_studio.racing.backends import score_tasks

        results = score_tasks(_score_episode, tasks, backend, workers, address)
    else:
        results = []
        for n, task in enumerate(tasks, 1):
            results.append(_score_episode(task))
            if n % max(1, episodes // 10) == 0:
                log(f"  {n}/{episodes} episodes, mean so far {np.mean([r for _, r, _ in results]):.1f}")
    for _, ret, s in sorted(results):  # in track order, whatever order the workers finished in
        returns.append(ret)
        steps += s
    arr = np.asarray(returns)
    below = float(np.mean(arr < 800))
    return {
        "share_below_800": below,
        "mean": float(arr.mean()),
        "std": float(arr.std()),
        "min": float(arr.min()),
        "max": float(arr.max()),
        "episodes": episodes,
        "env_steps": steps,
        "seconds": time.perf_counter() - t0,
        "first_seed": seeds[0],
        "returns": [round(float(r), 2) for r in returns],  # episode k drove track first_seed + k
    }


def dream_latency(world, frames: int = 300, temperature: float = 1.0) -> dict:
    """Per-frame milliseconds of decode + MDN step + sampling on one CPU thread."""
    import torch

    from gdl_studio.core.bench import percentiles
    from gdl_studio.racing.dream import dream_frames

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        times = []
        it = dream_frames(world, seed=0, temperature=temperature, max_steps=frames + 20, stop_on_done=False)
        t = time.perf_counter()
        for n, _ in enumerate(it):
            now = time.perf_counter()
            if n >= 20:  # warm-up frames excluded
                times.append(1e3 * (now - t))
            t = now
        return percentiles(times)
    finally:
        torch.set_num_threads(threads)


def models_present(models_dir: str | None, need_controller: bool = True) -> bool:
    """True when V, M and C (C only if ``need_controller``) are installed (in ``models_dir`` or the registry's)."""
    from gdl_studio.core.registry import ModelUnavailable, Registry, default_registry
    from gdl_studio.racing.models_io import CONTROLLER_NAME, MDN_NAME, VAE_NAME

    registry = Registry(roots=[Path(models_dir)]) if models_dir else default_registry()
    try:
        for name in (VAE_NAME, MDN_NAME, CONTROLLER_NAME)[: 3 if need_controller else 2]:
            registry.card(name)
    except ModelUnavailable:
        return False
    return True
