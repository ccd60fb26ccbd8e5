"""Ha & Schmidhuber's iterative procedure: drive, learn the world again, learn to drive in it.

Round r (1, 2, …) of ``gdl-studio train world-model iterate``:

1. **collect** — ``episodes_per_round`` new rollouts into the shared rollout folder, driven by the
   previous round's agent (V, M and controller; round 1 uses the starting models) with
   exploration noise, and a share of random policies for coverage (:mod:`.collect`, policy
   ``iterate``). Earlier rounds' rollouts stay: V and M always learn from the union.
2. **vae** — V retrained on the union, starting from the previous V.
3. **mdn** — M retrained on the union encoded by the new V, starting from the previous M.
4. **dream** — a controller trained only in the new M's dream (:mod:`.dream_train`), starting
   from the previous controller.
5. **score** — that controller on the real game (fixed tracks :data:`ITERATE_SCORE_SEED_BASE` …,
   never used to choose anything), for the record.

Every step writes its result into ``<work>/round<r>/round.json`` when it finishes and every
trainer checkpoints as it goes, so a run stopped anywhere continues where it was; the models
of round r are in ``<work>/round<r>/models`` and their cards carry the round's record.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from gdl_studio.core.atomic import write_text_atomic
from gdl_studio.core.errors import UserError

STEPS = ("collect", "vae", "mdn", "dream", "score")
COLLECT_SEED_BASE = 5_000_000  # rollout tracks of the iterations
ITERATE_SCORE_SEED_BASE = 6_000_000  # the per-round real-game record


@dataclass
class IterateConfig:
    """Settings of ``train world-model iterate``."""

    work: Path
    init_models: Path
    rounds: int = 2
    episodes_per_round: int = 400
    agent_share: float = 0.75
    workers: int = 1
    device: str = "auto"
    vae_minutes: float = 3.0
    mdn_minutes: float = 4.0
    mdn_options: dict = field(default_factory=dict)  # extra MDNTrainConfig fields (reward_weight, open_loop, …)
    dream_generations: int = 200
    dream_minutes: float = 4.0
    popsize: int = 255
    rollouts: int = 16
    tau: float = 1.15
    sigma_max: float | None = None
    init_controller: str = "carracing-controller"  # the controller in init_models that drives round 1
    skip: tuple[str, ...] = ()  # steps to skip ("vae": keep the previous V)
    dream_init: str = "previous"  # "previous": CMA-ES from the agent's controller; "zero": from scratch
    score_episodes: int = 16
    stop_after: str | None = None  # "ROUND:STEP", e.g. "1:mdn"
    command: str = ""
    tiny: bool = False  # a smoke test: 60-step rollouts, one short epoch each, a 2-generation dream run


def _round_dir(cfg: IterateConfig, r: int) -> Path:
    return Path(cfg.work) / f"round{r}"


def _record_path(cfg: IterateConfig, r: int) -> Path:
    return _round_dir(cfg, r) / "round.json"


def read_record(cfg: IterateConfig, r: int) -> dict:
    path = _record_path(cfg, r)
    return json.loads(path.read_text()) if path.is_file() else {"round": r, "steps": {}}


def _write_record(cfg: IterateConfig, r: int, record: dict) -> None:
    path = _record_path(cfg, r)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(record, indent=2) + "\n")


def previous_models(cfg: IterateConfig, r: int) -> tuple[Path, str]:
    """(models directory, controller name) the round ``r`` agent drives with."""
    from gdl_studio.racing.dream_train import DREAM_CONTROLLER_NAME

    if r == 1:
        return Path(cfg.init_models), cfg.init_controller
    return _round_dir(cfg, r - 1) / "models", DREAM_CONTROLLER_NAME


def iterate(cfg: IterateConfig, log=print) -> list[dict]:
    """Run (or resume) all rounds; returns each round's record."""
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME

    if cfg.rounds < 1 or cfg.episodes_per_round < 1:
        raise UserError("rounds and episodes per round must be at least 1")
    if not 0.0 <= cfg.agent_share <= 1.0:
        raise UserError("--agent-share must be between 0 and 1")
    for name in (VAE_NAME, MDN_NAME):
        if not (Path(cfg.init_models) / name / "card.json").is_file():
            raise UserError(f"no {name} in {cfg.init_models} to start from")
    stop_round, stop_step = _parse_stop(cfg.stop_after)
    rollouts = Path(cfg.work) / "rollouts"
    records = []
    for r in range(1, cfg.rounds + 1):
        record = read_record(cfg, r)
        record.setdefault("steps", {})
        rdir = _round_dir(cfg, r)
        models = rdir / "models"
        prev_models, prev_controller = previous_models(cfg, r)
        for step in STEPS:
            if step in record["steps"]:
                continue
            if step in cfg.skip:
                if step == "vae":  # keep the previous V: copy it into this round's models
                    shutil.copytree(prev_models / VAE_NAME, models / VAE_NAME, dirs_exist_ok=True)
                record["steps"][step] = {"skipped": True}
                _write_record(cfg, r, record)
                continue
            t0 = time.perf_counter()
            log(f"iterate: round {r}, {step}")
            result = _STEP_FUNCS[step](cfg, r, rollouts, models, prev_models, prev_controller, record, log)
            result["seconds"] = round(time.perf_counter() - t0, 1)
            record["steps"][step] = result
            record["command"] = cfg.command
            _write_record(cfg, r, record)
            _annotate_cards(models, record)
            if (r, step) == (stop_round, stop_step):
                log(f"iterate: stopped after round {r} {step} as asked")
                records.append(record)
                return records
        records.append(record)
    return records


