"""Training of the shipped ink models (``gdl-studio train vrnn`` / ``gdl-studio train rnn-gmm``).

Reads only the ``.npz`` cache (numpy + torch + safetensors: runs on a bare GPU machine). Device
agnostic; on CUDA the hidden MLP layers run under bf16 autocast (the recurrence, output heads and
log-densities stay float32). Every step clips the gradient norm before the optimiser step and
skips a step whose loss is not finite. The VRNN's KL weight rises linearly from 0 to 1 over
``--kl-anneal-steps``. After each epoch: validation loss (per sequence; VRNN −ELBO), a resumable
checkpoint, a progress line with ETA; training stops at the time budget, at ``--epochs``, or when
validation has not improved for ``--patience`` epochs after annealing. The best weights are then
scored on the test split and written with :func:`gdl_studio.core.registry.save_model` (fp16 unless
that costs more than 0.05 % of the validation log-likelihood).
"""

from __future__ import annotations

import copy
import math
import shlex
import time
from pathlib import Path

import numpy as np
import torch

from gdl_studio.core import paths
from gdl_studio.core.errors import UserError
from gdl_studio.ink import dataset, evaluate
from gdl_studio.ink.models import PRESETS, build_model, count_parameters
from gdl_studio.ink.models_io import MODEL_NAMES, roundtrip_half, tensors_for_saving

TINY = {"train": 96, "valid": 16, "test": 8, "epochs": 2, "eval_k": 8}


def _log(msg: str) -> None:
    print(msg, flush=True)


def _resolve_device(name: str | None) -> torch.device:
    if not name or name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda asked for, but CUDA is not available here (use --device cpu)")
    if name not in ("cpu",) and not name.startswith("cuda"):
        raise UserError(f"unknown device {name!r} (cuda or cpu)")
    return torch.device(name)


def _dense(seqs: list[np.ndarray], device) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    x, _ = evaluate.pad(seqs)
    return x.to(device), lengths.to(device)


