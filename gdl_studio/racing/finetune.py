"""Fine-tune the Dream controller: continue CMA-ES from a saved controller, in the real game or
in the world model's dream.

* ``mode="real"``: every candidate drives ``rollouts`` CarRacing-v3 tracks (the fast,
  pixel-identical renderer; new tracks every generation), through V and M, as in training.
* ``mode="dream"``: every candidate drives inside M's dream — z sampled from the mixture at
  temperature τ, reward and episode end from M's heads — starting from V's encodings of real
  first frames. All candidates × rollouts step together as one batch, so a generation takes
  seconds on a laptop. τ > 1 makes the dream harder to exploit (Ha & Schmidhuber used 1.15).

Each generation reports best / mean / worst fitness and the current best parameters (so the app
can let the person watch it drive). At the end the distribution mean is compared with the base
controller on fixed validation tracks (or dreams) and saved as a personal model.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Any

import numpy as np

from gdl_studio.core.errors import UserError
from gdl_studio.core.finetuning import FinetuneSpec, Progress
from gdl_studio.racing.finetune_options import MODE_DEFAULTS, defaults

VALID_SEED_BASE = (
    2_000_000  # validation tracks / dreams (training draws random 31-bit seeds; the bench uses 1_000_000…)
)
DREAM_MIN_STEPS = 20


def _options(spec: FinetuneSpec) -> dict[str, Any]:
    opts = defaults(spec.options.get("mode"))
    if opts["mode"] not in MODE_DEFAULTS:
        raise UserError("mode must be 'real' or 'dream'")
    opts.update({k: v for k, v in spec.options.items() if v is not None})
    opts["real_check_tracks"] = max(0, int(opts["real_check_tracks"]))
    if opts["backend"] == "ray" and spec.options.get("workers") is None:
        opts["workers"] = 0  # every CPU of the cluster
    for key in ("generations", "population", "rollouts", "workers", "max_steps", "valid_rollouts"):
        opts[key] = int(opts[key])
        if opts[key] < 1 and not (key == "workers" and opts[key] == 0 and opts["backend"] == "ray"):
            raise UserError(f"{key} must be at least 1")
    if opts["population"] < 2:
        raise UserError("population must be at least 2")
    opts["tau"] = float(opts["tau"])
    if not 0.05 <= opts["tau"] <= 3.0:
        raise UserError("dream temperature τ must be between 0.05 and 3")
    opts["sigma"] = float(opts["sigma"])
    if opts["sigma"] <= 0:
        raise UserError("sigma must be positive")
    return opts


def _base_controller(name: str):
    """(params, card) of a shipped or personal controller."""
    from gdl_studio.core.registry import ModelUnavailable, default_registry, load_tensors
    from gdl_studio.racing.models_io import FAMILY_CONTROLLER

    try:
        card = default_registry().card(name)
    except ModelUnavailable as exc:
        raise UserError(str(exc)) from None
    if card.family != FAMILY_CONTROLLER:
        raise UserError(f"'{name}' is not a driving controller (family {card.family})")
    try:
        params = load_tensors(card)["params"].double().numpy().ravel()
    except ModelUnavailable as exc:
        raise UserError(str(exc)) from None
    from gdl_studio.racing.train_controller import check_searchable

    check_searchable(params, name)
    return params, card


# ----------------------------------------------------------------------------- dream rollouts
def start_latents(vae, count: int, seed: int) -> np.ndarray:
    """V's encodings of the first frames of ``count`` real tracks (the dreams start there)."""
    from gdl_studio.racing.fidelity import first_frame_latents

    return first_frame_latents(vae, [seed + k for k in range(count)])


