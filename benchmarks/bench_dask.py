"""Dask executor (issue 18): overhead per cell against the local pool, and the wall time
of a fixed grid with 1 and 2 Dask workers.

- overhead per cell: a warm pool (the local :class:`WorkerPool` with one worker, or a
  :class:`DaskPool` ``LocalCluster`` with one worker whose child is started by a
  warm-up cell) runs ``N`` ``fcls`` cells on ``standard`` (ci profile); overhead = batch
  wall time minus the sum of ``fit_seconds``, divided by ``N``;
- wall time of ``vca,fcls,vca+fcls`` x ``standard`` x 6 seeds (18 cells, ci profile)
  through ``run_grid``: local pool and Dask with ``--jobs`` 1 and 2 (cluster start and
  worker imports included).

Script (the numbers of docs/guide/cluster.md): ``python benchmarks/bench_dask.py``;
as pytest-benchmark: ``python -m pytest benchmarks/bench_dask.py --benchmark-only``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

CELLS = 10


def _cells(n: int) -> list[Any]:
    from hubench.harness import expand_grid, load_plugins, parse_methods

    load_plugins()
    return expand_grid(parse_methods("fcls"), ["standard"], None, list(range(n)), profile="ci", threads=1).cells


def overhead_ms(executor: str, n: int = CELLS) -> float:
    """One measurement: (wall - sum of fit_seconds) / n, in ms, on a warm pool."""
    from hubench.harness.dask_pool import DaskPool
    from hubench.harness.executor import WorkerPool

    cells = _cells(n + 1)
    pool: Any = WorkerPool(1, threads=1) if executor == "local" else DaskPool(1)
    with pool:
        list(pool.run(cells[:1], timeout=120))  # warm: the child process imports the registries
        start = time.perf_counter()
        outcomes = [o for _, o in pool.run(cells[1:], timeout=120)]
        wall = time.perf_counter() - start
    assert all(o.status == "ok" for o in outcomes)
    return 1000.0 * (wall - sum(o.fit_seconds for o in outcomes)) / n


def grid_seconds(executor: str, jobs: int) -> float:
    from hubench.harness import run_grid

    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        summary = run_grid("vca,fcls,vca+fcls", ["standard"], None, 6, profile="ci",
                           store=str(Path(folder) / "r.sqlite"), jobs=jobs, threads=1, executor=executor)
        seconds = time.perf_counter() - start
    assert summary.ran == 18 and summary.exit_code == 0, summary.table()
    return seconds


@pytest.mark.parametrize("executor", ["local", "dask"])
def test_overhead_per_cell(benchmark: Any, executor: str) -> None:
    if executor == "dask":
        pytest.importorskip("distributed")
    benchmark.pedantic(overhead_ms, args=(executor,), rounds=1, iterations=1)


@pytest.mark.parametrize("jobs", [1, 2])
def test_grid_on_dask(benchmark: Any, jobs: int) -> None:
    pytest.importorskip("distributed")
    benchmark.pedantic(grid_seconds, args=("dask", jobs), rounds=1, iterations=1)


if __name__ == "__main__":
    for executor in ("local", "dask"):
        print(f"overhead per cell, {executor}: {overhead_ms(executor):.1f} ms", flush=True)
    for executor, jobs in (("local", 1), ("local", 2), ("dask", 1), ("dask", 2)):
        print(f"grid of 18 cells, {executor} --jobs {jobs}: {grid_seconds(executor, jobs):.1f} s", flush=True)
    sys.exit(0)