def _batches(lengths: np.ndarray, batch: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffled batches of similar lengths (sort within pools of 50 batches) to cut padding."""
    idx = rng.permutation(len(lengths))
    pool = batch * 50
    out: list[np.ndarray] = []
    for i in range(0, len(idx), pool):
        chunk = idx[i : i + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        out.extend(chunk[j : j + batch] for j in range(0, len(chunk), batch))
    rng.shuffle(out)
    return out


def _file_sha(path: Path) -> str | None:
    from gdl_studio.core.registry import sha256_file

    return sha256_file(path) if path.is_file() else None


def command_line(args) -> str:
    """The exact ``gdl-studio train`` command of ``args`` (options that differ from defaults)."""
    parts = ["python", "-m", "gdl_studio", "train", args.kind]
    parser = getattr(args, "_parser", None)
    for action in parser._actions if parser else []:
        if not action.option_strings or action.dest in ("help",):
            continue
        value = getattr(args, action.dest, None)
        if value == action.default:
            continue
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:
            parts.append(flag)
        else:
            parts += [flag, str(value)]
    return shlex.join(parts)


def train(args) -> int:
    """Handler of ``gdl-studio train vrnn|rnn-gmm``."""
    kind = args.kind
    t_start = time.monotonic()
    budget_s = float(args.max_minutes) * 60.0
    device = _resolve_device(args.device)
    use_amp = device.type == "cuda" and not args.no_amp
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if args.threads:
        torch.set_num_threads(args.threads)
    data = dataset.load(Path(args.data) if args.data else None)
    train_seqs = data.sequences("train")
    valid_seqs = data.sequences("valid")
    test_seqs = data.sequences("test")
    cfg = copy.deepcopy(PRESETS[f"{kind}-tiny" if args.tiny else kind])
    for name in ("hidden", "latent", "n_mix", "phi", "dec_hidden"):
        if getattr(args, name, None):
            setattr(cfg, name, int(getattr(args, name)))
    epochs = args.epochs or (TINY["epochs"] if args.tiny else 1000)
    eval_k = args.eval_k or (TINY["eval_k"] if args.tiny else 100)
    if args.tiny:
        train_seqs, valid_seqs, test_seqs = (
            train_seqs[: TINY["train"]],
            valid_seqs[: TINY["valid"]],
            test_seqs[: TINY["test"]],
        )
    name = MODEL_NAMES[kind]
    run_dir = paths.ROOT_DIR / "runs" / (name + ("-tiny" if args.tiny else ""))
    # A --tiny check never overwrites the shipped model unless --out says so.
    out_dir = Path(args.out) if args.out else (run_dir / "model" if args.tiny else paths.models_dir() / name)
    ckpt_path = Path(args.checkpoint) if args.checkpoint else run_dir / "checkpoint.pt"
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    model = build_model(cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    n_params = count_parameters(model)
    _log(
        f"{name}: {n_params:,} parameters, device {device}{' (bf16 autocast)' if use_amp else ''}; "
        f"train {len(train_seqs):,} / valid {len(valid_seqs):,} / test {len(test_seqs):,} sequences; "
        f"budget {args.max_minutes:g} min"
    )
    x_train, len_train = _dense(train_seqs, device)
    lengths_np = len_train.cpu().numpy()

    state = {
        "epoch": 0,
        "step": 0,
        "best": math.inf,
        "best_epoch": -1,
        "bad": 0,
        "lr": args.lr,
        "skipped": 0,
        "history": [],
    }
    best_state = copy.deepcopy(model.state_dict())
    run_key = {"cfg": cfg.to_dict(), "tiny": bool(args.tiny), "scale": data.scale, "n_train": len(train_seqs)}
    if ckpt_path.is_file() and not args.fresh:
        ck = torch.load(ckpt_path, map_location=device, weights_only=False)
        if ck.get("run_key") == run_key:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["opt"])
            best_state = ck["best_state"]
            state = ck["state"]
            rng = np.random.default_rng(ck["rng_seed"] + state["epoch"])
            torch.manual_seed(args.seed + state["epoch"])
            _log(f"resumed from {ckpt_path} at epoch {state['epoch']} (best valid {state['best']:.2f})")
        else:
            _log(f"checkpoint {ckpt_path} is for another configuration; starting afresh")

    def save_checkpoint() -> None:
        from gdl_studio.core.atomic import atomic_path

        ckpt_path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(ckpt_path) as tmp:
            torch.save(
                {
                    "model": model.state_dict(),
                    "opt": opt.state_dict(),
                    "best_state": best_state,
                    "state": state,
                    "run_key": run_key,
                    "rng_seed": args.seed,
                },
                tmp,
            )

    reserve_s = min(90.0, 0.12 * budget_s)  # for the final test evaluation and saving
    epoch_times: list[float] = []
    stop_reason = "epochs"
    beta = 1.0
    while state["epoch"] < epochs:
        t_epoch = time.monotonic()
        model.train()
        for g in opt.param_groups:
            g["lr"] = state["lr"]
        tot_loss, tot_rec, tot_kl, tot_pts = 0.0, 0.0, 0.0, 0.0
        batches = _batches(lengths_np, args.batch_size, rng)
        for idx in batches:
            idx_t = torch.from_numpy(idx).to(device)
            t_max = int(lengths_np[idx].max())
            x = x_train[idx_t, :t_max]
            mask = torch.arange(t_max, device=device)[None, :] < len_train[idx_t][:, None]
            beta = min(1.0, state["step"] / args.kl_anneal_steps) if args.kl_anneal_steps > 0 else 1.0
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_amp):
                loss, parts = model.loss(x, mask, beta=beta)
            if not torch.isfinite(loss):
                state["skipped"] += 1
                opt.zero_grad(set_to_none=True)
                continue
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            if not torch.isfinite(gnorm):
                state["skipped"] += 1
                opt.zero_grad(set_to_none=True)
                continue
            opt.step()
            state["step"] += 1
            tot_loss += float(loss.detach()) * float(parts["points"])
            tot_rec += float(parts["rec"])
            tot_kl += float(parts["kl"])
            tot_pts += float(parts["points"])
            if time.monotonic() - t_start > budget_s - reserve_s:
                break
        state["epoch"] += 1
        val = evaluate.validation_loss(model, valid_seqs, device=device, seed=1234)
        annealed = args.kl_anneal_steps <= 0 or state["step"] >= args.kl_anneal_steps or kind != "vrnn"
        improved = val < state["best"] - 1e-3
        if improved:
            state["best"], state["best_epoch"] = val, state["epoch"]
            best_state = copy.deepcopy(model.state_dict())
            state["bad"] = 0
        elif annealed:
            state["bad"] += 1
            if state["bad"] % args.lr_patience == 0:
                state["lr"] *= 0.5
        state["history"].append(
            {"epoch": state["epoch"], "train_loss_per_point": tot_loss / max(tot_pts, 1), "valid_loss": val}
        )
        save_checkpoint()
        dt = time.monotonic() - t_epoch
        epoch_times.append(dt)
        elapsed = time.monotonic() - t_start
        per_epoch = float(np.mean(epoch_times[-3:]))
        eta = min(budget_s - elapsed, per_epoch * (epochs - state["epoch"])) + min(reserve_s, 30.0)
        kl_txt = f" kl/seq {tot_kl / max(1, len(train_seqs)):.1f} beta {beta:.2f}" if kind == "vrnn" else ""
        _log(
            f"epoch {state['epoch']:3d}  train nll/point {tot_loss / max(tot_pts, 1):+.3f}{kl_txt}  "
            f"valid loss/seq {val:+.2f}{' *' if improved else ''}  lr {state['lr']:.1e}  "
            f"{dt:.1f} s/epoch  elapsed {elapsed / 60:.1f} min  ETA {max(eta, 0) / 60:.1f} min"
        )
        if not math.isfinite(val):
            _log("validation loss is not finite; keeping the best weights so far")
        if annealed and state["bad"] >= args.patience:
            stop_reason = "early stop"
            break
        if time.monotonic() - t_start > budget_s - reserve_s:
            stop_reason = "time budget"
            break
    _log(
        f"stopped ({stop_reason}) after {state['epoch']} epochs, {state['step']} steps; "
        f"best epoch {state['best_epoch']}"
    )

    # Final scoring of the best weights, as they will ship.
    model.load_state_dict(best_state)
    model.eval()
    val32 = evaluate.validation_loss(model, valid_seqs, device=device, seed=1234)
    half = not args.fp32
    if half:
        trial = copy.deepcopy(model)
        roundtrip_half(trial)
        val16 = evaluate.validation_loss(trial, valid_seqs, device=device, seed=1234)
        if not math.isfinite(val16) or (val16 - val32) > 5e-4 * abs(val32) + 1e-3:
            _log(f"fp16 weights cost too much (valid {val32:.2f} → {val16:.2f}); shipping float32")
            half = False
        else:
            model = trial
    metrics = {
        "units": "nats per sequence, offsets in normalised units (divided by the scale); higher is better",
        "valid_loss": round(val32 if not half else val16, 4),
        "test_sequences": len(test_seqs),
    }
    if kind == "vrnn":
        elbo, ll_is = evaluate.vrnn_estimates(model, test_seqs, k=eval_k, device=device, seed=0)
        metrics.update(
            {
                "test_elbo": round(float(elbo.mean()), 3),
                "test_ll_is": round(float(ll_is.mean()), 3),
                "is_samples": eval_k,
            }
        )
        _log(
            f"test ELBO {elbo.mean():.2f}, "
            f"importance-sampled log-likelihood (K={eval_k}) {ll_is.mean():.2f} nats/sequence"
        )
    else:
        ll = evaluate.rnn_log_likelihood(model, test_seqs, device=device)
        metrics["test_ll"] = round(float(ll.mean()), 3)
        _log(f"test log-likelihood {ll.mean():.2f} nats/sequence")
    mean_pts = float(np.mean([len(s) for s in test_seqs]))
    metrics["test_points_per_sequence"] = round(mean_pts, 2)
    meta = data.meta
    split_dir = dataset.split_dir()
    card = {
        "name": name,
        "family": "ink",
        "task": "pen-stroke sequences (stroke-3) of KanjiVG characters",
        "architecture": cfg.to_dict() | {"parameters": n_params},
        "preprocessing": {
            "scale": data.scale,
            "origin": meta.get("origin", [54.5, 54.5]),
            "rdp_epsilon": meta.get("rdp_epsilon", 1.0),
            "units": "KanjiVG 109x109 box; model rows are (dx/scale, dy/scale, pen lifted after this point)",
        },
        "data": {
            "source": meta.get("source"),
            "files": meta.get("files"),
            "sequences": meta.get("sequences"),
            "characters": meta.get("characters"),
            "points_median": meta.get("points_median"),
            "used": {"train": len(train_seqs), "valid": len(valid_seqs), "test": len(test_seqs)},
            "stroke_count_hist": meta.get("stroke_count_hist", []),
            "cache_sha256": _file_sha(Path(args.data) if args.data else dataset.default_cache_path()),
        },
        "split": {
            "by": "character (all variants of a code point together)",
            "lists": "resources/splits/ink/{train,valid,test}.txt",
            "sha256": {s: _file_sha(split_dir / f"{s}.txt") for s in dataset.SPLITS},
        },
        "metrics": metrics,
        "training": {
            "epochs": state["epoch"],
            "steps": state["step"],
            "best_epoch": state["best_epoch"],
            "stop": stop_reason,
            "skipped_steps": state["skipped"],
            "minutes": round((time.monotonic() - t_start) / 60, 2),
            "device": str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""),
            "torch": torch.__version__,
            "amp": "bf16" if use_amp else "none",
            "batch_size": args.batch_size,
            "lr": args.lr,
            "clip": args.clip,
            "kl_anneal_steps": args.kl_anneal_steps,
            "weights_dtype": "float16" if half else "float32",
            "history": state["history"][-200:],
        },
        "training_command": command_line(args),
        "license": "weights trained on KanjiVG (CC BY-SA 3.0, Ulrich Apel)",
    }
    from gdl_studio.core.registry import save_model

    saved = save_model(out_dir, tensors_for_saving(model, half=half), card)
    _log(
        f"wrote {saved.weights_path} ({saved.data['size_bytes'] / 1024:.0f} KiB) and its card; "
        f"total {(time.monotonic() - t_start) / 60:.1f} min"
    )
    return 0
