"""Train V (the ConvVAE) on the collected 64×64 frames; resumable, early-stopped on validation.

Reads only the rollout ``.npz`` files (uint8), so it runs on a machine with just torch, numpy
and safetensors. Every 20th episode is held out for validation. On CUDA the whole uint8 frame
array is moved to the GPU once and batches are gathered there (bf16 autocast).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gdl_studio.core.errors import UserError


@dataclass
class VAETrainConfig:
    """Settings of one ``train world-model vae`` run."""

    data: Path
    out: Path
    ckpt: Path
    device: str = "auto"
    epochs: int = 30
    batch: int = 256
    lr: float = 1e-3
    max_minutes: float | None = None
    max_frames: int | None = None
    patience: int = 3
    seed: int = 0
    fp16: bool = True
    command: str = ""
    init: Path | None = None  # start from a trained V (e.g. the previous round's)
    source: str = "gymnasium CarRacing-v3 rollouts (random policies)"


def load_frames(directory: Path, max_frames: int | None = None, val_every: int = 20):
    """(train, val) uint8 frame arrays (N, 64, 64, 3) from a rollout directory; split by episode."""
    from gdl_studio.racing.collect import list_episodes

    files = list_episodes(directory)
    if not files:
        raise UserError(f"no rollouts in {directory}; run `gdl-studio train world-model collect` first")
    train: list[np.ndarray] = []
    val: list[np.ndarray] = []
    per_file = None if not max_frames else max(2, max_frames // len(files))
    for i, path in enumerate(files):
        with np.load(path) as d:
            frames = d["frames"]
        if per_file:
            frames = frames[:: max(1, len(frames) // per_file)][:per_file]
        (val if i % val_every == val_every - 1 else train).append(frames)
    if not val:  # tiny runs: hold out the last few frames of each episode instead
        val = [f[-max(1, len(f) // 10) :] for f in train]
        train = [f[: -max(1, len(f) // 10)] for f in train]
    return np.concatenate(train), np.concatenate(val), len(files)


def train_vae(cfg: VAETrainConfig, log=print) -> dict:
    """Run (or resume) VAE training; writes the checkpoint and the final model; returns metrics."""
    import torch

    from gdl_studio.racing.models_io import save_vae
    from gdl_studio.racing.training import Budget, EarlyStopping, autocast, fmt_eta, resolve_device
    from gdl_studio.racing.vae import ConvVAE, param_count, vae_loss_from_logits

    budget = Budget(cfg.max_minutes)
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    train_np, val_np, n_episodes = load_frames(cfg.data, cfg.max_frames)
    log(f"vae: {len(train_np)} train / {len(val_np)} val frames from {n_episodes} episodes; device {device}")

    def to_device(arr: np.ndarray):
        t = torch.from_numpy(arr)
        if device.type == "cuda":
            return t.to(device)
        return t

    train_u8, val_u8 = to_device(train_np), to_device(val_np)

    def batch_images(store, idx):
        x = store[idx.to(store.device)] if store.device.type == "cuda" else store[idx]
        return x.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)

    model = ConvVAE()
    if cfg.init is not None:
        from gdl_studio.racing.models_io import load_dir

        model.load_state_dict(load_dir(cfg.init).state_dict())
        for p in model.parameters():
            p.requires_grad_(True)
        log(f"vae: starting from {cfg.init}")
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    ckpt_path = Path(cfg.ckpt) / "vae.pt"
    es = EarlyStopping(patience=cfg.patience, min_delta=1e-3)
    if es.resume(ckpt_path, model, opt):
        log(f"vae: resumed from {ckpt_path} at epoch {es.epoch} (best val {es.best_val:.2f})")

    def evaluate() -> float:
        model.eval()
        total, n = 0.0, 0
        gen = torch.Generator().manual_seed(1234)
        with torch.no_grad(), autocast(device):
            for start in range(0, len(val_u8), 1024):
                idx = torch.arange(start, min(start + 1024, len(val_u8)))
                x = batch_images(val_u8, idx)
                mu, logvar = model.encode(x)
                eps = torch.randn(mu.shape, generator=gen).to(device)
                recon = torch.sigmoid(model.decode_logits(mu + eps * torch.exp(0.5 * logvar.float())).float())
                loss, _, _ = model.loss(x, recon, mu, logvar)
                total += float(loss) * len(idx)
                n += len(idx)
        model.train()
        return total / max(n, 1)

    steps_per_epoch = max(1, len(train_u8) // cfg.batch)
    stopped = "finished"
    t_start = time.perf_counter()
    done_steps = 0
    total_steps = steps_per_epoch * max(0, cfg.epochs - es.epoch)
    while es.epoch < cfg.epochs:
        if es.exhausted:
            stopped = "early-stopped"
            break
        model.train()
        perm = torch.randperm(len(train_u8))
        for b in range(steps_per_epoch):
            idx = perm[b * cfg.batch : (b + 1) * cfg.batch]
            x = batch_images(train_u8, idx)
            with autocast(device):
                loss, rec, kl = vae_loss_from_logits(model, x)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done_steps += 1
            if b % max(1, steps_per_epoch // 5) == 0:
                rate = done_steps / max(time.perf_counter() - t_start, 1e-9)
                log(
                    f"  epoch {es.epoch + 1}/{cfg.epochs} batch {b + 1}/{steps_per_epoch} "
                    f"loss {float(loss.detach()):.1f} (rec {float(rec.detach()):.1f} kl {float(kl.detach()):.1f}) "
                    f"ETA {fmt_eta((total_steps - done_steps) / max(rate, 1e-9))}"
                )
            if budget.expired():
                break
        if budget.expired() and b < steps_per_epoch - 1:
            stopped = "time budget reached mid-epoch"
            es.checkpoint(ckpt_path, model, opt)
            break
        val = evaluate()
        improved = es.end_epoch(model, val, train_loss_last=float(loss.detach()))
        log(f"vae: epoch {es.epoch} val loss {val:.2f}{' (best)' if improved else ''}")
        es.checkpoint(ckpt_path, model, opt)
        if budget.expired():
            stopped = "time budget reached"
            break
    history = es.history
    if es.best_state is None:
        if not history:
            log("vae: no complete epoch yet; nothing written (run again to continue)")
            return {"stopped": stopped, "epochs": es.epoch}
        es.best_state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    final = ConvVAE()
    final.load_state_dict(es.best_state)
    final.eval()
    # fp16 check: the reconstruction loss must hold when weights are rounded to half precision
    metrics = {
        "val_loss": es.best_val,
        "epochs": es.epoch,
        "train_frames": int(len(train_u8)),
        "val_frames": int(len(val_u8)),
    }
    fp16 = cfg.fp16 and _fp16_ok(final, val_np, log)
    card = {
        "data": {
            "source": f"{cfg.source}, frames cropped to 84x96 and area-resized to 64x64",
            "rollout_dir": str(cfg.data),
            "episodes": n_episodes,
            "frames": int(len(train_u8) + len(val_u8)),
        },
        "split": "every 20th episode held out for validation",
        "metrics": {**metrics, "stopped": stopped, "history": history[-20:]},
        "training_command": cfg.command,
        "init": str(cfg.init) if cfg.init else None,
        "params": param_count(final),
    }
    saved = save_vae(final, cfg.out, card, fp16=fp16)
    log(
        f"vae: wrote {saved.weights_path} ({saved.data['size_bytes'] / 1e6:.1f} MB, "
        f"{'fp16' if fp16 else 'fp32'}); {stopped}"
    )
    return {"stopped": stopped, **metrics, "weights": str(saved.weights_path)}


def _fp16_ok(model, val_np: np.ndarray, log, tolerance: float = 0.005) -> bool:
    """True when fp16-rounded weights change the validation reconstruction error by < 0.5 %."""
    import copy

    import torch

    from gdl_studio.racing.preprocess import to_tensor

    x = to_tensor(val_np[: min(512, len(val_np))])
    half = copy.deepcopy(model)
    with torch.no_grad():
        for p in half.parameters():
            p.copy_(p.half().float())
        e32 = (model.decode(model.encode(x)[0]) - x).pow(2).mean().item()
        e16 = (half.decode(half.encode(x)[0]) - x).pow(2).mean().item()
    ok = e16 <= e32 * (1 + tolerance) + 1e-7
    log(f"vae: fp16 check: mse {e32:.6f} (fp32) vs {e16:.6f} (fp16) → {'fp16' if ok else 'keep fp32'}")
    return ok
