"""Plain-Python engine core: requests, latest-wins per panel, cooperative cancellation.

A *job* is a callable ``job(ctx) -> Iterator[result]``. The engine pulls one item at a time,
round-robin over the panels that have a running job, and checks for cancellation between
items, so the only cancellation point a job needs is its own ``yield``. A job may yield
:class:`Sleep` to be left alone until a deadline (e.g. a 30 fps game loop) without blocking
the other panels.

``EngineCore`` has no Qt in it: the CLI and tests drive it directly with :meth:`step` /
:meth:`run_until_idle`; :mod:`gdl_studio.engine.worker` runs it on a QThread.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

_ids = itertools.count(1)


@dataclass
class Request:
    """A unit of work for one panel. The newest request of a panel replaces older ones."""

    panel: str
    job: Callable[[JobContext], Iterator[Any]]
    label: str = ""
    id: int = field(default_factory=lambda: next(_ids))


@dataclass(frozen=True)
class Sleep:
    """Yielded by a job: do not step me again before ``until`` (a ``perf_counter`` time)."""

    until: float


@dataclass(frozen=True)
class JobFinished:
    """Emitted once a job's iterator is exhausted."""

    panel: str
    request_id: int
    label: str
    items: int
    seconds: float
    cancelled: bool = False


@dataclass(frozen=True)
class JobError:
    """Emitted when a job raised: ``message`` is one line for a person, ``details`` the traceback."""

    panel: str
    request_id: int
    label: str
    message: str
    details: str = ""


class JobContext:
    """Handed to a job: its request and a way to ask whether it was cancelled."""

    def __init__(self, request: Request, engine: EngineCore) -> None:
        self.request = request
        self._engine = engine

    def cancelled(self) -> bool:
        """True once a newer request for the same panel (or a cancel) superseded this one."""
        return self._engine._is_cancelled(self.request)


@dataclass
class _Running:
    request: Request
    iterator: Iterator[Any] | None
    started: float
    items: int = 0
    not_before: float = 0.0


