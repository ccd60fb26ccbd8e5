"""The spec's Qt plugin choices against the Qt libraries it leaves out, without building.

A fresh-clone build once failed its own library check: the kept TUIO touch plugin
(``plugins/generic``) needs ``libQt6Network``, which the spec drops, and the Wayland plugins need
system libraries that nothing installed. These tests read the ELF dependencies (DT_NEEDED, as
``readelf -d`` prints them) of every Qt plugin of the installed PySide6 that the bundle keeps, follow
them through PySide6's own Qt libraries, and check that none leads to a dropped Qt library and that
every system library on the way is one ``packaging/build`` installs (``SYSTEM_LIBRARIES``).
"""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
sys.path.insert(0, str(PACKAGING))

import bundle_config as cfg  # noqa: E402
import elf  # noqa: E402

if not sys.platform.startswith("linux"):
    pytest.skip("ELF plugins: Linux only", allow_module_level=True)

PySide6 = pytest.importorskip("PySide6")
QT_DIR = Path(PySide6.__file__).parent / "Qt"
QT_LIB = QT_DIR / "lib"
PLUGINS = QT_DIR / "plugins"
# The Qt modules the app uses (bundle_config.USED_QT): their libraries are the core of the bundle.
USED_QT_LIBS = [f"libQt6{name[2:]}.so.6" for name in cfg.USED_QT]


def _dest(path: Path) -> str:
    """The path inside the bundle (as the spec's TOC entries name it)."""
    return "PySide6/Qt/" + path.relative_to(QT_DIR).as_posix()


def _is_qt_lib(soname: str) -> bool:
    return (QT_LIB / soname).is_file() or soname.startswith("libQt6") or soname.startswith("libicu")


@functools.cache
def _closure(path: Path) -> tuple[set[str], set[str], list[str]]:
    """(Qt libraries, system libraries, Qt libraries missing from the wheel) that ``path`` loads."""
    qt, system, missing = set(), set(), []
    todo = [path]
    while todo:
        for soname in elf.needed(todo.pop()):
            if _is_qt_lib(soname):
                if soname in qt:
                    continue
                qt.add(soname)
                if (QT_LIB / soname).is_file():
                    todo.append(QT_LIB / soname)
                else:
                    missing.append(soname)
            else:
                system.add(soname)
    return qt, system, missing


def _kept_plugins() -> list[Path]:
    """The plugins in the bundle: of a kept type, not dropped by name, and (as PyInstaller's Qt hook
    requires) with every Qt library they link to present in the wheel."""
    kept = []
    for path in sorted(PLUGINS.rglob("*.so")):
        if cfg.dropped(_dest(path)):
            continue
        if _closure(path)[2]:  # PyInstaller skips a plugin whose Qt libraries are not installed
            continue
        kept.append(path)
    return kept


def _dropped_qt_libs() -> set[str]:
    return {p.name for p in QT_LIB.glob("*.so*") if cfg.dropped(f"PySide6/Qt/lib/{p.name}")}


def test_elf_reader_matches_readelf():
    import shutil

    readelf = shutil.which("readelf")
    if readelf is None:
        pytest.skip("readelf (binutils) is not installed")
    for path in [PLUGINS / "platforms" / "libqxcb.so", QT_LIB / "libQt6Gui.so.6", Path(sys.executable).resolve()]:
        if not path.is_file():
            continue
        out = subprocess.run([readelf, "-d", str(path)], capture_output=True, text=True, check=True).stdout
        assert elf.needed(path) == re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out), path


def test_plugins_the_app_needs_are_kept():
    kept = {_dest(p) for p in _kept_plugins()}
    for plugin in (
        "platforms/libqxcb.so",
        "platforms/libqwayland.so",
        "platforms/libqoffscreen.so",
        "xcbglintegrations/libqxcb-glx-integration.so",
        "imageformats/libqsvg.so",
        "iconengines/libqsvgicon.so",
        "wayland-shell-integration/libxdg-shell.so",
        "wayland-graphics-integration-client/libqt-plugin-wayland-egl.so",
    ):
        if (PLUGINS / plugin).is_file():
            assert f"PySide6/Qt/plugins/{plugin}" in kept, f"{plugin} is left out of the bundle"
    assert cfg.dropped("PySide6/Qt/plugins/generic/libqtuiotouchplugin.so"), "TUIO needs libQt6Network"
    assert cfg.dropped("PySide6/Qt/plugins/some-new-type/libfoo.so"), "unknown plugin types stay out"


def test_no_kept_plugin_needs_a_dropped_qt_library():
    dropped_libs = _dropped_qt_libs()
    assert "libQt6Network.so.6" in dropped_libs or not (QT_LIB / "libQt6Network.so.6").exists()
    problems = []
    for path in _kept_plugins():
        qt, _system, _missing = _closure(path)
        if qt & dropped_libs:
            problems.append(f"{_dest(path)} needs {sorted(qt & dropped_libs)}")
    assert not problems, "kept plugins that need a Qt library the spec drops:\n" + "\n".join(problems)


def test_used_qt_modules_need_no_dropped_library():
    dropped_libs = _dropped_qt_libs()
    for lib in USED_QT_LIBS:
        assert (QT_LIB / lib).is_file(), lib
        qt, _system, missing = _closure(QT_LIB / lib)
        assert not missing and not (qt & dropped_libs), (lib, missing, qt & dropped_libs)


def test_every_system_library_is_one_the_build_installs():
    """A system library not in SYSTEM_LIBRARIES is one a fresh machine may lack at build time."""
    unknown = {}
    for path in _kept_plugins() + [QT_LIB / lib for lib in USED_QT_LIBS]:
        for soname in _closure(path)[1] - set(cfg.SYSTEM_LIBRARIES):
            unknown.setdefault(soname, _dest(path))
    assert not unknown, (
        "system libraries needed by the bundled Qt that packaging/build does not install "
        f"(add them to bundle_config.SYSTEM_LIBRARIES with their Debian package): {unknown}"
    )


def test_excluded_qt_modules_bundled_only_as_plugin_libraries():
    """A Qt module whose Python binding is excluded keeps its library only where a kept plugin needs
    it (QtSvg for the SVG icons, QtDBus for input methods, QtWaylandClient); the rest may be dropped."""
    needed = set()
    for path in _kept_plugins() + [QT_LIB / lib for lib in USED_QT_LIBS]:
        needed |= _closure(path)[0]
    for module in cfg.UNUSED_QT:
        lib = f"libQt6{module.split('.Qt', 1)[1]}.so.6"
        if (QT_LIB / lib).is_file() and cfg.dropped(f"PySide6/Qt/lib/{lib}"):
            assert lib not in needed, f"{lib} ({module}) is dropped but a kept plugin needs it"
    assert "libQt6Svg.so.6" in needed  # the SVG icon plugins


def test_build_installs_the_system_libraries():
    debs = cfg.build_debs()
    for package in ("libwayland-cursor0", "libwayland-egl1", "libxcb-cursor0", "libportaudio2", "binutils"):
        assert package in debs
    assert set(cfg.DEB_TOOLS_DEBS) <= set(cfg.build_debs(deb=True))
    out = subprocess.run(
        [sys.executable, str(PACKAGING / "bundle_config.py"), "--debs"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == debs
    build = (PACKAGING / "build").read_text(encoding="utf-8")
    assert 'bundle_config.py" --debs' in build or "bundle_config.py --debs" in build
