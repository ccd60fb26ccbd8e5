"""Train C (the 867-parameter linear controller) with CMA-ES on the real game.

Each generation samples ``popsize`` candidates from pycma's CMA-ES; each candidate drives
``rollouts`` tracks (the same tracks for the whole generation, new ones every generation) in
the fast, pixel-identical CarRacing through V and M; its fitness is the mean return. The
distribution mean is evaluated on the same tracks as an extra candidate, and it is what gets
saved as C after every generation. Work is spread over a process pool (``--workers``; each
worker holds V and M, torch on one thread, and runs ``--batch-envs`` environments in lockstep
so V and M see batches).

State lives in the checkpoint directory and is written after every generation, so a run that
is stopped (or hits ``--max-minutes``) continues where it left off: ``cma_state.npz`` (the
distribution mean and step size σ, plain arrays), ``controller_state.json`` (counters, best
candidate) and ``controller_log.csv`` (best / mean / worst fitness, σ, env steps and seconds per
generation). A resumed run restarts CMA-ES from that mean and σ with a fresh (identity)
covariance: with 867 parameters and a population of 32-64 the rank-one/rank-μ learning rates
are about 1e-5 per generation, so the covariance learned in a few dozen generations is close to
the identity and little is lost, while the checkpoint stays a few kilobytes and needs no pickle.
``--init DIR`` starts from a saved controller (e.g. the shipped one) instead of zeros, carrying
its generation count, env steps and σ on.
"""

from __future__ import annotations

import csv
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gdl_studio.core.atomic import atomic_path, write_text_atomic
from gdl_studio.core.errors import UserError

LOG_FIELDS = ("generation", "best", "mean", "worst", "xmean_fitness", "sigma", "env_steps", "seconds")
DEFAULT_SIGMA0 = 0.1  # CMA-ES's first step size from zeros (and from a controller whose card has no σ)


@dataclass
class ControllerTrainConfig:
    """Settings of one ``train world-model controller`` run."""

    models: Path
    out: Path
    ckpt: Path
    popsize: int = 64
    rollouts: int = 16
    generations: int = 300
    sigma0: float | None = None  # from zeros: 0.1; from ``init``: that card's last σ (else 0.1)
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    batch_envs: int = 4
    max_steps: int = 1000
    patience: int | None = 100
    max_minutes: float | None = None
    seed: int = 0
    command: str = ""
    init: Path | None = None  # a controller model directory to start from (else zeros)
    backend: str = "local"  # "local" (process pool) or "ray" (see racing/backends.py)
    ray_address: str | None = None  # a running Ray cluster's HOST:PORT (default: start a local Ray)
    snapshot_every: int = 5  # the distribution mean is kept every this many generations (``snapshots.npz``)


# ---------------------------------------------------------------- worker side
_WORKER: dict = {}


def _worker_init(models_dir: str) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME, load_dir

    _WORKER["vae"] = load_dir(Path(models_dir) / VAE_NAME)
    _WORKER["mdn"] = load_dir(Path(models_dir) / MDN_NAME)


def _evaluate_task(task: tuple[int, np.ndarray, list[int], int, int | None]) -> tuple[int, list[float], int]:
    """Run one candidate on some tracks; returns (candidate index, returns, env steps)."""
    from gdl_studio.racing.agent import run_episodes
    from gdl_studio.racing.fast_env import make_env

    index, params, seeds, max_steps, patience = task
    returns, steps = run_episodes(
        make_env,
        _WORKER["vae"],
        _WORKER["mdn"],
        np.repeat(params[None], len(seeds), axis=0),
        seeds,
        max_steps=max_steps,
        patience=patience,
    )
    return index, returns.tolist(), steps


