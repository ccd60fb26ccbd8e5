"""Ship an iteration round's models into the app: ``gdl-studio train world-model ship``.

A round of ``train world-model iterate`` leaves ``<work>/round<r>/models/`` with a new V
(``carracing-vae``), a new M (``carracing-mdnrnn``) and the controller(s) trained in that M's
dream (``carracing-controller-dream``). Shipping them as ``--name v2``:

* V and M become ``carracing-vae-v2`` and ``carracing-mdnrnn-v2`` beside the shipped models,
  their weights fp16 by default — but only after :func:`fp16_check` has found that the fp16
  copy's outputs match the fp32 model's within :data:`FP16_TOLERANCE` (otherwise they are saved
  in fp32 and the card says why). Each card is the round's card, updated: name, dtype, sha256,
  ``shipped_from`` (the source directory and sha256, and the round's record from ``round.json``),
  and ``fp16_check`` (the measured differences).
* Every controller of the round keeps its name and gets a ``world`` field naming the V and M it
  drives with (and their sha256), so the app, ``bench racing --controller`` and ``gdl-studio
  dream`` load them together (:mod:`gdl_studio.racing.worlds`).

Nothing is overwritten without ``replace``: the models are written into a staging directory inside
the target first and only then renamed into place, so a failure leaves the target as it was.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from gdl_studio.core.errors import UserError

# Largest acceptable difference between the fp16 copy and the fp32 model on fixed inputs:
# V's decoded pixels (0–1) and encoded μ; M's mixture means, log σ, log π, reward and done logit
# over a 32-step sequence (errors that feed back through the LSTM are included).
FP16_TOLERANCE = {
    "vae.decode": 4 / 255,
    "vae.mu": 0.02,
    "mdn.mu": 0.02,
    "mdn.logsigma": 0.02,
    "mdn.logpi": 0.02,
    "mdn.reward": 0.02,
    "mdn.done_logit": 0.05,
}
CHECK_SEED = 1234


def _family_targets(name: str) -> dict[str, str]:
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME

    return {VAE_NAME: f"{VAE_NAME}-{name}", MDN_NAME: f"{MDN_NAME}-{name}"}


def fp16_check(model, kind: str) -> dict[str, float]:
    """Max absolute output difference between ``model`` (fp32) and its fp16-rounded copy."""
    import copy

    import torch

    half = copy.deepcopy(model)
    with torch.no_grad():
        for p in list(half.parameters()) + list(half.buffers()):
            if p.is_floating_point():
                p.copy_(p.half().float())
    gen = torch.Generator().manual_seed(CHECK_SEED)
    out: dict[str, float] = {}
    with torch.inference_mode():
        if kind == "vae":
            z = torch.randn(16, model.config.z_size, generator=gen)
            x = torch.rand(16, 3, 64, 64, generator=gen)
            out["vae.decode"] = float((model.decode(z) - half.decode(z)).abs().max())
            out["vae.mu"] = float((model.encode(x)[0] - half.encode(x)[0]).abs().max())
        else:
            c = model.config
            z = torch.randn(8, 32, c.z_size, generator=gen)
            a = torch.rand(8, 32, c.action_size, generator=gen) * torch.tensor([2.0, 1.0, 1.0]) - torch.tensor(
                [1.0, 0, 0]
            )
            full, _ = model(z, a)
            approx, _ = half(z, a)
            for key in ("mu", "logsigma", "logpi", "reward", "done_logit"):
                out[f"mdn.{key}"] = float((getattr(full, key) - getattr(approx, key)).abs().max())
    return out


def fp16_record(model, kind: str) -> dict[str, Any]:
    """:func:`fp16_check` as a card records it: the measured differences, the tolerances and
    whether every difference is within its tolerance (``passed``)."""
    diffs = fp16_check(model, kind)
    return {
        "max_abs_diff": {k: round(v, 6) for k, v in diffs.items()},
        "tolerance": {k: FP16_TOLERANCE[k] for k in diffs},
        "passed": all(v <= FP16_TOLERANCE[k] for k, v in diffs.items()),
    }


def _round_record(round_models: Path) -> dict | None:
    """The round's record (``round.json`` beside ``models/``), briefly (as in the cards)."""
    path = round_models.parent / "round.json"
    if not path.is_file():
        return None
    from gdl_studio.racing.iterate import _brief

    record = json.loads(path.read_text(encoding="utf-8"))
    return {"round": record.get("round"), **{k: _brief(v) for k, v in record.get("steps", {}).items()}}


def _source_info(card, round_record: dict | None) -> dict[str, Any]:
    info = {
        "directory": str(Path(card.directory).resolve()),
        "name": card.name,
        "sha256": card.data.get("sha256"),
        "dtype": card.data.get("dtype"),
    }
    if round_record is not None:
        info["round"] = round_record
    return info


