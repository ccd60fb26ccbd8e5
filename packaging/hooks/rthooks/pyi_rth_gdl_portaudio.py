"""Runtime hook (runs before the app): let sounddevice and pyfluidsynth find the bundled PortAudio
and FluidSynth on Linux.

sounddevice calls ``ctypes.util.find_library("portaudio")`` and pyfluidsynth
``find_library("fluidsynth")``, which on Linux ask ldconfig and so find only a system copy. When the
bundle carries ``libportaudio.so*`` (see ``hooks/hook-sounddevice.py``) or ``libfluidsynth.so.3``
(``bundle_config.INSTRUMENT_LIBRARIES``), return that file instead; everything else is unchanged.
"""


def _install():
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return
    base = getattr(sys, "_MEIPASS", None)
    if not base:
        return
    wanted = {"portaudio": ("libportaudio.so.2", "libportaudio.so"), "fluidsynth": ("libfluidsynth.so.3",)}
    bundled = {}
    for name, files in wanted.items():
        path = next((p for p in (os.path.join(base, f) for f in files) if os.path.isfile(p)), None)
        if path is not None:
            bundled[name] = path
    if not bundled:
        return
    import ctypes.util

    original = ctypes.util.find_library

    def find_library(name):
        return bundled.get(name) or original(name)

    ctypes.util.find_library = find_library


_install()
del _install
