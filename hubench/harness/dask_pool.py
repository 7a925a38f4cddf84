"""Run cells on Dask distributed: a ``LocalCluster`` or an existing scheduler.

:class:`DaskPool` has the interface of :class:`~hubench.harness.executor.WorkerPool`
(a context manager whose :meth:`DaskPool.run` yields ``(cell, outcome)`` as cells end),
so :func:`hubench.harness.runner.run_grid` drives both the same way and alone writes the
store: resume, ``--force``, ``--retry-failed``, claims and statuses are the local pool's.

- Each cell is one Dask task (:func:`hubench.harness.dask_task.run_cell_task`), which
  runs the cell in a child process of the Dask worker through a one-slot local pool:
  timeout, process-tree kill and memory cap as on one machine.
- Cells are submitted as Dask threads free up (at most one in flight per worker thread
  the scheduler knows, at least one), each claimed in the store just before it is sent,
  so two runs on one store still split the cells. Results are collected as they finish.
- A Dask worker that dies mid-cell (SIGKILL, a lost node) has its task rescheduled by
  the scheduler; after ``distributed.scheduler.allowed-failures`` deaths (set to
  :data:`ALLOWED_FAILURES` for the ``LocalCluster``; an existing scheduler uses its own
  setting, 3 by default) the task fails with ``KilledWorker`` and the cell is ``crashed``
  with that reason.
- Real scenes are read once in the driver and scattered once (``broadcast=True``: a
  copy on every Dask worker, so that losing one worker loses no scene; a worker that
  joins later fetches it from a peer); synthetic ones are generated on the workers. Saved estimates come back as bytes and the driver writes them.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from hubench.errors import ParameterError, UnavailableError
from hubench.harness.grid import Cell, to_json
from hubench.harness.outcome import Outcome

ALLOWED_FAILURES = 2  # a cell is tried on at most 3 Dask workers that die under it
CONNECT_TIMEOUT_S = 20.0
POLL_S = 1.0
INSTALL_HINT = ('Dask distributed is not installed; install the extra: pip install -e ".[dist]" '
                '(from a checkout) or pip install "hubench[dist]"')


def require_distributed() -> None:
    """Raise :class:`UnavailableError` (exit 2) naming the install command without dask."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise UnavailableError(f"--executor dask: {INSTALL_HINT}") from None


def check_address(address: str) -> str:
    """``tcp://HOST:PORT`` (also ``tls://``; a bare ``HOST:PORT`` means tcp) or one line."""
    text = address.strip()
    if "://" not in text:
        text = f"tcp://{text}"
    scheme, _, rest = text.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("tcp", "tls") or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ParameterError(f"--scheduler: {address!r} is not a scheduler address; write tcp://HOST:PORT, "
                             "as printed by `dask scheduler`")
    return text


