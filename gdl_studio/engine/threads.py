"""CPU thread budget: leave a core for the GUI and the audio callback."""

from __future__ import annotations

import os


def inference_threads() -> int:
    """Threads torch may use for inference: all cores but one, at least one.

    ``GDL_STUDIO_THREADS`` overrides it.
    """
    env = os.environ.get("GDL_STUDIO_THREADS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, (os.cpu_count() or 2) - 1)


def cap_threads_lazily() -> int:
    """Cap torch's threads without importing torch on this thread.

    If torch is already imported the cap is applied now; otherwise OMP_NUM_THREADS is set so
    that torch starts with the cap when it is first imported (importing torch takes seconds,
    which would delay a clean shutdown of the engine thread).
    """
    import sys

    n = inference_threads()
    if "torch" in sys.modules:
        return cap_torch_threads(n)
    os.environ.setdefault("OMP_NUM_THREADS", str(n))
    os.environ.setdefault("MKL_NUM_THREADS", str(n))
    return n


def cap_torch_threads(n: int | None = None) -> int:
    """Cap torch's intra- and inter-op threads; returns the cap applied."""
    import torch

    n = n or inference_threads()
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass  # already set once in this process
    return n


def preload_torch() -> None:
    """Import torch now, with the thread cap, before the GUI runs.

    Importing torch holds the GIL for stretches of ~0.2 s (loading and initialising libtorch).
    Done lazily on the engine thread, that froze the GUI when the user first asked for a
    generation; done at start-up, before PySide6's import hook is installed, it costs about a
    second before the window appears and never stalls the running UI.
    """
    cap_threads_lazily()
    try:
        import torch  # noqa: F401
    except ImportError:
        return  # the panels say what is missing
    cap_torch_threads()
