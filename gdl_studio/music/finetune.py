"""Fine-tuning a music model (the LSTM or the Transformer, shipped or personal) on the user's MIDI.

``finetune(spec, report, control)`` is the "music" family function of
:mod:`gdl_studio.core.finetuning`:

* reads the MIDI files (and folders, recursively) of ``spec.inputs`` with
  :func:`~gdl_studio.music.midi_io.read_midi` and tokenises them exactly as the base model's
  training data was (the grid, voices, LSTM steps and note events of
  :func:`~gdl_studio.music.corpus.tokenise_piece`);
* holds out a slice for early stopping: whole files when there are three or more (about
  :data:`VALID_FRACTION` of the notes), else the last ~12% of the notes of each piece;
* trains on random crops of the rest with a random transposition of ± ``transpose`` semitones
  (AdamW, a small learning rate with a short warm-up and cosine decay, gradient clipping),
  with batches of similar-length crops under a token budget so that short files cost no padding;
* calls ``control.checkpoint()`` between optimiser steps (pause / cancel), reports the base
  model's held-out NLL as epoch 0 and then every epoch's, keeps the best weights on the held-out
  slice (the base's included), stops early after ``patience`` epochs without improvement, and only
  at the very end saves the personal model (fp16) with
  :func:`~gdl_studio.core.personal.save_personal_model`.

Losses are in nats per note (the whole token sequence's NLL over its number of notes, as in
:mod:`gdl_studio.music.evaluate`), so the LSTM and the Transformer are comparable.

Options (``spec.options``): ``epochs`` (10), ``lr`` (3e-4), ``seed`` (0), ``transpose`` (3),
``patience`` (2), ``batch_tokens`` (per kind), ``valid_fraction`` (0.12), ``weight_decay``
(0.01), ``max_steps`` (0 = no limit; for tests and benches).
"""

from __future__ import annotations

import copy
import math
import platform
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from gdl_studio.core.errors import UserError
from gdl_studio.music import tokens as T

MIDI_SUFFIXES = (".mid", ".midi")
MIN_TOTAL_NOTES = 200  # below this there is nothing to learn from (a chorale has ~200 notes)
MIN_SPLIT_NOTES = 40  # a piece this long gives its end to the held-out slice (fewer than 3 files)
MIN_VALID_NOTES = 8
VALID_FRACTION = 0.12
MAX_VALID_FRACTION = 0.3  # by file: never hold out more than this share of the notes
GRAD_CLIP = 1.0
KIND_LABELS = {"lstm": "LSTM", "transformer": "Transformer"}

DEFAULTS: dict[str, Any] = {
    "epochs": 10,
    "lr": 3e-4,
    "seed": 0,
    "transpose": 3,
    "patience": 2,
    "batch_tokens": 0,  # 0: the kind's default (BATCH_TOKENS)
    "valid_fraction": VALID_FRACTION,
    "weight_decay": 0.01,
    "max_steps": 0,
}
BATCH_TOKENS = {"lstm": 1024, "transformer": 1024}  # ~7 optimiser steps per epoch on 30 min of music
DEFAULT_SEQ_LEN = {"lstm": 256}


# -----------------------------------------------------------------------------------------
# options


def _options(spec) -> dict[str, Any]:
    opts = dict(DEFAULTS)
    for key, value in (spec.options or {}).items():
        if key in opts and value is not None:
            opts[key] = value
    try:
        opts["epochs"] = int(opts["epochs"])
        opts["lr"] = float(opts["lr"])
        opts["seed"] = int(opts["seed"])
        opts["transpose"] = int(opts["transpose"])
        opts["patience"] = int(opts["patience"])
        opts["batch_tokens"] = int(opts["batch_tokens"])
        opts["valid_fraction"] = float(opts["valid_fraction"])
        opts["weight_decay"] = float(opts["weight_decay"])
        opts["max_steps"] = int(opts["max_steps"])
    except (TypeError, ValueError) as exc:
        raise UserError(f"bad fine-tuning option: {exc}") from None
    if not 1 <= opts["epochs"] <= 1000:
        raise UserError(f"epochs must be between 1 and 1000, not {opts['epochs']}")
    if not 0 < opts["lr"] <= 0.1:
        raise UserError(f"learning rate must be in (0, 0.1], not {opts['lr']:g}")
    if not 0 <= opts["transpose"] <= 12:
        raise UserError(f"transpose must be 0–12 semitones, not {opts['transpose']}")
    if not 0.02 <= opts["valid_fraction"] <= 0.5:
        raise UserError(f"valid_fraction must be between 0.02 and 0.5, not {opts['valid_fraction']:g}")
    opts["patience"] = max(1, opts["patience"])
    return opts


