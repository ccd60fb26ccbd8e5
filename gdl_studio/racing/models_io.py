"""Saving and loading the V, M and C models through the registry (family ``world-model/…``).

Shipped names: ``carracing-vae`` (V), ``carracing-mdnrnn`` (M), ``carracing-controller`` (C).
:func:`load` builds one of them by name (used by :mod:`gdl_studio.areas`);
:func:`load_world_model` returns the three together as a :class:`WorldModel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gdl_studio.core.registry import ModelCard, ModelUnavailable, Registry, default_registry, save_model

if TYPE_CHECKING:
    from torch import nn

VAE_NAME = "carracing-vae"
MDN_NAME = "carracing-mdnrnn"
CONTROLLER_NAME = "carracing-controller"
FAMILY_VAE = "world-model/vae"
FAMILY_MDN = "world-model/mdn-rnn"
FAMILY_CONTROLLER = "world-model/controller"


def build(card: ModelCard, tensors: dict[str, Any]):
    """Rebuild the model a card describes from its tensors (float32, eval mode)."""
    arch = card.architecture
    model: nn.Module
    if card.family == FAMILY_VAE:
        from gdl_studio.racing.vae import ConvVAE, VAEConfig

        model = ConvVAE(
            VAEConfig(z_size=int(arch.get("z_size", 32)), kl_tolerance=float(arch.get("kl_tolerance", 0.5)))
        )
    elif card.family == FAMILY_MDN:
        from gdl_studio.racing.mdn_rnn import MDNRNN, MDNConfig, ReadMDNRNN

        # a ReadMDNRNN dreams on a second LSTM while the controllers read the first (mdn_rnn.py)
        cls = ReadMDNRNN if arch.get("kind") == "ReadMDNRNN" else MDNRNN
        model = cls(
            MDNConfig(
                z_size=int(arch.get("z_size", 32)),
                action_size=int(arch.get("action_size", 3)),
                hidden=int(arch.get("hidden", 256)),
                mixtures=int(arch.get("mixtures", 5)),
                mixture=str(arch.get("mixture", "dim")),
            )
        )
    elif card.family == FAMILY_CONTROLLER:
        from gdl_studio.racing.controller import make_controller

        try:
            return make_controller(
                tensors["params"].double().numpy(),
                z_size=int(arch.get("z_size", 32)),
                hidden=int(arch.get("hidden", 256)),
            )
        except ValueError as exc:
            raise ModelUnavailable(f"controller '{card.name}': {exc}") from None
    else:
        raise ModelUnavailable(f"model '{card.name}' has unknown family '{card.family}'")
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load(name: str, registry: Registry | None = None):
    """Load V, M or C by model name (cached by the registry); raises ModelUnavailable."""
    return (registry or default_registry()).load(name, build)


def load_dir(directory: str | Path):
    """Load a model straight from a directory holding card.json and its weights (no cache)."""
    from gdl_studio.core.registry import load_tensors, read_card

    card = read_card(directory)
    return build(card, load_tensors(card))


def load_critic_mdns(models_dir: str | Path, critics, like) -> list:
    """Other Ms (directories) to judge dreams beside the M of ``models_dir``, loaded: each must
    have been trained on the V of ``models_dir`` (its card's ``data.vae_sha256``; the controller
    reads V's latents, and an M on another V dreams in another space) and have the LSTM and
    latent sizes of ``like`` (that M). Raises ``UserError`` with one line otherwise."""
    from gdl_studio.core.errors import UserError
    from gdl_studio.core.registry import read_card

    vae_sha = read_card(Path(models_dir) / VAE_NAME).data["sha256"]
    loaded = []
    for c in critics:
        if not (Path(c) / "card.json").is_file():
            raise UserError(f"no M at {c} (no card.json there)")
        if read_card(Path(c)).data.get("data", {}).get("vae_sha256") != vae_sha:
            raise UserError(f"the M at {c} was trained on another V than {Path(models_dir) / VAE_NAME}")
        m = load_dir(Path(c))
        if m.config.hidden != like.config.hidden or m.config.z_size != like.config.z_size:
            raise UserError("every critic M needs the same LSTM and latent sizes as the M the controller drives with")
        loaded.append(m)
    return loaded


@dataclass
class WorldModel:
    """V, M and (optionally) C together, with the per-step helpers the app and the CLI use."""

    vae: Any
    mdn: Any
    controller: Any = None
    cards: dict[str, ModelCard] = field(default_factory=dict)
    _fast_decoder: Any = field(default=None, repr=False)

    def encode(self, frames64: np.ndarray) -> np.ndarray:
        """uint8 frames (N, 64, 64, 3) → μ (N, z) float32."""
        import torch

        from gdl_studio.racing.preprocess import to_tensor

        with torch.inference_mode():
            mu, _ = self.vae.encode(to_tensor(frames64))
        return mu.numpy()

    def encode_obs(self, obs: np.ndarray) -> np.ndarray:
        """One 96×96 observation (or a 64×64 frame) → μ (z,) float32."""
        from gdl_studio.racing.preprocess import preprocess

        frame = obs if obs.shape[0] == 64 else preprocess(obs)
        return self.encode(frame[None])[0]

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Latents (N, z) or (z,) → uint8 frames (N, 64, 64, 3) or (64, 64, 3)."""
        import torch

        from gdl_studio.racing.preprocess import to_uint8

        z = np.asarray(z, dtype=np.float32)
        single = z.ndim == 1
        with torch.inference_mode():
            frames = to_uint8(self.fast_decoder()(torch.from_numpy(z.reshape(-1, z.shape[-1]))))
        return frames[0] if single else frames

    def fast_decoder(self):
        """V's decoder with its two first linear layers fused (built once)."""
        if self._fast_decoder is None:
            from gdl_studio.racing.vae import FastDecoder

            self._fast_decoder = FastDecoder(self.vae).eval()
        return self._fast_decoder


def load_world_model(registry: Registry | None = None, need_controller: bool = True) -> WorldModel:
    """Load V, M and C (C optional unless ``need_controller``); raises ModelUnavailable."""
    registry = registry or default_registry()
    vae = load(VAE_NAME, registry)
    mdn = load(MDN_NAME, registry)
    cards = {VAE_NAME: registry.card(VAE_NAME), MDN_NAME: registry.card(MDN_NAME)}
    controller = None
    try:
        controller = load(CONTROLLER_NAME, registry)
        cards[CONTROLLER_NAME] = registry.card(CONTROLLER_NAME)
    except ModelUnavailable:
        if need_controller:
            raise
    return WorldModel(vae=vae, mdn=mdn, controller=controller, cards=cards)


def load_world_model_from(models_dir: str | Path, need_controller: bool = True) -> WorldModel:
    """Like :func:`load_world_model` but from a given models directory (e.g. a training ``--out``)."""
    return load_world_model(Registry(roots=[Path(models_dir)]), need_controller=need_controller)


def half_state(module) -> dict[str, Any]:
    """A module's state dict with floating tensors in fp16 (the registry upcasts on load)."""
    return {
        k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu())
        for k, v in module.state_dict().items()
    }


