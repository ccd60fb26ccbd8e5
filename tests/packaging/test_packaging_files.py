"""The packaging recipe (packaging/), checked without building a bundle.

The build itself (``bash packaging/build``: several minutes) stays out of CI; these tests check
what can go stale without it: the spec, the desktop entry, the AppStream metainfo, the icons,
the build scripts, the exclusion list against what the app really imports, and the selftest
that a bundle runs on itself (here in-process, from the source tree).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gdl_studio import __version__

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "gdl-studio.spec"
DESKTOP = PACKAGING / "linux" / "gdl-studio.desktop"
sys.path.insert(0, str(PACKAGING))

import bundle_config as cfg  # noqa: E402


def _skip_or_fail(reason: str) -> None:
    """Skip locally, fail under CI (the test command installs desktop-file-utils)."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _metainfo() -> Path:
    found = sorted((PACKAGING / "linux").glob("*.metainfo.xml"))
    assert len(found) == 1, f"expected one metainfo file, found {found}"
    return found[0]


# ---------------------------------------------------------------------------------------- spec
def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def _calls(tree: ast.Module, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name]


def test_spec_parses_and_builds_one_folder_bundle():
    tree = _spec_tree()
    (analysis,) = _calls(tree, "Analysis")
    (exe,) = _calls(tree, "EXE")
    assert len(_calls(tree, "COLLECT")) == 1, "one-folder build: the spec must COLLECT"
    keywords = {k.arg: k.value for k in exe.keywords}
    assert isinstance(keywords.get("exclude_binaries"), ast.Constant) and keywords["exclude_binaries"].value is True
    assert _calls(tree, "BUNDLE"), "macOS .app via BUNDLE"
    # the exclusion list is the shared one in bundle_config.py
    excludes = {k.arg: ast.unparse(k.value) for k in analysis.keywords}["excludes"]
    assert "cfg.EXCLUDES" in excludes
    assert "entry.py" in ast.unparse(analysis.args[0])


