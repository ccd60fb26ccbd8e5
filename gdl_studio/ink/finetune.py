"""Fine-tuning an ink model (VRNN or RNN-GMM) on the user's own drawings, on the CPU.

``finetune(spec, report, control)`` is the "ink" family function of :mod:`gdl_studio.finetune`.

* **Base**: ``spec.base`` is ``"vrnn"`` / ``"rnn-gmm"``, a registry name (``"ink-vrnn"``) or the
  name of a personal ink model. A fresh copy is built from its card and weights (the registry's
  cached module, which the app samples from, is never touched).
* **Data**: ``spec.inputs`` are SVG files and/or folders (searched recursively for ``*.svg``);
  with no inputs, the personal drawing set (:mod:`gdl_studio.ink.personal_set`). Each drawing is
  read and preprocessed exactly like the KanjiVG training data: mapped onto the 109-unit box by
  its viewBox, every stroke simplified by RDP with the base card's ε, turned into stroke-3 rows
  from the card's origin, offsets divided by the card's scale.
* **Split**: a seeded, fixed slice of the drawings (``valid_fraction``, 20 % by default, at least
  one) is held out for early stopping and for the before/after figures.
* **Training**: Adam with a small learning rate, gradient norm clipped to 1, all weights trained,
  plain shuffled batches of ``batch_size`` (16). Every epoch shows each training drawing
  ``repeats`` times (enough copies for about ``min_sequences`` sequences, 256 by default:
  16 steps), each copy with a fresh small random affine jitter around the box centre (scale
  ±8 %, rotation ±4°, shear ±0.08, shift ±2 units) that keeps the user's style on average. A
  small set is still learnt by heart within a few epochs: early stopping on the held-out
  drawings is what guards against it. The VRNN trains on the
  negative ELBO with the KL weight at 1 (the base has finished its KL annealing), the RNN-GMM on
  its exact negative log-likelihood. ``control.checkpoint()`` runs before every optimiser step.
* **Validation** (per epoch, and the base first as epoch 0): nats per sequence in normalised
  units, as in the shipped cards but as a loss (lower is better). RNN-GMM: exact −log p(x).
  VRNN: **−ELBO**, averaged over ``valid_samples`` (8) posterior samples with fixed noise, so that
  the figure is deterministic for given weights. The best weights on it are kept; training stops
  after ``patience`` epochs without improvement. The card also records, for the base and the
  fine-tuned VRNN alike, the importance-sampled NLL (K up to 100) on the same held-out drawings.
* **Saving**: only at the very end, atomically, by
  :func:`gdl_studio.core.personal.save_personal_model` (fp16 weights like the shipped models
  unless that costs more than 0.05 % of the validation loss). A :class:`Cancelled` raised by
  ``control.checkpoint()`` propagates before anything is written.
"""

from __future__ import annotations

import copy
import math
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gdl_studio.core.errors import UserError
from gdl_studio.core.finetuning import FinetuneSpec, Progress

DEFAULTS: dict[str, Any] = {
    "epochs": 10,
    "lr": 3e-4,
    "seed": 0,
    "batch_size": 16,
    "patience": 3,
    "valid_fraction": 0.2,
    "min_sequences": 256,  # sequences per epoch (training drawings repeated, each copy jittered)
    "repeats": 0,  # copies of each training drawing per epoch; 0 = from min_sequences
    "augment": True,
    "valid_samples": 8,  # VRNN: posterior samples per held-out drawing for the per-epoch −ELBO
    "is_samples": 100,  # VRNN: importance samples for the final before/after NLL
    "clip": 1.0,
    "max_minutes": 0.0,  # 0 = no time limit
    "threads": 0,  # 0 = leave torch's setting alone
}
"""Option keys of ``spec.options`` and their defaults."""

MIN_DRAWINGS = 5
MAX_DRAWINGS = 5000
MAX_POINTS_PER_DRAWING = 1000
EVAL_SEED = 1234
JITTER = {"scale": 0.08, "rotate_deg": 4.0, "shear": 0.08, "shift": 2.0}


@dataclass
class UserDrawings:
    """The user's drawings, preprocessed: normalised stroke-3 rows, one array per drawing."""

    files: list[Path]
    seqs: list[np.ndarray]
    strokes: list[int]
    source: str

    @property
    def points(self) -> int:
        return int(sum(len(s) for s in self.seqs))


