"""Command-line leaves of the Dream area (CarRacing world model).

* ``gdl-studio train world-model collect|vae|mdn-rnn|controller`` — the four resumable steps;
* ``gdl-studio dream --real|--dream`` — headless driving, optionally saved as a GIF;
* ``gdl-studio bench racing`` — renderer speed-up, score on the stock game, dream latency.

Nothing heavy is imported at module level (torch, gymnasium and pygame load in the handlers).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

from gdl_studio.core.errors import UserError
from gdl_studio.racing.pooling import POOLS


def _command_line() -> str:
    return "gdl-studio " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _data_root() -> Path:
    from gdl_studio.core.paths import data_dir

    return data_dir() / "racing"


def _models_root() -> Path:
    from gdl_studio.core.paths import models_dir

    return models_dir()


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def register(commands) -> None:
    """Add the racing commands to the CLI."""
    # ------------------------------------------------------------ train world-model …
    wm = commands.train.add_parser("world-model", help="CarRacing world model: collect, vae, mdn-rnn, controller")
    stages = wm.add_subparsers(dest="stage", metavar="STAGE", required=True)

    p = stages.add_parser("collect", help="random-policy rollouts on the fast renderer (process pool)")
    p.add_argument("--episodes", type=_positive, default=320, help="total episodes wanted (existing ones are kept)")
    p.add_argument("--max-steps", type=_positive, default=1000)
    p.add_argument("--workers", type=_positive, default=os.cpu_count() or 1)
    p.add_argument(
        "--policy",
        choices=("mix", "controller", "brownian", "hold", "agent", "swerve", "iterate"),
        default="mix",
        help="random policies (mix, controller, brownian, hold), the current agent with exploration "
        "noise (agent, needs --models), agent with bursts of wrong steering (swerve), or agent with a "
        "share of random ones (iterate)",
    )
    p.add_argument(
        "--models", type=Path, help="models directory with V, M and the controller for --policy agent/swerve/iterate"
    )
    p.add_argument("--controller", default="carracing-controller", help="the controller's name in --models")
    p.add_argument("--agent-share", type=float, default=0.75, help="--policy iterate: share of agent episodes")
    p.add_argument("--seed", type=int, default=0, help="episode i uses track seed SEED+i")
    p.add_argument("--out", type=Path, help="rollout directory (default data/racing/rollouts)")
    p.add_argument("--tiny", action="store_true", help="4 episodes of 60 steps (a smoke test)")
    p.set_defaults(func=_collect)

    common_train = argparse.ArgumentParser(add_help=False)
    common_train.add_argument("--device", default="auto", help="cuda, cpu or auto (default)")
    common_train.add_argument("--max-minutes", type=float, help="stop (resumably) after this many minutes")
    common_train.add_argument("--out", type=Path, help="models directory to write to (default models/)")
    common_train.add_argument("--ckpt", type=Path, help="checkpoint directory (default data/racing/ckpt/<stage>)")
    common_train.add_argument("--data", type=Path, help="rollout directory (default data/racing/rollouts)")
    common_train.add_argument("--seed", type=int, default=0)
    common_train.add_argument(
        "--fp32", action="store_true", help="save float32 weights (default: fp16 when quality holds)"
    )

    p = stages.add_parser("vae", parents=[common_train], help="train V, the ConvVAE (z=32)")
    p.add_argument("--epochs", type=_positive, default=30)
    p.add_argument("--batch", type=_positive, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-frames", type=_positive, help="use at most this many frames")
    p.add_argument(
        "--patience", type=_positive, default=3, help="early stop after this many epochs without improvement"
    )
    p.add_argument("--init", type=Path, help="start from this trained V directory (e.g. the previous round's)")
    p.add_argument("--tiny", action="store_true", help="2 epochs on ≤ 512 frames, batch 32 (a smoke test)")
    p.set_defaults(func=_train_vae)

    p = stages.add_parser("mdn-rnn", parents=[common_train], help="train M, the MDN-RNN (LSTM 256, 5 Gaussians)")
    p.add_argument("--vae", type=Path, help="directory of the trained V (default OUT/carracing-vae)")
    p.add_argument(
        "--epochs", type=_positive, default=100, help="an epoch draws as many steps as the training set holds"
    )
    p.add_argument("--batch", type=_positive, default=64)
    p.add_argument("--seq-len", type=_positive, default=200)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--patience", type=_positive, default=6)
    p.add_argument("--max-episodes", type=_positive, help="use at most this many episodes")
    _mdn_options(p)
    p.add_argument("--init", type=Path, help="start from this trained M directory (same LSTM size)")
    p.add_argument("--tiny", action="store_true", help="2 epochs, short windows (a smoke test)")
    p.set_defaults(func=_train_mdn)

    p = stages.add_parser("dream-controller", help="train C with CMA-ES entirely inside M's dream (batched on the GPU)")
    p.add_argument("--models", type=Path, help="directory holding the trained V and M (default OUT)")
    p.add_argument("--out", type=Path, help="models directory to write the controller to (default models/)")
    p.add_argument("--name", default="carracing-controller-dream", help="model name to save as")
    p.add_argument("--ckpt", type=Path, help="checkpoint directory (default data/racing/ckpt/dream-controller)")
    p.add_argument(
        "--series", type=Path, help="a series.npz from mdn-rnn training: dreams start at its episodes' first frames"
    )
    p.add_argument("--popsize", type=_positive, default=255)
    p.add_argument("--rollouts", type=_positive, default=16, help="dreams per candidate")
    p.add_argument("--generations", type=_positive, default=300)
    p.add_argument("--sigma0", type=float, default=0.1)
    p.add_argument(
        "--sigma-max", type=float, help="cap on each coordinate's CMA-ES step (keeps C off saturated exploits)"
    )
    p.add_argument("--tau", type=float, default=1.15, help="dream temperature")
    p.add_argument(
        "--critic-mdn",
        type=Path,
        action="append",
        default=[],
        help="another M trained on the same V (repeatable): each candidate scores its lowest M's mean return",
    )
    p.add_argument(
        "--pool",
        choices=POOLS,
        default="min",
        help="with --critic-mdn: how the Ms' mean returns make the fitness (default min: the lowest; "
        "mean-2std: their mean minus two standard deviations across the Ms)",
    )
    p.add_argument(
        "--road-penalty",
        type=float,
        default=0.0,
        help="each dream's return minus this × its share of checked frames off the road (V decodes every 10th)",
    )
    p.add_argument("--max-steps", type=_positive, default=1000)
    p.add_argument("--device", default="auto")
    p.add_argument("--init", type=Path, help="start from this saved controller directory")
    p.add_argument("--max-minutes", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--tiny", action="store_true", help="population 6, 2 dreams of 30 steps, 2 generations (a smoke test)"
    )
    p.set_defaults(func=_train_dream_controller)

    p = stages.add_parser(
        "iterate",
        help="the iterative procedure: collect with the agent, retrain V and M, train C in the dream; resumable rounds",
    )
    p.add_argument(
        "--work", type=Path, help="working directory for rollouts, rounds and checkpoints (default data/racing/iterate)"
    )
    p.add_argument("--init-models", type=Path, help="models to start from (default: the installed models directory)")
    p.add_argument("--rounds", type=_positive, default=2)
    p.add_argument("--episodes-per-round", type=_positive, default=400)
    p.add_argument("--agent-share", type=float, default=0.75)
    p.add_argument("--workers", type=_positive, default=os.cpu_count() or 1)
    p.add_argument("--device", default="auto")
    p.add_argument("--vae-minutes", type=float, default=3.0)
    p.add_argument("--mdn-minutes", type=float, default=4.0)
    p.add_argument("--dream-generations", type=_positive, default=200)
    p.add_argument("--dream-minutes", type=float, default=4.0)
    p.add_argument("--popsize", type=_positive, default=255)
    p.add_argument("--rollouts", type=_positive, default=16)
    p.add_argument("--tau", type=float, default=1.15)
    p.add_argument("--sigma-max", type=float, help="dream CMA-ES: cap on each coordinate's step")
    p.add_argument(
        "--init-controller", default="carracing-controller", help="the controller in --init-models that drives round 1"
    )
    p.add_argument(
        "--dream-init",
        choices=("previous", "zero"),
        default="previous",
        help="start the dream CMA-ES from the previous controller or from zeros",
    )
    p.add_argument(
        "--skip", action="append", default=[], choices=("vae",), help="skip a step (vae: keep the previous V)"
    )
    p.add_argument(
        "--score-episodes", type=int, default=16, help="real-game episodes to record each round's controller"
    )
    p.add_argument("--stop-after", metavar="ROUND:STEP", help="stop after this step (collect, vae, mdn, dream, score)")
    p.add_argument(
        "--tiny", action="store_true", help="60-step rollouts, one short epoch each, 2 dream generations (a smoke test)"
    )
    _mdn_options(p, prefix="mdn-")
    p.set_defaults(func=_iterate)

    p = stages.add_parser(
        "ship", help="ship an iteration round's V, M and dream-trained controller(s) into the app's models"
    )
    p.add_argument(
        "round_models", type=Path, metavar="ROUND_MODELS_DIR", help="a round's models folder, e.g. work/round2/models"
    )
    p.add_argument(
        "--name", required=True, help="suffix of the shipped V and M: carracing-vae-NAME, carracing-mdnrnn-NAME"
    )
    p.add_argument("--out", type=Path, help="models directory to ship into (default models/)")
    p.add_argument("--replace", action="store_true", help="overwrite models of the same names")
    p.add_argument(
        "--fp32", action="store_true", help="keep V and M in float32 (default: fp16 when its outputs match fp32)"
    )
    p.set_defaults(func=_ship)

    p = stages.add_parser("controller", help="train C with CMA-ES on the real game (process pool)")
    p.add_argument("--models", type=Path, help="directory holding the trained V and M (default OUT)")
    p.add_argument("--out", type=Path, help="models directory to write C to (default models/)")
    p.add_argument(
        "--ckpt",
        type=Path,
        help="checkpoint directory (default data/racing/ckpt/controller; ~20 MB, carry it to resume elsewhere)",
    )
    p.add_argument("--popsize", type=_positive, default=64)
    p.add_argument("--rollouts", type=_positive, default=16, help="tracks per candidate (mean return is the fitness)")
    p.add_argument("--generations", type=_positive, default=300, help="total generations (resumed runs count on)")
    p.add_argument(
        "--sigma0",
        type=float,
        help="initial step size (default 0.1; from --init: the σ that controller's run ended with)",
    )
    p.add_argument(
        "--snapshot-every",
        type=int,
        default=5,
        help="keep the distribution mean every this many generations in the checkpoint's snapshots.npz (0: never)",
    )
    p.add_argument(
        "--workers",
        type=_positive,
        help="processes (default: all cores), or Ray tasks in flight (default: all CPUs of the cluster)",
    )
    p.add_argument("--batch-envs", type=_positive, default=4, help="environments a worker runs in lockstep")
    p.add_argument("--max-steps", type=_positive, default=1000)
    p.add_argument(
        "--patience", type=int, default=100, help="end an episode after this many steps without a new tile (0: never)"
    )
    p.add_argument("--max-minutes", type=float, help="stop (resumably) before a generation would pass this")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--init",
        type=Path,
        help="start from this saved controller directory (e.g. models/carracing-controller) "
        "instead of zeros, continuing its generation count and σ; ignored when the checkpoint exists",
    )
    p.add_argument(
        "--tiny", action="store_true", help="population 6, 1 rollout of 40 steps, 2 generations (a smoke test)"
    )
    _backend_arguments(p)
    p.set_defaults(func=_train_controller)

    # ------------------------------------------------------------ dream
    p = commands.root.add_parser("dream", help="watch the world model drive: the real game or its dream (headless)")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--real", action="store_true", help="the agent drives the real CarRacing-v3")
    mode.add_argument("--dream", action="store_true", help="the agent drives inside the MDN-RNN's dream")
    p.add_argument("--episodes", type=_positive, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--temperature",
        type=float,
        default=1.0,
        help="dream temperature τ, 0.01–5 (default 1.0; the Dream panel offers 0.1–1.5)",
    )
    p.add_argument("--max-steps", type=_positive, default=1000)
    p.add_argument("--gif", type=Path, help="save the frames as an animated GIF")
    p.add_argument("--models", type=Path, help="models directory (default: the installed models)")
    p.add_argument(
        "--controller",
        metavar="NAME|DIR",
        help="who drives (a shipped or personal controller, or a model directory); it drives with "
        "its own V and M (the card's world)",
    )
    p.set_defaults(func=_dream)

    # ------------------------------------------------------------ bench racing
    p = commands.bench.add_parser("racing", help="renderer speed-up, score on stock CarRacing-v3, dream latency")
    p.add_argument("--speed", action="store_true", help="stock vs fast renderer, side by side")
    p.add_argument("--steps", type=_positive, default=400, help="steps per track for --speed")
    p.add_argument("--tracks", type=_positive, default=3, help="tracks for --speed")
    p.add_argument(
        "--renderer",
        choices=("native", "pygame"),
        default="native",
        help="how the fast env draws for --speed: the native sparse rasteriser (when built) or pygame's calls",
    )
    p.add_argument("--episodes", type=int, default=0, help="score episodes on the stock game (needs the models)")
    p.add_argument("--workers", type=_positive, default=1, help="processes for the score episodes")
    p.add_argument("--dream-frames", type=_positive, default=300)
    p.add_argument("--models", type=Path, help="models directory (default: the installed models)")
    p.add_argument(
        "--record",
        action="store_true",
        help="write the measured score into the controller's model card (metrics.stock_score_N_episodes); "
        "with --dream-road, that figure into the driving controller's card (metrics.dream_road: the Dream panel "
        "shows it)",
    )
    p.add_argument(
        "--controller",
        metavar="NAME|DIR",
        help="score this controller (a shipped or personal model name, or a model directory) "
        "instead of carracing-controller, with its own V and M (the card's world)",
    )
    p.add_argument(
        "--seed-base",
        type=int,
        default=None,
        help="first track seed for --episodes (default 1000000, the bench's tracks; another set "
        "checks a controller on tracks nobody selected it on)",
    )
    p.add_argument(
        "--fidelity",
        action="store_true",
        help="how well the dream predicts the real game: rank correlation of dream and real returns "
        "over many controllers, return ratio, latent NLL at horizons 1/10/50",
    )
    p.add_argument(
        "--dream-road",
        action="store_true",
        help="does the controller keep the car on the road in its world's dreams? dreams of 1,000 steps "
        "from real first frames, each decoded frame checked (dream_road.on_road, .on_road_frames)",
    )
    p.add_argument(
        "--starts", type=_positive, default=50, help="--dream-road: dreams (each from another real track's first frame)"
    )
    p.add_argument(
        "--road-every", type=_positive, help="--dream-road: check every Nth decoded frame (default 10: ROAD_EVERY)"
    )
    p.add_argument(
        "--quick", action="store_true", help="--fidelity with a few controllers and short dreams (< 2 min on 2 cores)"
    )
    p.add_argument("--controllers", type=_positive, default=33, help="controllers for --fidelity")
    p.add_argument(
        "--real-tracks",
        type=_positive,
        default=8,
        help="--fidelity (not --quick): real tracks per controller (more: a steadier real ranking)",
    )
    p.add_argument(
        "--dreams",
        type=_positive,
        default=16,
        help="--fidelity (not --quick): dreams per controller (more: a steadier dream ranking; "
        "fidelity.dream_reliability says how steady)",
    )
    p.add_argument(
        "--critic-mdn",
        type=Path,
        action="append",
        default=[],
        help="--fidelity: another M on the same V (repeatable); a controller's dream return pools the Ms' "
        "means by --pool, as dream-controller --critic-mdn scores candidates (per_m.*: each M alone; "
        "per_pool.rank_corr.*: every pooling rule)",
    )
    p.add_argument("--pool", choices=POOLS, default="min", help="--fidelity with --critic-mdn: the pooling rule")
    p.add_argument("--tau", type=float, default=1.0, help="dream temperature for --fidelity and --dream-road")
    p.add_argument(
        "--stock",
        action="store_true",
        help="--fidelity: real returns on the stock renderer (default: the pixel-identical fast one)",
    )
    p.add_argument("--device", default="auto", help="--fidelity, --dream-road: device for the dreams (cuda, cpu, auto)")
    _backend_arguments(p)
    p.add_argument(
        "--scaling",
        action="store_true",
        help="env steps/s of CMA-ES rollouts with 1, 2, 4, … workers: the local process pool vs --backend ray",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_bench)


def _mdn_options(p, prefix: str = "") -> None:
    """M's training options that shape the dream (see gdl_studio/racing/train_mdn.py)."""
    p.add_argument(f"--{prefix}reward-weight", type=float, default=1.0, help="weight of the reward head's loss")
    p.add_argument(f"--{prefix}done-weight", type=float, default=1.0, help="weight of the episode-end head's loss")
    p.add_argument(
        f"--{prefix}done-pos-weight", type=float, default=1.0, help="weight of episode ends (rare) in that loss"
    )
    p.add_argument(
        f"--{prefix}start-share", type=float, default=0.0, help="share of windows that start at an episode's start"
    )
    p.add_argument(
        f"--{prefix}open-loop",
        type=float,
        default=0.0,
        help="scheduled sampling: probability of feeding M its own sample instead of the real latent",
    )
    p.add_argument(
        f"--{prefix}open-loop-span",
        type=_positive,
        default=1,
        help="scheduled sampling: M feeds itself for runs of this many steps (same share of steps; "
        "1: each step drawn alone); longer runs train longer open-loop horizons",
    )
    p.add_argument(
        f"--{prefix}rollout-horizon",
        type=int,
        default=0,
        help="multi-step loss: from a random step M runs this many steps on its own samples, gradient through "
        "them, each scored against the real trajectory (0: off)",
    )
    p.add_argument(f"--{prefix}rollout-weight", type=float, default=1.0, help="weight of the --rollout-horizon loss")
    p.add_argument(
        f"--{prefix}rollout-mse",
        type=float,
        default=0.0,
        help="weight of the squared error of M's expected latent along the --rollout-horizon stretch",
    )
    p.add_argument(
        f"--{prefix}rollout-focus",
        type=float,
        default=0.0,
        help="share of windows placed so a departure from the road falls inside the --rollout-horizon stretch",
    )
    p.add_argument(f"--{prefix}hidden", type=_positive, default=256, help="LSTM units")
    p.add_argument(
        f"--{prefix}latent",
        choices=("sample", "mean"),
        default="sample",
        help="what M learns to predict: V's sampled latent z ~ N(μ, σ²) (the paper's) or its mean μ (what a driver "
        "reads in the real game)",
    )
    p.add_argument(
        f"--{prefix}mixture",
        choices=("dim", "joint"),  # mdn_rnn.MIXTURES (the CLI imports no torch at start-up)
        default="dim",
        help="M's mixture: one per latent dimension, each drawing its component alone (the paper's), or one joint "
        "mixture whose components are whole latents (a sample is one coherent frame); a --init M of the other kind "
        "gives its LSTM and reward and episode-end heads, the mixture head starts afresh",
    )
    if prefix:
        p.add_argument(f"--{prefix}seq-len", type=_positive, default=200)