def save_vae(model, directory: str | Path, card: dict[str, Any], fp16: bool = True) -> ModelCard:
    """Write V with its card (``architecture`` filled in from the model)."""
    tensors = half_state(model) if fp16 else {k: v.detach().cpu() for k, v in model.state_dict().items()}
    card = {"name": VAE_NAME, "family": FAMILY_VAE, **card}
    card["architecture"] = {
        "kind": "ConvVAE",
        **model.config.to_dict(),
        "input": "64x64x3 uint8/255",
        **card.get("architecture", {}),
    }
    card["dtype"] = "float16" if fp16 else "float32"
    return save_model(Path(directory) / VAE_NAME, tensors, card)


def save_mdn(model, directory: str | Path, card: dict[str, Any], fp16: bool = True) -> ModelCard:
    """Write M with its card."""
    tensors = half_state(model) if fp16 else {k: v.detach().cpu() for k, v in model.state_dict().items()}
    card = {"name": MDN_NAME, "family": FAMILY_MDN, **card}
    arch = {"kind": type(model).__name__, **model.config.to_dict()}
    card["architecture"] = {**arch, **card.get("architecture", {})}
    card["dtype"] = "float16" if fp16 else "float32"
    return save_model(Path(directory) / MDN_NAME, tensors, card)


