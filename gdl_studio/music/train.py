"""Training of the two music models from the ``.npz`` cache (needs only torch, numpy, safetensors).

``train_music("lstm" | "transformer", …)`` trains on random crops of the training pieces with a
random transposition in ±6 semitones (training pieces only), evaluates the validation pieces
after every epoch, stops early when the validation loss stops improving (or at the time
budget), checkpoints after every evaluation so that rerunning the same command resumes, and
finally writes the best weights (fp16) and a model card with :func:`core.registry.save_model`.
Mixed precision (bf16 autocast) is used on CUDA; the LSTM recurrence itself runs in fp32/TF32.
"""

from __future__ import annotations

import math
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from gdl_studio.core import paths
from gdl_studio.core.atomic import atomic_path
from gdl_studio.core.errors import UserError
from gdl_studio.music import tokens as T
from gdl_studio.music.corpus import Corpus, CorpusPiece, load_corpus
from gdl_studio.music.evaluate import score_lstm, score_transformer
from gdl_studio.music.lstm import AttentionLSTM, LSTMConfig, lstm_inputs
from gdl_studio.music.transformer import MusicTransformer, TransformerConfig, event_arrays

TRANSPOSE = 6
CHECKPOINT_SECONDS = 30.0  # resumable checkpoint at most this often (and when stopping)
MODEL_NAMES = {"lstm": "music-lstm", "transformer": "music-transformer"}


@dataclass
class TrainSettings:
    """Optimisation settings (recorded in the card)."""

    batch_size: int
    seq_len: int
    lr: float
    weight_decay: float
    warmup_steps: int
    max_epochs: int
    max_minutes: float
    patience: int
    seed: int
    grad_clip: float = 1.0


def default_settings(kind: str, tiny: bool) -> TrainSettings:
    """Settings planned for ~8 minutes on one H100 (shared by both runs), or a tiny CPU check."""
    if tiny:
        return TrainSettings(batch_size=8, seq_len=64, lr=3e-3, weight_decay=0.0, warmup_steps=5, max_epochs=2,
                             max_minutes=1.0, patience=3, seed=0)
    if kind == "lstm":
        return TrainSettings(batch_size=64, seq_len=256, lr=2e-3, weight_decay=0.01, warmup_steps=100,
                             max_epochs=200, max_minutes=8.5, patience=15, seed=0)
    return TrainSettings(batch_size=64, seq_len=512, lr=6e-4, weight_decay=0.05, warmup_steps=300,
                         max_epochs=500, max_minutes=8.5, patience=20, seed=0)


def tiny_config(kind: str):
    if kind == "lstm":
        return LSTMConfig(hidden=32, layers=2, note_embedding=16, duration_embedding=8, voice_embedding=4,
                          metric_embedding=4, window=16, duration_hidden=16, dropout=0.1)
    return TransformerConfig(d_model=32, layers=2, heads=2, d_ff=64, max_len=64, pos_limit=256, head_hidden=32,
                             attr_embedding=8, dropout=0.1)


# -----------------------------------------------------------------------------------------
# batches