def dream_returns(
    mdn,
    params: np.ndarray,
    z0: np.ndarray,
    tau: float,
    seed: int,
    max_steps: int = 1000,
    checkpoint=None,
    done_threshold: float = 0.5,
) -> tuple[np.ndarray, int]:
    """Total dreamed reward of each (params[i], z0[i]) episode, all stepped as one batch.

    An episode ends when M's episode-end probability passes ``done_threshold`` (after
    ``DREAM_MIN_STEPS``) or after ``max_steps``. ``checkpoint`` is called every 50 steps.
    Returns (returns, dream steps).
    """
    import torch

    from gdl_studio.racing.controller import raw_outputs, squash, unpack
    from gdl_studio.racing.mdn_rnn import sample_mixture

    params = np.atleast_2d(np.asarray(params, dtype=np.float64))
    batch = len(params)
    parts = unpack(params, z0.shape[1], mdn.config.hidden)
    gen = torch.Generator().manual_seed(int(seed))
    z = torch.as_tensor(np.asarray(z0, np.float32))
    state = mdn.initial_state(batch)
    totals = np.zeros(batch)
    alive = np.ones(batch, dtype=bool)
    steps = 0
    with torch.inference_mode():
        for t in range(max_steps):
            if checkpoint is not None and t % 50 == 0:
                checkpoint()
            x = np.concatenate([z.numpy(), state[0][0].numpy()], axis=1).astype(np.float64)
            actions = squash(raw_outputs(parts, x))
            out, state = mdn.step(z, torch.from_numpy(actions), state)
            reward = out.reward.numpy().astype(np.float64)
            totals[alive] += reward[alive]
            steps += int(alive.sum())
            if t + 1 >= DREAM_MIN_STEPS:
                alive &= torch.sigmoid(out.done_logit).numpy() <= done_threshold
            if not alive.any():
                break
            z = sample_mixture(out.logpi, out.mu, out.logsigma, tau, gen)
    return totals, steps


class DreamEvaluator:
    """Fitness of candidates in the dream: mean dreamed return over ``rollouts`` starts."""

    def __init__(self, world, tau: float, max_steps: int, start_seed: int, starts: int = 16) -> None:
        self.mdn = world.mdn
        self.tau = tau
        self.max_steps = max_steps
        self.starts = start_latents(world.vae, starts, start_seed)

    def __call__(self, candidates: list[np.ndarray], seed: int, rollouts: int, checkpoint=None):
        rng = np.random.default_rng(seed)
        picks = rng.integers(0, len(self.starts), rollouts)
        params = np.repeat(np.asarray(candidates), rollouts, axis=0)
        z0 = np.tile(self.starts[picks], (len(candidates), 1))
        returns, steps = dream_returns(self.mdn, params, z0, self.tau, seed, self.max_steps, checkpoint)
        return returns.reshape(len(candidates), rollouts).mean(axis=1), steps


# ----------------------------------------------------------------------------- real rollouts
class RealEvaluator:
    """Fitness of candidates in the real game (fast renderer): mean return over tracks."""

    def __init__(
        self, models_dir: Path, workers: int, max_steps: int, backend: str = "local", address: str | None = None
    ) -> None:
        from gdl_studio.racing.train_controller import Evaluator

        self.inner = Evaluator(models_dir, workers, backend, address)
        self.max_steps = max_steps

    def __call__(self, candidates: list[np.ndarray], seed: int, rollouts: int, checkpoint=None):
        from gdl_studio.racing.train_controller import generation_seeds

        seeds = generation_seeds(seed, 0, rollouts)
        if self.inner.pool.in_process and checkpoint is not None:
            fitness, steps = [], 0
            for params in candidates:  # one candidate at a time, so pause/cancel act quickly
                checkpoint()
                f, s = self.inner([params], seeds, len(seeds), self.max_steps, 100)
                fitness.append(float(f[0]))
                steps += s
            return np.asarray(fitness), steps
        return self.inner(candidates, seeds, len(seeds), self.max_steps, 100)

    def per_track(self, candidates: list[np.ndarray], seed: int, rollouts: int, checkpoint=None):
        """Return of each candidate on each of the same ``rollouts`` tracks, shape (candidates, tracks)."""
        from gdl_studio.racing.train_controller import generation_seeds

        seeds = generation_seeds(seed, 0, rollouts)
        if self.inner.pool.in_process:  # one episode at a time, so pause/cancel act between them
            returns = np.zeros((len(candidates), len(seeds)))
            for i, params in enumerate(candidates):
                for k, track in enumerate(seeds):
                    if checkpoint is not None:
                        checkpoint()
                    returns[i, k] = self.inner.per_track([params], [track], 1, self.max_steps, 100)[0][0, 0]
            return returns
        if checkpoint is not None:
            checkpoint()
        # one track a task, as above: a batched network step differs by float rounding, which a
        # track's return amplifies, and the check should give the same figures in the app and the CLI
        return self.inner.per_track(candidates, seeds, 1, self.max_steps, 100)[0]

    def close(self) -> None:
        self.inner.close()