def _parse_stop(text: str | None) -> tuple[int | None, str | None]:
    if not text:
        return None, None
    try:
        r, step = text.split(":")
        if step not in STEPS:
            raise ValueError
        return int(r), step
    except ValueError:
        raise UserError(f"--stop-after must be ROUND:STEP with STEP one of {', '.join(STEPS)}") from None


def _collect(cfg, r, rollouts, models, prev_models, prev_controller, record, log) -> dict:
    from gdl_studio.racing.collect import CollectConfig, collect, list_episodes

    summary = collect(
        CollectConfig(
            out=rollouts,
            episodes=r * cfg.episodes_per_round,
            base_seed=COLLECT_SEED_BASE,
            max_steps=60 if cfg.tiny else 1000,
            policy="iterate",
            workers=cfg.workers,
            models=prev_models,
            agent_share=cfg.agent_share,
            controller=prev_controller,
        ),
        log=log,
    )
    import numpy as np

    files = list_episodes(rollouts)
    kinds: dict[str, int] = {}
    steps = 0
    for path in files:
        with np.load(path) as d:
            kind = str(d["policy"]) if "policy" in d.files else "?"
            steps += len(d["actions"])
        kinds[kind] = kinds.get(kind, 0) + 1
    return {
        "episodes_total": len(files),
        "steps_total": int(steps),
        "new_episodes": summary["new_episodes"],
        "new_steps": summary["new_steps"],
        "policies": kinds,
        "agent": f"{prev_models}/{prev_controller}",
        "agent_share": cfg.agent_share,
        "mean_return_new": summary["mean_return"],
    }


def _vae(cfg, r, rollouts, models, prev_models, prev_controller, record, log) -> dict:
    from gdl_studio.racing.models_io import VAE_NAME
    from gdl_studio.racing.train_vae import VAETrainConfig, train_vae

    vae_cfg = VAETrainConfig(
        data=rollouts,
        out=models,
        ckpt=_round_dir(cfg, r) / "ckpt" / "vae",
        device=cfg.device,
        max_minutes=cfg.vae_minutes,
        init=prev_models / VAE_NAME,
        command=cfg.command,
        source=f"gymnasium CarRacing-v3 rollouts of iteration rounds 1-{r} (agent with exploration noise, "
        f"{cfg.agent_share:.0%}; random policies otherwise)",
    )
    if cfg.tiny:
        vae_cfg = replace(vae_cfg, epochs=1, batch=32, max_frames=256)
    res = train_vae(vae_cfg, log=log)
    return {k: v for k, v in res.items() if k not in ("history",)}