def human_message(exc: BaseException) -> str:
    """A one-line message for a person from an exception."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    if not text:
        return name
    if name in ("UserError", "ModelUnavailable", "RuntimeError", "Exception"):
        return text
    return f"{text} ({name})"


class EngineCore:
    """Schedules the jobs of several panels on the calling thread.

    Callbacks (``on_result(panel, request_id, item)``, ``on_finished(JobFinished)``,
    ``on_error(JobError)``, ``on_state(str)``) are invoked on the engine's thread; the Qt worker
    turns them into signals.
    """

    def __init__(
        self,
        on_result: Callable[[str, int, Any], None] | None = None,
        on_finished: Callable[[JobFinished], None] | None = None,
        on_error: Callable[[JobError], None] | None = None,
        on_state: Callable[[str], None] | None = None,
    ) -> None:
        self.on_result = on_result or (lambda panel, rid, item: None)
        self.on_finished = on_finished or (lambda info: None)
        self.on_error = on_error or (lambda info: None)
        self.on_state = on_state or (lambda state: None)
        self._lock = threading.Condition()
        self._pending: OrderedDict[str, Request] = OrderedDict()
        self._running: OrderedDict[str, _Running] = OrderedDict()
        self._latest: dict[str, int] = {}
        self._cancelled_ids: set[int] = set()
        self._stopping = False
        self._state = "idle"
        self.before_job: Callable[[], object] | None = None  # e.g. cap torch threads
        # called on the engine's thread when it falls idle after work (e.g. give freed memory back),
        # at most once per ``idle_hook_every_s``
        self.when_idle: Callable[[], object] | None = None
        self.idle_hook_every_s = 10.0
        self._idle_hook_at = -float("inf")

    # ------------------------------------------------------------------ submission (any thread)
    def submit(self, request: Request) -> int:
        """Queue ``request``; any queued or running request of the same panel is superseded."""
        with self._lock:
            self._latest[request.panel] = request.id
            old = self._pending.pop(request.panel, None)
            if old is not None:
                self._cancelled_ids.add(old.id)
            running = self._running.get(request.panel)
            if running is not None:
                self._cancelled_ids.add(running.request.id)
            self._pending[request.panel] = request
            self._lock.notify_all()
        return request.id

    def cancel(self, panel: str) -> None:
        """Cancel whatever the panel has queued or running."""
        with self._lock:
            old = self._pending.pop(panel, None)
            if old is not None:
                self._cancelled_ids.add(old.id)
            running = self._running.get(panel)
            if running is not None:
                self._cancelled_ids.add(running.request.id)
            self._latest[panel] = -1
            self._lock.notify_all()

    def stop(self) -> None:
        """Ask the loop to finish: running jobs are cancelled at their next step."""
        with self._lock:
            self._stopping = True
            for running in self._running.values():
                self._cancelled_ids.add(running.request.id)
            self._pending.clear()
            self._lock.notify_all()

    def is_latest(self, panel: str, request_id: int) -> bool:
        """Whether ``request_id`` is still the newest request of ``panel`` (stale results are ignored)."""
        return self._latest.get(panel) == request_id

    @property
    def state(self) -> str:
        """'idle', 'busy' or 'stopped'."""
        return self._state

    @property
    def busy(self) -> bool:
        with self._lock:
            return bool(self._pending or self._running)

    # ------------------------------------------------------------------ execution (engine thread)
    def _is_cancelled(self, request: Request) -> bool:
        return request.id in self._cancelled_ids or self._stopping

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.on_state(state)

    def _idle_hook_due(self) -> bool:
        return self.when_idle is not None and time.perf_counter() - self._idle_hook_at >= self.idle_hook_every_s

    def _run_idle_hook(self) -> None:
        hook = self.when_idle
        self._idle_hook_at = time.perf_counter()
        if hook is None:
            return
        try:
            hook()
        except Exception:  # a housekeeping hook must never stop the engine
            pass

    def _admit_pending(self) -> None:
        """Start queued requests (called with the lock held)."""
        while self._pending:
            panel, request = self._pending.popitem(last=False)
            self._cancelled_ids.discard(request.id)
            old = self._running.pop(panel, None)
            if old is not None:
                self._close(old, cancelled=True)
            self._running[panel] = _Running(request, None, time.perf_counter())

    def _close(self, running: _Running, cancelled: bool) -> None:
        iterator = running.iterator
        if iterator is not None and hasattr(iterator, "close"):
            try:
                iterator.close()
            except Exception:
                pass
        self.on_finished(
            JobFinished(
                running.request.panel,
                running.request.id,
                running.request.label,
                running.items,
                time.perf_counter() - running.started,
                cancelled,
            )
        )

    def step(self, timeout: float = 0.0) -> bool:
        """Do one unit of work: one item of one job. Waits up to ``timeout`` s for work.

        Returns False once the engine is stopping and idle.
        """
        hook_due = False
        with self._lock:
            if not self._pending and not self._running:
                if self._stopping:
                    return False
                hook_due = self._state != "idle" and self._idle_hook_due()
                self._set_state("idle")
                if not hook_due:
                    if timeout > 0:
                        self._lock.wait(timeout)
                    return not self._stopping or bool(self._running)
        if hook_due:  # outside the lock: submit() from the GUI thread never waits for it
            self._run_idle_hook()
            return True
        with self._lock:
            self._admit_pending()
            # drop cancelled running jobs
            for panel in [p for p, r in self._running.items() if self._is_cancelled(r.request)]:
                self._close(self._running.pop(panel), cancelled=True)
            # only running jobs ask whether they were cancelled: forget the others (bounded memory)
            self._cancelled_ids.intersection_update([r.request.id for r in self._running.values()])
            if not self._running:
                return not self._stopping
            now = time.perf_counter()
            ready = [p for p, r in self._running.items() if r.not_before <= now]
            if not ready:
                wake = min(r.not_before for r in self._running.values())
                self._set_state("busy")
                self._lock.wait(max(0.0, min(wake - now, timeout if timeout > 0 else wake - now)))
                return True
            panel = ready[0]
            running = self._running.pop(panel)
            self._running[panel] = running  # move to the back: round robin
            self._set_state("busy")
        self._advance(running)
        return True

    def _advance(self, running: _Running) -> None:
        request = running.request
        try:
            if running.iterator is None:
                if self.before_job is not None:
                    self.before_job()
                running.iterator = iter(request.job(JobContext(request, self)))
            item = next(running.iterator)
        except StopIteration:
            with self._lock:
                if self._running.get(request.panel) is running:
                    self._running.pop(request.panel)
            self._close(running, cancelled=False)
            return
        except Exception as exc:  # errors come back as messages, the engine lives on
            with self._lock:
                if self._running.get(request.panel) is running:
                    self._running.pop(request.panel)
            self.on_error(
                JobError(request.panel, request.id, request.label, human_message(exc), traceback.format_exc())
            )
            return
        if isinstance(item, Sleep):
            running.not_before = item.until
            return
        running.items += 1
        if not self._is_cancelled(request):
            self.on_result(request.panel, request.id, item)

    def run_until_idle(self, max_seconds: float = 60.0) -> None:
        """Step until nothing is queued or running (for the CLI and tests)."""
        deadline = time.perf_counter() + max_seconds
        while self.busy and time.perf_counter() < deadline:
            self.step(timeout=0.01)

    def run_forever(self) -> None:
        """The worker loop: step until :meth:`stop`."""
        self.on_state(self._state)
        while self.step(timeout=0.1):
            pass
        self._set_state("stopped")
