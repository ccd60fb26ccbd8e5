"""PyInstaller hook for sounddevice: bundle the PortAudio library it loads with ctypes.

Overrides the pyinstaller-hooks-contrib hook (hooks in ``hookspath`` win). macOS and Windows
wheels ship PortAudio in ``_sounddevice_data/portaudio-binaries``: collected to the same place,
where sounddevice looks for it. On Linux sounddevice uses the system ``libportaudio.so.2``
(Debian: ``libportaudio2``): it is collected to the bundle's top folder, and the runtime hook
``rthooks/pyi_rth_gdl_portaudio.py`` makes ``ctypes.util.find_library("portaudio")`` return that
copy, so the bundle runs on systems without PortAudio. Its dependency libasound.so.2 is left to
the host (see ``bundle_config.DROP_PATTERNS``); libjack.so.0 is bundled (PortAudio links it
directly; JACK is optional at run time).
"""

import ctypes.util
import os
import pathlib

from PyInstaller.utils.hooks import get_module_file_attribute, logger

binaries = []
datas = []

module_dir = pathlib.Path(get_module_file_attribute("sounddevice")).parent
wheel_dir = module_dir / "_sounddevice_data" / "portaudio-binaries"
if wheel_dir.is_dir():
    for lib in wheel_dir.glob("libportaudio*.*"):
        binaries.append((str(lib), str(wheel_dir.relative_to(module_dir))))
else:
    name = ctypes.util.find_library("portaudio")
    path = None
    if name:
        if os.path.isabs(name):
            path = name
        else:
            from PyInstaller.depend.bindepend import resolve_library_path

            path = resolve_library_path(name)
    if path and os.path.isfile(path):
        binaries.append((path, "."))
        logger.info("hook-sounddevice (GDL Studio): bundling PortAudio from %s", path)

if not binaries:
    raise SystemExit(
        "hook-sounddevice (GDL Studio): PortAudio not found; install it first "
        "(Debian/Ubuntu: apt-get install libportaudio2; macOS: brew install portaudio)"
    )
