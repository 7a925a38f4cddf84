"""Drive a run: validate and expand the grid, skip stored cells, run the rest, summarise.

:func:`run_grid` is the one entry point (``hubench run`` and ``hubench check`` use it).
Everything a user can get wrong is checked before the store is created or touched.
"""

from __future__ import annotations

import math
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from tabulate import tabulate

from hubench.errors import ParameterError, UnavailableError
from hubench.harness.executor import WorkerPool
from hubench.harness.grid import (
    DEFAULT_SCENARIOS,
    DEFAULT_SEEDS,
    Cell,
    MethodRequest,
    check_seeds,
    expand_grid,
    load_plugins,
    parse_methods,
)
from hubench.harness.provenance import provenance
from hubench.harness.store import DEFAULT_STORE, STATUSES, ResultStore, check_store_path

DEFAULT_TIMEOUT = 1800.0


@dataclass
class RunSummary:
    """What a run did, over its whole grid (cells run now and cells already stored)."""

    store_path: str
    total: int = 0
    ran: int = 0
    skipped_stored: int = 0
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    skipped_methods: list[tuple[str, str]] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(n for c in self.counts.values() for s, n in c.items() if s != "ok")

    @property
    def exit_code(self) -> int:
        """0 when every cell of the grid is ``ok``, else 1."""
        return 1 if self.failed else 0

    def add(self, cell: Cell, status: str, reason: str, *, stored: bool) -> None:
        self.counts.setdefault(cell.method, Counter())[status] += 1
        if status != "ok":
            self.failures.append({"cell": cell.label, "status": status,
                                  "reason": reason + (" [stored earlier]" if stored else "")})

    def table(self) -> str:
        """Counts per status per method, then the failures with their reasons."""
        rows = [[m, *(c.get(s, 0) for s in STATUSES), sum(c.values())] for m, c in sorted(self.counts.items())]
        text = tabulate(rows, headers=["method", *STATUSES, "cells"], tablefmt="simple")
        text += (f"\n\n{self.total} cells: {self.ran} run now, {self.skipped_stored} already stored; "
                 f"{self.failed} not ok; {self.wall_seconds:.1f} s; store {self.store_path}")
        if self.skipped_methods:
            text += "\n\nskipped methods:\n" + tabulate(self.skipped_methods, headers=["method", "reason"])
        if self.failures:
            rows = [[f["cell"], f["status"], _clip(f["reason"], 110)] for f in self.failures]
            text += "\n\nfailures:\n" + tabulate(rows, headers=["cell", "status", "reason"])
        return text


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _check_device(device: str) -> None:
    if device == "cuda":
        try:
            import torch
        except ImportError:
            raise UnavailableError("--device cuda: torch is not installed") from None
        if not torch.cuda.is_available():
            raise UnavailableError("--device cuda: no CUDA GPU is available here; use --device auto or cpu")


def check_real_scenes(cells: Sequence[Cell]) -> None:
    """Load each real scene of the grid once, in the driver, before anything is written.

    A missing dataset or a bad scene file (truncated, missing keys, mismatched shapes,
    NaN values, too many endmembers) is then one :class:`~hubench.errors.DataError`
    (exit code 2, no store created) instead of a failed cell per method and seed. Real
    scenes do not depend on the seed, so one load per scenario covers every cell.
    """
    from hubench.datasets import SCENARIOS
    from hubench.harness.grid import to_json

    seen: set[tuple[str, str]] = set()
    for cell in cells:
        ident = (cell.scenario, to_json(cell.scenario_params))
        if cell.scenario_kind != "real" or ident in seen:
            continue
        seen.add(ident)
        SCENARIOS.get(cell.scenario).build(cell.seed, **cell.scenario_params)


