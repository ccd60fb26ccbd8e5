"""What goes into the GDL Studio bundle and what stays out: one place, read by the spec and the tests.

Plain data and small helpers only (no PyInstaller import), so ``tests/packaging`` can check the
lists without building anything.

Why each group is excluded:

* ``DATA_AND_TEST_ONLY``: packages that only ``gdl-studio data …`` (training caches) or the test
  suite use. ``gdl_studio.music.corpus`` imports music21 inside functions, which PyInstaller's
  import scan would otherwise follow. NOT in this list although the issue named it: ``sympy``
  (with ``mpmath``): ``torch.optim.Optimizer.step`` imports ``torch._dynamo``, which imports
  sympy, so in-app fine-tuning needs it (``gdl-studio selftest`` runs an optimiser step to prove
  the bundle can train).
* ``UNUSED_QT``: every PySide6 module except QtCore/QtGui/QtWidgets (the app) and
  QtOpenGL/QtOpenGLWidgets (imported unconditionally by pyqtgraph). pyqtgraph imports QtSvg and
  QtTest inside ``try`` and copes without them; the SVG icons are read by Qt's SVG image plugin,
  which is a C++ plugin (``libQt6Svg``), not the Python module.
* ``UNUSED_TORCH``: torch subpackages that neither the app, the CLI, nor an optimiser step
  import (checked by ``tests/packaging/test_packaging_files.py`` in a fresh interpreter that
  imports every app module and runs a training step, and by the bundle's selftest).
* ``UNUSED_STDLIB_AND_NETWORK``: HTTP clients, certificates, YAML, sqlite, readline: the app is
  offline; only torch's hub/profiler/debug tools import them, lazily.
"""

from __future__ import annotations

import fnmatch
import posixpath

APP_NAME = "GDL Studio"
EXE_NAME = "gdl-studio"
APP_ID = "io.github.gdlstudio.GDLStudio"  # AppStream id, macOS bundle id
DESKTOP_ID = "gdl-studio"  # QGuiApplication.setDesktopFileName() in gdl_studio/ui/shell/launch.py
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)

DATA_AND_TEST_ONLY = (
    "music21",
    "kanji",  # the kanjivg distribution's package
    "kanjivg",
    "matplotlib",
    "networkx",
    "pytest",
    "_pytest",
    "pytestqt",
    "pluggy",
    "iniconfig",
    "miditok",
    "symusic",
    "huggingface_hub",
    "hf_xet",
    "tokenizers",
    "jinja2",
    "pygments",
    "IPython",
    "tkinter",
    "_tkinter",
    "setuptools",
    "pkg_resources",
    "pip",
    "wheel",
    "PyInstaller",
)

USED_QT = ("QtCore", "QtGui", "QtWidgets", "QtOpenGL", "QtOpenGLWidgets")
UNUSED_QT = tuple(
    f"PySide6.{name}"
    for name in (
        "Qt3DAnimation", "Qt3DCore", "Qt3DExtras", "Qt3DInput", "Qt3DLogic", "Qt3DRender",
        "QtAxContainer", "QtBluetooth", "QtCharts", "QtConcurrent", "QtDataVisualization", "QtDBus",
        "QtDesigner", "QtGraphs", "QtGraphsWidgets", "QtHelp", "QtHttpServer", "QtLocation",
        "QtMultimedia", "QtMultimediaWidgets", "QtNetwork", "QtNetworkAuth", "QtNfc", "QtPdf",
        "QtPdfWidgets", "QtPositioning", "QtPrintSupport", "QtQml", "QtQuick", "QtQuick3D",
        "QtQuickControls2", "QtQuickTest", "QtQuickWidgets", "QtRemoteObjects", "QtScxml",
        "QtSensors", "QtSerialBus", "QtSerialPort", "QtSpatialAudio", "QtSql", "QtStateMachine",
        "QtSvg", "QtSvgWidgets", "QtTest", "QtTextToSpeech", "QtUiTools", "QtWebChannel",
        "QtWebEngineCore", "QtWebEngineQuick", "QtWebEngineWidgets", "QtWebSockets", "QtWebView",
        "QtXml",
    )
)

