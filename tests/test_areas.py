"""The one table of areas (gdl_studio.areas) and each area's contract object."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gdl_studio import areas
from gdl_studio.core.area import Deferred

ROOT = Path(__file__).resolve().parents[1]


def test_every_area_offers_its_default_base_and_names_its_fine_tune():
    assert [a.name for a in areas.AREAS] == ["music", "ink", "racing"]
    for area in areas.AREAS:
        names = [name for name, _label in area.choices()]
        assert area.default_base in names, area.name
        assert areas.finetune_area(area.finetune_family) is area
        assert area.can_start_from(area.base_families[0])


def test_fine_tune_functions_are_the_areas_own():
    from gdl_studio.finetune.runner import family_function
    from gdl_studio.ink import finetune as ink_finetune
    from gdl_studio.music import finetune as music_finetune
    from gdl_studio.racing import finetune as racing_finetune

    # the area's function is its own module's finetune, imported when first called
    for family, module in (("music", music_finetune), ("ink", ink_finetune), ("controller", racing_finetune)):
        function = family_function(family)
        assert isinstance(function, Deferred)
        assert function.resolve() is module.finetune
    with pytest.raises(ValueError, match="unknown family"):
        family_function("poetry")


def test_every_deferred_function_of_an_area_resolves():
    for area in areas.AREAS:
        deferred = [v for v in vars(area).values() if isinstance(v, Deferred)]
        assert {d.target.split(":")[0].split(".")[1] for d in deferred} == {area.name}
        for d in deferred:
            assert callable(d.resolve()), d.target
    with pytest.raises(AttributeError):
        Deferred("gdl_studio.ink.models_io:no_such_function").resolve()


def test_racing_area_names_match_its_models_io():
    from gdl_studio.racing import area, models_io

    assert area.SHIPPED_CONTROLLER == models_io.CONTROLLER_NAME
    assert area.CONTROLLER_FAMILY == models_io.FAMILY_CONTROLLER


def test_cards_dispatch_to_their_area():
    from gdl_studio.core.registry import default_registry

    for card in default_registry().cards():
        assert areas.area_for(card).loads(card.family)


def test_area_table_imports_nothing_heavy():
    code = textwrap.dedent("""
        import sys
        import gdl_studio.areas, gdl_studio.cli
        gdl_studio.cli.build_parser()
        print(",".join(m for m in ("torch", "PySide6", "numpy", "music21") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
