"""Runtime hook (runs before the app): let sounddevice find the bundled PortAudio on Linux.

sounddevice calls ``ctypes.util.find_library("portaudio")``, which on Linux asks ldconfig and so
finds only a system copy. When the bundle carries ``libportaudio.so*`` (see
``hooks/hook-sounddevice.py``), return that file instead; everything else is unchanged.
"""


def _install():
    import os
    import sys

    if not sys.platform.startswith("linux"):
        return
    base = getattr(sys, "_MEIPASS", None)
    if not base:
        return
    candidates = [os.path.join(base, n) for n in ("libportaudio.so.2", "libportaudio.so")]
    bundled = next((p for p in candidates if os.path.isfile(p)), None)
    if bundled is None:
        return
    import ctypes.util

    original = ctypes.util.find_library

    def find_library(name):
        if name == "portaudio":
            return bundled
        return original(name)

    ctypes.util.find_library = find_library


_install()
del _install
