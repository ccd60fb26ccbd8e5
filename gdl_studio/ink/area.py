"""The ink area's contract with the app (:class:`gdl_studio.core.area.Area`); nothing heavy is
imported until a function is called."""

from __future__ import annotations

from gdl_studio.core.area import Area, Deferred

AREA = Area(
    name="ink",
    card_families=("ink",),
    load=Deferred("gdl_studio.ink.models_io:load"),
    choices=Deferred("gdl_studio.ink.models_io:ink_model_choices"),
    finetune_family="ink",
    finetune_title="Handwriting (Sketch)",
    finetune=Deferred("gdl_studio.ink.finetune:finetune"),
    default_base="ink-vrnn",
    base_families=("ink",),
    finetune_inputs="SVG drawings (*.svg)",
    register_cli=Deferred("gdl_studio.ink.cli:register"),
)