def _mdn_kwargs(args, prefix: str = "") -> dict:
    a = prefix.replace("-", "_")
    keys = (
        "reward_weight",
        "done_weight",
        "done_pos_weight",
        "start_share",
        "open_loop",
        "open_loop_span",
        "rollout_horizon",
        "rollout_weight",
        "rollout_focus",
        "rollout_mse",
        "hidden",
        "latent",
        "mixture",
    )
    out = {k: getattr(args, a + k) for k in keys}
    if prefix:
        out["seq_len"] = getattr(args, a + "seq_len")
    return out


def _backend_arguments(parser) -> None:
    from gdl_studio.racing.backends import add_arguments

    add_arguments(parser)


# ---------------------------------------------------------------- handlers
def _need_simulator() -> None:
    from gdl_studio.racing.deps import require_simulator

    require_simulator()


def _collect(args) -> int:
    _need_simulator()
    from gdl_studio.racing.collect import CollectConfig, collect

    out = args.out or _data_root() / "rollouts"
    episodes, max_steps = (4, 60) if args.tiny else (args.episodes, args.max_steps)
    summary = collect(
        CollectConfig(
            out=out,
            episodes=episodes,
            max_steps=max_steps,
            base_seed=args.seed,
            policy=args.policy,
            workers=args.workers,
            models=args.models,
            controller=args.controller,
            agent_share=args.agent_share,
        )
    )
    print(
        f"collect: {summary['new_episodes']} new episodes, {summary['new_steps']} steps in {summary['seconds']:.0f}s "
        f"({summary['steps_per_s']:.0f} steps/s) → {out}"
    )
    return 0