UNUSED_TORCH = (  # only subpackages that nothing loads (torch._dynamo alone pulls in fsdp, rpc, onnx, …)
    "torch.utils.tensorboard",
    "torch.utils.benchmark",
    "torch.utils.bottleneck",
    "torch.utils.hipify",
    "torch._lazy",
    "torch.contrib",
    "torch.nativert",
    "torch.distributed.pipelining",
    "torch.distributed.elastic",
    "torch.distributed.launcher",
    "torch._inductor.codegen",
    "torch._inductor.kernel",
    "torch._inductor.fx_passes",
    "torch._inductor.autoheuristic",
    "sympy.physics",
    "sympy.stats",
    "sympy.testing",
)

# The app is offline: no HTTP clients, certificates, YAML, databases or terminals. (Only torch's
# hub/profiler/distributed debugging and numpy's config printer import these, lazily.)
UNUSED_STDLIB_AND_NETWORK = (
    "requests",
    "urllib3",
    "certifi",
    "chardet",
    "charset_normalizer",
    "idna",
    "cryptography",
    "httpx2",
    "httpcore2",
    "anyio",
    "h11",
    "truststore",
    "pySmartDL",
    "fsspec",
    "yaml",
    "sqlite3",
    "_sqlite3",
    "dbm",
    "readline",
    "curses",
    "_curses",
)

# Excluded although imported at run time: pyqtgraph imports these inside ``try`` and works
# without them (the bundle's selftest proves it). The import probe allows exactly these.
OPTIONAL_AT_RUN_TIME = ("PySide6.QtSvg", "PySide6.QtTest")

EXCLUDES = DATA_AND_TEST_ONLY + UNUSED_QT + UNUSED_TORCH + UNUSED_STDLIB_AND_NETWORK

# Files dropped from the collected binaries and data (matched against the path inside the bundle,
# with "/" separators). Headers, static libraries, CMake files, C++ test programs, Qt parts the
# app does not load, translations (the app installs no QTranslator).
DROP_PATTERNS = (
    "torch/include/*",
    "torch/share/*",
    "torch/bin/*",  # C++ test programs and protoc; torch_shm_manager is kept (NEVER_DROPPED)
    "torch/test/*",
    "torch/lib/libtorchbind_test.so",
    "torch/lib/libjitbackend_test.so",
    "torch/lib/libbackend_with_compiler.so",
    "torch/lib/libaoti_custom_ops.so",
    "torch/lib/*.a",
    "torch/lib/*.lib",
    "*.a",
    "*.pyi",
    "*.cmake",
    "*/py.typed",
    "torch/utils/model_dump/*",
    "torchgen/packaged/*",
    "PySide6/Qt/translations/*",
    "PySide6/Qt/qml/*",
    "PySide6/Qt/plugins/platforms/libqeglfs.so",
    "PySide6/Qt/plugins/platforms/libqlinuxfb.so",
    "PySide6/Qt/plugins/platforms/libqminimalegl.so",
    "PySide6/Qt/plugins/platforms/libqvnc.so",
    "PySide6/Qt/plugins/platforms/libqvkkhrdisplay.so",
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so",  # pulls in GTK 3, cairo, pango (~20 MB)
    "PySide6/Qt/plugins/egldeviceintegrations/*",
    "PySide6/Qt/plugins/networkinformation/*",
    "PySide6/Qt/plugins/tls/*",
    "PySide6/Qt/plugins/sqldrivers/*",
    "PySide6/Qt/plugins/printsupport/*",
    "PySide6/Qt/plugins/qmltooling/*",
    "PySide6/Qt/plugins/designer/*",
    "PySide6/Qt/plugins/wayland-graphics-integration-server/*",
    "PySide6/Qt/lib/libQt6EglFSDeviceIntegration.so.6",
    "PySide6/Qt/lib/libQt6EglFsKmsSupport.so.6",
    "PySide6/Qt/lib/libQt6Network.so.6",
    "PySide6/Qt/lib/libQt6Qml*.so.6",
    "PySide6/Qt/lib/libQt6Quick*.so.6",
    "PySide6/Qt/lib/libQt6Pdf*.so.6",
    "PySide6/Qt/lib/libQt6WaylandCompositor*.so.6",
    "PySide6/Qt/lib/libQt6WaylandEglCompositor*.so.6",
    # pygame is there for the CarRacing renderer (display, draw, font, surfarray); its sound
    # modules pull in SDL_mixer and a dozen codec libraries, its image-file module SDL_image with
    # TIFF/WebP/JPEG. `import pygame` copes without them (try/except), and nothing loads files.
    "pygame/mixer.*",
    "pygame/mixer_music.*",
    "pygame/imageext.*",
    "pygame/docs/*",
    "pygame/examples/*",
    "pygame/tests/*",
    "numpy/*/tests/*",
    "numpy/tests/*",
    # ALSA must be the host's (its plugins and configuration live on the host); it is on every
    # Linux desktop. Listed on the AppImage project's exclude list for the same reason.
    "libasound.so.2",
)


