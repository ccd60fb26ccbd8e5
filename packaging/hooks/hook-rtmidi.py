"""PyInstaller hook for python-rtmidi (module ``rtmidi``), used for MIDI in/out and virtual ports.

The extension ``rtmidi._rtmidi`` links ALSA (libasound, left to the host) and JACK. The Linux
wheels vendor their own libjack in a sibling folder (``python_rtmidi.libs`` or, in some
auditwheel versions, ``python_rtmidi.``) and find it through the extension's RPATH
(``$ORIGIN/../<that folder>``). The library is collected into a folder of the same name so that
RPATH still resolves in the bundle, whatever PyInstaller's dependency scan does. macOS (CoreMIDI)
and Windows (WinMM) need nothing extra: those are system frameworks/DLLs.
"""

import pathlib

from PyInstaller.utils.hooks import get_module_file_attribute, logger

hiddenimports = ["rtmidi._rtmidi", "rtmidi.midiconstants", "rtmidi.midiutil"]
binaries = []

package_dir = pathlib.Path(get_module_file_attribute("rtmidi")).parent
site = package_dir.parent
for libdir in sorted(site.glob("python_rtmidi.*")):
    if libdir.is_dir() and not libdir.name.endswith(".dist-info"):
        for lib in sorted(libdir.glob("*.so*")) + sorted(libdir.glob("*.dylib")) + sorted(libdir.glob("*.dll")):
            binaries.append((str(lib), libdir.name))
            logger.info("hook-rtmidi (GDL Studio): bundling %s", lib.name)