def _train_vae(args) -> int:
    from gdl_studio.racing.train_vae import VAETrainConfig, train_vae

    cfg = VAETrainConfig(
        data=args.data or _data_root() / "rollouts",
        out=args.out or _models_root(),
        ckpt=args.ckpt or _data_root() / "ckpt" / "vae",
        device=args.device,
        epochs=2 if args.tiny else args.epochs,
        batch=32 if args.tiny else args.batch,
        lr=args.lr,
        max_minutes=args.max_minutes,
        max_frames=512 if args.tiny else args.max_frames,
        patience=args.patience,
        seed=args.seed,
        fp16=not args.fp32,
        command=_command_line(),
        init=args.init,
    )
    train_vae(cfg)
    return 0


def _train_mdn(args) -> int:
    from gdl_studio.racing.models_io import VAE_NAME
    from gdl_studio.racing.train_mdn import MDNTrainConfig, train_mdn

    out = args.out or _models_root()
    cfg = MDNTrainConfig(
        data=args.data or _data_root() / "rollouts",
        vae=args.vae or out / VAE_NAME,
        out=out,
        ckpt=args.ckpt or _data_root() / "ckpt" / "mdn-rnn",
        device=args.device,
        epochs=2 if args.tiny else args.epochs,
        batch=8 if args.tiny else args.batch,
        seq_len=16 if args.tiny else args.seq_len,
        lr=args.lr,
        max_minutes=args.max_minutes,
        max_episodes=args.max_episodes,
        patience=args.patience,
        seed=args.seed,
        fp16=not args.fp32,
        command=_command_line(),
        init=args.init,
        **_mdn_kwargs(args),
    )
    train_mdn(cfg)
    return 0


