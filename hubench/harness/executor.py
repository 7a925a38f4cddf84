"""A pool of long-lived worker processes with per-cell wall-clock timeouts.

Each worker (``multiprocessing`` spawn context, so that nothing of the driver's state,
threads or CUDA context is inherited) imports the registries once and then runs cells
sent through a pipe. A worker that hangs past the timeout is killed and replaced; a
worker that dies (segfault, ``os._exit``, the out-of-memory killer) is detected through
its sentinel and replaced. Either way the cell gets a status and the run goes on.

BLAS/OpenMP/torch threads per worker are ``max(1, cores // jobs)`` so that ``jobs``
workers do not oversubscribe the machine; the environment variables are set before
the worker process starts, so they hold before numpy or torch is imported.
"""

from __future__ import annotations

import contextlib
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
from hubench.harness.worker import THREAD_ENV, now_iso, worker_main

STARTUP_TIMEOUT = 300.0


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def threads_per_worker(jobs: int) -> int:
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
    ready: bool = False
    cell: Cell | None = None
    deadline: float = 0.0
    started_at: str = ""


class WorkerPool:
    """``jobs`` worker processes; :meth:`run` yields ``(cell, outcome)`` as cells end."""

    def __init__(self, jobs: int, *, threads: int | None = None) -> None:
        if jobs < 1:
            raise HubenchError(f"--jobs: needs at least one worker, got {jobs}")
        self.jobs = jobs
        self.threads = threads or threads_per_worker(jobs)
        self._ctx = mp.get_context("spawn")
        self._workers: list[_Worker] = []
        self.replaced = 0

    # ---- worker life cycle --------------------------------------------------------
    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        saved = {name: os.environ.get(name) for name in THREAD_ENV}
        os.environ.update({name: str(self.threads) for name in THREAD_ENV})
        try:
            proc = self._ctx.Process(target=worker_main, args=(child, self.threads), daemon=True)
            proc.start()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        child.close()
        return _Worker(proc, parent)

    def _kill(self, worker: _Worker) -> None:
        with contextlib.suppress(Exception):
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()

    def start(self) -> None:
        """Start the workers and wait until every one has imported the registries."""
        while len(self._workers) < self.jobs:
            self._workers.append(self._spawn())
        deadline = time.monotonic() + STARTUP_TIMEOUT
        for worker in self._workers:
            if not worker.ready:
                self._await_ready(worker, deadline)

    def _await_ready(self, worker: _Worker, deadline: float) -> None:
        remaining = max(0.0, deadline - time.monotonic())
        if worker.process.exitcode is not None and not worker.conn.poll():
            raise HubenchError(f"a worker process failed to start: {_crash_reason(worker.process.exitcode)}")
        if not worker.conn.poll(remaining):
            raise HubenchError("a worker process did not start within "
                               f"{STARTUP_TIMEOUT:.0f} s; is the machine overloaded?")
        try:
            kind, payload = worker.conn.recv()
        except (EOFError, OSError):
            raise HubenchError(f"a worker process failed to start: {_crash_reason(worker.process.exitcode)}") from None
        if kind != "ready":
            raise HubenchError(f"a worker process failed to start: {payload}")
        worker.ready = True

    def close(self) -> None:
        for worker in self._workers:
            if worker.cell is None:
                with contextlib.suppress(Exception):
                    worker.conn.send(None)
        for worker in self._workers:
            worker.process.join(2 if worker.cell is None else 0)
            if worker.process.is_alive():
                self._kill(worker)
            else:
                worker.conn.close()
        self._workers = []

    def __enter__(self) -> WorkerPool:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- running ------------------------------------------------------------------
    def _replace(self, worker: _Worker, needed: bool) -> None:
        """Kill ``worker``; start a fresh one in its slot (without waiting) if ``needed``."""
        self._kill(worker)
        index = self._workers.index(worker)
        if needed:
            fresh = self._spawn()
            fresh.deadline = time.monotonic() + STARTUP_TIMEOUT
            self._workers[index] = fresh
            self.replaced += 1
        else:
            del self._workers[index]

    def _failure(self, worker: _Worker, status: str, reason: str) -> dict[str, Any]:
        return {"status": status, "reason": reason, "metrics": {}, "alignment": None,
                "fit_seconds": float("nan"), "peak_mem_mb": float("nan"), "device": "",
                "started_at": worker.started_at, "finished_at": now_iso()}

    def _poll_starting(self, worker: _Worker, ready: set[Any], now: float) -> None:
        if worker.conn in ready or worker.process.sentinel in ready:
            self._await_ready(worker, now)
        elif now >= worker.deadline:
            self._kill(worker)
            raise HubenchError(f"a replacement worker did not start within {STARTUP_TIMEOUT:.0f} s")

    def _poll_busy(self, worker: _Worker, ready: set[Any], now: float, timeout: float | None,
                   needed: bool) -> dict[str, Any] | None:
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
            outcome = self._failure(worker, "timeout", f"exceeded the {timeout:g} s wall-clock limit; worker killed")
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
    ) -> Iterator[tuple[Cell, dict[str, Any]]]:
        """Run ``cells`` over the pool; yield each ``(cell, outcome)`` as soon as it ends.

        ``outcome`` is the dict of :func:`hubench.harness.worker.run_cell`, or for a
        cell whose worker timed out or died, a dict with that status and reason. A
        killed worker is replaced in the background, so the other workers go on.
        """
        pending = deque(cells)
        while len(self._workers) < self.jobs and pending:
            fresh = self._spawn()
            fresh.deadline = time.monotonic() + STARTUP_TIMEOUT
            self._workers.append(fresh)
        while True:
            for worker in self._workers:
                if worker.ready and worker.cell is None and pending:
                    cell = pending.popleft()
                    worker.cell, worker.started_at = cell, now_iso()
                    worker.deadline = time.monotonic() + timeout if timeout else float("inf")
                    worker.conn.send((cell, estimates_dir))
                    if on_start is not None:
                        on_start(cell)
            active = [w for w in self._workers if w.cell is not None or (not w.ready and pending)]
            if not active:
                return
            wait_for = min(w.deadline for w in active) - time.monotonic()
            handles: list[Any] = [w.conn for w in active] + [w.process.sentinel for w in active]
            ready = set(wait(handles, timeout=None if wait_for == float("inf") else max(0.0, wait_for)))
            now = time.monotonic()
            for worker in active:
                if not worker.ready:
                    self._poll_starting(worker, ready, now)
                    continue
                running = worker.cell
                assert running is not None
                outcome = self._poll_busy(worker, ready, now, timeout, needed=bool(pending))
                if outcome is not None:
                    worker.cell = None
                    yield running, outcome