class Evaluator:
    """Evaluates candidate parameter vectors on given tracks: in-process, on a process pool or on Ray
    (``backend``, see :mod:`gdl_studio.racing.backends`; the same tasks give the same returns)."""

    def __init__(self, models_dir: Path, workers: int, backend: str = "local", address: str | None = None) -> None:
        from gdl_studio.racing.backends import Shipped, make_pool
        from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME

        self.models_dir = str(models_dir)
        self.workers = workers
        shipped = Shipped(self.models_dir, (VAE_NAME, MDN_NAME))
        self.pool = make_pool(backend, workers, _worker_init, (shipped,), address=address)

    def __call__(self, candidates: list[np.ndarray], seeds: list[int], batch_envs: int, max_steps: int, patience):
        """Mean return per candidate (and the env steps used)."""
        returns, steps = self.per_track(candidates, seeds, batch_envs, max_steps, patience)
        return returns.mean(axis=1), steps

    def per_track(self, candidates: list[np.ndarray], seeds: list[int], batch_envs: int, max_steps: int, patience):
        """Return of each candidate on each track, shape (candidates, tracks) in ``seeds`` order (and the env steps)."""
        tasks = []
        for i, params in enumerate(candidates):
            for k in range(0, len(seeds), batch_envs):
                tasks.append((i, np.asarray(params, np.float64), list(seeds[k : k + batch_envs]), max_steps, patience))
        returns: list[list[float]] = [[] for _ in candidates]
        steps = 0
        results = self.pool.map(_evaluate_task, tasks)
        for i, rets, s in results:
            returns[i].extend(rets)
            steps += s
        return np.array(returns, dtype=np.float64).reshape(len(candidates), len(seeds)), steps

    def close(self) -> None:
        self.pool.close()


# ---------------------------------------------------------------- driver
def _paths(ckpt: Path) -> dict[str, Path]:
    return {
        "es": ckpt / "cma_state.npz",
        "state": ckpt / "controller_state.json",
        "log": ckpt / "controller_log.csv",
        "snapshots": ckpt / "snapshots.npz",
    }


def new_strategy(mean: np.ndarray, sigma: float, popsize: int, seed: int, max_std: float | None = None):
    """A pycma CMA-ES around ``mean`` with step size ``sigma`` (full covariance, identity start).

    ``max_std`` caps every coordinate's standard deviation (pycma's ``maxstd``).
    """
    import cma

    opts = {"popsize": int(popsize), "seed": int(seed), "verbose": -9}
    if max_std is not None:
        opts["maxstd"] = float(max_std)
    return cma.CMAEvolutionStrategy(np.asarray(mean, dtype=np.float64), float(sigma), opts)


def save_strategy(path: Path, es) -> None:
    """Write the distribution mean and σ of ``es`` atomically as a small ``.npz``."""
    with atomic_path(Path(path)) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, mean=np.asarray(es.mean, dtype=np.float64), sigma=np.float64(es.sigma))


def save_snapshot(path: Path, generation: int, mean: np.ndarray) -> None:
    """Add the distribution mean after ``generation`` to the snapshots file (key ``genNNNNN``), atomically:
    the means a run passed through, for choosing among them on validation tracks afterwards."""
    path = Path(path)
    snapshots = {}
    if path.is_file():
        with np.load(path, allow_pickle=False) as data:
            snapshots = {k: data[k] for k in data.files}
    snapshots[f"gen{generation:05d}"] = np.asarray(mean, np.float32)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **snapshots)


def load_strategy_state(path: Path) -> tuple[np.ndarray, float]:
    """(mean, σ) written by :func:`save_strategy` (plain arrays; never unpickles)."""
    with np.load(Path(path), allow_pickle=False) as data:
        return np.asarray(data["mean"], dtype=np.float64), float(data["sigma"])


def initial_from_model(directory: Path) -> tuple[np.ndarray, dict]:
    """Parameters and card of a saved controller, to start CMA-ES from it."""
    from gdl_studio.core.registry import load_tensors, read_card

    card = read_card(directory)
    params = load_tensors(card)["params"].double().numpy().ravel()
    check_searchable(params, card.name)
    return params, card.data


