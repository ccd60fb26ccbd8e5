"""The engine on its own QThread: signals carry results back to the GUI thread.

Only QtCore is used here (no widgets). Results are plain Python objects / numpy arrays /
dataclasses; the GUI connects to the signals and must ignore results whose request id is no
longer the newest of its panel (``Engine.is_latest``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from gdl_studio.core.memory import release_free_memory
from gdl_studio.engine.core import EngineCore, JobContext, JobError, JobFinished, Request
from gdl_studio.engine.threads import cap_threads_lazily


class _Thread(QThread):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.setObjectName("gdl-engine")
        self._engine = engine

    def run(self) -> None:  # runs on the engine thread
        cap_threads_lazily()
        self._engine.core.before_job = cap_threads_lazily
        # jobs free big buffers (frames, KV caches, models swapped out): give those pages back
        self._engine.core.when_idle = release_free_memory
        self._engine.core.run_forever()


class Engine(QObject):
    """The one long-lived inference engine of the app.

    ``submit(panel, job, label)`` queues a job (see :mod:`gdl_studio.engine.core`); the newest
    request of a panel wins. Signals: ``result(panel, request_id, item)``,
    ``finished(JobFinished)``, ``error(JobError)``, ``state(str)`` and
    ``latency(label, seconds)`` (time to the first result of each job).
    """

    result = Signal(str, int, object)
    finished = Signal(object)
    error = Signal(object)
    state = Signal(str)
    latency = Signal(str, float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._first_pending: dict[int, tuple[str, float]] = {}
        self._meta_lock = threading.Lock()
        self.core = EngineCore(
            on_result=self._on_result,
            on_finished=self._on_finished,
            on_error=self._on_error,
            on_state=self.state.emit,
        )
        self._thread = _Thread(self)

    def start(self) -> None:
        """Start the worker thread (idempotent)."""
        if not self._thread.isRunning():
            self._thread.start()

    def submit(self, panel: str, job: Callable[[JobContext], Iterator[Any]], label: str = "") -> int:
        """Queue ``job`` for ``panel``; returns the request id."""
        request = Request(panel=panel, job=job, label=label)
        with self._meta_lock:
            self._first_pending[request.id] = (label, time.perf_counter())
        return self.core.submit(request)

    def cancel(self, panel: str) -> None:
        """Cancel the panel's queued or running job."""
        self.core.cancel(panel)

    def is_latest(self, panel: str, request_id: int) -> bool:
        """Whether a result of ``request_id`` is still wanted by ``panel``."""
        return self.core.is_latest(panel, request_id)

    def _on_result(self, panel: str, request_id: int, item: Any) -> None:
        with self._meta_lock:
            pending = self._first_pending.pop(request_id, None)
        if pending is not None:
            label, t0 = pending
            self.latency.emit(label, time.perf_counter() - t0)
        self.result.emit(panel, request_id, item)

    def _forget(self, request_id: int) -> None:
        """A job that ended before its first result has no latency to report: drop its start time."""
        with self._meta_lock:
            self._first_pending.pop(request_id, None)

    def _on_finished(self, info: JobFinished) -> None:
        self._forget(info.request_id)
        self.finished.emit(info)

    def _on_error(self, info: JobError) -> None:
        self._forget(info.request_id)
        self.error.emit(info)

    def shutdown(self, timeout_s: float | None = None) -> bool:
        """Stop the worker and join its thread; returns whether the thread has ended.

        Running jobs are cancelled at their next step, so this waits for the step in progress
        (a model load can take seconds on a busy machine). With ``timeout_s`` it waits no longer
        and may return False with the thread still running: only for callers that can wait
        again, since a thread left running when the app exits takes the process down.
        """
        self.core.stop()
        if timeout_s is None:
            return self._thread.wait()  # returns at once if the thread never started or has ended
        return self._thread.wait(max(0, int(timeout_s * 1000)))

    @property
    def running(self) -> bool:
        return self._thread.isRunning()
