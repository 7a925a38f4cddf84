"""What a Dask worker runs for one cell: the local pool's containment, one cell at a time.

A Dask task (:func:`run_cell_task`) does not fit the method in the Dask worker process.
It hands the cell to a one-slot :class:`~hubench.harness.executor.WorkerPool` kept by
that Dask worker thread, so the cell runs in a child process of the Dask worker with
exactly the guarantees of the local pool: the per-cell wall-clock timeout, the process
tree killed on a timeout, a memory cap (``oom``) or a crash, a replacement child after
one. The child is long-lived like a local worker (it imports the registries once), so a
cell pays no start-up cost after the first on its Dask worker; it ends itself and its
tree when the Dask worker dies (:func:`hubench.harness.worker.worker_main`).

Real scenes arrive as bytes (``client.scatter`` in the driver, fetched once per Dask
worker); they are written to a local cache folder keyed by the cell's ``scene_sha256``
and the cell's location parameter (``path`` or ``data_dir``, not part of its key) is
pointed there. The child then checks the content's sha256 against the cell's digest
before it loads the scene, as it does on the local pool. Synthetic scenes are generated
in the child from their parameters.

This module is imported in the Dask worker processes: it imports neither dask nor the
registries (the child does).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import socket
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from hubench.harness.executor import WorkerPool
from hubench.harness.grid import Cell
from hubench.harness.outcome import Outcome

SCENE_CACHE_ENV = "HUBENCH_SCENE_CACHE"
_POOLS: dict[tuple[int, int, int | None], WorkerPool] = {}
_LOCK = threading.Lock()


def scene_cache_dir() -> Path:
    """Where a Dask worker keeps the scene files it was sent (``$HUBENCH_SCENE_CACHE``,
    else ``<tmp>/hubench-scenes-<uid>``)."""
    default = Path(tempfile.gettempdir()) / f"hubench-scenes-{os.getuid() if hasattr(os, 'getuid') else 0}"
    return Path(os.environ.get(SCENE_CACHE_ENV) or default)


def _pool(threads: int, max_memory: int | None) -> WorkerPool:
    """This Dask worker thread's one-slot pool for ``threads`` and ``max_memory``."""
    key = (threading.get_ident(), threads, max_memory)
    with _LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            process = multiprocessing.current_process()
            if process.daemon:  # a Dask worker under a nanny is daemonic, which forbids
                process.daemon = False  # children; the pool itself ends every child it starts
            pool = _POOLS[key] = WorkerPool(1, threads=threads, max_memory=max_memory)
        return pool


def close_pools() -> None:
    """End every pool of this process (their children and trees)."""
    with _LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        with contextlib.suppress(Exception):
            pool.close()


def write_bytes_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` under a temporary name beside it (unique per process
    and thread), then rename: a reader never sees a half-written file."""
    tmp = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)


def _localise(cell: Cell, scene: dict[str, Any]) -> Cell:
    """Write the scattered scene files under the cache folder; point the cell at them.

    ``scene`` is ``{"params": {location parameter: relative path}, "files": {relative
    path: bytes}}`` (:func:`hubench.harness.dask_pool._scene_payload`). Files already
    there (an earlier cell of the same scene) are not written again; a half-written file
    is never seen (written to a temporary name, then renamed).
    """
    folder = scene_cache_dir() / str(cell.scene_sha256)
    for name, data in scene["files"].items():
        target = folder / name
        if target.is_file() and target.stat().st_size == len(data):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(target, data)
    params = dict(cell.scenario_params)
    for name, relative in scene["params"].items():
        params[name] = str(folder / relative) if relative else str(folder)
    return replace(cell, scenario_params=params)


def run_cell_task(cell: Cell, timeout: float | None, max_memory: int | None,
                  scene: dict[str, Any] | None = None, save_estimate: bool = False) -> tuple[Outcome, bytes | None]:
    """Run ``cell`` in this Dask worker's child process; return its outcome (with this
    host) and, when ``save_estimate``, the bytes of its ``.npz`` estimate for the driver
    to write."""
    host = socket.gethostname()
    if scene is not None:
        try:
            cell = _localise(cell, scene)
        except OSError as exc:
            return Outcome.failed("error", f"setup failed: cannot write the scene's files on {host}: {exc}"), None
    tmp = tempfile.mkdtemp(prefix="hubench-estimate-") if save_estimate else None
    try:
        results = list(_pool(cell.threads, max_memory).run([cell], timeout=timeout, estimates_dir=tmp))
        outcome = results[-1][1] if results else Outcome.failed("crashed", "the worker pool returned no outcome")
        outcome.host = host
        estimate = None
        if tmp is not None:
            path = Path(tmp) / f"{cell.key}.npz"
            estimate = path.read_bytes() if path.is_file() else None
        return outcome, estimate
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