def real_check_metrics(base: np.ndarray, result: np.ndarray) -> dict[str, float | int]:
    """Base and result driven on the same real tracks: their means, and the paired gain per track.

    The tracks differ far more from each other than a fine-tuning step changes a driver, so the
    gain is judged track by track (result − base on the same track): its mean, its standard error
    (0 with one track) and on how many tracks the result did better.
    """
    base = np.asarray(base, dtype=np.float64)
    result = np.asarray(result, dtype=np.float64)
    gain = result - base
    se = float(gain.std(ddof=1) / np.sqrt(len(gain))) if len(gain) > 1 else 0.0
    return {
        "base_real_return": round(float(base.mean()), 2),
        "real_return": round(float(result.mean()), 2),
        "real_gain": round(float(gain.mean()), 2),
        "real_gain_se": round(se, 2),
        "real_better_tracks": int((gain > 0).sum()),
        "real_check_tracks": len(gain),
    }


def headline(metrics: dict[str, Any]) -> str:
    """One line on what a controller fine-tuning run did, for the training dock and the CLI."""
    where = "dream" if metrics.get("mode") == "dream" else "validation tracks"
    text = f"{where}: {metrics['base_valid_return']:.1f} → {metrics['valid_return']:.1f}"
    if "real_gain" in metrics:
        n = metrics["real_check_tracks"]
        text += (
            f" · real game, {n} track{'s' if n != 1 else ''}: {metrics['base_real_return']:.1f} → "
            f"{metrics['real_return']:.1f} ({metrics['real_gain']:+.1f}"
            + (f" ± {metrics['real_gain_se']:.1f}" if n > 1 else "")
            + f" per track, better on {metrics['real_better_tracks']} of {n})"
        )
        verdict = real_check_verdict(metrics)
        if verdict:
            text += f": {verdict}"
    return text


VERDICT_MIN_TRACKS = 4  # fewer real tracks than this give no verdict (the spread between tracks is unknown)


def real_check_verdict(metrics: dict[str, Any]) -> str:
    """What the paired real check says about the result against its base: better or worse when the
    mean gain per track is more than two standard errors from 0, else no clear difference; "" with
    fewer than :data:`VERDICT_MIN_TRACKS` tracks."""
    if metrics.get("real_check_tracks", 0) < VERDICT_MIN_TRACKS:
        return ""
    gain, se = float(metrics["real_gain"]), float(metrics["real_gain_se"])
    if gain > 2.0 * se and gain > 0:
        return "better than the base"
    if gain < -2.0 * se and gain < 0:
        return "worse than the base"
    return "no clear difference from the base"


def _world_of(card):
    """The :class:`~gdl_studio.racing.worlds.WorldRef` a controller card drives with (UserError if missing)."""
    from gdl_studio.core.registry import ModelUnavailable
    from gdl_studio.racing.worlds import resolve_world

    try:
        return resolve_world(card)
    except ModelUnavailable as exc:
        raise UserError(str(exc)) from None


