"""Train C entirely inside the dream: CMA-ES whose every rollout is one of M's dreams.

No real-environment step is taken. Every generation, each candidate (and the distribution mean)
drives ``rollouts`` dreams of up to ``max_steps`` steps at temperature τ, all of them stepped
as one batch on the device (:mod:`gdl_studio.racing.dream_batch`): with a population of 255 and
16 dreams each that is 4,096 dreams per generation. All candidates of a generation share the
same start latents and the same random stream (common random numbers), so their fitness
differences come from the controllers, not the dice. Dreams start from V's encodings of real
first frames that were recorded before training (the rollout series), or, without a series,
from the first frames of fixed tracks (a reset draws the track; no step is taken).

Every ``valid_every`` generations the distribution mean is scored on a fixed set of validation
dreams (other starts, other random streams); the best such mean is what gets saved, so the
choice of the final controller also never looks at the real game. State lives in the
checkpoint directory (``cma_state.npz``, ``dream_state.json``, ``dream_log.csv``,
``snapshots.npz`` with the mean every ``snapshot_every`` generations), written after every
generation, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import csv
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdl_studio.core.atomic import write_text_atomic
from gdl_studio.core.errors import UserError
from gdl_studio.racing.dream_batch import ROAD_EVERY
from gdl_studio.racing.finetune_options import DREAM_BASE

DREAM_CONTROLLER_NAME = DREAM_BASE  # the name lives in the light finetune_options (the CLI and the dialog read it)
LOG_FIELDS = ("generation", "best", "mean", "worst", "xmean_fitness", "valid", "sigma", "dream_steps", "seconds")
START_SEED_BASE = 4_000_000  # fallback start frames (track resets only) — not the bench's, fidelity's or finetune's


@dataclass
class DreamTrainConfig:
    """Settings of one ``train world-model dream-controller`` run."""

    models: Path
    out: Path
    ckpt: Path
    name: str = DREAM_CONTROLLER_NAME
    popsize: int = 255
    rollouts: int = 16
    generations: int = 300
    sigma0: float = 0.1
    sigma_max: float | None = None  # cap on every coordinate's step (pycma ``maxstd``): keeps C off bang-bang exploits
    tau: float = 1.15
    max_steps: int = 1000
    device: str = "auto"
    init: Path | None = None
    series: Path | None = None  # a train_mdn series.npz: start latents = its episodes' first frames
    critics: tuple[Path, ...] = ()  # more Ms on the same V: a candidate's fitness pools the Ms' mean returns
    pool: str = "min"  # how (racing.pooling.POOLS): by default its worst M's mean return
    road_penalty: float = 0.0  # > 0: each dream's return minus this × its share of decoded frames off the road
    valid_dreams: int = 256
    valid_every: int = 5
    snapshot_every: int = 10
    max_minutes: float | None = None
    seed: int = 0
    command: str = ""


def start_latents(cfg: DreamTrainConfig, vae, count: int = 512) -> tuple[np.ndarray, str]:
    """Start latents for the dreams and a description of where they come from."""
    if cfg.series is not None and Path(cfg.series).is_file():
        with np.load(cfg.series) as d:
            lengths = d["lengths"]
            frame_off = np.concatenate([[0], np.cumsum(lengths + 1)])[:-1]
            mu = d["mu"][frame_off].astype(np.float32)
        return mu, f"V's encodings of the first frames of the {len(mu)} recorded rollouts in {Path(cfg.series).name}"
    from gdl_studio.racing.fidelity import first_frame_latents

    seeds = [START_SEED_BASE + i for i in range(count)]
    return first_frame_latents(
        vae, seeds
    ), f"V's encodings of the first frames of tracks {seeds[0]}…{seeds[-1]} (resets only)"


def _paths(ckpt: Path) -> dict[str, Path]:
    return {
        "es": ckpt / "cma_state.npz",
        "state": ckpt / "dream_state.json",
        "log": ckpt / "dream_log.csv",
        "snapshots": ckpt / "snapshots.npz",
    }


def train_dream_controller(cfg: DreamTrainConfig, log=print) -> dict:
    """Run (or resume) CMA-ES in the dream; saves the best-validated mean as ``cfg.name``."""
    from gdl_studio.racing.controller import param_count
    from gdl_studio.racing.dream_batch import best_device, dream_batch
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME, load_critic_mdns, load_dir
    from gdl_studio.racing.pooling import check_pool, pool_returns
    from gdl_studio.racing.train_controller import (
        append_log,
        initial_from_model,
        load_strategy_state,
        new_strategy,
        save_snapshot,
        save_strategy,
    )

    for name in (VAE_NAME, MDN_NAME):
        if not (Path(cfg.models) / name / "card.json").is_file():
            raise UserError(f"no {name} in {cfg.models}; train V and M first (or pass --models DIR)")
    if cfg.popsize < 2 or cfg.rollouts < 1:
        raise UserError("population must be at least 2 and rollouts at least 1")
    check_pool(cfg.pool)
    device = best_device(cfg.device)
    vae = load_dir(Path(cfg.models) / VAE_NAME)
    mdn = load_dir(Path(cfg.models) / MDN_NAME).to(device)
    if cfg.road_penalty < 0:
        raise UserError("road penalty must be ≥ 0")
    critics = [c.to(device) for c in load_critic_mdns(cfg.models, cfg.critics, mdn)]
    starts, starts_from = start_latents(cfg, vae)
    decoder = vae.to(device).decode if cfg.road_penalty > 0 else None  # after the starts: V encodes them on the CPU
    rng_split = np.random.default_rng([cfg.seed, 99])
    order = rng_split.permutation(len(starts))
    n_valid = max(1, len(starts) // 8)
    valid_starts, train_starts = starts[order[:n_valid]], starts[order[n_valid:]]
    if len(train_starts) == 0:
        train_starts = valid_starts
    valid_z0 = valid_starts[np.arange(cfg.valid_dreams) % len(valid_starts)]

    ckpt = Path(cfg.ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    paths = _paths(ckpt)
    state = {
        "generation": 0,
        "dream_steps": 0,
        "seconds": 0.0,
        "best_valid": None,
        "best_valid_generation": None,
        "best_params": None,
    }
    if paths["es"].is_file() and paths["state"].is_file():
        state.update(json.loads(paths["state"].read_text()))
        mean, sigma = load_strategy_state(paths["es"])
        log(f"dream-controller: resumed at generation {state['generation']} (σ {sigma:.4f}) from {ckpt}")
    elif cfg.init is not None:
        mean, _ = initial_from_model(Path(cfg.init))
        sigma = cfg.sigma0
        log(f"dream-controller: CMA-ES from {cfg.init}, σ {sigma}")
    else:
        mean, sigma = np.zeros(param_count()), cfg.sigma0
        log(f"dream-controller: new CMA-ES, {param_count()} parameters")
    es = new_strategy(mean, sigma, cfg.popsize, cfg.seed + 1 + state["generation"], max_std=cfg.sigma_max)
    log(
        f"dream-controller: population {cfg.popsize} × {cfg.rollouts} dreams of ≤ {cfg.max_steps} steps at τ {cfg.tau} "
        f"on {device}; starts: {starts_from}"
    )

    def evaluate(candidates: np.ndarray, z0: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
        """Mean dream return per candidate; every candidate sees the same starts and random stream.
        With critics, each M dreams the same starts and the Ms' means are pooled by ``cfg.pool``
        (by default the lowest): an exploit of one M's errors scores what the other Ms predict for it.
        With a road penalty, every :data:`ROAD_EVERY`-th frame of each dream is decoded by V and the
        dream's return loses ``road_penalty`` × its share of checked frames off the road."""
        k = len(z0)
        params, starts = np.repeat(candidates, k, axis=0), np.tile(z0, (len(candidates), 1))
        means, steps = [], 0
        for m in [mdn, *critics]:
            res = dream_batch(
                m, params, starts, cfg.tau, seed, cfg.max_steps, device=device, decoder=decoder, road_every=ROAD_EVERY
            )
            returns = res.returns if res.on_road is None else res.returns - cfg.road_penalty * (1.0 - res.on_road)
            means.append(returns.reshape(len(candidates), k).mean(axis=1))
            steps += res.steps
        return pool_returns(means, cfg.pool), steps

    t_run = time.perf_counter()
    gen_seconds: list[float] = []
    stopped = "finished"
    while state["generation"] < cfg.generations:
        if cfg.max_minutes:
            typical = float(np.median(gen_seconds)) if gen_seconds else 0.0
            if time.perf_counter() - t_run + typical > cfg.max_minutes * 60:
                stopped = "time budget reached"
                break
        t0 = time.perf_counter()
        gen = state["generation"]
        rng = np.random.default_rng([cfg.seed, gen, 4242])
        z0 = train_starts[rng.integers(0, len(train_starts), cfg.rollouts)]
        solutions = es.ask()
        candidates = np.asarray(list(solutions) + [es.mean.copy()])
        fitness, steps = evaluate(candidates, z0, int(rng.integers(2**31)))
        pop_fit, xmean_fit = fitness[:-1], float(fitness[-1])
        es.tell(solutions, (-pop_fit).tolist())
        valid = None
        if (gen + 1) % cfg.valid_every == 0 or gen + 1 == cfg.generations:
            v, s = evaluate(np.asarray([es.mean]), valid_z0, 777_777)
            valid = float(v[0])
            steps += s
            if state["best_valid"] is None or valid > state["best_valid"]:
                state.update(best_valid=valid, best_valid_generation=gen + 1, best_params=np.asarray(es.mean).tolist())
        if (gen + 1) % cfg.snapshot_every == 0:
            save_snapshot(paths["snapshots"], gen + 1, es.mean)
        seconds = time.perf_counter() - t0
        gen_seconds.append(seconds)
        state["generation"] = gen + 1
        state["dream_steps"] += int(steps)
        state["seconds"] += seconds
        row = {
            "generation": gen + 1,
            "best": float(pop_fit.max()),
            "mean": float(pop_fit.mean()),
            "worst": float(pop_fit.min()),
            "xmean_fitness": xmean_fit,
            "valid": "" if valid is None else valid,
            "sigma": float(es.sigma),
            "dream_steps": int(steps),
            "seconds": round(seconds, 2),
        }
        append_log(paths["log"], row, LOG_FIELDS)
        save_strategy(paths["es"], es)
        write_text_atomic(paths["state"], json.dumps(state) + "\n")
        log(
            f"dream-controller: gen {gen + 1}/{cfg.generations} best {row['best']:.1f} mean {row['mean']:.1f} "
            f"xmean {xmean_fit:.1f}{'' if valid is None else f' valid {valid:.1f}'} σ {es.sigma:.4f} "
            f"({steps / max(seconds, 1e-9) / 1e6:.2f}M dream steps/s, {seconds:.1f}s)"
        )
    if state["best_params"] is None:
        log("dream-controller: no validated controller yet; nothing written (run again to continue)")
        return {"stopped": stopped, **{k: v for k, v in state.items() if k != "best_params"}}
    saved = _save(cfg, state, starts_from, np.asarray(state["best_params"]))
    log(
        f"dream-controller: wrote {saved.directory} (generation {state['best_valid_generation']}, "
        f"validation dream return {state['best_valid']:.1f}); {stopped}"
    )
    return {"stopped": stopped, **{k: v for k, v in state.items() if k != "best_params"}}


