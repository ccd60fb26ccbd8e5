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
* ``GPL_ONLY_OPTIONAL``: optional extras under GPL-only licences (``aalink``, the Ableton Link
  binding, GPL-3.0): the app works without them, and the bundle (MIT, with LGPL/BSD/MIT parts)
  must not carry them. Installed from source they still work.

The GM instrument (issue #14) ships inside the bundle: libfluidsynth with the libraries it needs
that are not on every desktop (``INSTRUMENT_LIBRARIES``; the others are the host's,
``INSTRUMENT_HOST_LIBRARIES``, each with its reason), the FluidR3Mono GM SoundFont (MIT) and the
licence files of all of them (``INSTRUMENT_DATA``).
"""

from __future__ import annotations

import fnmatch
import os
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
        "Qt3DAnimation",
        "Qt3DCore",
        "Qt3DExtras",
        "Qt3DInput",
        "Qt3DLogic",
        "Qt3DRender",
        "QtAxContainer",
        "QtBluetooth",
        "QtCharts",
        "QtConcurrent",
        "QtDataVisualization",
        "QtDBus",
        "QtDesigner",
        "QtGraphs",
        "QtGraphsWidgets",
        "QtHelp",
        "QtHttpServer",
        "QtLocation",
        "QtMultimedia",
        "QtMultimediaWidgets",
        "QtNetwork",
        "QtNetworkAuth",
        "QtNfc",
        "QtPdf",
        "QtPdfWidgets",
        "QtPositioning",
        "QtPrintSupport",
        "QtQml",
        "QtQuick",
        "QtQuick3D",
        "QtQuickControls2",
        "QtQuickTest",
        "QtQuickWidgets",
        "QtRemoteObjects",
        "QtScxml",
        "QtSensors",
        "QtSerialBus",
        "QtSerialPort",
        "QtSpatialAudio",
        "QtSql",
        "QtStateMachine",
        "QtSvg",
        "QtSvgWidgets",
        "QtTest",
        "QtTextToSpeech",
        "QtUiTools",
        "QtWebChannel",
        "QtWebEngineCore",
        "QtWebEngineQuick",
        "QtWebEngineWidgets",
        "QtWebSockets",
        "QtWebView",
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

# Optional extras under GPL-only licences: never bundled (the app imports them inside ``try`` and
# works without them), so the bundle stays redistributable under the project's licence.
GPL_ONLY_OPTIONAL = (
    "aalink",  # Ableton Link (Link itself and the binding: GPL-3.0); MIDI clock sync needs none of it
)

EXCLUDES = DATA_AND_TEST_ONLY + UNUSED_QT + UNUSED_TORCH + UNUSED_STDLIB_AND_NETWORK + GPL_ONLY_OPTIONAL

# Qt plugin types (folders under PySide6/Qt/plugins/) the bundle keeps; PyInstaller's Qt hook
# collects every plugin of the types its modules name, and any other type is dropped (a plugin
# type that a new PySide6 adds stays out until someone adds it here). Plugins in a kept type that
# need a Qt library the bundle leaves out are dropped by name in DROP_PATTERNS;
# tests/packaging/test_qt_plugins.py reads every kept plugin's ELF dependencies in the installed
# PySide6 and fails when one needs a dropped Qt library or a system library not in
# SYSTEM_LIBRARIES.
QT_PLUGIN_TYPES = {
    "platforms": "the window system: xcb (X11), wayland, offscreen (selftest, screenshots), minimal",
    "xcbglintegrations": "OpenGL on X11 (pyqtgraph uses QtOpenGL)",
    "wayland-shell-integration": "Wayland windows (xdg-shell), loaded by the wayland platform",
    "wayland-decoration-client": "window decorations on Wayland compositors without server-side ones",
    "wayland-graphics-integration-client": "OpenGL on Wayland (wayland-egl)",
    "platforminputcontexts": "compose key and IBus input methods",
    "platformthemes": "xdg-desktop-portal (file dialogs in sandboxes); not GTK 3 (DROP_PATTERNS)",
    "imageformats": "the SVG icons (qsvg) and other image files",
    "iconengines": "the SVG icons at every size (qsvgicon)",
    "styles": "widget styles (none ship in PySide6-Essentials on Linux)",
    "accessiblebridge": "accessibility (none ship in PySide6-Essentials on Linux)",
}
# Left out (not in QT_PLUGIN_TYPES), e.g.: "generic" (the TUIO touch plugin needs libQt6Network; the
# evdev/libinput plugins serve only the embedded eglfs/linuxfb platforms), "egldeviceintegrations"
# (eglfs), "networkinformation" and "tls" (QtNetwork), "sqldrivers", "printsupport", "qmltooling",
# "qmllint", "designer", "vectorimageformats" (QtQuick), "wayland-graphics-integration-server"
# (a compositor's side).

# The system libraries that the bundled Qt (the modules the app uses and the kept plugins) and
# the audio stack link to, with the Debian/Ubuntu package of each. PyInstaller copies most of them
# from the build machine into the bundle, so they must be installed where it builds
# (``packaging/build`` installs these packages with apt where it can); it leaves glibc, OpenGL/EGL,
# libxcb, libdrm and libwayland-* to the host (its own exclusion list: they must match the host's
# graphics stack), and the spec leaves ALSA to the host (see DROP_PATTERNS). The .deb's Depends
# are computed from the bundle itself (dpkg-shlibdeps), not from this table.
SYSTEM_LIBRARIES = {
    # glibc and the C++ runtime
    "libc.so.6": "libc6",
    "libm.so.6": "libc6",
    "ld-linux-x86-64.so.2": "libc6",
    "libdl.so.2": "libc6",
    "libpthread.so.0": "libc6",
    "librt.so.1": "libc6",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
    # QtCore, QtGui
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libX11.so.6": "libx11-6",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libdbus-1.so.3": "libdbus-1-3",
    # X11 (xcb platform, xcbglintegrations)
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-glx.so.0": "libxcb-glx0",
    # Wayland (wayland platform and its plugins)
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    # audio: PortAudio (sounddevice's hook bundles the system's), ALSA (the host's), JACK (PortAudio's)
    "libportaudio.so.2": "libportaudio2",
    "libasound.so.2": "libasound2",
    "libjack.so.0": "libjack-jackd2-0",
}
# Debian packages the build itself needs: strip (the spec strips torch's libraries).
BUILD_TOOLS_DEBS = ("binutils",)
# ... and `packaging/build --deb`: dpkg-shlibdeps (Depends), lintian (the package check),
# desktop-file-validate and appstreamcli (the desktop entry and the metainfo).
DEB_TOOLS_DEBS = ("dpkg-dev", "lintian", "desktop-file-utils", "appstream")


def build_debs(deb: bool = False) -> list[str]:
    """The Debian packages ``packaging/build`` installs (with apt) before building."""
    names = set(SYSTEM_LIBRARIES.values()) | set(BUILD_TOOLS_DEBS) | set(INSTRUMENT_DEBS)
    names |= {deb for deb, _why in INSTRUMENT_HOST_LIBRARIES.values()}
    if deb:
        names |= set(DEB_TOOLS_DEBS)
    return sorted(names)


# ---------------------------------------------------------------------------- the GM instrument
# FluidSynth (libfluidsynth through pyfluidsynth) and a General MIDI SoundFont ship inside the
# bundle, so the Compose panel plays a real instrument on a desktop without them. The spec copies
# what INSTRUMENT_LIBRARIES and INSTRUMENT_DATA name from the build machine (``packaging/build``
# installs INSTRUMENT_DEBS there); the runtime hook ``hooks/rthooks/pyi_rth_gdl_portaudio.py``
# points pyfluidsynth at the bundled libfluidsynth and ``gdl_studio.live.instrument`` looks at the
# bundled SoundFont and library first when frozen.
#
# libfluidsynth links 17 libraries directly. Bundled: those that are not on every desktop and do
# not talk to a host service, {soname: (Debian package, licence, why)}:
INSTRUMENT_LIBRARIES = {
    "libfluidsynth.so.3": (
        "libfluidsynth3",
        "LGPL-2.1-or-later",
        "the synthesiser itself; only music software installs it",
    ),
    "libinstpatch-1.0.so.2": (
        "libinstpatch-1.0-2",
        "LGPL-2.1-only",
        "FluidSynth's SoundFont/DLS loader; nothing but FluidSynth installs it",
    ),
    "libgomp.so.1": (
        "libgomp1",
        "GPL-3.0-or-later WITH GCC-exception-3.1",
        "GCC's OpenMP runtime (FluidSynth's parallel voice rendering); comes with compilers, "
        "not with every desktop; the GCC Runtime Library Exception allows shipping it",
    ),
}
# Left to the host, {soname: (Debian package, why)}: the .deb Depends on their packages
# (dpkg-shlibdeps finds them, as the bundle's libfluidsynth links them); an AppImage user without
# one gets the additive synth with the loader's message (the app itself still runs). Their own
# dependencies (libtinfo, PulseAudio's libpulsecommon/libsystemd, libsndfile's codecs, SDL2's X11/
# Wayland/libdecor/libgbm) stay out with them: the spec's pruning follows only kept libraries.
INSTRUMENT_HOST_LIBRARIES = {
    "libreadline.so.8": (
        "libreadline8",
        "GPL-3.0-or-later without exception: not shipped in the MIT bundle (FluidSynth "
        "links it only for its interactive shell, which the app never starts); on every "
        "Debian/Ubuntu system (python3, gnupg and bash's tools depend on it)",
    ),
    "libSDL2-2.0.so.0": (
        "libsdl2-2.0-0",
        "FluidSynth's optional SDL audio driver (never used: the app renders into its own "
        "PortAudio stream); SDL2 loads the host's X11/Wayland/libdecor/GBM and must match "
        "them, so it is the host's like those (pygame carries its own, renamed, SDL2)",
    ),
    "libpulse.so.0": (
        "libpulse0",
        "the PulseAudio/PipeWire client: must match the host's sound server; on every desktop",
    ),
    "libpulse-simple.so.0": ("libpulse0", "the same package as libpulse.so.0, for the same reason"),
    "libsndfile.so.1": (
        "libsndfile1",
        "on every desktop with PulseAudio or PipeWire (libpulse0 depends on it); it pulls "
        "in six codec libraries that the bundle need not carry",
    ),
}
# The SoundFont and the licence files, {bundle path: (source on the build machine, Debian package)}.
SOUNDFONT_NAME = "FluidR3Mono_GM.sf3"
INSTRUMENT_DATA = {
    # where gdl_studio.core.paths.resources_dir() / "soundfonts" is in the bundle
    f"gdl_studio/_bundled/resources/soundfonts/{SOUNDFONT_NAME}": (
        f"/usr/share/sounds/sf3/{SOUNDFONT_NAME}",
        "fluidr3mono-gm-soundfont",
    ),
    f"gdl_studio/_bundled/resources/soundfonts/{SOUNDFONT_NAME}.copyright": (
        "/usr/share/doc/fluidr3mono-gm-soundfont/copyright",
        "fluidr3mono-gm-soundfont",
    ),  # MIT
    "licenses/libfluidsynth3.copyright": ("/usr/share/doc/libfluidsynth3/copyright", "libfluidsynth3"),
    "licenses/libinstpatch-1.0-2.copyright": ("/usr/share/doc/libinstpatch-1.0-2/copyright", "libinstpatch-1.0-2"),
    "licenses/libgomp1.copyright": ("/usr/share/doc/libgomp1/copyright", "libgomp1"),
}
INSTRUMENT_DEBS = tuple(
    sorted({deb for deb, *_ in INSTRUMENT_LIBRARIES.values()} | {deb for _src, deb in INSTRUMENT_DATA.values()})
)
LIBRARY_DIRS = (
    "/usr/lib/x86_64-linux-gnu",
    "/lib/x86_64-linux-gnu",
    "/usr/lib/aarch64-linux-gnu",
    "/lib/aarch64-linux-gnu",
    "/usr/lib64",
    "/usr/lib",
)


def _find_library_file(soname: str) -> str | None:
    for folder in LIBRARY_DIRS:
        path = os.path.join(folder, soname)
        if os.path.isfile(path):
            return path
    return None


def instrument_binaries() -> list[tuple[str, str]]:
    """(source, destination folder) of each INSTRUMENT_LIBRARIES file on this (Linux) machine, for
    the spec's ``binaries``; raises SystemExit naming the package to install when one is missing."""
    out, missing = [], []
    for soname, (deb, *_rest) in INSTRUMENT_LIBRARIES.items():
        path = _find_library_file(soname)
        if path is None:
            missing.append(deb)
        else:
            out.append((path, "."))
    if missing:
        raise SystemExit(f"bundle_config: the GM instrument's libraries are missing; install: {' '.join(missing)}")
    return out


def instrument_datas(stage: str) -> list[tuple[str, str]]:
    """(source, destination folder) of each INSTRUMENT_DATA file, for the spec's ``datas``: each is
    copied first to its bundle path under ``stage`` (the licence files are all called
    ``copyright`` on the build machine, and the SoundFont's system path is a symbolic link)."""
    import shutil

    missing = sorted({deb for src, deb in INSTRUMENT_DATA.values() if not os.path.isfile(src)})
    if missing:
        raise SystemExit(f"bundle_config: the GM instrument's files are missing; install: {' '.join(missing)}")
    out = []
    for dest, (src, _deb) in INSTRUMENT_DATA.items():
        staged = os.path.join(stage, *dest.split("/"))
        os.makedirs(os.path.dirname(staged), exist_ok=True)
        shutil.copyfile(src, staged)
        out.append((staged, posixpath.dirname(dest)))
    return out


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
    # Qt plugins: only the types in QT_PLUGIN_TYPES are kept (see there); within those, these go:
    "PySide6/Qt/plugins/platforms/libqeglfs.so",  # full-screen EGL without a window system (embedded)
    "PySide6/Qt/plugins/platforms/libqlinuxfb.so",  # Linux framebuffer (embedded)
    "PySide6/Qt/plugins/platforms/libqminimalegl.so",
    "PySide6/Qt/plugins/platforms/libqvnc.so",  # a VNC server: needs libQt6Network
    "PySide6/Qt/plugins/platforms/libqvkkhrdisplay.so",
    "PySide6/Qt/plugins/platformthemes/libqgtk3.so",  # pulls in GTK 3, cairo, pango (~20 MB)
    "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",  # QtQuick, QtQml, QtNetwork
    "PySide6/Qt/plugins/imageformats/libqpdf.so",  # QtPdf
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
    # glibc's vector maths library (soundfile's wheel libsndfile links it): part of glibc like
    # libm, which PyInstaller leaves to the host; a bundled copy calls GLIBC_PRIVATE symbols, so
    # dpkg-shlibdeps made the .deb Depend on "libc6 (<< 2.37)", i.e. only the build machine's glibc.
    "libmvec.so.1",
    # The GM instrument's host libraries (INSTRUMENT_HOST_LIBRARIES: GPL-only readline, SDL2,
    # PulseAudio, libsndfile), and with them everything only they needed (the spec's pruning).
    *INSTRUMENT_HOST_LIBRARIES,
)


