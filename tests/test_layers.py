"""The package's structure, measured by scripts/check_layers.py: no upward or sideways imports, no
import loops, no ui/ file above the limit (besides the known ones, which may only shrink)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_layers", ROOT / "scripts" / "check_layers.py")
check_layers = importlib.util.module_from_spec(spec)
sys.modules["check_layers"] = check_layers  # dataclasses look their module up there
spec.loader.exec_module(check_layers)


def test_layers_hold():
    report = check_layers.check(ROOT, known=check_layers.LONG_FILES_TO_SPLIT, known_loops=check_layers.KNOWN_LOOPS)
    assert report.upward == []
    assert report.sideways == []
    assert report.unknown == []
    assert report.loops == []
    assert report.too_long == []


def test_the_checker_sees_what_it_should(tmp_path):
    """An upward import inside a function, a loop under TYPE_CHECKING, a module named in a string."""
    pkg = tmp_path / "gdl_studio"
    for name, text in {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/a.py": "def f():\n    from gdl_studio.ui import b\n",
        "core/c.py": "LOADERS = {'x': 'gdl_studio.music.m'}\n",
        "music/__init__.py": "",
        "music/m.py": "",
        "ui/__init__.py": "",
        "ui/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gdl_studio.ui import d\n",
        "ui/d.py": "from gdl_studio.ui import b\n" + "x = 1\n" * 700,
    }.items():
        path = pkg / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    report = check_layers.check(tmp_path)
    assert {u.split(" ")[0] for u in report.upward} == {"gdl_studio.core.a:2", "gdl_studio.core.c:1"}
    assert report.loops == [["gdl_studio.ui.b", "gdl_studio.ui.d"]]
    assert report.too_long == [("gdl_studio/ui/d.py", 701)]