# ----------------------------------------------------------------------------- the job
def finetune(spec: FinetuneSpec, report, control) -> dict:
    """Continue CMA-ES from ``spec.base``; save the result as a personal controller.

    Options (``spec.options``): generations, mode ("real"/"dream"), tau, population, rollouts,
    workers (real mode), seed, sigma (initial step size), max_steps, valid_rollouts.
    """
    from gdl_studio.core.personal import check_name, save_personal_model
    from gdl_studio.racing.backends import check_backend
    from gdl_studio.racing.models_io import FAMILY_CONTROLLER
    from gdl_studio.racing.train_controller import new_strategy

    opts = _options(spec)
    name = spec.name or f"{spec.base}-tuned"
    check_name(name)
    if opts["mode"] == "real":  # dream generations are one batch in this process
        check_backend(opts["backend"], opts["ray_address"])
    base_params, base_card = _base_controller(spec.base or "carracing-controller")
    world_ref = _world_of(base_card)  # the base controller's own V and M (e.g. the v2 world of the dream-trained one)
    world = world_ref.load()
    models_dir = world_ref.models_dir()
    evaluator: RealEvaluator | DreamEvaluator
    if opts["mode"] == "real":
        from gdl_studio.racing.deps import require_simulator

        require_simulator()
        evaluator = RealEvaluator(models_dir, opts["workers"], opts["max_steps"], opts["backend"], opts["ray_address"])
    else:
        evaluator = DreamEvaluator(world, opts["tau"], opts["max_steps"], start_seed=VALID_SEED_BASE + 10_000)
    es = new_strategy(base_params, opts["sigma"], opts["population"], opts["seed"] + 1)
    valid_seed = VALID_SEED_BASE + opts["seed"]
    t0 = time.perf_counter()
    env_steps = 0
    history: list[dict[str, float]] = []
    best_fit = -np.inf  # best single candidate seen (the result is the distribution mean)
    try:
        control.checkpoint()
        base_valid, s = evaluator([base_params], valid_seed, opts["valid_rollouts"], control.checkpoint)
        env_steps += s
        report(
            Progress(
                0, opts["generations"], "generation", message="base controller", extra={"valid": float(base_valid[0])}
            )
        )
        for gen in range(opts["generations"]):
            control.checkpoint()
            solutions = es.ask()
            fitness, s = evaluator(
                list(solutions), opts["seed"] * 100_003 + gen + 1, opts["rollouts"], control.checkpoint
            )
            env_steps += s
            es.tell(solutions, (-fitness).tolist())
            i = int(np.argmax(fitness))
            best_fit = max(best_fit, float(fitness[i]))
            row = {
                "best": float(fitness.max()),
                "mean": float(fitness.mean()),
                "worst": float(fitness.min()),
                "sigma": float(es.sigma),
            }
            history.append(row)
            report(
                Progress(
                    gen + 1,
                    opts["generations"],
                    "generation",
                    extra=row,
                    payload={"best_params": np.asarray(solutions[i], np.float32)},
                )
            )
        control.checkpoint()
        final = np.asarray(es.mean, dtype=np.float64)
        final_valid, s = evaluator([final], valid_seed, opts["valid_rollouts"], control.checkpoint)
        env_steps += s
        real_check = None
        if opts["mode"] == "dream" and opts["real_check_tracks"]:
            # does what was learnt in the dream carry over to the real game?
            report(
                Progress(opts["generations"], opts["generations"], "generation", message="checking in the real game")
            )
            tracks = opts["real_check_tracks"]
            real = RealEvaluator(models_dir, min(tracks, os.cpu_count() or 1), opts["max_steps"])
            try:
                real_check = real.per_track([base_params, final], valid_seed, tracks, control.checkpoint)
            finally:
                real.close()
    finally:
        if hasattr(evaluator, "close"):
            evaluator.close()
    control.checkpoint()
    seconds = time.perf_counter() - t0
    where = "dream" if opts["mode"] == "dream" else "real game (fast renderer)"
    metrics = {
        "mode": opts["mode"],
        "base_valid_return": round(float(base_valid[0]), 2),
        "valid_return": round(float(final_valid[0]), 2),
        "valid_rollouts": opts["valid_rollouts"],
        "valid_first_seed": valid_seed,
        "generations": opts["generations"],
        "population": opts["population"],
        "rollouts_per_candidate": opts["rollouts"],
        "best_candidate_fitness": round(best_fit, 2),
        "env_steps" if opts["mode"] == "real" else "dream_steps": int(env_steps),
        "train_seconds": round(seconds, 1),
        "sigma": float(es.sigma),
    }
    if opts["mode"] == "dream":
        metrics["tau"] = opts["tau"]
    if real_check is not None:
        metrics.update(real_check_metrics(real_check[0], real_check[1]))
    import torch

    card = {
        "name": name,
        "display_name": name,
        "family": FAMILY_CONTROLLER,
        "architecture": dict(base_card.architecture),
        "base_model": base_card.name,
        "dtype": "float32",
        "task": "drive CarRacing-v3 through V and M (Dream panel)",
        "data": {
            "source": f"CMA-ES rollouts in the {where}",
            "vae_sha256": world.cards["carracing-vae"].data.get("sha256"),
            "mdn_sha256": world.cards["carracing-mdnrnn"].data.get("sha256"),
        },
        "split": f"validation: {opts['valid_rollouts']} fixed {'tracks' if opts['mode'] == 'real' else 'dreams'} "
        f"from seed {valid_seed}, never used for training",
        **({"world": base_card.data["world"]} if base_card.data.get("world") else {}),
        "metrics": metrics,
        "history": history,
        "training_command": "gdl-studio finetune controller "
        + " ".join(
            [
                f"--base {shlex.quote(base_card.name)}",
                f"--name {shlex.quote(name)}",
                f"--mode {opts['mode']}",
                f"--generations {opts['generations']}",
                f"--population {opts['population']}",
                f"--rollouts {opts['rollouts']}",
                f"--tau {opts['tau']}",
                f"--seed {opts['seed']}",
            ]
        ),
        "optimizer": "pycma CMA-ES from the base controller, saved parameters = distribution mean",
    }
    tensors = {"params": torch.from_numpy(final.astype(np.float32))}
    saved = save_personal_model(tensors, card)
    return {"name": saved.name, "metrics": metrics, "headline": headline(metrics)}