# Linux: libraries in the bundle's top folder or in a wheel's vendored-library folder
# (``*.libs/``) that no kept binary needs (after the drops above) are pruned too, except these,
# which are opened by name at run time (the bootloader, ctypes).
KEEP_TOP_LEVEL = ("libpython*", "libportaudio*")

# Linux: binaries whose symbol tables are stripped (``strip --strip-unneeded``): torch's libraries
# ship unstripped (~100 MB of symbols), so do a self-built Python's libpython and extension
# modules (pyenv: ~25 MB) and Box2D's SWIG module (~8 MB). Not everything: libraries rewritten by
# auditwheel/patchelf (numpy's OpenBLAS, anything in ``*.libs/``, numpy's and Pillow's extension
# modules) break when stripped ("ELF load command address/offset not page-aligned").
STRIP_PATTERNS = (
    "torch/lib/*.so*",
    "libpython*.so*",
    "python3.*/lib-dynload/*.so",
    "Box2D/_Box2D*.so",
)


# Exceptions to DROP_PATTERNS: ``import torch`` fails without its shared-memory manager.
NEVER_DROPPED = ("torch/bin/torch_shm_manager",)


def dropped(dest: str) -> bool:
    """Whether a bundle path (``dest`` of a PyInstaller TOC entry) is left out."""
    dest = dest.replace("\\", "/")
    if dest in NEVER_DROPPED:
        return False
    return any(fnmatch.fnmatchcase(dest, pattern) for pattern in DROP_PATTERNS)


def excluded(module: str) -> bool:
    """Whether a module name is excluded (itself or a parent package is in EXCLUDES)."""
    return any(module == name or module.startswith(name + ".") for name in EXCLUDES)


def without_dangling_symlinks(entries: list[tuple]) -> list[tuple]:
    """PyInstaller TOC entries minus the ``SYMLINK`` ones whose target is no longer collected.

    PyInstaller links libraries found in a subfolder (``pygame.libs/…``) from the top folder;
    once DROP_PATTERNS or the pruning removed the target, the link would dangle.
    """
    present = {dest.replace("\\", "/") for dest, _src, kind in entries if kind != "SYMLINK"}
    kept = []
    for dest, src, kind in entries:
        if kind == "SYMLINK":
            dest_posix = dest.replace("\\", "/")
            target = posixpath.normpath(posixpath.join(posixpath.dirname(dest_posix), src.replace("\\", "/")))
            if target not in present:
                continue
        kept.append((dest, src, kind))
    return kept