def _train_controller(args) -> int:
    _need_simulator()
    from gdl_studio.racing.backends import check_backend
    from gdl_studio.racing.train_controller import ControllerTrainConfig, train_controller

    check_backend(args.backend, args.ray_address)
    workers = args.workers or (0 if args.backend == "ray" else os.cpu_count() or 1)

    out = args.out or _models_root()
    tiny = args.tiny
    cfg = ControllerTrainConfig(
        models=args.models or out,
        out=out,
        ckpt=args.ckpt or _data_root() / "ckpt" / "controller",
        popsize=6 if tiny else args.popsize,
        rollouts=1 if tiny else args.rollouts,
        generations=2 if tiny else args.generations,
        sigma0=args.sigma0,
        workers=min(workers, 2) if tiny and workers else workers,
        batch_envs=args.batch_envs,
        max_steps=40 if tiny else args.max_steps,
        patience=None if args.patience <= 0 else args.patience,
        max_minutes=args.max_minutes,
        seed=args.seed,
        command=_command_line(),
        init=args.init,
        snapshot_every=max(0, args.snapshot_every),
        backend=args.backend,
        ray_address=args.ray_address,
    )
    if cfg.popsize < 2:
        raise UserError("--popsize must be at least 2")
    result = train_controller(cfg)
    print(
        f"controller: {result['stopped']} at generation {result['generation']} "
        f"({result['env_steps']} env steps, {result['seconds']:.0f}s)"
    )
    return 0


