"""Work around a reference-count bug of PySide6 6.12.0 on Python < 3.12.

In that release, methods that return nothing (``QPainter.drawLine``, ``setPen``, ``setFont``, …)
give back ``None`` without taking a reference to it, so every call lowers ``None``'s reference
count by one; after some thousands of painted lines the interpreter aborts with
"Fatal Python error: none_dealloc: deallocating None". PySide6 6.11.x does not do this, and on
Python 3.12+ ``None`` is immortal, so the bug is harmless there.

:func:`protect_none` adds 2**40 references to ``None`` once, which makes it as good as immortal
for the life of the process (None is never freed anyway). The proper fix is to not use
PySide6 6.12.0 on Python 3.11 (see the Compose report).
"""

from __future__ import annotations

import sys

_done = False


def affected() -> bool:
    """Whether this interpreter and PySide6 have the bug."""
    if sys.version_info >= (3, 12):
        return False
    try:
        import PySide6
    except ImportError:
        return False
    return PySide6.__version__.startswith("6.12.0")


def protect_none() -> bool:
    """Apply the workaround once where needed; returns whether it was applied."""
    global _done
    if _done or not affected():
        return _done
    import ctypes

    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40
    _done = True
    return True
