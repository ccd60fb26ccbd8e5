"""The ink area's contract with the app (:class:`gdl_studio.core.area.Area`); nothing heavy is
imported until a function is called."""

from __future__ import annotations

from gdl_studio.core.area import Area


def _load(name: str):
    from gdl_studio.ink.models_io import load

    return load(name)


def _choices() -> list[tuple[str, str]]:
    from gdl_studio.ink.models_io import ink_model_choices

    return ink_model_choices()


def _finetune(spec, report, control) -> dict:
    from gdl_studio.ink.finetune import finetune

    return finetune(spec, report, control)


def _register(commands) -> None:
    from gdl_studio.ink.cli import register

    register(commands)


AREA = Area(
    name="ink",
    card_families=("ink",),
    load=_load,
    choices=_choices,
    finetune_family="ink",
    finetune_title="Handwriting (Sketch)",
    finetune=_finetune,
    default_base="ink-vrnn",
    base_families=("ink",),
    finetune_inputs="SVG drawings (*.svg)",
    register_cli=_register,
)
