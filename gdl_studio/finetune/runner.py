"""Runs fine-tuning jobs one after another in a child process, apart from the inference engine.

Training in a separate process keeps the GUI thread and the inference engine responsive (no
shared GIL) and makes Cancel immediate and safe: the child only writes the personal model, and
only atomically, at its very end. ``FinetuneRunner`` is plain Python; the training dock polls it
from a QTimer and the CLI runs a family function in-process instead.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
import traceback
from collections import deque
from multiprocessing.context import SpawnProcess
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from typing import Any

from gdl_studio.core.area import FinetuneFunction
from gdl_studio.core.finetuning import Cancelled, Failed, FinetuneSpec, Finished, Paused, Progress, Started

EXIT_GRACE_S = 10.0  # a finished job's process is killed if it has not exited by then


class Control:
    """Handed to a fine-tune function: pause/cancel checks between steps."""

    def __init__(self, job_id: int, run_event: Event, cancel_event: Event) -> None:
        self.job_id = job_id
        self._run = run_event
        self._cancel = cancel_event
        self.paused_seconds = 0.0

    def checkpoint(self) -> None:
        """Block while paused; raise :class:`Cancelled` once cancelled."""
        if self._cancel.is_set():
            raise Cancelled(self.job_id)
        if not self._run.is_set():
            t0 = time.perf_counter()
            while not self._run.wait(0.1):
                if self._cancel.is_set():
                    raise Cancelled(self.job_id)
            self.paused_seconds += time.perf_counter() - t0
        if self._cancel.is_set():
            raise Cancelled(self.job_id)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()


class InlineControl:
    """A Control for in-process runs (CLI, tests): never paused, cancellable by flag.

    ``cancel_after``: request cancellation at that many checkpoints (for tests of Cancel).
    """

    def __init__(self, cancel_after: int | None = None) -> None:
        self.cancel_requested = False
        self.paused_seconds = 0.0
        self.cancel_after = cancel_after
        self.calls = 0

    def checkpoint(self) -> None:
        self.calls += 1
        if self.cancel_after is not None and self.calls >= self.cancel_after:
            self.cancel_requested = True
        if self.cancel_requested:
            raise Cancelled(0)

    @property
    def cancelled(self) -> bool:
        return self.cancel_requested


def family_function(family: str) -> FinetuneFunction:
    """The fine-tune function of ``family`` (from the area that owns it, :mod:`gdl_studio.areas`)."""
    from gdl_studio.areas import finetune_function

    return finetune_function(family)


def _child_main(spec: FinetuneSpec, events: Queue[Any], run_event: Event, cancel_event: Event, threads: int) -> None:
    """Entry point of the training process."""
    try:
        import torch

        torch.set_num_threads(max(1, threads))
    except Exception:
        pass
    events.put(Started(spec.id, spec.describe()))
    try:
        func = family_function(spec.family)

        def report(event: Any) -> None:
            if isinstance(event, Progress):
                event.job_id = spec.id
            events.put(event)

        summary = func(spec, report, Control(spec.id, run_event, cancel_event))
        events.put(Finished(spec.id, dict(summary or {})))
    except Cancelled:
        events.put(Failed(spec.id, "cancelled", ""))
    except Exception as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        events.put(Failed(spec.id, text, traceback.format_exc()))


class FinetuneRunner:
    """One queue of fine-tuning jobs, run one at a time in a child process."""

    def __init__(self, threads: int = 1) -> None:
        self._ctx = mp.get_context("spawn")
        self._queue: deque[FinetuneSpec] = deque()
        self._events = self._ctx.Queue()
        self._proc: SpawnProcess | None = None
        self._current: FinetuneSpec | None = None
        self._run_event: Event | None = None
        self._cancel_event: Event | None = None
        self._threads = threads
        self._pending_events: list[Any] = []
        self._exiting: list[tuple[Any, float]] = []  # finished jobs' processes, still exiting

    # ------------------------------------------------------------------ control
    def submit(self, spec: FinetuneSpec) -> int:
        """Queue ``spec``; it starts when the jobs before it are done."""
        self._queue.append(spec)
        return spec.id

    def cancel(self, job_id: int) -> bool:
        """Cancel a queued or running job. The previous weights stay untouched."""
        for spec in list(self._queue):
            if spec.id == job_id:
                self._queue.remove(spec)
                self._pending_events.append(Failed(job_id, "cancelled", ""))
                return True
        if (
            self._current is not None
            and self._current.id == job_id
            and self._cancel_event is not None
            and self._run_event is not None  # the two are made together in _start
        ):
            self._cancel_event.set()
            self._run_event.set()
            return True
        return False

    def pause(self, job_id: int, paused: bool = True) -> bool:
        """Pause or resume the running job (it stops at its next checkpoint)."""
        if self._current is None or self._current.id != job_id or self._run_event is None:
            return False
        if paused:
            self._run_event.clear()
        else:
            self._run_event.set()
        self._pending_events.append(Paused(job_id, paused))
        return True

    @property
    def current(self) -> FinetuneSpec | None:
        return self._current

    @property
    def queued(self) -> list[FinetuneSpec]:
        return list(self._queue)

    @property
    def busy(self) -> bool:
        return self._current is not None or bool(self._queue)

    # ------------------------------------------------------------------ events
    def poll(self) -> list[Any]:
        """Collect events from the child and start the next job when one ends. Non-blocking."""
        self._collect_exited()
        out = list(self._pending_events)
        self._pending_events.clear()
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            out.append(event)
            if isinstance(event, (Finished, Failed)) and self._current is not None and event.job_id == self._current.id:
                self._reap()
        if self._current is not None and self._proc is not None and not self._proc.is_alive():
            # drain what the child wrote just before exiting
            time.sleep(0.05)
            while True:
                try:
                    event = self._events.get_nowait()
                except queue.Empty:
                    break
                out.append(event)
            if self._current is not None:
                if not any(isinstance(e, (Finished, Failed)) and e.job_id == self._current.id for e in out):
                    out.append(
                        Failed(
                            self._current.id, f"the training process exited unexpectedly (code {self._proc.exitcode})"
                        )
                    )
                self._reap()
        if self._current is None and self._queue:
            self._start(self._queue.popleft())
        return out

    def _start(self, spec: FinetuneSpec) -> None:
        self._current = spec
        self._run_event = self._ctx.Event()
        self._run_event.set()
        self._cancel_event = self._ctx.Event()
        self._proc = self._ctx.Process(
            target=_child_main,
            args=(spec, self._events, self._run_event, self._cancel_event, self._threads),
            name=f"gdl-finetune-{spec.id}",
            daemon=True,
        )
        try:
            self._proc.start()
        except Exception as exc:  # e.g. no resources for a new process: the job fails, the queue goes on
            self._proc = None
            self._current = None
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self._pending_events.append(Failed(spec.id, f"could not start the training process: {text}"))

    def _reap(self) -> None:
        """Forget the finished job's process without waiting for it to exit (that takes ~0.5 s of
        interpreter teardown, which would stall the GUI thread that polls us)."""
        if self._proc is not None and self._proc.pid is not None:
            self._exiting.append((self._proc, time.perf_counter()))
        self._proc = None
        self._current = None

    def _collect_exited(self) -> None:
        """Join finished children that have exited; kill one that lingers past ``EXIT_GRACE_S``."""
        still = []
        for proc, since in self._exiting:
            if proc.is_alive():
                if time.perf_counter() - since > EXIT_GRACE_S:
                    proc.kill()
                still.append((proc, since))
            else:
                proc.join(timeout=0)
        self._exiting = still

    def shutdown(self, timeout_s: float = 2.0) -> None:
        """Cancel everything and stop the child process."""
        self._queue.clear()
        if self._cancel_event is not None and self._run_event is not None:  # made together in _start
            self._cancel_event.set()
            self._run_event.set()
        if self._proc is not None:
            self._proc.join(timeout=timeout_s)
            if self._proc.is_alive():
                self._proc.kill()
                self._proc.join(timeout=1)
        self._proc = None
        self._current = None
        for proc, _since in self._exiting:
            proc.join(timeout=timeout_s)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=1)
        self._exiting = []

    def wait(self, timeout_s: float = 60.0) -> list[Any]:
        """Poll until every job is done (for tests and the CLI); returns all events."""
        events = []
        deadline = time.perf_counter() + timeout_s
        while self.busy and time.perf_counter() < deadline:
            events.extend(self.poll())
            time.sleep(0.02)
        events.extend(self.poll())
        return events