def controller_architecture(params: np.ndarray) -> dict[str, Any]:
    """The ``architecture`` block of a controller's card, from its flat parameters (linear, MLP or gated)."""
    from gdl_studio.racing.controller import HIDDEN, Z_SIZE, expert_reads_hud, gated_units, governor_of, hidden_units

    flat = np.asarray(params).ravel()
    n = int(flat.size)
    gated = gated_units(flat)
    if gated is not None:
        governor = governor_of(flat)
        return {
            "kind": "gated",
            "driver_units": gated[0],
            "expert_units": gated[1],
            "expert_inputs": "[z, h, the HUD gauges: speed, wheel, gyro (preprocess.hud_gauges)]"
            if expert_reads_hud(flat)
            else "[z, h]",
            "activation": "tanh",
            "gate": {
                "reads": "the share of road grey around the car in V's 64×64 frame (preprocess.road_share)",
                "off": round(float(flat[3]), 6),
                "back": round(float(flat[4]), 6),
                "enter": int(flat[5]),
                "leave": int(flat[6]),
                "start": int(flat[7]),
                "rule": "the expert drives from `enter` frames in a row with the share under `off` until `leave` "
                "frames in a row at `back` or more, never in an episode's first `start` frames; the driver elsewhere",
            },
            **(
                {
                    "governor": {
                        "member_units": governor.member_units,
                        "theta": round(governor.theta, 6),
                        "brake": round(governor.brake, 6),
                        "vmin": round(governor.vmin, 6),
                        "rule": "while the driver drives and the standard deviation of its members' raw steer "
                        "(controller.doubt) is over `theta`: no gas, and above speed `vmin` on the HUD's speed bar "
                        "a brake of at least `brake`; not in a dream (no HUD)",
                    }
                }
                if governor is not None
                else {}
            ),
            "z_size": Z_SIZE,
            "hidden": HIDDEN,
            "action_size": 3,
            "params": n,
            "squash": "steer=tanh, gas=(tanh+1)/2, brake=clip(tanh,0,1)",
        }
    units = hidden_units(n)
    return {
        "kind": "linear" if units == 0 else "mlp",
        **({"units": units, "activation": "tanh"} if units else {}),
        "z_size": Z_SIZE,
        "hidden": HIDDEN,
        "action_size": 3,
        "params": n,
        "squash": "steer=tanh, gas=(tanh+1)/2, brake=clip(tanh,0,1)",
    }


def save_controller(
    params: np.ndarray, directory: str | Path, card: dict[str, Any], name: str = CONTROLLER_NAME
) -> ModelCard:
    """Write C to ``directory/name`` in float32 (the linear one's 867 parameters are 3.5 kB, a 64-unit MLP's
    75 kB, a 256-unit one's 299 kB)."""
    import torch

    params = np.asarray(params, dtype=np.float32).ravel()
    card = {"name": name, "family": FAMILY_CONTROLLER, **card}
    card["architecture"] = {**controller_architecture(params), **card.get("architecture", {})}
    card["dtype"] = "float32"
    tensors = {"params": torch.from_numpy(params)}
    return save_model(Path(directory) / name, tensors, card)


def controller_params(name_or_dir: str | Path, registry: Registry | None = None) -> tuple[np.ndarray, ModelCard]:
    """(flat parameters, card) of a controller given by model name (shipped or personal) or directory."""
    from gdl_studio.core.registry import load_tensors, read_card

    path = Path(name_or_dir)
    if (path / "card.json").is_file():
        card = read_card(path)
    else:
        card = (registry or default_registry()).card(str(name_or_dir))
    if card.family != FAMILY_CONTROLLER:
        raise ModelUnavailable(f"'{card.name}' is not a driving controller (family {card.family})")
    return load_tensors(card)["params"].double().numpy().ravel(), card
