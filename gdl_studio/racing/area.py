"""The racing area's contract with the app (:class:`gdl_studio.core.area.Area`); nothing heavy is
imported until a function is called. Its model picker chooses who drives: the shipped controller
or a personal (fine-tuned) one."""

from __future__ import annotations

from gdl_studio.core.area import Area, Deferred

SHIPPED_CONTROLLER = "carracing-controller"  # = models_io.CONTROLLER_NAME (kept light here)
CONTROLLER_FAMILY = "world-model/controller"  # = models_io.FAMILY_CONTROLLER


def _choices() -> list[tuple[str, str]]:
    """The shipped controller, the other shipped ones (e.g. the dream-trained driver, labelled with
    the world it drives with), then the personal (★) ones."""
    from gdl_studio.core.personal import personal_label, personal_models
    from gdl_studio.racing.worlds import driver_label, shipped_controllers

    try:
        shipped = [card for card in shipped_controllers() if card.name != SHIPPED_CONTROLLER]
    except OSError:
        shipped = []
    try:
        cards = personal_models(CONTROLLER_FAMILY)
    except OSError:
        cards = []
    return (
        [(SHIPPED_CONTROLLER, "Shipped controller")]
        + [(card.name, driver_label(card)) for card in shipped]
        + [(card.name, personal_label(driver_label(card))) for card in cards]
    )


def _searchable(card) -> bool:
    """CMA-ES fine-tunes linear controllers only (see racing/controller.py)."""
    return card.architecture.get("kind", "linear") == "linear"


AREA = Area(
    name="racing",
    card_families=("world-model",),
    load=Deferred("gdl_studio.racing.models_io:load"),
    choices=_choices,
    finetune_family="controller",
    finetune_title="Driving (Dream controller)",
    finetune=Deferred("gdl_studio.racing.finetune:finetune"),
    default_base=SHIPPED_CONTROLLER,
    base_families=(CONTROLLER_FAMILY,),
    finetune_inputs="",
    register_cli=Deferred("gdl_studio.racing.cli:register"),
    base_filter=_searchable,
)