# Linux: libraries in the bundle's top folder or in a wheel's vendored-library folder
# (``*.libs/``) that no kept binary needs (after the drops above) are pruned too, except these,
# which are opened by name at run time (the bootloader, ctypes).
KEEP_TOP_LEVEL = ("libpython*", "libportaudio*", "libfluidsynth*")

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


QT_PLUGINS_DIR = "PySide6/Qt/plugins/"


def qt_plugin_type(dest: str) -> str | None:
    """The plugin type (folder under ``PySide6/Qt/plugins/``) of a bundle path, or None."""
    dest = dest.replace("\\", "/")
    if not dest.startswith(QT_PLUGINS_DIR):
        return None
    return dest[len(QT_PLUGINS_DIR) :].split("/", 1)[0]


def dropped(dest: str) -> bool:
    """Whether a bundle path (``dest`` of a PyInstaller TOC entry) is left out."""
    dest = dest.replace("\\", "/")
    if dest in NEVER_DROPPED:
        return False
    plugin_type = qt_plugin_type(dest)
    if plugin_type is not None and plugin_type not in QT_PLUGIN_TYPES:
        return True
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


if __name__ == "__main__":  # `python packaging/bundle_config.py --debs [--deb]`: for packaging/build
    import sys

    if sys.argv[1:2] == ["--debs"]:
        print(" ".join(build_debs(deb="--deb" in sys.argv[2:])))
    else:
        print("usage: python packaging/bundle_config.py --debs [--deb]", file=sys.stderr)
        raise SystemExit(64)