def run_grid(
    methods: str | Sequence[str | MethodRequest] = "all",
    scenarios: Sequence[str] = DEFAULT_SCENARIOS,
    snrs: Sequence[float] | None = None,
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    *,
    profile: str = "quick",
    store: str | ResultStore = DEFAULT_STORE,
    jobs: int = 1,
    threads: int | None = None,
    timeout: float | None = DEFAULT_TIMEOUT,
    force: bool = False,
    retry_failed: bool = False,
    device: str = "auto",
    save_estimates: bool = False,
    progress: bool | None = None,
    data_dir: str | None = None,
    scene_file: str | None = None,
    log: TextIO | None = None,
) -> RunSummary:
    """Run the grid ``methods x scenarios x snrs x seeds`` into ``store``.

    ``methods`` is a spec string (``"vca,fcls[tol=1e-9]"``, ``"all"``) or a list of
    specs; ``threads`` the BLAS/torch threads per worker (default ``max(1, cores // jobs)``;
    pin it, e.g. to 1, when results must not depend on the machine's core count, since
    floating-point sums change with the thread count); ``seeds`` a count (``3`` -> 0, 1, 2) or a list
    (:func:`~hubench.harness.grid.check_seeds`: at most 100000 seeds, each in 0..2**63-1); ``snrs`` None keeps each
    scenario's own ``snr_db``. Cells already in the store are skipped unless ``force``
    (re-run all) or ``retry_failed`` (re-run those not ``ok``). ``progress`` None shows
    the bar only on a terminal. Raises a :class:`~hubench.errors.HubenchError` for bad
    input before anything is written.
    """
    log = log or sys.stderr
    started = time.monotonic()
    load_plugins()
    requests = parse_methods(methods) if isinstance(methods, str) else [
        m if isinstance(m, MethodRequest) else parse_methods(m)[0] for m in methods]
    seed_list = check_seeds(seeds)
    if jobs < 1:
        raise ParameterError(f"--jobs: needs at least one worker, got {jobs}")
    if threads is not None and threads < 1:
        raise ParameterError(f"--threads: needs at least one thread per worker, got {threads}")
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise ParameterError(f"--timeout: must be a positive number of seconds, got {timeout}")
    _check_device(device)
    grid = expand_grid(requests, scenarios, snrs, seed_list, profile=profile, device=device,
                       data_dir=data_dir, scene_file=scene_file)
    check_real_scenes(grid.cells)
    if isinstance(store, ResultStore):
        opened, own = store, False
    else:
        check_store_path(store)
        opened, own = ResultStore(store), True
    summary = RunSummary(store_path=str(opened.path), total=len(grid.cells),
                         skipped_methods=grid.skipped_methods)
    for name, reason in grid.skipped_methods:
        log.write(f"skipping method {name}: {reason}\n")
    try:
        stored = opened.outcomes(c.key for c in grid.cells)
        todo = []
        for cell in grid.cells:
            if cell.key in stored and not force and not (retry_failed and stored[cell.key][0] != "ok"):
                summary.add(cell, *stored[cell.key], stored=True)
            else:
                todo.append(cell)
        summary.skipped_stored = len(grid.cells) - len(todo)
        if summary.skipped_stored:
            log.write(f"{summary.skipped_stored} cells already stored, skipped; use --force to re-run\n")
        if todo:
            _execute(todo, opened, summary, jobs=jobs, threads=threads, timeout=timeout, progress=progress,
                     save_estimates=save_estimates, log=log)
    finally:
        if own:
            opened.close()
    summary.wall_seconds = time.monotonic() - started
    return summary


def _execute(todo: list[Cell], store: ResultStore, summary: RunSummary, *, jobs: int, threads: int | None,
             timeout: float | None, progress: bool | None, save_estimates: bool, log: TextIO) -> None:
    from tqdm import tqdm

    prov = provenance()
    estimates_dir = None
    if save_estimates:
        store.estimates_dir.mkdir(parents=True, exist_ok=True)
        estimates_dir = str(store.estimates_dir)
    enabled = progress if progress is not None else bool(getattr(log, "isatty", lambda: False)())
    running: dict[str, Cell] = {}
    # The pool starts (workers import the registries) before the bar, so the ETA is honest.
    with WorkerPool(min(jobs, len(todo)), threads=threads) as pool, tqdm(
        total=len(todo), unit="cell", file=log, disable=not enabled, dynamic_ncols=True, desc="hubench run"
    ) as bar:

        def started(cell: Cell) -> None:
            running[cell.key] = cell
            bar.set_postfix_str(_clip(", ".join(c.label for c in running.values()), 80))

        for cell, outcome in pool.run(todo, timeout=timeout, estimates_dir=estimates_dir, on_start=started):
            store.put(cell, outcome, prov)
            running.pop(cell.key, None)
            summary.ran += 1
            summary.add(cell, outcome["status"], outcome.get("reason", ""), stored=False)
            if outcome["status"] != "ok":
                bar.write(f"{cell.label}: {outcome['status']}: {_clip(outcome.get('reason', ''), 200)}", file=log)
            bar.update(1)
