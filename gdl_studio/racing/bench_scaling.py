"""``gdl-studio bench racing --scaling``: CMA-ES rollout throughput, local process pool vs Ray.

For 1, 2, 4, … workers (up to this machine's cores) the same tasks — the controller trainer's
``_evaluate_task``: V + M + a linear controller driving ``batch_envs`` fast CarRacing environments
for ``steps`` steps, ``tasks_per_worker`` tasks per worker — run on a warm
:class:`~gdl_studio.racing.backends.LocalPool` of that many processes and on a warm
:class:`~gdl_studio.racing.backends.RayPool` with that many tasks in flight. Pools are started
and warmed up before the clock runs, local and Ray take turns (so both see the same load from
other programs), and each figure is the best of ``repeats`` runs.

Reported per count: env steps/s of each backend, their ratio (``efficiency``) and the extra wall
time per task on Ray (``overhead_ms_per_task``); ``efficiency`` at the top level is the ratio at
the largest count, ``empty_task_ms`` the round trip of a task that does nothing (one in flight).
The V and M used are the installed ones when present, else random-initialised ones of the same
architecture (the work per step is the same).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def worker_counts(cores: int) -> list[int]:
    """1, 2, 4, … up to ``cores`` (``cores`` itself included)."""
    counts, k = [], 1
    while k < cores:
        counts.append(k)
        k *= 2
    counts.append(max(1, cores))
    return counts


def _bench_models(models_dir: Path | None, tmp: Path) -> tuple[Path, str]:
    """A directory with V and M: the given or installed ones, else random-initialised ones in ``tmp``."""
    from gdl_studio.core.registry import ModelUnavailable, Registry, default_registry
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME

    registry = Registry(roots=[Path(models_dir)]) if models_dir else default_registry()
    try:
        dirs = {Path(registry.card(n).directory).parent for n in (VAE_NAME, MDN_NAME)}
        if len(dirs) == 1:
            return dirs.pop(), "installed"
    except ModelUnavailable:
        pass
    import torch

    from gdl_studio.racing.mdn_rnn import MDNRNN
    from gdl_studio.racing.models_io import save_mdn, save_vae
    from gdl_studio.racing.vae import ConvVAE

    torch.manual_seed(0)
    card = {"data": {}, "metrics": {}, "training_command": "bench racing --scaling (random weights)"}
    save_vae(ConvVAE(), tmp, dict(card))
    save_mdn(MDNRNN(), tmp, dict(card))
    return tmp, "random-init"


def _tasks(count: int, batch_envs: int, steps: int, seed: int = 0) -> list[tuple]:
    from gdl_studio.racing.controller import param_count

    rng = np.random.default_rng(seed)
    tasks = []
    for i in range(count):
        params = rng.normal(0, 0.1, param_count())
        params[-2] += 1.0  # some gas, so the car moves
        seeds = rng.integers(0, 2**31 - 1, batch_envs).tolist()
        tasks.append((i, params, seeds, steps, None))
    return tasks


def _timed(pool, tasks) -> tuple[float, int]:
    from gdl_studio.racing.train_controller import _evaluate_task

    t0 = time.perf_counter()
    results = pool.map(_evaluate_task, tasks)
    return time.perf_counter() - t0, sum(r[2] for r in results)


def _empty_task_ms(pool, n: int) -> float:
    from gdl_studio.racing.backends import _noop

    saved = pool.workers
    pool.workers = 1
    try:
        pool.map(_noop, list(range(3)))
        t0 = time.perf_counter()
        pool.map(_noop, list(range(n)))
        return 1e3 * (time.perf_counter() - t0) / n
    finally:
        pool.workers = saved


def scaling(
    backend: str = "ray",
    address: str | None = None,
    models_dir: Path | None = None,
    max_workers: int | None = None,
    tasks_per_worker: int = 2,
    batch_envs: int = 4,
    steps: int = 100,
    repeats: int = 2,
    log=_log,
) -> dict:
    """Throughput of the local process pool and of ``backend`` at 1, 2, 4, … workers."""
    from gdl_studio.racing.backends import LocalPool, Shipped, make_pool
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME
    from gdl_studio.racing.train_controller import _worker_init

    cores = os.cpu_count() or 1
    counts = worker_counts(min(max_workers or cores, cores))
    with tempfile.TemporaryDirectory(prefix="gdl-scaling-") as tmp:
        models, which = _bench_models(models_dir, Path(tmp))
        shipped = Shipped(str(models), (VAE_NAME, MDN_NAME))
        log(f"bench racing --scaling: {backend} vs local process pool, workers {counts}, {which} V and M")
        other = make_pool(backend, counts[-1], _worker_init, (shipped,), address=address)
        rows: dict[str, dict] = {}
        try:
            cluster_cpus = other.workers
            other.map(_noop_eval_task(), _tasks(2 * max(counts[-1], cluster_cpus), 1, 2))  # every worker set up
            empty = {backend: _empty_task_ms(other, 30)}
            for k in counts:
                local = LocalPool(k, _worker_init, (shipped,), in_process=False)
                try:
                    local.map(_noop_eval_task(), _tasks(2 * k, 1, 2))
                    if k == counts[0]:
                        empty["local"] = _empty_task_ms(local, 30)
                    other.workers = k
                    tasks = _tasks(tasks_per_worker * k, batch_envs, steps, seed=k)
                    best = {"local": None, backend: None}
                    for _ in range(repeats):
                        for name, pool in (("local", local), (backend, other)):
                            wall, n_steps = _timed(pool, tasks)
                            if best[name] is None or wall < best[name][0]:
                                best[name] = (wall, n_steps)
                finally:
                    local.close()
                (lw, ls), (rw, rs) = best["local"], best[backend]
                row = {
                    "local_steps_per_s": round(ls / lw, 1),
                    f"{backend}_steps_per_s": round(rs / rw, 1),
                    "efficiency": round((rs / rw) / (ls / lw), 3),
                    "overhead_ms_per_task": round(1e3 * (rw - lw) / len(tasks), 2),
                    "tasks": len(tasks),
                    "env_steps": int(rs),
                }
                rows[str(k)] = row
                log(
                    f"  {k} workers: local {row['local_steps_per_s']:.0f} steps/s, {backend} "
                    f"{row[f'{backend}_steps_per_s']:.0f} steps/s, efficiency {row['efficiency']:.2f}"
                )
            nodes = dict(getattr(other, "nodes", {}))
        finally:
            other.close()
    top = rows[str(counts[-1])]
    return {
        "backend": backend,
        "workers": counts,
        "largest_count": counts[-1],
        "efficiency": top["efficiency"],
        "overhead_ms_per_task": top["overhead_ms_per_task"],
        "empty_task_ms": {k: round(v, 2) for k, v in empty.items()},
        "by_workers": rows,
        "cores": cores,
        "cluster_cpus": cluster_cpus,
        "models": which,
        "renderer": sorted({r for r, _ in nodes.values()}) if nodes else None,
        "task": {"batch_envs": batch_envs, "steps": steps, "tasks_per_worker": tasks_per_worker, "repeats": repeats},
    }


def _noop_eval_task():
    """The trainer's task function (a short warm-up run sets every worker up)."""
    from gdl_studio.racing.train_controller import _evaluate_task

    return _evaluate_task
