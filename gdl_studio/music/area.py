"""The music area's contract with the app (:class:`gdl_studio.core.area.Area`); nothing heavy is
imported until a function is called."""

from __future__ import annotations

from gdl_studio.core.area import Area


def _load(name: str):
    from gdl_studio.music.models_io import load

    return load(name)


def _choices() -> list[tuple[str, str]]:
    from gdl_studio.music.models_io import music_model_choices

    return music_model_choices()


def _finetune(spec, report, control) -> dict:
    from gdl_studio.music.finetune import finetune

    return finetune(spec, report, control)


def _register(commands) -> None:
    from gdl_studio.music.cli import register

    register(commands)


AREA = Area(
    name="music",
    card_families=("music",),
    load=_load,
    choices=_choices,
    finetune_family="music",
    finetune_title="Music (Compose)",
    finetune=_finetune,
    default_base="music-lstm",
    base_families=("music",),
    finetune_inputs="MIDI files (*.mid *.midi)",
    register_cli=_register,
)
