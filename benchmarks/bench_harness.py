"""Harness overhead per cell with a warm pool: what a cell costs beyond its own fit.

Run: ``python -m pytest benchmarks/bench_harness.py --benchmark-only``. Each round sends
a batch of ``fcls`` cells on the ``standard`` scenario (quick profile, 50x50 px, 99
bands) through a warm one-worker pool and writes every row to a fresh store; the
overhead per cell is ``(batch wall time - sum of fit_seconds) / cells`` and lands in
``extra_info``. Each cell is claimed in the store before it runs and stored after, as in
a run (the claim is one more transaction per cell since the store has claims). ``fresh scenes``: a new seed per cell (scene generated each time);
``cached scenes``: one seed, so the worker's scene cache hits.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubench.harness import Cell, ResultStore, WorkerPool, expand_grid, parse_methods, provenance

CELLS = 10
_seeds = itertools.count(1000)


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(1) as warm:
        yield warm


def _batch(pool: WorkerPool, store: ResultStore, seeds: list[int], repeat: int = 1,
           parts: dict[str, float] | None = None) -> tuple[float, float]:
    grid = expand_grid(parse_methods("fcls"), ["standard"], None, seeds, profile="quick")
    prov = provenance()
    start = time.perf_counter()
    fit = 0.0

    def claim(cell: Cell) -> str:  # what a run does just before each cell (one store transaction)
        return store.claim(cell.key, lambda status: False)

    for cell, outcome in pool.run(grid.cells * repeat, timeout=60, acquire=claim):
        store.put(cell, outcome, prov)
        assert outcome.status == "ok", outcome.reason
        fit += outcome.fit_seconds
        if parts is not None:
            parts["scene"] += outcome.scene_seconds or 0.0
            parts["score"] += outcome.score_seconds or 0.0
    return time.perf_counter() - start, fit


@pytest.mark.parametrize("scenes", ["fresh", "cached"])
def test_overhead_per_cell(benchmark, pool: WorkerPool, tmp_path: Path, scenes: str) -> None:  # type: ignore[no-untyped-def]
    store = ResultStore(tmp_path / "bench.sqlite")
    overheads: list[float] = []
    parts = {"scene": 0.0, "score": 0.0}

    def one_round() -> None:
        if scenes == "fresh":
            wall, fit = _batch(pool, store, [next(_seeds) for _ in range(CELLS)], parts=parts)
        else:  # the same cell again and again: the worker's scene cache hits
            wall, fit = _batch(pool, store, [7], repeat=CELLS, parts=parts)
        overheads.append((wall - fit) / CELLS * 1000)

    _batch(pool, store, [7])  # warm the worker's imports and caches
    benchmark.pedantic(one_round, rounds=5, iterations=1)
    benchmark.extra_info["overhead_ms_per_cell_median"] = sorted(overheads)[len(overheads) // 2]
    benchmark.extra_info["overhead_ms_per_cell_all"] = [round(x, 1) for x in overheads]
    n = CELLS * len(overheads)
    benchmark.extra_info["scene_ms_per_cell"] = parts["scene"] / n * 1000
    benchmark.extra_info["score_ms_per_cell"] = parts["score"] / n * 1000
    benchmark.extra_info["rest_ms_per_cell"] = (
        sorted(overheads)[len(overheads) // 2] - (parts["scene"] + parts["score"]) / n * 1000)
    store.close()


def test_pool_start(benchmark) -> None:  # type: ignore[no-untyped-def]
    def start_and_stop() -> None:
        with WorkerPool(1):
            pass

    benchmark.pedantic(start_and_stop, rounds=2, iterations=1)