# -----------------------------------------------------------------------------------------
# the user's MIDI → pieces


def find_midi_files(inputs: list[str]) -> list[Path]:
    """MIDI files named in ``inputs`` or found (recursively) in the folders named there."""
    if not inputs:
        raise UserError("no MIDI files given: choose some .mid files or a folder of them")
    files: list[Path] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise UserError(f"{item}: no such file or folder")
    seen: set[Path] = set()
    unique = []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(f)
    if not unique:
        raise UserError(f"no MIDI files (.mid, .midi) found in {', '.join(map(str, inputs))}")
    return unique


@dataclass
class UserPiece:
    """One of the user's files on the model grid (raw arrays as :func:`corpus.extract_piece`)."""

    piece_id: str
    raw: dict[str, Any]
    minutes: float


def score_raw(score) -> dict[str, Any] | None:
    """A :class:`~gdl_studio.music.notes.Score` as the raw grid arrays the corpus is built from:
    onsets on the 12-ticks-per-beat grid shifted so that bar lines fall on multiples of the bar,
    duration classes, velocities and tracks (``None`` if no note is in the MIDI pitch range)."""
    notes = [n for n in score.notes if 0 <= n.pitch < T.N_PITCH]
    if not notes:
        return None
    bar = T.bar_ticks_for(score.beats_per_bar)
    start = np.rint(np.array([n.start for n in notes]) * T.TICKS_PER_BEAT).astype(np.int64)
    dur_t = np.rint(np.array([n.duration for n in notes]) * T.TICKS_PER_BEAT).astype(np.int64)
    return {
        "pitch": np.array([n.pitch for n in notes], np.int32),
        "start": start - start.min() // bar * bar,
        "dur": T.duration_class(dur_t).astype(np.int32),
        "velocity": np.clip(np.array([n.velocity for n in notes], np.int32), 0, 127),
        "track": np.array([n.track for n in notes], np.int32),
        "bar_ticks": bar,
    }


def read_user_midi(files: list[Path], checkpoint: Callable[[], None] | None = None) -> list[UserPiece]:
    """Read every file (a bad one raises :class:`UserError` naming it)."""
    from gdl_studio.music.midi_io import read_midi

    pieces = []
    for path in files:
        if checkpoint is not None:
            checkpoint()
        try:
            score = read_midi(path)
        except UserError as exc:
            raise UserError(f"cannot use {path}: {str(exc).split(': ', 1)[-1]}") from None
        raw = score_raw(score)
        if raw is None:
            continue
        minutes = score.seconds(score.length_beats) / 60.0
        pieces.append(UserPiece(str(path), raw, minutes))
    return pieces


def _take(raw: dict[str, Any], idx: np.ndarray, shift: int = 0) -> dict[str, Any]:
    out = {k: (v[idx] if isinstance(v, np.ndarray) else v) for k, v in raw.items()}
    out["start"] = out["start"] - shift
    return out


def corpus_piece(piece_id: str, split: str, raw: dict[str, Any]):
    """Tokenise raw grid arrays exactly as the corpus cache does, as a :class:`CorpusPiece`."""
    from gdl_studio.music.corpus import CorpusPiece, tokenise_piece

    p = tokenise_piece(piece_id, split, raw)
    g, s, ne = p.notes, p.steps, p.note_events
    i64 = lambda a: np.asarray(a, np.int64)  # noqa: E731
    return CorpusPiece(
        piece_id=piece_id,
        split=split,
        bar_ticks=p.bar_ticks,
        n_voices=p.n_voices,
        pitch=g.pitch.astype(np.int32),
        start=i64(g.start),
        dur=g.dur.astype(np.int32),
        velocity=g.velocity.astype(np.int32),
        voice=p.voice.astype(np.int32),
        step_note=i64(s.note),
        step_dur=i64(s.dur),
        step_voice=i64(s.voice),
        step_onset=i64(s.onset),
        event_token=i64(p.events.tokens),
        event_time=i64(p.events.time),
        nev_shift=i64(ne.shift),
        nev_pitch=i64(ne.pitch),
        nev_dur=i64(ne.dur),
        nev_vel=i64(ne.vel),
        nev_time=i64(ne.time),
    )