def _train_dream_controller(args) -> int:
    from gdl_studio.racing.dream_train import DreamTrainConfig, train_dream_controller

    out = args.out or _models_root()
    tiny = args.tiny
    if not 0.05 <= args.tau <= 3.0:
        raise UserError("--tau must be between 0.05 and 3")
    cfg = DreamTrainConfig(
        models=args.models or out,
        out=out,
        ckpt=args.ckpt or _data_root() / "ckpt" / "dream-controller",
        name=args.name,
        popsize=6 if tiny else args.popsize,
        rollouts=2 if tiny else args.rollouts,
        generations=2 if tiny else args.generations,
        sigma0=args.sigma0,
        sigma_max=args.sigma_max,
        tau=args.tau,
        max_steps=30 if tiny else args.max_steps,
        device=args.device,
        init=args.init,
        series=args.series,
        critics=tuple(args.critic_mdn),
        pool=args.pool,
        road_penalty=args.road_penalty,
        valid_dreams=4 if tiny else 256,
        valid_every=1 if tiny else 5,
        max_minutes=args.max_minutes,
        seed=args.seed,
        command=_command_line(),
    )
    result = train_dream_controller(cfg)
    print(
        f"dream-controller: {result['stopped']} at generation {result['generation']} "
        f"({result['dream_steps']} dream steps, 0 real steps, {result['seconds']:.0f}s)"
    )
    return 0