# --------------------------------------------------------------------------- data


def preprocess_strokes(strokes: list[np.ndarray], preprocessing: dict) -> np.ndarray:
    """Strokes in KanjiVG units → normalised stroke-3 rows ``(N, 3)`` float32, exactly like the
    training data of a model whose card has this ``preprocessing`` (RDP ε, origin, scale)."""
    from gdl_studio.ink.strokes import ORIGIN, RDP_EPSILON, simplify_strokes, strokes_to_stroke3, validate_strokes

    eps = float(preprocessing.get("rdp_epsilon", RDP_EPSILON))
    origin = tuple(preprocessing.get("origin", ORIGIN))
    scale = float(preprocessing["scale"])
    rows = strokes_to_stroke3(simplify_strokes(validate_strokes(strokes), eps), origin=origin)
    rows[:, :2] /= scale
    return rows.astype(np.float32)


def load_user_drawings(inputs: list[str], preprocessing: dict) -> UserDrawings:
    """Read and preprocess the drawings of ``inputs`` (files / folders; empty = the personal set).

    Raises :class:`UserError` with one line: no drawings, an unreadable file, an over-long
    drawing, too few or too many drawings.
    """
    from gdl_studio.ink import personal_set
    from gdl_studio.ink.svgio import read_svg_strokes

    if inputs:
        files = personal_set.svg_files(inputs)
        source = "SVG files"
        where = ", ".join(str(p) for p in inputs[:3]) + (" …" if len(inputs) > 3 else "")
        if not files:
            raise UserError(f"no SVG drawings found in {where}")
    else:
        files = personal_set.list_drawings()
        source = "personal drawing set"
        if not files:
            raise UserError("your drawing set is empty: add drawings from the Sketch canvas or import SVG files first")
    if len(files) > MAX_DRAWINGS:
        raise UserError(f"too many drawings ({len(files):,}; at most {MAX_DRAWINGS:,} per fine-tune)")
    seqs, strokes = [], []
    for path in files:
        arrays = read_svg_strokes(path)  # UserError "<name>: <why>" on a bad file
        try:
            rows = preprocess_strokes(arrays, preprocessing)
        except UserError as exc:
            raise UserError(f"{path.name}: {exc}") from None
        if len(rows) > MAX_POINTS_PER_DRAWING:
            raise UserError(
                f"{path.name}: too many points after simplification ({len(rows):,}; at most {MAX_POINTS_PER_DRAWING:,})"
            )
        seqs.append(rows)
        strokes.append(int((rows[:, 2] > 0.5).sum()))
    if len(seqs) < MIN_DRAWINGS:
        raise UserError(
            f"too few drawings to fine-tune: {len(seqs)} (at least {MIN_DRAWINGS}; one is held out to check progress)"
        )
    return UserDrawings(files=list(files), seqs=seqs, strokes=strokes, source=source)