def check_searchable(params: np.ndarray, name: str) -> None:
    """CMA-ES (real, dream, fine-tuning) searches the linear controller's weights; UserError for another kind."""
    from gdl_studio.racing.controller import param_count

    if params.size != param_count():
        raise UserError(
            f"'{name}' has {params.size} parameters, not the linear controller's {param_count()}: CMA-ES "
            "(training and fine-tuning) searches linear controllers only"
        )


def generation_seeds(seed: int, generation: int, rollouts: int) -> list[int]:
    """The tracks of one generation (shared by all its candidates)."""
    rng = np.random.default_rng([seed, generation, 12345])
    return rng.integers(0, 2**31 - 1, rollouts).tolist()


def train_controller(cfg: ControllerTrainConfig, log=print) -> dict:
    """Run (or resume) CMA-ES; a checkpoint and the C model are written after every generation."""
    from gdl_studio.racing.controller import param_count
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME, save_controller

    for name in (VAE_NAME, MDN_NAME):
        if not (Path(cfg.models) / name / "card.json").is_file():
            raise UserError(f"no {name} in {cfg.models}; train V and M first (or pass --models DIR)")
    from gdl_studio.racing.backends import check_backend

    check_backend(cfg.backend, cfg.ray_address)  # before anything is written
    ckpt = Path(cfg.ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    paths = _paths(ckpt)
    n = param_count()
    state = {"generation": 0, "env_steps": 0, "seconds": 0.0, "best_fitness": None, "best_params": None}
    previous_runs: list[str] = []
    if paths["es"].is_file() and paths["state"].is_file():
        state.update(json.loads(paths["state"].read_text()))
        mean, sigma = load_strategy_state(paths["es"])
        es = new_strategy(mean, sigma, cfg.popsize, cfg.seed + 1 + state["generation"])
        if "current_run" in state:
            state.setdefault("previous_runs", []).append(
                f"{state['current_run']}  (to generation {state['generation']})"
            )
        log(f"controller: resumed CMA-ES at generation {state['generation']} (σ {es.sigma:.4f}) from {ckpt}")
    elif cfg.init is not None:
        mean, card = initial_from_model(Path(cfg.init))
        metrics = card.get("metrics", {})
        sigma = float(cfg.sigma0 if cfg.sigma0 is not None else metrics.get("sigma") or DEFAULT_SIGMA0)
        state.update(
            generation=int(metrics.get("generations", 0)),
            env_steps=int(metrics.get("env_steps", 0)),
            seconds=float(metrics.get("train_seconds", 0.0)),
            best_fitness=metrics.get("best_candidate_fitness"),
        )
        previous_runs = list(
            card.get("training_runs") or ([card["training_command"]] if card.get("training_command") else [])
        )
        state["previous_runs"] = previous_runs
        es = new_strategy(mean, sigma, cfg.popsize, cfg.seed + 1 + state["generation"])
        log(
            f"controller: CMA-ES from {cfg.init} (generation {state['generation']}, σ {sigma:.4f}), "
            f"population {cfg.popsize}"
        )
    else:
        es = new_strategy(np.zeros(n), cfg.sigma0 or DEFAULT_SIGMA0, cfg.popsize, cfg.seed + 1)
        log(f"controller: new CMA-ES, {n} parameters, population {cfg.popsize}, {cfg.rollouts} rollouts per candidate")
    state["current_run"] = cfg.command
    t_run = time.perf_counter()
    gen_seconds: list[float] = []
    evaluator = Evaluator(Path(cfg.models), cfg.workers, cfg.backend, cfg.ray_address)
    stopped = "finished"
    try:
        while state["generation"] < cfg.generations:
            if cfg.max_minutes:
                elapsed = time.perf_counter() - t_run
                typical = np.median(gen_seconds) if gen_seconds else 0.0
                if elapsed + typical > cfg.max_minutes * 60:
                    stopped = "time budget reached"
                    break
            t0 = time.perf_counter()
            gen = state["generation"]
            seeds = generation_seeds(cfg.seed, gen, cfg.rollouts)
            solutions = es.ask()
            candidates = list(solutions) + [es.mean.copy()]
            fitness, steps = evaluator(candidates, seeds, cfg.batch_envs, cfg.max_steps, cfg.patience)
            pop_fit, xmean_fit = fitness[:-1], float(fitness[-1])
            es.tell(solutions, (-pop_fit).tolist())
            seconds = time.perf_counter() - t0
            gen_seconds.append(seconds)
            best_i = int(np.argmax(pop_fit))
            state["generation"] = gen + 1
            state["env_steps"] += int(steps)
            state["seconds"] += seconds
            if state["best_fitness"] is None or pop_fit[best_i] > state["best_fitness"]:
                state["best_fitness"] = float(pop_fit[best_i])
                state["best_params"] = np.asarray(solutions[best_i]).tolist()
            row = {
                "generation": gen + 1,
                "best": float(pop_fit[best_i]),
                "mean": float(pop_fit.mean()),
                "worst": float(pop_fit.min()),
                "xmean_fitness": xmean_fit,
                "sigma": float(es.sigma),
                "env_steps": int(steps),
                "seconds": round(seconds, 2),
            }
            state["last"] = row
            append_log(paths["log"], row)
            save_strategy(paths["es"], es)
            if cfg.snapshot_every and (gen + 1) % cfg.snapshot_every == 0:
                save_snapshot(paths["snapshots"], gen + 1, es.mean)
            write_text_atomic(paths["state"], json.dumps(state) + "\n")
            _save(cfg, es, state, xmean_fit, save_controller)
            log(
                f"controller: gen {gen + 1}/{cfg.generations} best {row['best']:.1f} mean {row['mean']:.1f} "
                f"xmean {xmean_fit:.1f} σ {es.sigma:.4f} ({steps} steps, {seconds:.1f}s, "
                f"{steps / max(seconds, 1e-9):.0f} steps/s)"
            )
    finally:
        evaluator.close()
    return {"stopped": stopped, **{k: v for k, v in state.items() if k != "best_params"}}


def append_log(path: Path, row: dict, fields: tuple[str, ...] = LOG_FIELDS) -> None:
    """Append one row to a per-generation CSV log, writing the header first when the file is new."""
    new = not path.is_file()
    with open(path, "a", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        if new:
            writer.writeheader()
        writer.writerow(row)


def read_log(ckpt: Path) -> list[dict]:
    """The per-generation log rows written so far."""
    path = _paths(Path(ckpt))["log"]
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _save(cfg: ControllerTrainConfig, es, state: dict, xmean_fit: float, save_controller) -> None:
    from gdl_studio.core.registry import read_card
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME

    card = {
        "data": {
            "source": "gymnasium CarRacing-v3 (fast pixel-identical renderer), random tracks every generation",
            "vae_sha256": read_card(Path(cfg.models) / VAE_NAME).data["sha256"],
            "mdn_sha256": read_card(Path(cfg.models) / MDN_NAME).data["sha256"],
        },
        "split": "training tracks drawn per generation; scores from `gdl-studio bench racing` use fixed held-out seeds",
        "metrics": {
            "generations": state["generation"],
            "env_steps": state["env_steps"],
            "train_seconds": round(state["seconds"], 1),
            "xmean_fitness_last_generation": xmean_fit,
            "best_candidate_fitness": state["best_fitness"],
            "popsize": cfg.popsize,
            "rollouts_per_candidate": cfg.rollouts,
            "patience": cfg.patience,
            "sigma": float(es.sigma),
        },
        "training_command": cfg.command,
        "training_runs": [*state.get("previous_runs", []), f"{cfg.command}  (to generation {state['generation']})"],
        "optimizer": "pycma CMA-ES, saved parameters = distribution mean",
        "fitness_log": "best/mean/worst per generation: resources/logs/carracing-controller.csv",
    }
    save_controller(np.asarray(es.mean), cfg.out, card)