def _iterate(args) -> int:
    _need_simulator()
    from gdl_studio.racing.iterate import IterateConfig, iterate

    cfg = IterateConfig(
        work=args.work or _data_root() / "iterate",
        init_models=args.init_models or _models_root(),
        rounds=args.rounds,
        episodes_per_round=args.episodes_per_round,
        agent_share=args.agent_share,
        workers=args.workers,
        device=args.device,
        vae_minutes=args.vae_minutes,
        mdn_minutes=args.mdn_minutes,
        mdn_options=_mdn_kwargs(args, "mdn-"),
        dream_generations=args.dream_generations,
        dream_minutes=args.dream_minutes,
        popsize=args.popsize,
        rollouts=args.rollouts,
        tau=args.tau,
        sigma_max=args.sigma_max,
        init_controller=args.init_controller,
        skip=tuple(args.skip),
        dream_init=args.dream_init,
        score_episodes=args.score_episodes,
        stop_after=args.stop_after,
        command=_command_line(),
        tiny=args.tiny,
    )
    for record in iterate(cfg):
        score = record["steps"].get("score", {})
        print(
            f"iterate: round {record['round']}: steps done {', '.join(record['steps'])}"
            + (f"; real score {score['mean']:.1f} ± {score['std']:.1f}" if "mean" in score else "")
        )
    return 0


def _ship(args) -> int:
    from gdl_studio.racing.ship import ship

    out = args.out or _models_root()
    summary = ship(
        args.round_models,
        args.name,
        out,
        replace=args.replace,
        fp16=not args.fp32,
        command=_command_line(),
        log=lambda m: print(m, file=sys.stderr),
    )
    for name, info in summary["models"].items():
        print(f"ship: {out / name} ({info['dtype']}, {info['size_bytes'] / 1e6:.1f} MB, sha256 {info['sha256'][:12]}…)")
    world = summary["world"]
    print(f"ship: the round's controllers drive with {world['vae']} + {world['mdn']}")
    return 0


def _controller_world(controller, models: Path | None):
    """(card, parameters, WorldRef) of a controller and the V/M it drives with; ModelUnavailable if missing."""
    from gdl_studio.core.registry import load_tensors
    from gdl_studio.racing.worlds import controller_card, resolve_world

    card = controller_card(controller, models)
    params = load_tensors(card)["params"].double().numpy().ravel()
    return card, params, resolve_world(card, models)


def _load_world(models: Path | None, need_controller: bool = True):
    from gdl_studio.core.registry import ModelUnavailable
    from gdl_studio.racing.models_io import load_world_model, load_world_model_from

    try:
        return (
            load_world_model_from(models, need_controller)
            if models
            else load_world_model(need_controller=need_controller)
        )
    except ModelUnavailable as exc:
        print(f"dream: skipped: {exc} (train it with `gdl-studio train world-model …`)", file=sys.stderr)
        return None