def split_indices(n: int, valid_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``(train, valid)`` indices: about ``valid_fraction`` held out, at least one each."""
    n_valid = int(round(n * float(valid_fraction)))
    n_valid = min(max(1, n_valid), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_valid:]), np.sort(perm[:n_valid])


def jitter(rows: np.ndarray, rng: np.random.Generator, scale: float) -> np.ndarray:
    """A copy of normalised stroke-3 ``rows`` under a small random affine map about the box centre
    (see :data:`JITTER`). Offsets transform linearly; the shift moves only the first point."""
    s = 1.0 + rng.uniform(-JITTER["scale"], JITTER["scale"])
    a = math.radians(rng.uniform(-JITTER["rotate_deg"], JITTER["rotate_deg"]))
    k = rng.uniform(-JITTER["shear"], JITTER["shear"])
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    shear = np.array([[1.0, k], [0.0, 1.0]])
    m = s * rot @ shear
    out = rows.copy()
    out[:, :2] = rows[:, :2] @ m.T.astype(np.float32)
    out[0, :2] += rng.uniform(-JITTER["shift"], JITTER["shift"], size=2).astype(np.float32) / scale
    return out


def write_reference_set(
    out_dir: str | Path, count: int = 40, shear: float = 0.3, wobble: float = 0.8, seed: int = 0
) -> list[Path]:
    """Write a reference "personal" drawing set (for the fine-tune bench and tests).

    Takes the first ``count`` kanji (code points from U+4E00) of the KanjiVG **test** split
    (``resources/splits/ink``; main files only, not variants, in code-point order), slants each in one consistent style
    (``x += shear * (54.5 - y)``: the tops lean right) and adds a smooth wobble perpendicular to
    every stroke (amplitude ``wobble`` units, wavelength 24 units, a random phase per
    stroke), and writes them as SVG files ``<code point>.svg`` into ``out_dir``.
    """
    from gdl_studio.ink import dataset
    from gdl_studio.ink.svgio import BOX, parse_svg_strokes, write_svg

    files, _ = dataset.kanjivg_files()
    by_stem = {f.stem: f for f in files}
    table = dataset.read_split_lists()
    chars = sorted(c for c, split in table.items() if split == "test" and c in by_stem and int(c, 16) >= 0x4E00)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    centre = BOX / 2
    for char in chars[:count]:
        strokes = parse_svg_strokes(by_stem[char].read_bytes())
        styled = []
        for s in strokes:
            s = np.asarray(s, dtype=np.float64).copy()
            s[:, 0] += shear * (centre - s[:, 1])
            if len(s) > 1 and wobble > 0:
                seg = np.diff(s, axis=0)
                arc = np.concatenate([[0.0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))])
                tangent = np.gradient(s, axis=0)
                norm = np.hypot(tangent[:, 0], tangent[:, 1])[:, None]
                normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1) / np.where(norm > 0, norm, 1.0)
                phase = rng.uniform(0, 2 * np.pi)
                s += normal * (wobble * np.sin(2 * np.pi * arc / 24.0 + phase))[:, None]
            styled.append(s)
        path = out_dir / f"{char}.svg"
        write_svg(path, styled)
        written.append(path)
    return written


# --------------------------------------------------------------------------- model


def _load_base(base: str):
    """``(card, InkModel)`` of the base: a fresh module built from the card and weights."""
    from gdl_studio.core.registry import ModelUnavailable, default_registry, load_tensors
    from gdl_studio.ink.models_io import build_from_card, resolve_name

    try:
        name = resolve_name(base)
        card = default_registry().card(name)
        model = build_from_card(card, load_tensors(card))
    except ModelUnavailable as exc:
        raise UserError(str(exc)) from None
    except (ValueError, KeyError) as exc:
        raise UserError(f"model '{base}' cannot be fine-tuned: {exc}") from None
    return card, model


def _check_target_name(display: str, family: str) -> str:
    """Validate the personal model's name up front (before any training); returns its slug."""
    from gdl_studio.core import paths
    from gdl_studio.core.personal import check_name
    from gdl_studio.core.registry import CARD_NAME, ModelUnavailable, read_card

    slug = check_name(display)
    if (paths.models_dir() / slug / CARD_NAME).is_file():
        raise UserError(f"'{display}' is the name of a shipped model; choose another name")
    existing = paths.user_models_dir() / slug
    if (existing / CARD_NAME).is_file():
        try:
            card = read_card(existing)
        except ModelUnavailable:
            return slug  # a broken personal model of that name: replaced
        if card.family != family:
            raise UserError(f"'{display}' is already your {card.family} model; choose another name")
    return slug


def _options(spec: FinetuneSpec) -> dict[str, Any]:
    opts = dict(DEFAULTS)
    for key, value in (spec.options or {}).items():
        if value is not None:
            opts[key] = value
    try:
        opts["epochs"] = int(opts["epochs"])
        opts["lr"] = float(opts["lr"])
        opts["seed"] = int(opts["seed"])
        opts["batch_size"] = int(opts["batch_size"])
        opts["patience"] = int(opts["patience"])
        opts["valid_fraction"] = float(opts["valid_fraction"])
        opts["min_sequences"] = int(opts["min_sequences"])
        opts["repeats"] = int(opts["repeats"])
        opts["valid_samples"] = int(opts["valid_samples"])
        opts["is_samples"] = int(opts["is_samples"])
        opts["clip"] = float(opts["clip"])
        opts["max_minutes"] = float(opts["max_minutes"] or 0.0)
        opts["threads"] = int(opts["threads"] or 0)
        opts["augment"] = bool(opts["augment"])
    except (TypeError, ValueError) as exc:
        raise UserError(f"bad fine-tune option: {exc}") from None
    if not 1 <= opts["epochs"] <= 10_000:
        raise UserError("epochs must be between 1 and 10000")
    if not (0 < opts["lr"] <= 0.1):
        raise UserError("the learning rate must be in (0, 0.1]")
    if not 1 <= opts["batch_size"] <= 1024:
        raise UserError("the batch size must be between 1 and 1024")
    if not (0.0 < opts["valid_fraction"] < 0.9):
        raise UserError("valid_fraction must be in (0, 0.9)")
    opts["patience"] = max(1, opts["patience"])
    opts["valid_samples"] = max(1, opts["valid_samples"])
    opts["is_samples"] = max(1, opts["is_samples"])
    return opts


class _Evaluator:
    """Held-out loss in nats per sequence (normalised units), lower is better."""

    def __init__(self, kind: str, seqs: list[np.ndarray], valid_samples: int, is_samples: int, control) -> None:
        self.kind = kind
        self.seqs = seqs
        self.valid_samples = valid_samples
        # keep the final importance-sampled pass bounded (about 4000 sequence copies)
        self.is_samples = max(8, min(is_samples, 4000 // max(1, len(seqs))))
        self.control = control

    def _progress(self, *_):
        self.control.checkpoint()

    def loss(self, module) -> float:
        """The per-epoch figure: RNN-GMM −log p(x); VRNN −ELBO (``valid_samples``, fixed noise)."""
        from gdl_studio.ink import evaluate

        if self.kind == "vrnn":
            elbo, _ = evaluate.vrnn_estimates(
                module, self.seqs, k=self.valid_samples, max_rows=512, seed=EVAL_SEED, progress=self._progress
            )
            return float(-elbo.mean())
        return float(-evaluate.rnn_log_likelihood(module, self.seqs).mean())

    def final(self, module) -> dict[str, float]:
        """Figures for the card: the per-epoch loss and, for the VRNN, the importance-sampled NLL."""
        from gdl_studio.ink import evaluate

        out = {"nll": self.loss(module)}
        if self.kind == "vrnn":
            _, ll_is = evaluate.vrnn_estimates(
                module, self.seqs, k=self.is_samples, max_rows=2048, seed=EVAL_SEED + 1, progress=self._progress
            )
            out["nll_is"] = float(-ll_is.mean())
        return out


def _command_line(spec: FinetuneSpec, base_name: str, display: str, opts: dict, inputs_dir: str | None) -> str:
    parts = ["python", "-m", "gdl_studio", "finetune", "ink"]
    parts += [str(p) for p in spec.inputs] if spec.inputs else [inputs_dir or "<personal drawing set>"]
    parts += ["--base", base_name, "--name", display]
    for key in ("epochs", "lr", "seed"):
        parts += [f"--{key}", str(opts[key])]
    command = shlex.join(parts)
    extra = {k: opts[k] for k in DEFAULTS if k not in ("epochs", "lr", "seed") and opts[k] != DEFAULTS[k]}
    if extra:
        command += "  # options " + ", ".join(f"{k}={v}" for k, v in extra.items())
    return command


# --------------------------------------------------------------------------- the job


def finetune(spec: FinetuneSpec, report: Callable[[Any], None], control) -> dict:
    """Fine-tune ``spec.base`` on the user's drawings; saves a personal model and returns
    ``{"name", "display_name", "metrics"}`` (see the module docstring)."""
    import torch

    from gdl_studio.core.personal import save_personal_model
    from gdl_studio.ink import personal_set
    from gdl_studio.ink.models_io import roundtrip_half, tensors_for_saving

    t_start = time.monotonic()
    opts = _options(spec)
    if opts["threads"] > 0:
        torch.set_num_threads(opts["threads"])
    base_card, base = _load_base(spec.base)
    kind = base.kind
    display = (spec.name or "").strip() or f"my-{kind}"
    _check_target_name(display, base_card.family)
    preprocessing = dict(base_card.data.get("preprocessing") or {})
    if "scale" not in preprocessing:
        raise UserError(f"model '{base_card.name}' has no preprocessing scale in its card")
    drawings = load_user_drawings(list(spec.inputs or []), preprocessing)
    control.checkpoint()

    seed = opts["seed"]
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train_idx, valid_idx = split_indices(len(drawings.seqs), opts["valid_fraction"], seed)
    train_seqs = [drawings.seqs[i] for i in train_idx]
    valid_seqs = [drawings.seqs[i] for i in valid_idx]
    repeats = opts["repeats"] or max(1, math.ceil(opts["min_sequences"] / len(train_seqs)))
    per_epoch = len(train_seqs) * repeats
    steps_per_epoch = math.ceil(per_epoch / opts["batch_size"])
    epochs = opts["epochs"]

    model = base.module
    model.float().train()
    evaluator = _Evaluator(kind, valid_seqs, opts["valid_samples"], opts["is_samples"], control)
    report(
        Progress(
            step=0,
            total=epochs,
            unit="epoch",
            message=f"{len(drawings.seqs)} drawings ({len(train_seqs)} to learn from, {len(valid_seqs)} held out); "
            f"scoring {base_card.name}",
        )
    )
    base_final = evaluator.final(model)
    base_valid = base_final["nll"]
    report(Progress(step=0, total=epochs, unit="epoch", valid_loss=base_valid, message=f"base model {base_card.name}"))

    opt = torch.optim.Adam(model.parameters(), lr=opts["lr"])
    best, best_epoch, bad = base_valid, 0, 0
    best_state = copy.deepcopy(model.state_dict())
    history: list[dict] = [{"epoch": 0, "valid_loss": round(base_valid, 4)}]
    steps = skipped = 0
    epoch_seconds: list[float] = []
    stop = "epochs"
    from gdl_studio.ink import evaluate

    epoch = 0
    for epoch in range(1, epochs + 1):
        t_epoch = time.monotonic()
        paused_before = float(getattr(control, "paused_seconds", 0.0) or 0.0)
        model.train()
        copies = [train_seqs[i % len(train_seqs)] for i in range(per_epoch)]
        if opts["augment"]:
            copies = [jitter(s, rng, float(preprocessing["scale"])) for s in copies]
        tot_loss, n_seq = 0.0, 0
        # plain shuffled batches: sorting by length would put the copies of one drawing together
        order = rng.permutation(per_epoch)
        for idx in (order[i : i + opts["batch_size"]] for i in range(0, per_epoch, opts["batch_size"])):
            control.checkpoint()
            x, mask = evaluate.pad([copies[j] for j in idx])
            loss, parts = model.loss(x, mask, beta=1.0)
            opt.zero_grad(set_to_none=True)
            if not torch.isfinite(loss):
                skipped += 1
                continue
            loss.backward()
            gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), opts["clip"])
            if not torch.isfinite(gnorm):
                skipped += 1
                opt.zero_grad(set_to_none=True)
                continue
            opt.step()
            steps += 1
            tot_loss += float(loss.detach()) * float(parts["points"])  # summed over the batch's points
            n_seq += len(idx)
        control.checkpoint()
        model.eval()
        val = evaluator.loss(model)
        improved = math.isfinite(val) and val < best - 1e-3
        if improved:
            best, best_epoch, bad = val, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
        paused = float(getattr(control, "paused_seconds", 0.0) or 0.0) - paused_before
        dt = max(0.0, time.monotonic() - t_epoch - paused)
        epoch_seconds.append(dt)
        train_loss = tot_loss / max(1, n_seq)
        history.append(
            {"epoch": epoch, "train_loss": round(train_loss, 4), "valid_loss": round(val, 4), "seconds": round(dt, 2)}
        )
        report(
            Progress(
                step=epoch,
                total=epochs,
                unit="epoch",
                train_loss=train_loss,
                valid_loss=val,
                message="best so far" if improved else f"no better for {bad} epoch{'s' if bad > 1 else ''}",
                extra={"seconds": dt, "steps": float(steps)},
            )
        )
        if bad >= opts["patience"] and epoch < epochs:
            stop = "early stop"
            break
        if opts["max_minutes"] > 0 and (time.monotonic() - t_start) > 60.0 * opts["max_minutes"] and epoch < epochs:
            stop = "time limit"
            break

    # The best weights on the held-out drawings, scored as they will be saved.
    model.load_state_dict(best_state)
    model.eval()
    final32 = evaluator.final(model) if best_epoch > 0 else dict(base_final)
    half = True
    trial = copy.deepcopy(model)
    roundtrip_half(trial)
    final16 = evaluator.final(trial)
    if not math.isfinite(final16["nll"]) or (final16["nll"] - final32["nll"]) > 5e-4 * abs(final32["nll"]) + 1e-3:
        half, final = False, final32
    else:
        model, final = trial, final16

    units = (
        "nats per sequence on the held-out drawings, offsets in normalised units (divided by the scale); "
        "lower is better"
    )
    metrics: dict[str, Any] = {
        "units": units,
        "nll_kind": (
            f"VRNN: -ELBO ({evaluator.valid_samples:d} posterior samples, fixed noise); "
            f"nll_is: importance-sampled, K={evaluator.is_samples:d}"
        )
        if kind == "vrnn"
        else "RNN-GMM: exact -log p(x)",
        "valid_drawings": len(valid_seqs),
        "base_valid_nll": round(base_valid, 4),
        "valid_nll": round(final["nll"], 4),
        "valid_loss": round(final["nll"], 4),
        "improved": bool(best_epoch > 0),
    }
    if kind == "vrnn":
        metrics.update(
            {
                "base_valid_nll_is": round(base_final["nll_is"], 4),
                "valid_nll_is": round(final["nll_is"], 4),
                "is_samples": evaluator.is_samples,
            }
        )
    metrics["valid_points_per_sequence"] = round(float(np.mean([len(s) for s in valid_seqs])), 2)

    base_name = base_card.name
    stroke_hist = np.bincount(np.array(drawings.strokes, dtype=np.int64)).tolist()
    base_data = base_card.data.get("data") or {}
    card: dict[str, Any] = {
        "name": display,
        "display_name": display,
        "family": base_card.family,
        "task": "pen-stroke sequences (stroke-3) in the user's own hand",
        "architecture": dict(base_card.architecture),
        "preprocessing": preprocessing,
        "base_model": base_name,
        "base_sha256": base_card.data.get("sha256"),
        "root_model": base_card.data.get("root_model")
        or (base_card.data.get("base_model") if base_card.personal else base_name),
        "data": {
            "source": drawings.source,
            "inputs": [str(p) for p in (spec.inputs or [])][:20] or [str(personal_set.set_dir())],
            "drawings": len(drawings.seqs),
            "points": drawings.points,
            "strokes": int(sum(drawings.strokes)),
            "split": {
                "train": len(train_seqs),
                "valid": len(valid_seqs),
                "seed": seed,
                "valid_fraction": opts["valid_fraction"],
            },
            "valid_files": [drawings.files[i].name for i in valid_idx][:50],
            # Dream up picks a stroke count from this: keep the base's (a few user drawings are too sparse)
            "stroke_count_hist": list(base_data.get("stroke_count_hist", [])),
            "user_stroke_count_hist": stroke_hist,
        },
        "metrics": metrics,
        "training": {
            "epochs": epoch,
            "steps": steps,
            "best_epoch": best_epoch,
            "stop": stop,
            "skipped_steps": skipped,
            "sequences_per_epoch": per_epoch,
            "steps_per_epoch": steps_per_epoch,
            "repeats": repeats,
            "augment": dict(JITTER) if opts["augment"] else None,
            "batch_size": opts["batch_size"],
            "lr": opts["lr"],
            "clip": opts["clip"],
            "kl_weight": 1.0 if kind == "vrnn" else None,
            "patience": opts["patience"],
            "seconds": round(time.monotonic() - t_start, 2),
            "seconds_per_epoch": round(float(np.mean(epoch_seconds)), 3) if epoch_seconds else None,
            "device": "cpu",
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "weights_dtype": "float16" if half else "float32",
            "history": history[-200:],
        },
        "training_command": _command_line(
            spec, base_name, display, opts, None if spec.inputs else str(personal_set.set_dir())
        ),
        "license": (
            f"fine-tuned from {base_name} ({base_card.data.get('license', 'see its card')}) on the user's own drawings"
        ),
    }
    control.checkpoint()  # last chance to cancel: nothing has been written yet
    saved = save_personal_model(tensors_for_saving(model, half=half), card)
    return {
        "name": saved.name,
        "display_name": saved.data.get("display_name", display),
        "metrics": metrics,
        "path": str(saved.directory),
    }
