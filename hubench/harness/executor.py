"""A pool of long-lived worker processes with per-cell limits and contained faults.

Each worker (``multiprocessing`` spawn context, so that nothing of the driver's state,
threads or CUDA context is inherited) runs in its own session and process group,
imports the registries once and then runs cells sent through a pipe. What a cell can do
wrong stays in its cell:

- past the wall-clock ``timeout`` -> the worker's whole process tree (see
  :mod:`hubench.harness.processes`: children and grandchildren, also ones that left the
  group) is killed, the cell is ``timeout`` and the worker is replaced;
- past ``max_memory`` (resident memory of the worker's tree, polled every
  :data:`MEMORY_POLL_S`) -> the tree is killed and the cell is ``oom``;
- the worker dies (segfault, ``os._exit``, the kernel's out-of-memory killer) -> its
  tree is killed, the cell is ``crashed`` and the worker is replaced;
- a worker that fails to start (dies, reports an error or stays silent for
  :data:`STARTUP_TIMEOUT` s) is started again, up to :data:`START_ATTEMPTS` times in a
  row per slot; when no slot can start a worker, the cells left are ``crashed`` with
  the reason. The run goes on in every case.

Threads per worker are fixed when the pool is made (the caller resolves them once per
run); the environment variables are set before the worker starts, so they hold before
numpy or torch is imported.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing as mp
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from hubench.errors import HubenchError
from hubench.harness.grid import Cell
from hubench.harness.outcome import Outcome, now_iso
from hubench.harness.processes import kill_tree, rss_bytes, tree_pids
from hubench.harness.worker import THREAD_ENV, worker_main

STARTUP_TIMEOUT = 300.0
START_ATTEMPTS = 3
MEMORY_POLL_S = 0.1
DEFER_POLL_S = 1.0
_tokens = itertools.count()


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def threads_per_worker(jobs: int) -> int:
    """The default threads per worker for ``jobs`` workers: cores // jobs, at least 1."""
    return max(1, available_cores() // max(1, jobs))


def _crash_reason(exitcode: int | None) -> str:
    if exitcode is None:
        return "worker process vanished"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (the out-of-memory killer or an external kill)" if name == "SIGKILL" else ""
        return f"worker died from {name}{hint}"
    return f"worker exited with code {exitcode} during the cell (os._exit or a fatal error)"


@dataclass
class _Worker:
    process: Any
    conn: Connection
    token: str
    ready: bool = False
    cell: Cell | None = None
    deadline: float = 0.0
    started_at: str = ""
    start_failures: int = 0
    peak_rss: int = 0


class WorkerPool:
    """``jobs`` worker processes; :meth:`run` yields ``(cell, outcome)`` as cells end.

    ``max_memory`` (bytes, None = no cap) is the per-cell cap on the resident memory of
    a worker's process tree.
    """

    def __init__(self, jobs: int, *, threads: int | None = None, max_memory: int | None = None) -> None:
        if jobs < 1:
            raise HubenchError(f"--jobs: needs at least one worker, got {jobs}")
        self.jobs = jobs
        self.threads = threads or threads_per_worker(jobs)
        self.max_memory = max_memory
        self._ctx = mp.get_context("spawn")
        self._workers: list[_Worker] = []
        self.replaced = 0
        self.start_failures: list[str] = []

    # ---- worker life cycle --------------------------------------------------------
    def _spawn(self, failures: int = 0) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        token = f"{os.getpid()}-{next(_tokens)}-{time.monotonic_ns()}"
        saved = {name: os.environ.get(name) for name in THREAD_ENV}
        os.environ.update({name: str(self.threads) for name in THREAD_ENV})
        try:  # the token is set by the worker itself, so no helper of the driver inherits it
            proc = self._ctx.Process(target=worker_main, args=(child, self.threads, token), daemon=True)
            proc.start()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        child.close()
        worker = _Worker(proc, parent, token, start_failures=failures)
        worker.deadline = time.monotonic() + STARTUP_TIMEOUT
        return worker

    def _kill(self, worker: _Worker) -> None:
        """Kill the worker and every process it started, and reap it."""
        if worker.process.pid is not None:
            kill_tree(worker.process.pid, worker.token)
        with contextlib.suppress(Exception):
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()

    def start(self) -> None:
        """Start the workers and wait until each has imported the registries.

        A worker that fails to start is started again (:data:`START_ATTEMPTS` in a row);
        when no worker at all can start, :meth:`run` reports every cell ``crashed``.
        """
        while len(self._workers) < self.jobs:
            self._workers.append(self._spawn())
        while any(not w.ready for w in self._workers):
            waiting = [w for w in self._workers if not w.ready]
            timeout = max(0.0, min(w.deadline for w in waiting) - time.monotonic())
            ready = set(wait([w.conn for w in waiting] + [w.process.sentinel for w in waiting], timeout))
            now = time.monotonic()
            for worker in waiting:
                self._poll_starting(worker, ready, now)

    def _poll_starting(self, worker: _Worker, ready: set[Any], now: float) -> None:
        """Check a starting worker: ready, failed (then start it again or drop the slot), or wait."""
        failure = None
        if worker.conn in ready or worker.process.sentinel in ready:
            try:
                kind, payload = worker.conn.recv() if worker.conn.poll() else ("died", None)
            except (EOFError, OSError):
                kind, payload = "died", None
            if kind == "ready":
                worker.ready = True
                return
            worker.process.join(1)
            failure = payload if kind == "fatal" else _crash_reason(worker.process.exitcode)
        elif now >= worker.deadline:
            failure = f"did not start within {STARTUP_TIMEOUT:.0f} s"
        if failure is None:
            return
        self.start_failures.append(f"a worker failed to start: {failure}")
        self._kill(worker)
        index = self._workers.index(worker)
        if worker.start_failures + 1 < START_ATTEMPTS:
            self._workers[index] = self._spawn(worker.start_failures + 1)
        else:
            del self._workers[index]

    def close(self) -> None:
        for worker in self._workers:
            if worker.cell is None and worker.ready:
                with contextlib.suppress(Exception):
                    worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(2 if worker.cell is None and worker.ready else 0)
            self._kill(worker)
        self._workers = []

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- running ------------------------------------------------------------------
    def _replace(self, worker: _Worker, needed: bool) -> None:
        """Kill ``worker``'s tree; start a fresh one in its slot (without waiting) if ``needed``."""
        self._kill(worker)
        index = self._workers.index(worker)
        if needed:
            self._workers[index] = self._spawn()
            self.replaced += 1
        else:
            del self._workers[index]

    def _failure(self, worker: _Worker, status: str, reason: str) -> Outcome:
        return Outcome.failed(status, reason, worker.started_at)

    def _poll_busy(self, worker: _Worker, ready: set[Any], now: float, timeout: float | None,
                   needed: bool) -> Outcome | None:
        if worker.conn in ready or worker.process.sentinel in ready:
            try:
                if worker.conn.poll():
                    return worker.conn.recv()[1]
            except (EOFError, OSError):
                pass
            worker.process.join(1)
            outcome = self._failure(worker, "crashed", _crash_reason(worker.process.exitcode))
            self._replace(worker, needed)
            return outcome
        if now >= worker.deadline:
            outcome = self._failure(worker, "timeout",
                                    f"exceeded the {timeout:g} s wall-clock limit; its process tree was killed")
            self._replace(worker, needed)
            return outcome
        if self.max_memory is not None:
            assert worker.process.pid is not None
            used = rss_bytes(tree_pids(worker.process.pid, worker.token, with_environ=False))
            if used > self.max_memory:
                outcome = self._failure(
                    worker, "oom", f"its processes used {used / 2**20:.0f} MB, over the --max-memory cap "
                    f"of {self.max_memory / 2**20:.0f} MB; its process tree was killed")
                self._replace(worker, needed)
                return outcome
        return None

    def run(
        self,
        cells: Iterable[Cell],
        *,
        timeout: float | None,
        estimates_dir: str | None = None,
        on_start: Callable[[Cell], None] | None = None,
        acquire: Callable[[Cell], str] | None = None,
    ) -> Iterator[tuple[Cell, Outcome]]:
        """Run ``cells`` over the pool; yield each ``(cell, outcome)`` as soon as it ends.

        ``outcome`` is the :class:`~hubench.harness.outcome.Outcome` of
        :func:`hubench.harness.worker.run_cell`, or for a
        cell whose worker timed out, went over the memory cap or died, a dict with that
        status and reason. ``acquire(cell)``, called just before a cell is sent, answers
        ``"run"``, ``"skip"`` (drop it: the caller accounts for it) or ``"busy"`` (try
        again later: another process is running it).
        """
        pending = deque(cells)
        deferred: deque[Cell] = deque()
        retry_at = 0.0
        while len(self._workers) < self.jobs and pending:
            self._workers.append(self._spawn())
        while True:
            now = time.monotonic()
            if deferred and now >= retry_at:
                pending.extend(deferred)
                deferred.clear()
            for worker in self._workers:
                while worker.ready and worker.cell is None and pending:
                    cell = pending.popleft()
                    verdict = acquire(cell) if acquire is not None else "run"
                    if verdict == "skip":
                        continue
                    if verdict == "busy":
                        deferred.append(cell)
                        retry_at = time.monotonic() + DEFER_POLL_S
                        continue
                    worker.cell, worker.started_at = cell, now_iso()
                    worker.deadline = time.monotonic() + timeout if timeout else float("inf")
                    worker.conn.send((cell, estimates_dir))
                    if on_start is not None:
                        on_start(cell)
            more = bool(pending or deferred)
            if more and not self._workers:  # no worker could be started
                reason = "no worker could be started: " + (self.start_failures[-1] if self.start_failures else "?")
                for cell in [*pending, *deferred]:
                    yield cell, Outcome.failed("crashed", reason)
                return
            active = [w for w in self._workers if w.cell is not None or (not w.ready and more)]
            if not active and not deferred:
                return
            wake = [w.deadline for w in active]
            if deferred:
                wake.append(retry_at)
            if self.max_memory is not None and any(w.cell is not None for w in active):
                wake.append(time.monotonic() + MEMORY_POLL_S)
            wait_for = max(0.0, min(wake) - time.monotonic()) if wake else 0.0
            handles: list[Any] = [w.conn for w in active] + [w.process.sentinel for w in active]
            if handles:
                ready = set(wait(handles, timeout=None if wait_for == float("inf") else wait_for))
            else:  # only deferred cells: wait for the next try
                time.sleep(wait_for)
                ready = set()
            now = time.monotonic()
            for worker in list(active):
                if worker not in self._workers:
                    continue
                if not worker.ready:
                    self._poll_starting(worker, ready, now)
                    continue
                running = worker.cell
                assert running is not None
                outcome = self._poll_busy(worker, ready, now, timeout, needed=bool(pending or deferred))
                if outcome is not None:
                    worker.cell = None
                    yield running, outcome