def _dream(args) -> int:
    import numpy as np

    if not 0.01 <= args.temperature <= 5:
        raise UserError("--temperature must be between 0.01 and 5")
    if args.real:
        _need_simulator()
    if args.controller:
        from gdl_studio.core.registry import ModelUnavailable
        from gdl_studio.racing.worlds import load_world_for

        try:
            world = load_world_for(args.controller, args.models)
        except ModelUnavailable as exc:
            raise UserError(str(exc)) from None
        print(
            f"dream: {world.cards['carracing-controller'].name} drives with "
            f"{world.cards['carracing-vae'].name} + {world.cards['carracing-mdnrnn'].name}",
            file=sys.stderr,
        )
    else:
        world = _load_world(args.models, need_controller=args.real)
    if world is None:
        return 0
    from gdl_studio.racing.dream import DreamFrame, RealFrame, dream_frames, real_frames

    gif_frames = []
    totals = []
    for ep in range(args.episodes):
        seed = args.seed + ep
        it: Iterator[DreamFrame] | Iterator[RealFrame]
        if args.real:
            it = real_frames(world, seed=seed, max_steps=args.max_steps)
        else:
            it = dream_frames(world, seed=seed, temperature=args.temperature, max_steps=args.max_steps)
        last = None
        for frame in it:
            last = frame
            if args.gif:
                if isinstance(frame, RealFrame):
                    gif_frames.append(_side_by_side(frame.obs, frame.reconstruction))
                else:
                    gif_frames.append(_upscale(frame.frame, 2))
        total = last.total if last is not None else 0.0
        totals.append(total)
        kind = "real" if args.real else f"dream τ={args.temperature}"
        print(f"episode {ep + 1} ({kind}, seed {seed}): {last.step + 1 if last else 0} steps, total reward {total:.1f}")
    if len(totals) > 1:
        print(f"mean {np.mean(totals):.1f} ± {np.std(totals):.1f} over {len(totals)} episodes")
    if args.gif:
        _write_gif(args.gif, gif_frames)
        print(f"wrote {args.gif} ({len(gif_frames)} frames)")
    return 0


def _upscale(frame, k: int):
    import numpy as np

    return np.repeat(np.repeat(frame, k, axis=0), k, axis=1)


def _side_by_side(obs, recon):
    """The 96×96 observation beside V's 64×64 reconstruction scaled to 96 (nearest)."""
    import numpy as np

    idx = (np.arange(96) * 64) // 96
    big = recon[idx][:, idx]
    return np.concatenate([obs, np.zeros((96, 4, 3), np.uint8), big], axis=1)


def _write_gif(path: Path, frames) -> None:
    try:
        from PIL import Image
    except ImportError:
        raise UserError("--gif needs Pillow: pip install pillow") from None
    if not frames:
        raise UserError("no frames to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    images = [Image.fromarray(f) for f in frames[::2]]  # 25 fps
    from gdl_studio.core.atomic import atomic_path

    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], duration=40, loop=0)


