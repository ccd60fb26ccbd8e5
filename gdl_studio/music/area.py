"""The music area's contract with the app (:class:`gdl_studio.core.area.Area`); nothing heavy is
imported until a function is called."""

from __future__ import annotations

from gdl_studio.core.area import Area, Deferred

AREA = Area(
    name="music",
    card_families=("music",),
    load=Deferred("gdl_studio.music.models_io:load"),
    choices=Deferred("gdl_studio.music.models_io:music_model_choices"),
    finetune_family="music",
    finetune_title="Music (Compose)",
    finetune=Deferred("gdl_studio.music.finetune:finetune"),
    default_base="music-lstm",
    base_families=("music",),
    finetune_inputs="MIDI files (*.mid *.midi)",
    register_cli=Deferred("gdl_studio.music.cli:register"),
)
