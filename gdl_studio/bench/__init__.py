"""Benchmarks that need the whole app (the UI included): ``gdl-studio bench ui``, ``bench finetune``,
the GUI figure of ``bench live``, ``bench soak``.

This package sits above every other one (see ARCHITECTURE.md): a benchmark of one area that
needs no Qt stays in its area (``music/bench.py``, ``live/bench.py``, …); the part of it that
opens a window lives here, so that no lower layer imports :mod:`gdl_studio.ui`.
"""