class SequenceData:
    """Whole-piece input/target arrays; one epoch is a random crop per ``seq_len`` of every
    piece, each transposed by a random interval in ±6 semitones where it stays in range."""

    def __init__(self, items: list[dict[str, np.ndarray]], seq_len: int, pitch_keys: tuple[str, ...],
                 pos_limit: int = 0) -> None:
        self.items = items
        self.keys = tuple(items[0].keys()) if items else ()
        self.seq_len = seq_len
        self.pitch_keys = pitch_keys
        self.pos_limit = pos_limit
        self.lengths = np.array([len(i[pitch_keys[-1]]) for i in items])

    @property
    def targets(self) -> int:
        return int(self.lengths.sum())

    def windows(self, rng: np.random.Generator | None) -> list[tuple[int, int, int]]:
        """One epoch of ``(piece, start, first scored)`` crops: random starts if ``rng``, else a
        fixed tiling that scores every target exactly once."""
        out = []
        L = self.seq_len
        for i, n in enumerate(self.lengths):
            k = max(1, math.ceil(n / L))
            if rng is None:
                starts = [min(j * L, max(n - L, 0)) for j in range(k)] if n > L else [0]
                out.extend((i, s, j * L) for j, s in enumerate(starts))
            else:
                out.extend((i, int(rng.integers(0, max(n - L, 0) + 1)), -1) for _ in range(k))
        if rng is not None:
            rng.shuffle(out)
        return out

    def batch(self, windows, rng: np.random.Generator | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
        L = self.seq_len
        arrs = {k: np.zeros((len(windows), L), np.int64) for k in self.keys}
        mask = np.zeros((len(windows), L), bool)
        offset = np.zeros(len(windows), np.int64)
        for b, (i, s, first) in enumerate(windows):
            item = self.items[i]
            e = min(s + L, len(item[self.pitch_keys[-1]]))
            for k in self.keys:
                arrs[k][b, : e - s] = item[k][s:e]
            lo = max(first - s, 0) if first >= 0 else 0
            mask[b, lo: e - s] = True
            if rng is None:
                continue
            if self.pos_limit:
                offset[b] = rng.integers(0, max(self.pos_limit - L, 0) + 1)
            k = int(rng.integers(-TRANSPOSE, TRANSPOSE + 1))
            rows = [arrs[key][b, : e - s] for key in self.pitch_keys]
            pitched = [r[r < T.N_PITCH] for r in rows]
            lo_p = min((p.min() for p in pitched if p.size), default=0)
            hi_p = max((p.max() for p in pitched if p.size), default=0)
            if k and lo_p + k >= 0 and hi_p + k < T.N_PITCH:
                for r in rows:
                    r[r < T.N_PITCH] += k
        if self.pos_limit:
            arrs["offset"] = offset
        return arrs, mask


def lstm_data(pieces: list[CorpusPiece], seq_len: int) -> SequenceData:
    """The LSTM's step inputs and targets (pitch tokens: the previous and the next note)."""
    items = [lstm_inputs(p.step_note, p.step_dur, p.n_voices, p.bar_ticks) for p in pieces]
    return SequenceData(items, seq_len, ("note", "target_note"))


def event_data(pieces: list[CorpusPiece], seq_len: int, use_velocity: bool, pos_limit: int) -> SequenceData:
    """The Transformer's event inputs and targets, with random position offsets for training."""
    items = [event_arrays(p.note_events(use_velocity), p.bar_ticks) for p in pieces]
    return SequenceData(items, seq_len, ("in_pitch", "tg_pitch"), pos_limit)


# -----------------------------------------------------------------------------------------
# loop


def _loss(kind: str, model, arrs: dict, mask: np.ndarray, device: torch.device, amp: bool) -> tuple[torch.Tensor, int]:
    """Mean NLL per target token of one batch, and the number of targets."""
    ten = {k: torch.from_numpy(v).to(device, non_blocking=True) for k, v in arrs.items()}
    m = torch.from_numpy(mask).to(device)
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
        if kind == "lstm":
            note_logits, dur_logits = model(ten["note"], ten["dur"], ten["voice"], ten["n_voices"], ten["metric"], ten["target_note"])
            nll = F.cross_entropy(note_logits.float().transpose(1, 2), ten["target_note"], reduction="none") \
                + F.cross_entropy(dur_logits.float().transpose(1, 2), ten["target_dur"], reduction="none")
        else:
            h = model(ten["in_shift"], ten["in_pitch"], ten["in_dur"], ten["in_vel"], ten["in_metric"], ten.get("offset"))
            target = {k: ten[f"tg_{k}"] for k in ("shift", "pitch", "dur", "vel", "metric")}
            nll, _ = model.event_nll(h, target)
    n = int(mask.sum())
    return (nll * m).sum() / max(n, 1), n


def _evaluate(kind, model, data, device, amp, batch_size) -> float:
    model.eval()
    total, count = 0.0, 0
    windows = data.windows(None)
    with torch.no_grad():
        for k in range(0, len(windows), batch_size):
            arrs, mask = data.batch(windows[k: k + batch_size], None)
            loss, n = _loss(kind, model, arrs, mask, device, amp)
            total += float(loss) * n
            count += n
    model.train()
    return total / max(count, 1)


def _fmt_time(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _lr_at(settings: TrainSettings, step: int, progress: float) -> float:
    if step < settings.warmup_steps:
        return settings.lr * (step + 1) / settings.warmup_steps
    return settings.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))))