def split_pieces(pieces: list[UserPiece], valid_fraction: float, seed: int):
    """``(train, valid, summary)``: CorpusPieces of the training part and the held-out part."""
    lengths = [len(p.raw["pitch"]) for p in pieces]
    total = sum(lengths)
    if len(pieces) >= 3:
        order = np.random.default_rng(seed).permutation(len(pieces))
        valid_idx: list[int] = []
        held = 0
        for i in order:
            if held >= valid_fraction * total:
                break
            if held + lengths[i] <= MAX_VALID_FRACTION * total and len(valid_idx) < len(pieces) - 1:
                valid_idx.append(int(i))
                held += lengths[i]
        if valid_idx and held >= min(MIN_VALID_NOTES, 0.05 * total):
            train = [corpus_piece(p.piece_id, "train", p.raw) for i, p in enumerate(pieces) if i not in valid_idx]
            valid = [corpus_piece(pieces[i].piece_id, "valid", pieces[i].raw) for i in sorted(valid_idx)]
            names = [Path(pieces[i].piece_id).name for i in sorted(valid_idx)]
            return train, valid, {"by": "file", "valid_files": names}
    train, valid = [], []
    for p in pieces:
        n = len(p.raw["pitch"])
        if n < MIN_SPLIT_NOTES:
            train.append(corpus_piece(p.piece_id, "train", p.raw))
            continue
        start = p.raw["start"]
        order = np.argsort(start, kind="stable")
        k = max(MIN_VALID_NOTES, int(round(valid_fraction * n)))
        cut = int(start[order[n - k]])
        head = np.nonzero(start < cut)[0]
        tail = np.nonzero(start >= cut)[0]
        if len(head) < MIN_VALID_NOTES or len(tail) < MIN_VALID_NOTES:
            train.append(corpus_piece(p.piece_id, "train", p.raw))
            continue
        bar = int(p.raw["bar_ticks"])
        train.append(corpus_piece(p.piece_id, "train", _take(p.raw, head)))
        valid.append(corpus_piece(p.piece_id + "#end", "valid", _take(p.raw, tail, cut // bar * bar)))
    return train, valid, {"by": f"the last ~{valid_fraction:.0%} of the notes of each piece"}


# -----------------------------------------------------------------------------------------
# batches


def _finetune_data_class():
    from gdl_studio.music.train import SequenceData
    from gdl_studio.music.transformer import TIME_OFFSET_LIMIT

    class FinetuneData(SequenceData):
        """:class:`~gdl_studio.music.train.SequenceData` with this job's transposition range,
        batches trimmed to their longest crop and grouped by length under a token budget."""

        transpose = 3

        def batch(self, windows, rng):
            arrs, mask = super().batch(windows, None)  # no augmentation: done here
            used = int(np.nonzero(mask.any(axis=0))[0].max()) + 1 if mask.any() else 1
            arrs = {k: (v[:, :used] if v.ndim == 2 else v) for k, v in arrs.items()}
            mask = mask[:, :used]
            if rng is None:
                return arrs, mask
            if self.pos_limit:
                arrs["offset"] = rng.integers(0, max(self.pos_limit - self.seq_len, 0) + 1, size=len(windows))
                if "in_time" in arrs:
                    arrs["time_offset"] = rng.integers(0, TIME_OFFSET_LIMIT + 1, size=len(windows))
            for b in range(len(windows)):
                k = int(rng.integers(-self.transpose, self.transpose + 1)) if self.transpose else 0
                if not k:
                    continue
                rows = [arrs[key][b] for key in self.pitch_keys]
                pitched = np.concatenate([r[r < T.N_PITCH] for r in rows])
                if pitched.size and pitched.min() + k >= 0 and pitched.max() + k < T.N_PITCH:
                    for r in rows:
                        r[r < T.N_PITCH] += k
            return arrs, mask

        def epoch_batches(self, rng, batch_tokens: int) -> list[list[tuple[int, int, int]]]:
            """One epoch of random crops in batches of similar length (≤ ``batch_tokens``)."""
            windows = self.windows(rng)
            size = [min(self.seq_len, int(self.lengths[i]) - s) for i, s, _ in windows]
            order = np.argsort(size, kind="stable")
            batches: list[list[tuple[int, int, int]]] = []
            current: list[tuple[int, int, int]] = []
            for j in order:
                if current and (len(current) + 1) * size[j] > batch_tokens:
                    batches.append(current)
                    current = []
                current.append(windows[j])
            if current:
                batches.append(current)
            rng.shuffle(batches)
            return batches

    return FinetuneData


# -----------------------------------------------------------------------------------------
# models


def _base_card(base: str):
    from gdl_studio.core.registry import ModelUnavailable, default_registry
    from gdl_studio.music.models_io import canonical_name

    try:
        name = canonical_name(base or "music-lstm")
        card = default_registry().card(name)
    except (ValueError, ModelUnavailable) as exc:
        raise UserError(f"cannot fine-tune '{base}': {exc}") from None
    kind = card.architecture.get("kind")
    if card.family != "music" or kind not in KIND_LABELS:
        raise UserError(f"'{base}' is not a music model (LSTM or Transformer)")
    if not T.signature_matches(card.architecture.get("tokenisation"), kind):
        raise UserError(f"'{name}' was trained for another tokenisation; it cannot be fine-tuned by this version")
    return card


def _build(card):
    """A fresh trainable network with the base weights (never the registry's shared copy)."""
    from gdl_studio.core.registry import ModelUnavailable, load_tensors
    from gdl_studio.music.lstm import AttentionLSTM, LSTMConfig
    from gdl_studio.music.transformer import MusicTransformer, TransformerConfig

    arch = card.architecture
    try:
        tensors = load_tensors(card)
    except ModelUnavailable as exc:
        raise UserError(str(exc)) from None
    if arch["kind"] == "lstm":
        model = AttentionLSTM(LSTMConfig.from_dict(arch))
    else:
        model = MusicTransformer(TransformerConfig.from_dict(arch))
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        raise UserError(f"the weights of '{card.name}' do not fit its card ({str(exc).splitlines()[0]})") from None
    return model


def _score(kind: str, model, pieces) -> dict:
    from gdl_studio.music.evaluate import score_lstm, score_transformer

    scorer = score_lstm if kind == "lstm" else score_transformer
    result = scorer(model, pieces).summary()
    model.train()  # the scorers leave the model in eval mode
    return result


def _state(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _fp16(state: dict) -> dict:
    return {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()}


def _command(spec, opts: dict, base: str, name: str) -> str:
    argv = ["gdl-studio", "finetune", "music", *map(str, spec.inputs), "--base", base, "--name", name]
    for key in ("epochs", "lr", "seed"):
        argv += [f"--{key}", f"{opts[key]:g}" if isinstance(opts[key], float) else str(opts[key])]
    for key, value in opts.items():
        if key not in ("epochs", "lr", "seed") and value != DEFAULTS[key]:
            argv += [f"--{key.replace('_', '-')}", f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join(argv)


# -----------------------------------------------------------------------------------------
# the job


def finetune(spec, report: Callable[[Any], None], control) -> dict:
    """Fine-tune ``spec.base`` on the MIDI of ``spec.inputs``; save it as ``spec.name``.

    Returns ``{"name": <saved model's name>, "metrics": {...}}``. Raises :class:`UserError`
    for bad input and lets ``Cancelled`` (from ``control.checkpoint()``) through; nothing is
    written unless the job completes.
    """
    import torch

    from gdl_studio.core.finetuning import Progress
    from gdl_studio.core.personal import check_name, save_personal_model
    from gdl_studio.music.models_io import MUSIC_MODELS
    from gdl_studio.music.train import _loss, event_data, lstm_data

    t_job = time.perf_counter()
    opts = _options(spec)
    card = _base_card(spec.base)
    kind = card.architecture["kind"]
    name = spec.name or f"my-{kind}"
    directory = check_name(name)
    if directory in MUSIC_MODELS or directory in ("lstm", "transformer"):
        raise UserError(f"'{name}' is the name of a shipped model; choose another name")
    epochs = opts["epochs"]

    def progress(step: int, message: str = "", **kw) -> None:
        report(Progress(step=step, total=epochs, unit="epoch", message=message, **kw))

    # --- data
    files = find_midi_files(list(spec.inputs))
    progress(0, f"reading {len(files)} MIDI file{'s' if len(files) != 1 else ''}")
    pieces = read_user_midi(files, control.checkpoint)
    n_notes = sum(len(p.raw["pitch"]) for p in pieces)
    if n_notes < MIN_TOTAL_NOTES:
        raise UserError(
            f"too few notes: {n_notes} in {len(files)} MIDI file{'s' if len(files) != 1 else ''}; "
            f"fine-tuning needs at least {MIN_TOTAL_NOTES} (about a minute of music)"
        )
    train_pieces, valid_pieces, split = split_pieces(pieces, opts["valid_fraction"], opts["seed"])
    if not valid_pieces or not train_pieces:
        raise UserError("could not hold out part of the music for validation; add more or longer MIDI files")
    n_train = sum(p.n_notes for p in train_pieces)
    n_valid = sum(p.n_notes for p in valid_pieces)
    n_dropped = n_notes - n_train - n_valid  # more than eight notes sounding at once
    n_notes = n_train + n_valid
    minutes = sum(p.minutes for p in pieces)
    control.checkpoint()

    # --- model and batches
    torch.manual_seed(opts["seed"])
    rng = np.random.default_rng(opts["seed"])
    model = _build(card)
    training_card = card.data.get("training", {}) if isinstance(card.data.get("training"), dict) else {}
    finetune_data_cls = _finetune_data_class()
    if kind == "lstm":
        seq_len = int(training_card.get("seq_len") or DEFAULT_SEQ_LEN["lstm"])
        base_data = lstm_data(train_pieces, seq_len)
        pitch_keys, pos_limit = ("note", "target_note"), 0
    else:
        cfg = model.config
        seq_len = cfg.max_len
        base_data = event_data(train_pieces, seq_len, cfg.use_velocity, cfg.pos_limit)
        pitch_keys, pos_limit = ("in_pitch", "tg_pitch"), cfg.pos_limit
    data = finetune_data_cls(base_data.items, seq_len, pitch_keys, pos_limit)
    data.transpose = opts["transpose"]
    batch_tokens = opts["batch_tokens"] or BATCH_TOKENS[kind]
    batch_tokens = max(batch_tokens, 1)
    steps_per_epoch = len(data.epoch_batches(np.random.default_rng(0), batch_tokens))
    total_steps = epochs * steps_per_epoch
    if opts["max_steps"]:
        total_steps = min(total_steps, opts["max_steps"])
    warmup = max(1, min(10, total_steps // 10))

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and "emb" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and "emb" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": opts["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}],
        lr=opts["lr"],
        betas=(0.9, 0.98),
    )
    device = torch.device("cpu")

    # --- epoch 0: the base model on the held-out slice
    control.checkpoint()
    t0 = time.perf_counter()
    base_scores = _score(kind, model, valid_pieces)
    eval_seconds = time.perf_counter() - t0
    base_valid = base_scores["nats_per_note"]
    best, best_epoch, best_state = base_valid, 0, _state(model)
    history = [{"epoch": 0, "step": 0, "train": None, "valid": base_valid, "seconds": 0.0}]
    progress(
        0,
        f"base model '{card.name}' on your held-out music ({n_valid:,} of {n_notes:,} notes)",
        valid_loss=base_valid,
        extra={"eval_s": round(eval_seconds, 2)},
    )

    # --- training
    step, bad, stop_reason = 0, 0, "max epochs"
    train_seconds = 0.0
    epoch_seconds: list[float] = []
    epoch = 0
    model.train()
    while epoch < epochs:
        t_epoch, cpu_epoch = time.perf_counter(), time.process_time()
        nats, notes = 0.0, 0
        for windows in data.epoch_batches(rng, batch_tokens):
            control.checkpoint()
            if opts["max_steps"] and step >= opts["max_steps"]:
                break
            progress_frac = step / max(total_steps, 1)
            lr = opts["lr"] * (
                (step + 1) / warmup
                if step < warmup
                else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(progress_frac, 1.0)))
            )
            for group in opt.param_groups:
                group["lr"] = lr
            arrs, mask = data.batch(windows, rng)
            loss, n = _loss(kind, model, arrs, mask, device, False)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
            opt.step()
            step += 1
            target = arrs[pitch_keys[-1]]
            nats += float(loss.detach()) * n
            notes += int(((target < T.N_PITCH) & mask).sum())
        epoch += 1
        control.checkpoint()
        t_train = time.perf_counter() - t_epoch
        valid = _score(kind, model, valid_pieces)["nats_per_note"]
        seconds = time.perf_counter() - t_epoch
        cpu_seconds = time.process_time() - cpu_epoch
        train_seconds += seconds
        epoch_seconds.append(seconds)
        train_loss = nats / max(notes, 1)
        improved = valid < best - 1e-4
        if improved:
            best, best_epoch, best_state, bad = valid, epoch, _state(model), 0
        else:
            bad += 1
        history.append(
            {
                "epoch": epoch,
                "step": step,
                "train": round(train_loss, 4),
                "valid": round(valid, 4),
                "seconds": round(seconds, 2),
                "cpu_seconds": round(cpu_seconds, 2),
            }
        )
        progress(
            epoch,
            "" if improved else f"no improvement for {bad} epoch{'s' if bad > 1 else ''}",
            train_loss=train_loss,
            valid_loss=valid,
            extra={
                "epoch_s": round(seconds, 2),
                "train_s": round(t_train, 2),
                "cpu_s": round(cpu_seconds, 2),
                "best": best,
            },
        )
        if bad >= opts["patience"] and epoch < epochs:
            stop_reason = f"early stop: no improvement on the held-out music in {opts['patience']} epochs"
            break
        if opts["max_steps"] and step >= opts["max_steps"]:
            stop_reason = "max steps"
            break

    # --- the best weights, rounded to fp16 as they are saved
    control.checkpoint()
    tensors = _fp16(best_state)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    final = _score(kind, model, valid_pieces)
    model.eval()
    metrics = {
        "base_valid_nats_per_note": base_valid,
        "valid_nats_per_note": final["nats_per_note"],
        "valid_nats_per_note_fp32": best,
        "improvement_nats_per_note": base_valid - final["nats_per_note"],
        "base_next_note_accuracy": base_scores["next_note_accuracy"],
        "next_note_accuracy": final["next_note_accuracy"],
        "valid_notes": final["notes"],
        "best_epoch": best_epoch,
        "epochs": epoch,
        "steps": step,
        "stop_reason": stop_reason,
        "seconds_per_epoch": round(float(np.mean(epoch_seconds)), 2) if epoch_seconds else 0.0,
        "train_seconds": round(train_seconds, 1),
    }
    if best_epoch == 0:
        metrics["note"] = "no epoch beat the base model on the held-out music: the saved weights are the base's"
    base_lineage = list(card.data.get("lineage", [])) if card.personal else []
    out_card = {
        "name": name,
        "display_name": name,
        "family": "music",
        "task": card.data.get("task", "continue a MIDI primer (Compose panel, gdl-studio continue)"),
        "architecture": copy.deepcopy(card.architecture),
        "base_model": card.name,
        "base_display_name": card.data.get("display_name", card.name),
        "base_sha256": card.data.get("sha256"),
        "root_model": card.data.get("root_model", card.name) if card.personal else card.name,
        "lineage": base_lineage + [card.name],
        "data": {
            "files": len(files),
            "file_names": [Path(f).name for f in files][:100],
            "pieces": len(pieces),
            "notes": n_notes,
            "notes_dropped": n_dropped,
            "minutes": round(minutes, 2),
            "split": {
                **split,
                "train_notes": n_train,
                "valid_notes": n_valid,
                "train_pieces": len(train_pieces),
                "valid_pieces": len(valid_pieces),
            },
            "tokenisation": "as the base model's training data (gdl_studio.music.corpus.tokenise_piece)",
            "augmentation": (
                f"random transposition in ±{opts['transpose']} semitones, training part only"
                if opts["transpose"]
                else "none"
            ),
        },
        "training": {
            "kind": "fine-tune",
            "optimizer": "AdamW",
            "lr": opts["lr"],
            "weight_decay": opts["weight_decay"],
            "warmup_steps": warmup,
            "schedule": "linear warm-up, cosine decay to 10%",
            "grad_clip": GRAD_CLIP,
            "batch_tokens": batch_tokens,
            "seq_len": seq_len,
            "max_epochs": epochs,
            "epochs": epoch,
            "steps": step,
            "steps_per_epoch": steps_per_epoch,
            "patience": opts["patience"],
            "transpose": opts["transpose"],
            "seed": opts["seed"],
            "valid_fraction": opts["valid_fraction"],
            "stop_reason": stop_reason,
            "threads": torch.get_num_threads(),
            "device": "cpu",
            "torch": torch.__version__,
            "python": platform.python_version(),
            "seconds": round(time.perf_counter() - t_job, 1),
            "history": history[-60:],
        },
        "metrics": metrics,
        "training_command": _command(spec, opts, card.name, name),
    }
    if "fill" in card.data:  # how the base fills gaps (its two-view weight), not re-chosen here
        out_card["fill"] = {**copy.deepcopy(card.data["fill"]), "inherited_from": card.name}
    control.checkpoint()
    saved = save_personal_model(tensors, out_card)
    return {"name": saved.name, "display_name": saved.data.get("display_name", saved.name), "metrics": metrics}