def _mdn(cfg, r, rollouts, models, prev_models, prev_controller, record, log) -> dict:
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME, load_dir
    from gdl_studio.racing.train_mdn import MDNTrainConfig, train_mdn

    opts = dict(cfg.mdn_options)
    if cfg.tiny:
        opts.update(epochs=1, batch=4, seq_len=16)
    hidden = int(opts.get("hidden", 256))
    init = prev_models / MDN_NAME
    if load_dir(init).config.hidden != hidden:
        init = None
    res = train_mdn(
        MDNTrainConfig(
            data=rollouts,
            vae=models / VAE_NAME,
            out=models,
            ckpt=_round_dir(cfg, r) / "ckpt" / "mdn",
            device=cfg.device,
            max_minutes=cfg.mdn_minutes,
            init=init,
            command=cfg.command,
            **opts,
        ),
        log=log,
    )
    return {k: v for k, v in res.items() if k not in ("history",)}


def _dream(cfg, r, rollouts, models, prev_models, prev_controller, record, log) -> dict:
    from gdl_studio.racing.dream_train import DreamTrainConfig, train_dream_controller

    init = prev_models / prev_controller
    kw = dict(
        models=models,
        out=models,
        ckpt=_round_dir(cfg, r) / "ckpt" / "dream",
        popsize=cfg.popsize,
        rollouts=cfg.rollouts,
        generations=cfg.dream_generations,
        tau=cfg.tau,
        device=cfg.device,
        sigma_max=cfg.sigma_max,
        init=init if cfg.dream_init == "previous" and (init / "card.json").is_file() else None,
        series=_round_dir(cfg, r) / "ckpt" / "mdn" / "series.npz",
        max_minutes=cfg.dream_minutes,
        command=cfg.command,
    )
    if cfg.tiny:
        kw.update(popsize=4, rollouts=2, generations=2, max_steps=30, valid_dreams=4, valid_every=1)
    res = train_dream_controller(DreamTrainConfig(**kw), log=log)
    return res


def _score(cfg, r, rollouts, models, prev_models, prev_controller, record, log) -> dict:
    from gdl_studio.racing.bench import score
    from gdl_studio.racing.dream_train import DREAM_CONTROLLER_NAME
    from gdl_studio.racing.models_io import controller_params

    if cfg.score_episodes < 1:
        return {"skipped": True}
    params, _ = controller_params(models / DREAM_CONTROLLER_NAME)
    res = score(
        cfg.score_episodes,
        str(models),
        workers=cfg.workers,
        params=params,
        seed_base=ITERATE_SCORE_SEED_BASE,
        log=log,
        max_steps=50 if cfg.tiny else 1000,
    )
    return {"controller": DREAM_CONTROLLER_NAME, **res}


_STEP_FUNCS = {"collect": _collect, "vae": _vae, "mdn": _mdn, "dream": _dream, "score": _score}


def _annotate_cards(models: Path, record: dict) -> None:
    """Copy the round's record into each model card of the round (metadata only; weights unchanged)."""
    if not models.is_dir():
        return
    summary = {"round": record["round"], **{k: _brief(v) for k, v in record["steps"].items()}}
    for card_path in models.glob("*/card.json"):
        data = json.loads(card_path.read_text(encoding="utf-8"))
        data["iteration"] = summary
        write_text_atomic(card_path, json.dumps(data, indent=2) + "\n")


def _brief(step: dict) -> dict:
    keep = (
        "episodes_total",
        "steps_total",
        "new_episodes",
        "policies",
        "agent_share",
        "val_loss",
        "val_z_nll",
        "val_reward_mse",
        "epochs",
        "generation",
        "best_valid",
        "dream_steps",
        "mean",
        "std",
        "min",
        "max",
        "episodes",
        "first_seed",
        "seconds",
        "stopped",
    )
    return {k: v for k, v in step.items() if k in keep}


def copy_round_models(cfg: IterateConfig, r: int, dest: Path) -> list[str]:
    """Copy round ``r``'s models into ``dest`` (e.g. ``models/``); returns the names copied."""
    src = _round_dir(cfg, r) / "models"
    names = []
    for d in sorted(src.iterdir()):
        if (d / "card.json").is_file():
            shutil.copytree(d, Path(dest) / d.name, dirs_exist_ok=True)
            names.append(d.name)
    return names