ENVI_DATA_SUFFIXES = ("", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip", ".bin")


def _with_companions(path: Path) -> list[Path]:
    """``path``, and for an ENVI header the data file beside it (same stem)."""
    if path.suffix.lower() != ".hdr":
        return [path]
    stem = path.with_suffix("")
    return [path] + [c for c in (Path(f"{stem}{s}") for s in ENVI_DATA_SUFFIXES) if c.is_file()]


def _scene_payload(cell: Cell) -> dict[str, Any] | None:
    """The files of a real scene to scatter, or None (a generated scene, or a location
    the workers must read where the cell says).

    ``{"params": {location parameter: path relative to the worker's copy}, "files":
    {relative path: bytes}}``: the ``file`` scenario's ``path`` and ``reference`` (each
    in a folder of its own, an ENVI header with its data file), or a published dataset's
    ``data_dir`` laid out as the driver's.
    """
    from hubench.datasets import SCENARIOS

    spec = SCENARIOS.get(cell.scenario)
    if spec.sources is None:
        return None
    params, files = {}, {}
    if "data_dir" in spec.location_params:
        from hubench.datasets.fetch import resolve_data_dir

        folder = resolve_data_dir(cell.scenario, cell.scenario_params.get("data_dir")).resolve()
        for source in spec.sources(cell.scenario_params):
            files[Path(source).resolve().relative_to(folder).as_posix()] = Path(source).read_bytes()
        return {"params": {"data_dir": ""}, "files": files}
    named = [name for name in spec.location_params if cell.scenario_params.get(name) is not None]
    if not named:
        return None
    for index, name in enumerate(named):
        main = Path(str(cell.scenario_params[name])).expanduser().resolve()
        for path in _with_companions(main):
            files[f"{index}/{path.name}"] = path.read_bytes()
        params[name] = f"{index}/{main.name}"
    return {"params": params, "files": files}


class DaskPool:
    """Cells on a Dask cluster: a new ``LocalCluster`` of ``jobs`` one-thread worker
    processes on 127.0.0.1, or the cluster of ``scheduler`` (``tcp://HOST:PORT``)."""

    def __init__(self, jobs: int, *, max_memory: int | None = None, scheduler: str | None = None,
                 log: TextIO | None = None) -> None:
        require_distributed()
        self.jobs = jobs
        self.max_memory = max_memory
        self.scheduler = check_address(scheduler) if scheduler else None
        self.log = log
        self.client: Any = None
        self.cluster: Any = None
        self.address = ""
        self._scenes: dict[tuple[str, str], Any] = {}
        self._slots_cached, self._slots_at = 1, 0.0

    def connect(self) -> None:
        """Start the ``LocalCluster`` or connect to the scheduler (one line and exit 2
        when it cannot be reached)."""
        if self.client is not None:
            return
        import dask
        from distributed import Client, LocalCluster

        if self.scheduler is None:
            with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
                self.cluster = LocalCluster(n_workers=self.jobs, threads_per_worker=1, processes=True,
                                            host="127.0.0.1", dashboard_address=None, memory_limit=0,
                                            silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UnavailableError(f"--scheduler: cannot reach a Dask scheduler at {self.scheduler} "
                                       f"({' '.join(str(exc).split())[:160]}); start one with `dask scheduler` "
                                       "or fix the address") from None
        self.address = str(self.client.scheduler.address)

    def close(self) -> None:
        for thing in (self.client, self.cluster):
            if thing is not None:
                with contextlib.suppress(Exception):
                    thing.close()
        self.client = self.cluster = None
        self._scenes.clear()

    def __enter__(self) -> DaskPool:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _slots(self) -> int:
        """Cells to keep in flight: the worker threads the scheduler knows, at least 1
        (asked of the scheduler at most once per :data:`POLL_S`)."""
        now = time.monotonic()
        if now >= self._slots_at:
            try:
                self._slots_cached = max(1, sum(self.client.nthreads().values()))
            except Exception:
                self._slots_cached = 1
            self._slots_at = now + POLL_S
        return self._slots_cached

    def _scene_for(self, cell: Cell) -> Any:
        """The scattered files of ``cell``'s real scene (scattered on first use), or None."""
        if cell.scenario_kind != "real":
            return None
        ident = (cell.scenario, to_json(cell.scenario_params))
        if ident not in self._scenes:
            payload = _scene_payload(cell)
            self._scenes[ident] = None if payload is None else self.client.scatter([payload], broadcast=True)[0]
        return self._scenes[ident]

    def _collect(self, future: Any, cell: Cell, estimates_dir: str | None) -> Outcome:
        from distributed import KilledWorker

        try:
            outcome, estimate = future.result()
        except KilledWorker as exc:
            return Outcome.failed("crashed", f"the Dask workers running it died {ALLOWED_FAILURES + 1} times or "
                                  f"more (the scheduler's allowed-failures): {exc}")
        except Exception as exc:
            text = " ".join(f"{type(exc).__name__}: {exc}".split())[:400]
            return Outcome.failed("crashed", f"the Dask task failed: {text}")
        finally:
            future.release()
        if estimate is not None and estimates_dir is not None:
            from hubench.harness.dask_task import write_bytes_atomic

            write_bytes_atomic(Path(estimates_dir) / f"{cell.key}.npz", estimate)
        return outcome

    def run(
        self,
        cells: Iterable[Cell],
        *,
        timeout: float | None,
        estimates_dir: str | None = None,
        on_start: Callable[[Cell], None] | None = None,
        acquire: Callable[[Cell], str] | None = None,
    ) -> Iterator[tuple[Cell, Outcome]]:
        """As :meth:`hubench.harness.executor.WorkerPool.run`, on the Dask cluster."""
        from distributed import wait

        from hubench.harness.dask_task import run_cell_task

        self.connect()
        pending = deque(cells)
        deferred: deque[Cell] = deque()
        retry_at = 0.0
        inflight: dict[Any, Cell] = {}
        run_tag = uuid.uuid4().hex[:8]
        try:
            while True:
                if deferred and time.monotonic() >= retry_at:
                    pending.extend(deferred)
                    deferred.clear()
                slots = self._slots()
                while pending and len(inflight) < slots:
                    cell = pending.popleft()
                    verdict = acquire(cell) if acquire is not None else "run"
                    if verdict == "skip":
                        continue
                    if verdict == "busy":
                        deferred.append(cell)
                        retry_at = time.monotonic() + POLL_S
                        continue
                    future = self.client.submit(
                        run_cell_task, cell, timeout, self.max_memory, self._scene_for(cell),
                        estimates_dir is not None, key=f"hubench-cell-{cell.key}-{run_tag}", pure=False)
                    inflight[future] = cell
                    if on_start is not None:
                        on_start(cell)
                if not inflight:
                    if not pending and not deferred:
                        return
                    time.sleep(max(0.0, min(POLL_S, retry_at - time.monotonic())))
                    continue
                try:  # as completed: wake on the first that ends, or to submit more
                    done, _ = wait(list(inflight), timeout=POLL_S, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    continue
                for future in done:
                    cell = inflight.pop(future)
                    yield cell, self._collect(future, cell, estimates_dir)
        finally:
            for future in inflight:
                with contextlib.suppress(Exception):
                    future.cancel()