def train_music(kind: str, data_path: str | Path | None = None, out_dir: str | Path | None = None,
                device: str | None = None, settings: TrainSettings | None = None, tiny: bool = False,
                config=None, checkpoint_dir: str | Path | None = None, restart: bool = False,
                command: str | None = None, max_steps: int | None = None, log: Callable[[str], None] = print) -> dict:
    """Train ``kind`` ("lstm" or "transformer"); returns the written model card (a dict)."""
    if kind not in MODEL_NAMES:
        raise UserError(f"unknown music model '{kind}' (choose lstm or transformer)")
    name = MODEL_NAMES[kind]
    settings = settings or default_settings(kind, tiny)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for but CUDA is not available")
    dev = torch.device(device)
    amp = dev.type == "cuda"
    if amp:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    corpus: Corpus = load_corpus(data_path)
    train_pieces, valid_pieces, test_pieces = (corpus.split(s) for s in ("train", "valid", "test"))
    if not train_pieces or not valid_pieces:
        raise UserError(f"{corpus.path} has no training or validation pieces")
    use_velocity = bool(corpus.meta.get("has_velocity", False))
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)

    if kind == "lstm":
        config = config or (tiny_config(kind) if tiny else LSTMConfig())
        model = AttentionLSTM(config)
        train_data = lstm_data(train_pieces, settings.seq_len)
        valid_data = lstm_data(valid_pieces, settings.seq_len)
    else:
        config = config or (tiny_config(kind) if tiny else TransformerConfig())
        config.use_velocity = use_velocity
        settings.seq_len = config.max_len
        model = MusicTransformer(config)
        train_data = event_data(train_pieces, config.max_len, use_velocity, config.pos_limit)
        valid_data = event_data(valid_pieces, config.max_len, use_velocity, config.pos_limit)
    model.to(dev)
    n_params = sum(p.numel() for p in model.parameters())
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "emb" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "emb" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": settings.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=settings.lr, betas=(0.9, 0.98),
                            fused=amp or None)
    windows_per_epoch = len(train_data.windows(np.random.default_rng(0)))
    steps_per_epoch = max(1, math.ceil(windows_per_epoch / settings.batch_size))
    total_steps = settings.max_epochs * steps_per_epoch
    if max_steps:
        total_steps = min(total_steps, max_steps)
    budget = settings.max_minutes * 60.0

    ckpt_dir = Path(checkpoint_dir) if checkpoint_dir else paths.ROOT_DIR / "runs" / name
    ckpt_path = ckpt_dir / "checkpoint.pt"
    state = {"step": 0, "epoch": 0, "elapsed": 0.0, "best": float("inf"), "best_state": None, "bad": 0,
             "history": []}
    if ckpt_path.is_file() and not restart:
        ck = torch.load(ckpt_path, map_location=dev, weights_only=False)
        if ck.get("config") == config.to_dict() and ck.get("kind") == kind:
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            state = ck["state"]
            rng = np.random.default_rng(settings.seed + 1000 * state["epoch"])
            log(f"resuming {name} from {ckpt_path} at epoch {state['epoch']}, step {state['step']}")
        else:
            log(f"ignoring {ckpt_path}: it is for another configuration")

    log(f"{name}: {n_params / 1e6:.2f}M parameters on {device}{' (bf16 autocast)' if amp else ''}; "
        f"{len(train_pieces)} train / {len(valid_pieces)} valid pieces; {train_data.targets:,} train targets; "
        f"{steps_per_epoch} steps per epoch; budget {settings.max_minutes:g} min")

    model.train()
    t0 = time.perf_counter() - state["elapsed"]
    reserve = 0.0 if tiny else 45.0  # time kept for the final evaluation
    stop_reason = "max epochs"
    last_print = 0.0
    last_ckpt = state["elapsed"]
    finished = str(state.get("stop_reason", "")).startswith(("early stop", "max epochs"))
    if finished:  # rerunning a finished run only writes the model again; a time-limited one goes on
        stop_reason = state["stop_reason"]
    while state["epoch"] < settings.max_epochs and not finished:
        windows = train_data.windows(rng)
        tokens_seen, t_epoch = 0, time.perf_counter()
        loss_sum = torch.zeros((), device=dev)  # summed on the device: no sync per step
        loss_count = 0
        for k in range(0, len(windows), settings.batch_size):
            elapsed = time.perf_counter() - t0
            progress = max(state["step"] / total_steps, elapsed / budget)
            for group in opt.param_groups:
                group["lr"] = _lr_at(settings, state["step"], progress)
            arrs, mask = train_data.batch(windows[k: k + settings.batch_size], rng)
            loss, n = _loss(kind, model, arrs, mask, dev, amp)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
            opt.step()
            state["step"] += 1
            tokens_seen += n
            loss_sum += loss.detach()
            loss_count += 1
            if elapsed - last_print > 15:
                last_print = elapsed
                eta = min(budget - elapsed, (total_steps - state["step"]) * elapsed / max(state["step"], 1))
                log(f"  epoch {state['epoch'] + 1} step {state['step']}/{total_steps} "
                    f"train {float(loss_sum) / max(loss_count, 1):.3f} "
                    f"{tokens_seen / max(time.perf_counter() - t_epoch, 1e-9):,.0f} tok/s "
                    f"elapsed {_fmt_time(elapsed)} ETA {_fmt_time(eta)}")
            if elapsed > budget - reserve or (max_steps and state["step"] >= max_steps):
                break
        state["epoch"] += 1
        valid = _evaluate(kind, model, valid_data, dev, amp, settings.batch_size)
        train_loss = float(loss_sum) / max(loss_count, 1)
        improved = valid < state["best"] - 1e-4
        if improved:
            state["best"] = valid
            state["best_state"] = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            state["bad"] = 0
        else:
            state["bad"] += 1
        elapsed = time.perf_counter() - t0
        state["elapsed"] = elapsed
        state["history"].append({"epoch": state["epoch"], "step": state["step"], "train": train_loss, "valid": valid,
                                 "seconds": round(elapsed, 1)})
        eta = min(budget - elapsed, (settings.max_epochs - state["epoch"]) * elapsed / state["epoch"])
        note = ", improved" if improved else f", {state['bad']} without improvement"
        log(f"epoch {state['epoch']}: train {train_loss:.4f} valid {valid:.4f} nats/token "
            f"(best {state['best']:.4f}{note}) "
            f"elapsed {_fmt_time(elapsed)} ETA ≤ {_fmt_time(eta)}")
        stop_reason = ""
        if state["bad"] >= settings.patience:
            stop_reason = f"early stop: no validation improvement in {settings.patience} epochs"
        elif elapsed > budget - reserve:
            stop_reason = "time budget"
        elif max_steps and state["step"] >= max_steps:
            stop_reason = "max steps"
        elif state["epoch"] >= settings.max_epochs:
            stop_reason = "max epochs"
        state["stop_reason"] = stop_reason
        if stop_reason or elapsed - last_ckpt > CHECKPOINT_SECONDS:
            last_ckpt = elapsed
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            with atomic_path(ckpt_path) as tmp:
                torch.save({"kind": kind, "config": config.to_dict(), "model": model.state_dict(),
                            "optimizer": opt.state_dict(), "state": state}, tmp)
        if stop_reason:
            break
    log(f"stopped ({stop_reason}) after {state['epoch']} epochs, {state['step']} steps, "
        f"{_fmt_time(time.perf_counter() - t0)}")

    model.load_state_dict(state["best_state"])
    model.eval()
    metrics = {"best_valid_nats_per_token": state["best"], "stop_reason": stop_reason, "epochs": state["epoch"],
               "steps": state["step"], "train_seconds": round(state["elapsed"], 1), "parameters": n_params}
    scorer = score_lstm if kind == "lstm" else score_transformer
    for split, pieces in (("valid", valid_pieces), ("test", test_pieces)):
        if pieces:
            metrics[split] = scorer(model, pieces, device=device).summary()
            log(f"{split}: {metrics[split]['nats_per_note']:.4f} nats/note, "
                f"next-note accuracy {metrics[split]['next_note_accuracy']:.3f}")
    model.cpu()
    card = build_card(kind, name, config, settings, corpus, metrics, state["history"], device, command)
    out_dir = Path(out_dir) if out_dir else paths.models_dir() / name
    from gdl_studio.core.registry import save_model

    tensors = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    written = save_model(out_dir, tensors, card)
    log(f"wrote {written.weights_path} ({written.data['size_bytes'] / 1e6:.1f} MB) and its card")
    return written.data


