"""The package's structure, measured by scripts/check_layers.py: no upward or sideways imports, no
import loops, no ui/ file above the limit (besides the known ones, which may only shrink)."""

from __future__ import annotations

import importlib.util
import re
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
    assert report.colours == []


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


def test_the_checker_finds_colour_literals(tmp_path):
    """Hex, rgb() and named colours in strings and style sheets, numeric QColor/mkBrush, Qt.GlobalColor;
    theme.py may write colours, and @NAME@ placeholders, transparent and non-colour numbers pass."""
    ui = tmp_path / "gdl_studio" / "ui"
    ui.mkdir(parents=True)
    (ui / "theme.py").write_text('BACKGROUND = QColor("#1e1f26")\n')
    (ui / "panel.py").write_text(
        'a = QColor("#1e1f26")\n'
        "b = QColor(20, 21, 28, 215)\n"
        "c = pg.mkBrush(122, 106, 224, 50)\n"
        'd = "QLabel { color: white; background: rgba(0, 0, 0, 10); }"\n'
        'e = QColor("white")\n'
        "f = Qt.GlobalColor.red\n"
        'ok = [theme.qss("QLabel { color: @TEXT@; background: transparent; }"), Qt.GlobalColor.transparent,\n'
        '      QColor(theme.TEXT), QSize(20, 30), "#1 issue", "track #12"]\n'
    )
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "style.qss").write_text(
        "QWidget { color: @TEXT@; }\nQMenu { border: 1px solid #34364a; }\n"
    )
    found = check_layers.find_colours(tmp_path)
    assert [item.split(": ")[0] for item in found] == [
        "gdl_studio/ui/panel.py:1",
        "gdl_studio/ui/panel.py:2",
        "gdl_studio/ui/panel.py:3",
        "gdl_studio/ui/panel.py:4",
        "gdl_studio/ui/panel.py:4",
        "gdl_studio/ui/panel.py:5",
        "gdl_studio/ui/panel.py:6",
        "resources/style.qss:2",
    ]


def test_every_colour_placeholder_is_named_in_the_theme():
    """Each @NAME@ written in ui/ or the app's style sheet is a colour of theme.py (or @ICONS@)."""
    from gdl_studio.ui import theme

    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "gdl_studio" / "ui").rglob("*.py") if p.name != "theme.py"]
    texts.append((ROOT / "resources" / "style.qss").read_text(encoding="utf-8"))
    used = {name for text in texts for name in re.findall(r"@([A-Z][A-Z0-9_]*)@", text)}
    assert used - set(theme.colours()) - {"ICONS"} == set()
    sheet = theme.style_sheet()
    assert sheet and "@" not in sheet.replace("@ICONS@", "")
    assert theme.qss("a { color: @TEXT@; b: @ICONS@ }").startswith("a { color: #e6e6f0; b: /")
    assert theme.qss("@NOTE_TEXT@") == "rgba(20, 20, 28, 200)"