def read_log(ckpt: Path) -> list[dict]:
    """The per-generation rows written so far."""
    path = _paths(Path(ckpt))["log"]
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return [{k: (float(v) if v not in ("", None) else None) for k, v in row.items()} for row in csv.DictReader(fh)]


def _save(cfg: DreamTrainConfig, state: dict, starts_from: str, params: np.ndarray):
    import torch

    from gdl_studio.core.registry import read_card, save_model
    from gdl_studio.racing.models_io import FAMILY_CONTROLLER, MDN_NAME, VAE_NAME, controller_architecture
    from gdl_studio.racing.pooling import POOL_TEXT

    card = {
        "name": cfg.name,
        "display_name": "Dream-trained driver",
        "family": FAMILY_CONTROLLER,
        "architecture": controller_architecture(params),
        "dtype": "float32",
        "task": "drive CarRacing-v3 through V and M (Dream panel); trained only inside M's dream",
        "data": {
            "source": "CMA-ES rollouts inside the MDN-RNN's dream (M's reward and episode-end heads)",
            "starts": starts_from,
            "vae_sha256": read_card(Path(cfg.models) / VAE_NAME).data["sha256"],
            "mdn_sha256": read_card(Path(cfg.models) / MDN_NAME).data["sha256"],
            **(
                {
                    "critic_mdn_sha256": [read_card(Path(c)).data["sha256"] for c in cfg.critics],
                    "fitness": f"{POOL_TEXT[cfg.pool]} (M and each critic dream the same starts)",
                    "pool": cfg.pool,
                }
                if cfg.critics
                else {}
            ),
            **(
                {
                    "road_penalty": cfg.road_penalty,
                    "fitness_road": f"each dream's return − {cfg.road_penalty:g} × its share of frames off the road "
                    f"(every {ROAD_EVERY}th frame decoded by V and checked)",
                }
                if cfg.road_penalty
                else {}
            ),
        },
        "split": f"fitness on dreams from training starts; selection on {cfg.valid_dreams} fixed validation dreams "
        "from held-out starts; real-game scores only after training (gdl-studio bench racing)",
        "metrics": {
            "real_env_steps_during_training": 0,
            "dream_steps": int(state["dream_steps"]),
            "generations": int(state["generation"]),
            "selected_generation": state["best_valid_generation"],
            "valid_dream_return": state["best_valid"],
            "tau": cfg.tau,
            "sigma_max": cfg.sigma_max,
            "popsize": cfg.popsize,
            "rollouts_per_candidate": cfg.rollouts,
            "train_seconds": round(state["seconds"], 1),
        },
        "training_command": cfg.command,
        "optimizer": (
            "pycma CMA-ES in the dream; saved parameters = the distribution mean with the best validation dream return"
        ),
    }
    tensors = {"params": torch.from_numpy(np.asarray(params, dtype=np.float32))}
    return save_model(Path(cfg.out) / cfg.name, tensors, card)