def build_card(kind, name, config, settings: TrainSettings, corpus: Corpus, metrics, history, device, command) -> dict:
    """The model card of a trained music model."""
    counts = corpus.meta.get("counts", {})
    arch = {"kind": kind, **config.to_dict(), "tokenisation": T.vocab_signature()}
    if kind == "lstm":
        arch["notes"] = ("Inputs: previous step's note/rest and duration embeddings + next step's voice, voice count and "
                         "bar position. Stacked LSTM; attention: e_j = tanh(Dense1(h_j)), softmax over the last "
                         "`window` steps, context = sum a_j h_j; note head on [context; h_t]; duration head on "
                         "[context; h_t; chosen note].")
    else:
        arch["notes"] = ("Compound note events (shift, pitch|GAP, duration): input = sum of attribute embeddings; "
                         "heads p(shift) p(pitch|shift, bar position) p(duration|shift, bar position, pitch). "
                         "Decoder-only, pre-norm blocks (masked MHA + GELU FFN, residual add & LayerNorm). "
                         "Sinusoidal positions (not learned): training adds a random offset in [0, pos_limit - max_len] "
                         "to every window, so generation can slide a ring-buffer KV cache with no re-encoding and no "
                         "untrained position rows; a small corpus would also leave a learned table under-trained.")
    return {
        "name": name,
        "family": "music",
        "task": "continue a MIDI primer (Compose panel, gdl-studio continue)",
        "architecture": arch,
        "data": {
            "sources": [f"music21 {corpus.meta.get('music21_version', '?')} corpus: {c}" for c in corpus.meta.get("corpora", [])],
            "why": ("Bach chorales (four-part, homophonic, the issue's minimum) plus Palestrina's masses (4-8 part vocal "
                    "polyphony) for several times more notes; both are fully polyphonic scores with parts, so voices "
                    "are real. The folk-tune collections are monophonic and the quartets are few and long."),
            "counts": counts,
            "velocity": "none in these sources (the tokeniser keeps velocities where a source has them)",
            "rests": "kept (LSTM: REST steps per voice; Transformer: time shifts)",
            "augmentation": f"random transposition in ±{TRANSPOSE} semitones, training pieces only",
            "cache": str(corpus.path.name),
        },
        "split": {"by": "piece", "lists": "resources/splits/music/{train,valid,test}.txt",
                  "pieces": {s: counts.get(s, {}).get("pieces") for s in ("train", "valid", "test")}},
        "training": {**settings.__dict__, "device": device, "torch": torch.__version__,
                     "python": platform.python_version(), "history": history[-60:]},
        "metrics": metrics,
        "training_command": command or shlex.join(["gdl-studio", *sys.argv[1:]]),
    }