def plan(round_models: Path, name: str) -> dict[str, str]:
    """Source model directory name → shipped name for everything a round holds (V, M, controllers)."""
    from gdl_studio.core.registry import ModelUnavailable, read_card
    from gdl_studio.racing.models_io import FAMILY_CONTROLLER, MDN_NAME, VAE_NAME

    round_models = Path(round_models)
    if not round_models.is_dir():
        raise UserError(f"no such round models directory: {round_models}")
    for role in (VAE_NAME, MDN_NAME):
        if not (round_models / role / "card.json").is_file():
            raise UserError(f"{round_models} has no {role} (expected a round's models/ folder)")
    mapping = dict(_family_targets(name))
    for d in sorted(round_models.iterdir()):
        if d.name in mapping or not (d / "card.json").is_file():
            continue
        try:
            card = read_card(d)
        except ModelUnavailable as exc:
            raise UserError(str(exc)) from None
        if card.family == FAMILY_CONTROLLER:
            mapping[d.name] = card.name
    return mapping


def ship(
    round_models: Path, name: str, out: Path, replace: bool = False, fp16: bool = True, command: str = "", log=print
) -> dict[str, Any]:
    """Ship a round's V, M and controllers into ``out`` (see the module docstring); returns a summary."""
    import torch

    from gdl_studio.core.personal import check_name
    from gdl_studio.core.registry import ModelUnavailable, load_tensors, read_card, save_model
    from gdl_studio.racing.models_io import MDN_NAME, VAE_NAME, build, half_state

    check_name(name)
    round_models, out = Path(round_models), Path(out)
    mapping = plan(round_models, name)
    existing = [t for t in mapping.values() if (out / t).exists()]
    if existing and not replace:
        raise UserError(f"{', '.join(existing)} already in {out}; pass --replace to overwrite")
    record = _round_record(round_models)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".ship-{name}.", dir=out))
    summary: dict[str, Any] = {"models": {}, "out": str(out)}
    try:
        shipped: dict[str, Any] = {}
        for role in (VAE_NAME, MDN_NAME):
            src = read_card(round_models / role)
            try:
                model = build(src, load_tensors(src))
            except ModelUnavailable as exc:
                raise UserError(str(exc)) from None
            check = fp16_record(model, "vae" if role == VAE_NAME else "mdn")
            use_fp16 = fp16 and check["passed"]
            if fp16 and not check["passed"]:
                log(
                    f"ship: {role}: fp16 outputs differ from fp32 beyond tolerance "
                    f"({', '.join(f'{k} {v:.3g}' for k, v in check['max_abs_diff'].items())}); saving float32"
                )
            data = {k: v for k, v in src.data.items() if k not in ("weights", "sha256", "size_bytes")}
            data.update(
                name=mapping[role],
                dtype="float16" if use_fp16 else "float32",
                shipped_from=_source_info(src, record),
                fp16_check=check,
                ship_command=command,
            )
            tensors = half_state(model) if use_fp16 else {k: v.detach().cpu() for k, v in model.state_dict().items()}
            shipped[role] = save_model(staging / mapping[role], tensors, data)
        world = {
            "vae": mapping[VAE_NAME],
            "mdn": mapping[MDN_NAME],
            "vae_sha256": shipped[VAE_NAME].data["sha256"],
            "mdn_sha256": shipped[MDN_NAME].data["sha256"],
        }
        for src_name, target in mapping.items():
            if src_name in (VAE_NAME, MDN_NAME):
                continue
            src = read_card(round_models / src_name)
            try:
                tensors = load_tensors(src)
            except ModelUnavailable as exc:
                raise UserError(str(exc)) from None
            data = {k: v for k, v in src.data.items() if k not in ("weights", "sha256", "size_bytes")}
            data.update(world=world, shipped_from=_source_info(src, record), ship_command=command)
            tensors = {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in tensors.items()}
            shipped[src_name] = save_model(staging / target, tensors, data)
        _move_into_place(staging, out, list(mapping.values()))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for src_name, card in shipped.items():
        summary["models"][mapping[src_name]] = {
            "from": str(round_models / src_name),
            "dtype": card.data["dtype"],
            "sha256": card.data["sha256"],
            "size_bytes": card.data["size_bytes"],
        }
    summary["world"] = world
    return summary


def replace_model(out: Path, name: str, tensors: dict[str, Any], card: dict[str, Any]):
    """Write one model as ``out/name`` (a :class:`~gdl_studio.core.registry.ModelCard` is returned), replacing
    what is there the way :func:`ship` does: saved into a staging directory inside ``out`` first, then renamed
    into place, so a failure leaves ``out`` as it was."""
    from gdl_studio.core.registry import ModelCard, save_model

    out = Path(out)
    staging = Path(tempfile.mkdtemp(prefix=f".ship-{name}.", dir=out))
    try:
        saved = save_model(staging / name, tensors, card)
        _move_into_place(staging, out, [name])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return ModelCard(directory=out / name, data=saved.data)  # where it now is, not the staging copy


def _move_into_place(staging: Path, out: Path, names: list[str]) -> None:
    """Rename ``staging/<name>`` to ``out/<name>`` for every name; old ones are set aside first and
    put back if any rename fails, and removed once all succeeded."""
    backups: list[tuple[Path, Path]] = []
    moved: list[Path] = []
    try:
        for n in names:
            target = out / n
            if target.exists():
                aside = staging / f".old-{n}"
                target.rename(aside)
                backups.append((aside, target))
            (staging / n).rename(target)
            moved.append(target)
    except BaseException:
        for target in moved:
            shutil.rmtree(target, ignore_errors=True)
        for aside, target in backups:
            aside.rename(target)
        raise
    for aside, _ in backups:
        shutil.rmtree(aside, ignore_errors=True)