def test_spec_ships_models_and_resources_where_paths_looks():
    source = SPEC.read_text(encoding="utf-8")
    strings = {n.value for n in ast.walk(_spec_tree()) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert {"models", "resources", "gdl_studio/_bundled"} <= strings
    assert 'ROOT / "models"' in source and 'ROOT / "resources"' in source
    # gdl_studio/core/paths.py looks for PACKAGE_DIR/_bundled/{models,resources} first
    paths_source = (ROOT / "gdl_studio" / "core" / "paths.py").read_text(encoding="utf-8")
    assert '"_bundled" / "models"' in paths_source and '"_bundled" / "resources"' in paths_source


def test_data_and_test_only_packages_are_excluded():
    for name in ("music21", "music21.corpus", "kanji", "kanjivg", "matplotlib", "networkx", "pytest", "pytestqt"):
        assert cfg.excluded(name), name
    for name in (
        "torch",
        "torch.nn",
        "torch.optim",
        "sympy",
        "numpy",
        "PySide6.QtWidgets",
        "PySide6.QtOpenGL",
        "pyqtgraph",
        "gymnasium",
        "pygame",
        "Box2D",
        "sounddevice",
        "rtmidi",
        "mido",
        "gdl_studio.ui",
    ):
        assert not cfg.excluded(name), name
    assert set(cfg.OPTIONAL_AT_RUN_TIME) <= set(cfg.EXCLUDES)


def test_dropped_files():
    for dest in (
        "torch/include/ATen/ATen.h",
        "torch/test/Dict_test",
        "torch/bin/test_api",
        "torch/lib/libtorchbind_test.so",
        "torch/share/cmake/Torch/TorchConfig.cmake",
        "PySide6/Qt/translations/qtbase_de.qm",
        "libasound.so.2",
        "libmvec.so.1",
        "PySide6/Qt/plugins/platformthemes/libqgtk3.so",
        "pygame/mixer.cpython-311-x86_64-linux-gnu.so",
        "pygame/imageext.cpython-311-x86_64-linux-gnu.so",
    ):
        assert cfg.dropped(dest), dest
    for dest in (
        "torch/lib/libtorch_cpu.so",
        "torch/bin/torch_shm_manager",
        "torch/_inductor/config.py",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
        "PySide6/Qt/plugins/iconengines/libqsvgicon.so",
        "gdl_studio/_bundled/models/music-lstm/card.json",
        "libportaudio.so.2",
        "pygame/freesansbold.ttf",
    ):
        assert not cfg.dropped(dest), dest


def test_links_to_left_out_libraries_are_dropped():
    entries = [
        ("libSDL2.so", "pygame.libs/libSDL2.so", "SYMLINK"),  # target kept
        ("libFLAC.so", "pygame.libs/libFLAC.so", "SYMLINK"),  # target pruned: the link must go too
        ("pygame.libs/libSDL2.so", "/venv/pygame.libs/libSDL2.so", "BINARY"),
        ("torch/lib/libc10.so", "/venv/torch/lib/libc10.so", "BINARY"),
    ]
    kept = cfg.without_dangling_symlinks(entries)
    assert [e[0] for e in kept] == ["libSDL2.so", "pygame.libs/libSDL2.so", "torch/lib/libc10.so"]


def test_only_safe_binaries_are_stripped():
    """Stripping a library that auditwheel/patchelf rewrote breaks it (seen with numpy's OpenBLAS)."""
    import fnmatch

    def stripped(dest):
        return any(fnmatch.fnmatchcase(dest, p) for p in cfg.STRIP_PATTERNS)

    assert stripped("torch/lib/libtorch_cpu.so") and stripped("libpython3.11.so.1.0")
    for dest in (
        "numpy.libs/libscipy_openblas64_-32a4b2a6.so",
        "pillow.libs/libjpeg-6dc8d115.so.62.4.0",
        "numpy/_core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
        "PIL/_imaging.cpython-311-x86_64-linux-gnu.so",
        "PySide6/Qt/lib/libQt6Core.so.6",
        "python_rtmidi./libjack-5305d520.so.0.1.0",
    ):
        assert not stripped(dest), dest


def test_spec_collects_every_shipped_model_and_resource(tmp_path, monkeypatch):
    """Run the spec with PyInstaller's build steps stubbed out; check what it asks to collect."""
    import pkgutil
    import types

    import gdl_studio

    captured = {}

    class Stub:
        def __init__(self, *args, **kwargs):
            captured[type(self).__name__] = (args, kwargs)
            datas = kwargs.get("datas", [])  # (source, folder) in; (name in bundle, source, kind) TOC out
            self.datas = [(f"{dest}/{Path(src).name}", src, "DATA") for src, dest in datas]
            self.binaries, self.pure, self.scripts = [], [], []

    def collect_submodules(package, filter=lambda name: True):
        assert package == "gdl_studio"
        names = [package] + [m.name for m in pkgutil.walk_packages(gdl_studio.__path__, "gdl_studio.")]
        return [n for n in names if filter(n)]

    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.collect_submodules = collect_submodules
    bindepend = types.ModuleType("PyInstaller.depend.bindepend")
    bindepend.get_imports = lambda filename: []
    for name in ("PyInstaller", "PyInstaller.utils", "PyInstaller.depend"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setitem(sys.modules, "PyInstaller.depend.bindepend", bindepend)
    monkeypatch.setenv("GDL_BUILD_ICONS", str(tmp_path / "icons"))  # the spec renders the icons there
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    namespace = {name: type(name, (Stub,), {}) for name in ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}
    # The GM instrument's files come from the build machine's Debian packages: stand-ins here
    # (tests/packaging/test_instrument_bundle.py checks the lists and the staging).
    instrument_bins = [("/usr/lib/libfluidsynth.so.3", ".")]
    instrument_datas = [(str(tmp_path / "FluidR3Mono_GM.sf3"), "gdl_studio/_bundled/resources/soundfonts")]
    monkeypatch.setattr(cfg, "instrument_binaries", lambda: instrument_bins)
    monkeypatch.setattr(cfg, "instrument_datas", lambda stage: instrument_datas)
    namespace.update(
        SPECPATH=str(PACKAGING),
        DISTPATH=str(tmp_path / "dist"),
        workpath=str(tmp_path / "work"),
        __file__=str(SPEC),
        __name__="spec",
    )
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    _args, kwargs = captured["Analysis"]
    dests = {(Path(src).name, dest) for src, dest in kwargs["datas"]}
    for card in sorted((ROOT / "models").glob("*/card.json")):
        weights = json.loads(card.read_text(encoding="utf-8"))["weights"]
        dest = f"gdl_studio/_bundled/models/{card.parent.name}"
        assert ("card.json", dest) in dests and (weights, dest) in dests, card.parent.name
    assert ("style.qss", "gdl_studio/_bundled/resources") in dests
    assert ("icons", "gdl_studio/_bundled/resources/icons") in dests
    assert not any(name == "screenshots" for name, _dest in dests)
    if sys.platform.startswith("linux"):
        assert set(instrument_bins) <= set(kwargs["binaries"]) and set(instrument_datas) <= set(kwargs["datas"])
    assert "music21" in kwargs["excludes"] and "kanji" in kwargs["excludes"] and "aalink" in kwargs["excludes"]
    assert "gdl_studio.selftest" in kwargs["hiddenimports"] and "gdl_studio.ui.compose.panel" in kwargs["hiddenimports"]
    assert (tmp_path / "icons" / f"{cfg.DESKTOP_ID}-256.png").is_file(), "the spec renders missing icons"
    _exe_args, exe_kwargs = captured["EXE"]
    assert exe_kwargs["name"] == cfg.EXE_NAME and exe_kwargs["icon"].endswith("-256.png")


@pytest.mark.slow
def test_nothing_excluded_is_imported_at_run_time():
    """Every app module, an optimiser step and the main window with its panels, in a fresh
    interpreter: none of them may load a module the spec leaves out of the bundle."""
    result = subprocess.run(
        [sys.executable, str(PACKAGING / "probe_imports.py"), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    lines = [ln for ln in result.stdout.splitlines() if ln.startswith("{")]
    assert lines, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(lines[-1])
    assert report["excluded_but_loaded"] == [], "excluded from the bundle but loaded at run time"


# ---------------------------------------------------------------------------------------- desktop entry
def test_desktop_file_validates():
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        _skip_or_fail("desktop-file-validate is not installed (apt-get install desktop-file-utils)")
    result = subprocess.run([validator, str(DESKTOP)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_desktop_file_matches_the_app():
    entry = dict(line.split("=", 1) for line in DESKTOP.read_text(encoding="utf-8").splitlines() if "=" in line)
    assert entry["Type"] == "Application" and entry["Name"] == cfg.APP_NAME
    assert entry["Exec"].split()[0] == cfg.EXE_NAME and entry["Icon"] == cfg.DESKTOP_ID
    assert entry["Terminal"] == "false"
    # QGuiApplication.setDesktopFileName() must name this file (window ↔ launcher matching on Wayland)
    launch = (ROOT / "gdl_studio" / "ui" / "shell" / "launch.py").read_text(encoding="utf-8")
    assert f'setDesktopFileName("{DESKTOP.stem}")' in launch


# ---------------------------------------------------------------------------------------- AppStream
def test_metainfo_is_well_formed_with_the_required_tags():
    path = _metainfo()
    root = ET.parse(path).getroot()  # raises on malformed XML
    assert root.tag == "component" and root.get("type") == "desktop-application"
    for tag in (
        "id",
        "metadata_license",
        "project_license",
        "name",
        "summary",
        "description",
        "launchable",
        "content_rating",
        "releases",
        "provides",
    ):
        element = root.find(tag)
        assert element is not None, f"<{tag}> missing"
    component_id = root.findtext("id")
    assert path.name == f"{component_id}.metainfo.xml" and component_id == cfg.APP_ID
    assert re.fullmatch(r"[A-Za-z0-9]+(\.[A-Za-z0-9_]+){2,}", component_id), "reverse-DNS id"
    assert root.findtext("metadata_license") in ("CC0-1.0", "FSFAP", "MIT")
    launchable = root.find("launchable")
    assert launchable.get("type") == "desktop-id" and launchable.text == DESKTOP.name
    assert root.find("description").find("p") is not None
    assert root.find("content_rating").get("type", "").startswith("oars-")
    versions = [r.get("version") for r in root.find("releases").findall("release")]
    assert versions and versions[0] == __version__, f"newest release {versions[:1]} is not {__version__}"
    assert root.find("provides").findtext("binary") == cfg.EXE_NAME


def test_metainfo_passes_appstreamcli_where_installed():
    tool = shutil.which("appstreamcli")
    if tool is None:
        pytest.skip("appstreamcli is not installed (the well-formedness test above still runs)")
    result = subprocess.run(
        [tool, "validate", "--no-net", str(_metainfo())], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ---------------------------------------------------------------------------------------- icons
def test_icons_render_at_every_size(tmp_path):
    code = f"""
import json, sys
sys.path.insert(0, {str(PACKAGING)!r})
import icons
paths = icons.render({str(tmp_path)!r})
from PySide6.QtGui import QImage
out = []
for p in paths:
    img = QImage(str(p))
    w, h = img.width(), img.height()
    step = max(1, w // 16)
    samples = [img.pixelColor(x, y).alpha() for x in range(0, w, step) for y in range(0, h, step)]
    out.append([p.name, w, h, sum(a > 200 for a in samples) / len(samples)])
print(json.dumps(out))
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rendered = {name: (w, h, opaque) for name, w, h, opaque in json.loads(result.stdout.strip().splitlines()[-1])}
    assert cfg.ICON_SIZES == (16, 24, 32, 48, 64, 128, 256, 512)
    for size in cfg.ICON_SIZES:
        w, h, opaque = rendered[f"{cfg.DESKTOP_ID}-{size}.png"]
        assert (w, h) == (size, size)
        assert opaque > 0.6, f"{size}px icon is mostly transparent ({opaque:.0%} opaque)"


# ---------------------------------------------------------------------------------------- scripts
@pytest.mark.parametrize("script", ["build", "appimage.sh", "deb-roundtrip"])
def test_build_scripts_are_executable_bash(script):
    path = PACKAGING / script
    assert os.access(path, os.X_OK), f"{path} is not executable"
    assert path.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash")
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_build_stays_out_of_ci():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "packaging/build" not in ci


def test_build_outputs_are_ignored():
    ignored = (PACKAGING / ".gitignore").read_text(encoding="utf-8").split()
    assert "build-out/" in ignored and "*.AppImage" in ignored
    assert "build-out" in (PACKAGING / "build").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------- selftest
def test_selftest_command_is_registered_but_hidden():
    help_text = subprocess.run(
        [sys.executable, "-m", "gdl_studio", "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT
    ).stdout
    assert "selftest" not in help_text
    result = subprocess.run(
        [sys.executable, "-m", "gdl_studio", "selftest", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert result.returncode == 0 and "--startup-time" in result.stdout


@pytest.mark.slow
def test_selftest_passes_in_process_with_the_shipped_models(qapp):
    from gdl_studio.selftest import run_selftest

    lines = []
    report = run_selftest(notes=4, points=8, frames=2, spawn=False, echo=lines.append)
    assert report.ok, "\n".join(lines)
    statuses = {c.name: c.status for c in report.checks}
    for name in ("version", "paths", "audio-midi", "models", "music", "ink", "dream", "train", "window"):
        assert statuses[name] == "ok", "\n".join(lines)
    assert statuses["exclusions"] == "skip"  # only meaningful in a frozen bundle
    assert statuses["instrument"] in ("ok", "skip")  # skip: FluidSynth or a SoundFont not installed here
    shipped = sorted(p.name for p in (ROOT / "models").iterdir() if (p / "card.json").is_file())
    assert shipped and all(name in report.by_name("models").detail for name in shipped)
    passed = 10 if statuses["instrument"] == "ok" else 9
    assert lines[-1].startswith(f"selftest: {passed} passed, 0 failed")


def test_selftest_fails_without_models(tmp_path, monkeypatch):
    from gdl_studio.selftest import run_selftest

    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("GDL_STUDIO_MODELS", str(empty))
    report = run_selftest(window=False, spawn=False, echo=None)
    assert not report.ok
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["models"] == "FAIL" and statuses["music"] == "FAIL" and statuses["dream"] == "FAIL"
    assert statuses["version"] == "ok" and statuses["window"] == "skip"


def test_shipped_gzip_files_carry_no_timestamp():
    """lintian fails the .deb on a timestamped gzip (package-contains-timestamped-gzip): compress
    what ships with ``gzip -n``. CI does not build the .deb, so it checks the headers here."""
    stamped = []
    for folder in (ROOT / "resources", ROOT / "models"):
        for path in folder.rglob("*.gz"):
            header = path.read_bytes()[:8]
            assert header[:2] == b"\x1f\x8b", f"{path} is not gzip"
            if int.from_bytes(header[4:8], "little") != 0:
                stamped.append(str(path.relative_to(ROOT)))
    assert stamped == [], f"recompress with gzip -n: {stamped}"