def _record_metric(directory: str | Path, key: str, figure: dict, what: str) -> None:
    """Store a measured figure as ``metrics[key]`` of the model card in ``directory`` (card metadata only;
    weights and sha256 stay; other strings are written back as they were, non-ASCII included)."""
    import json

    from gdl_studio.core.atomic import write_text_atomic

    card_path = Path(directory) / "card.json"
    data = json.loads(card_path.read_text(encoding="utf-8"))
    data.setdefault("metrics", {})[key] = figure
    write_text_atomic(card_path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    print(f"bench racing: {what} recorded in {card_path}", file=sys.stderr)


def _record_score(models: Path | None, episodes: int, workers: int, result: dict) -> None:
    """Store a stock-env score in the shipped controller's card."""
    from gdl_studio.core.registry import default_registry
    from gdl_studio.racing.models_io import CONTROLLER_NAME

    directory = Path(models) / CONTROLLER_NAME if models else default_registry().card(CONTROLLER_NAME).directory
    figure = {
        **{k: round(float(result[k]), 2) for k in ("mean", "std", "min", "max") if k in result},
        "first_seed": result.get("first_seed"),
        "measured_by": f"gdl-studio bench racing --episodes {episodes} --workers {workers} --record",
    }
    _record_metric(directory, f"stock_score_{episodes}_episodes", figure, "score")


def _record_dream_road(card, result: dict, controller: str | None) -> None:
    """Store a ``--dream-road`` figure in the driving controller's card, as
    :data:`gdl_studio.racing.fidelity.DREAM_ROAD_METRIC`, where the Dream panel reads it."""
    from gdl_studio.racing.fidelity import DREAM_ROAD_METRIC

    keep = ("on_road", "on_road_frames", "starts", "first_seed", "tau", "steps_max", "road_every")
    command = "gdl-studio bench racing --dream-road" + (f" --controller {controller}" if controller else "")
    figure = {
        **{k: round(v, 4) if isinstance(v, float) else v for k, v in result.items() if k in keep},
        "measured_by": command + " --record",
    }
    _record_metric(card.directory, DREAM_ROAD_METRIC, figure, "dream-road figure")


def _bench(args) -> int:
    from gdl_studio.core.bench import emit

    results: dict = {}
    if args.backend != "local" or args.ray_address:
        from gdl_studio.racing.backends import check_backend

        check_backend(args.backend, args.ray_address)
    if args.scaling:
        _need_simulator()
        from gdl_studio.racing.bench_scaling import scaling

        results["scaling"] = scaling(backend=args.backend, address=args.ray_address, models_dir=args.models)
        emit(results, args.json, title="bench racing")
        return 0
    speed = args.speed or not (args.episodes or args.fidelity or args.dream_road)
    if speed:
        _need_simulator()
        from gdl_studio.racing.bench import renderer_speed

        results.update(renderer_speed(steps=args.steps, seeds=tuple(range(args.tracks)), renderer=args.renderer))
    from gdl_studio.racing.bench import SCORE_SEED_BASE, dream_latency, models_present, score

    models = str(args.models) if args.models else None
    params = None
    world_ref = None
    card = None
    if args.controller or args.dream_road:  # the controller drives with its own V and M (worlds.py)
        from gdl_studio.core.registry import ModelUnavailable
        from gdl_studio.racing.models_io import CONTROLLER_NAME

        try:
            card, params, world_ref = _controller_world(args.controller or CONTROLLER_NAME, args.models)
        except ModelUnavailable as exc:
            if args.controller:
                raise UserError(str(exc)) from None
            params = None  # --dream-road without a controller installed: skipped below
        else:
            results["controller"] = card.name
            results["world"] = world_ref.label()
            models = str(world_ref.models_dir())
            if world_ref.note:
                print(f"bench racing: note: {world_ref.note}", file=sys.stderr)
    if models_present(models) or (params is not None and models_present(models, need_controller=False)):
        world = world_ref.load() if world_ref is not None else _load_world(args.models, need_controller=params is None)
        if world is not None and not (args.fidelity or args.dream_road):
            results["dream"] = {"frame_ms": dream_latency(world, frames=args.dream_frames)}
        if args.dream_road and world is not None:
            results["dream_road"] = _dream_road(args, world, params)
            if args.record and card is not None:
                _record_dream_road(card, results["dream_road"], args.controller)
        if args.episodes > 0:
            _need_simulator()
            seed_base = SCORE_SEED_BASE if args.seed_base is None else args.seed_base
            results["score"] = score(
                args.episodes,
                models,
                workers=args.workers,
                params=params,
                seed_base=seed_base,
                backend=args.backend,
                address=args.ray_address,
            )
            if args.record and params is None and seed_base == SCORE_SEED_BASE:
                _record_score(args.models, args.episodes, args.workers, results["score"])
        if args.fidelity:
            _need_simulator()
            results["fidelity"] = _fidelity(args, world, params)
    elif args.episodes > 0 or args.fidelity or args.dream_road:
        results["score"] = {
            "skipped": "world-model weights not installed (carracing-vae, carracing-mdnrnn, carracing-controller)"
        }
        print("bench racing: skipped: world-model weights are not installed", file=sys.stderr)
    emit(results, args.json, title="bench racing")
    return 0


def _fidelity(args, world, params) -> dict:
    from gdl_studio.racing.fidelity import FidelityConfig, run_fidelity

    if not 0.05 <= args.tau <= 3.0:
        raise UserError("--tau must be between 0.05 and 3")
    base = params if params is not None else world.controller.get_params()
    from gdl_studio.racing.worlds import WorldRef

    # the directory of the V and M that were loaded (the controller's world), laid out as a models directory
    vae_dir, mdn_dir = (Path(world.cards[k].directory) for k in ("carracing-vae", "carracing-mdnrnn"))
    models_dir = WorldRef(vae_dir.name, mdn_dir.name, vae_dir, mdn_dir).models_dir()
    kw = dict(tau=args.tau, workers=args.workers, device=args.device, stock=args.stock)
    kw.update(critics=list(args.critic_mdn), pool=args.pool)
    cfg = (
        FidelityConfig.quick(**kw)
        if args.quick
        else FidelityConfig(controllers=args.controllers, real_episodes=args.real_tracks, dreams=args.dreams, **kw)
    )
    return run_fidelity(models_dir, base, cfg, log=lambda m: print(m, file=sys.stderr))


def _dream_road(args, world, params) -> dict:
    from gdl_studio.racing.dream_batch import ROAD_EVERY
    from gdl_studio.racing.fidelity import dream_road

    if not 0.05 <= args.tau <= 3.0:
        raise UserError("--tau must be between 0.05 and 3")
    if params is None:
        params = world.controller.get_params()
    return dream_road(
        world,
        params,
        starts=args.starts,
        tau=args.tau,
        steps=1000,
        road_every=args.road_every or ROAD_EVERY,
        device=args.device,
        log=lambda m: print(m, file=sys.stderr),
    )
