"""Loading ink models through the model registry, and packing them for it.

Shipped models: ``models/ink-vrnn/`` and ``models/ink-rnn-gmm/`` (card + safetensors). The card's
``architecture`` holds the :class:`~gdl_studio.ink.models.InkConfig`; its ``preprocessing`` holds
the data ``scale`` (KanjiVG units per normalised unit), the RDP ``epsilon`` and the ``origin``;
``data.stroke_count_hist`` is used to pick a stroke count when drawing from scratch.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gdl_studio.core.errors import UserError
from gdl_studio.core.personal import personal_label
from gdl_studio.core.registry import ModelUnavailable

MODEL_NAMES = {"vrnn": "ink-vrnn", "rnn-gmm": "ink-rnn-gmm"}
"""``--model`` choice → registry name."""

MODEL_LABELS = {"vrnn": "VRNN-GMM", "rnn-gmm": "RNN-GMM"}
"""Architecture kind → the name shown for it."""

_ARCH_SHORT = {"vrnn": "VRNN", "rnn-gmm": "RNN-GMM"}


class UnknownInkModel(UserError, ModelUnavailable):
    """No installed ink model has this name (a bad user choice *and* an unavailable model)."""


@dataclass
class InkModel:
    """A ready-to-sample ink model: the torch module plus what is needed to read its output."""

    module: Any  # VRNN or RNNGMM, in eval mode, float32 on the CPU
    kind: str
    scale: float
    card: dict = field(default_factory=dict)

    @property
    def stroke_count_hist(self) -> list[int]:
        return list(self.card.get("data", {}).get("stroke_count_hist", []))

    def sample_stroke_count(self, rng: np.random.Generator) -> int:
        """A stroke count drawn from the training characters' distribution (1–40)."""
        hist = np.asarray(self.stroke_count_hist, dtype=np.float64)
        if hist.size < 2 or hist.sum() <= 0:
            return int(rng.integers(3, 12))
        return max(1, int(rng.choice(len(hist), p=hist / hist.sum())))

    def generate(self, primer=None, temperature: float = 1.0, seed: int | None = None, **kw) -> Iterator:
        """See :func:`gdl_studio.ink.sampling.generate`."""
        from gdl_studio.ink.sampling import generate

        return generate(self, primer=primer, temperature=temperature, seed=seed, **kw)


def is_ink_family(family: str) -> bool:
    return str(family).startswith("ink")


def resolve_name(kind: str, registry=None) -> str:
    """``"vrnn"`` / ``"rnn-gmm"``, or the registry name of any installed ink model (shipped or
    personal) → registry name.

    Raises :class:`UnknownInkModel` (a :class:`UserError` and a ``ModelUnavailable``) when no
    installed model of the ink family has that name.
    """
    if kind in MODEL_NAMES:
        return MODEL_NAMES[kind]
    if kind in MODEL_NAMES.values():
        return kind
    name = str(kind or "")
    choices = f"choose from {', '.join(MODEL_NAMES)} or one of your fine-tuned ink models"
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise UnknownInkModel(f"unknown ink model {kind!r} ({choices})")
    from gdl_studio.core.registry import default_registry

    registry = registry or default_registry()
    try:
        card = registry.card(name)
    except ModelUnavailable:
        raise UnknownInkModel(f"unknown ink model {kind!r} ({choices})") from None
    if not is_ink_family(card.family):
        raise UnknownInkModel(f"'{name}' is a {card.family} model, not an ink model")
    return name


def build_from_card(card, tensors: dict) -> InkModel:
    """Registry builder: rebuild the module from the card and load ``tensors`` strictly."""
    from gdl_studio.ink.models import InkConfig, build_model

    data = card.data if hasattr(card, "data") else card
    cfg = InkConfig.from_dict(data["architecture"])
    module = build_model(cfg)
    missing, unexpected = module.load_state_dict(tensors, strict=False)
    if missing or unexpected:
        raise ValueError(f"weights do not fit the architecture (missing {missing[:3]}, unexpected {unexpected[:3]})")
    module.float().eval()
    scale = float(data["preprocessing"]["scale"])
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"bad scale {scale} in card")
    return InkModel(module=module, kind=cfg.kind, scale=scale, card=dict(data))


def load_ink_model(kind: str, registry=None) -> InkModel:
    """Load (once, cached by the registry) the shipped ``"vrnn"`` or ``"rnn-gmm"`` model, or any
    installed ink model by registry name (e.g. a personal, fine-tuned one).

    Raises :class:`~gdl_studio.core.registry.ModelUnavailable` when it is missing or corrupt.
    """
    from gdl_studio.core.registry import default_registry

    registry = registry or default_registry()
    return registry.load(resolve_name(kind, registry), build_from_card)


def ink_model_choices(registry=None) -> list[tuple[str, str]]:
    """``[(registry name, label)]`` of the ink models to offer: the shipped ones first (always
    listed, installed or not), then personal ones (``"★ my-hand (VRNN)"``), by name."""
    from gdl_studio.core.registry import default_registry

    registry = registry or default_registry()
    out = [(MODEL_NAMES[k], MODEL_LABELS[k]) for k in MODEL_NAMES]
    listed = {name for name, _ in out}
    shipped, personal = [], []
    for card in registry.cards():
        if card.name in listed or not is_ink_family(card.family):
            continue
        listed.add(card.name)
        shown = str(card.data.get("display_name") or card.name)
        if card.personal:
            arch = _ARCH_SHORT.get(card.architecture.get("kind"), str(card.architecture.get("kind", "?")))
            personal.append((card.name, personal_label(f"{shown} ({arch})")))
        else:
            shipped.append((card.name, shown))
    return out + shipped + sorted(personal, key=lambda item: item[1].lower())


def tensors_for_saving(module, half: bool = True) -> dict:
    """The module's state dict, floating tensors in fp16 when ``half`` (the loader upcasts)."""
    import torch

    out = {}
    for k, v in module.state_dict().items():
        v = v.detach().cpu()
        if half and v.is_floating_point():
            v = v.to(torch.float16)
        out[k] = v.contiguous()
    return out


def roundtrip_half(module) -> None:
    """Round the module's weights to fp16 and back in place, so that metrics match what ships."""
    import torch

    with torch.no_grad():
        for p in module.state_dict().values():
            if p.is_floating_point():
                p.copy_(p.to(torch.float16).to(p.dtype))


def load(name: str, registry=None) -> InkModel:
    """Entry point for :mod:`gdl_studio.areas` (family "ink"): any installed ink
    model by registry name (shipped or personal); ``"vrnn"`` / ``"rnn-gmm"`` are accepted too."""
    from gdl_studio.core.registry import default_registry

    registry = registry or default_registry()
    return registry.load(resolve_name(name, registry), build_from_card)
