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
from hubench.harness.executor import WorkerPool, threads_per_worker
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
from hubench.harness.store import (
    DEFAULT_STORE,
    STATUSES,
    ResultStore,
    StoreWriteError,
)

DEFAULT_TIMEOUT = 1800.0
EXIT_STOPPED = 3


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
    threads: int = 1
    stored_by_other_run: int = 0
    reused_other_version: Counter[str] = field(default_factory=Counter)
    stopped: str = ""
    not_run: int = 0

    @property
    def failed(self) -> int:
        return sum(n for c in self.counts.values() for s, n in c.items() if s != "ok")

    @property
    def exit_code(self) -> int:
        """0 when every cell of the grid is ``ok``; 1 when any is not; 3 when the run
        stopped early because the store could not be written (see ``stopped``)."""
        if self.stopped:
            return EXIT_STOPPED
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
                 f"{self.failed} not ok; {self.threads} thread(s) per worker; {self.wall_seconds:.1f} s; "
                 f"store {self.store_path}")
        if self.stored_by_other_run:
            text += f"\n{self.stored_by_other_run} cells were stored by another run on the same store meanwhile"
        if self.reused_other_version:
            made = ", ".join(f"{n} by {v}" for v, n in sorted(self.reused_other_version.items()))
            text += (f"\nnote: reused stored cells made by another hubench version or commit ({made}); "
                     "use --force to recompute them with this one")
        if self.stopped:
            text += f"\n\nSTOPPED: {self.stopped}; {self.not_run} cells not run or not stored"
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
    max_memory: int | None = None,
    force: bool = False,
    retry_failed: bool = False,
    device: str = "auto",
    save_estimates: bool = False,
    progress: bool | None = None,
    data_dir: str | None = None,
    scene_file: str | None = None,
    log: TextIO | None = None,
    ensemble: int = 1,
    reference_file: str | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    scene_profile: str | None = None,
) -> RunSummary:
    """Run the grid ``methods x scenarios x snrs x seeds`` into ``store``.

    ``methods`` is a spec string (``"vca,fcls[tol=1e-9]"``, ``"all"``) or a list of
    specs; ``ensemble`` K > 1 fits each cell's method K times and stores the members'
    mean with its uncertainty (:mod:`hubench.ensemble`); ``threads`` the BLAS/torch
    threads per worker, chosen once per run (default
    ``max(1, cores // jobs)``, never from the number of cells left) and part of every
    cell's key, since floating-point sums change with it; ``seeds`` a count (``3`` ->
    0, 1, 2) or a list
    (:func:`~hubench.harness.grid.check_seeds`: at most 100000 seeds, each in 0..2**63-1); ``snrs`` None keeps each scenario's own ``snr_db``;
    ``max_memory`` a per-cell cap in bytes on the worker's resident memory (status
    ``oom``). Cells already in the store are skipped unless ``force`` (re-run all) or
    ``retry_failed`` (re-run those not ``ok``); a cell that another run on the same
    store is running is waited for, not run twice. ``progress`` None shows the bar only
    on a terminal. ``executor`` ``"local"`` runs cells on a local worker pool,
    ``"dask"`` on Dask distributed (:mod:`hubench.harness.dask_pool`): a new
    ``LocalCluster`` of ``jobs`` workers, or the cluster of ``scheduler``
    (``tcp://HOST:PORT``; implies ``"dask"``; threads then default to 1, not to this
    machine's cores). ``scene_profile`` builds the synthetic scenes of another profile
    than the methods' presets (None: ``profile``), e.g. the ``full`` presets on the
    ``quick`` scenes, so two budgets are compared on one scene. Raises a :class:`~hubench.errors.HubenchError` for bad input
    before anything is written.
    """
    log = log or sys.stderr
    started = time.monotonic()
    load_plugins()
    requests = parse_methods(methods) if isinstance(methods, str) else [
        m if isinstance(m, MethodRequest) else parse_methods(m)[0] for m in methods]
    seed_list = check_seeds(seeds)
    if jobs < 1:
        raise ParameterError(f"--jobs: needs at least one worker, got {jobs}")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ParameterError(f"--threads: needs at least one thread per worker, got {threads}")
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise ParameterError(f"--timeout: must be a positive number of seconds, got {timeout}")
    if max_memory is not None and max_memory < 1:
        raise ParameterError(f"--max-memory: must be a positive size, got {max_memory}")
    _check_device(device)
    if scheduler is not None:
        executor = "dask"
    if executor not in ("local", "dask"):
        raise ParameterError(f"--executor: expected local or dask, got {executor!r}")
    pool_maker: Any = None
    if executor == "dask":
        from hubench.harness.dask_pool import DaskPool

        pool_maker = DaskPool(jobs, max_memory=max_memory, scheduler=scheduler, log=log)
        if scheduler is not None:
            pool_maker.connect()  # an unreachable scheduler is one line, before the store exists
    if threads is None:
        threads = 1 if scheduler is not None else threads_per_worker(jobs)
    grid = expand_grid(requests, scenarios, snrs, seed_list, profile=profile, device=device,
                       data_dir=data_dir, scene_file=scene_file, threads=threads,
                       ensemble=ensemble, reference_file=reference_file,
                       scene_profile=scene_profile)
    check_real_scenes(grid.cells)
    try:
        if isinstance(store, ResultStore):
            opened, own = store, False
        else:  # checks the path and an existing file (read-only) before creating anything
            opened, own = ResultStore(store), True
    except BaseException:
        if pool_maker is not None:
            pool_maker.close()
        raise
    summary = RunSummary(store_path=str(opened.path), total=len(grid.cells),
                         skipped_methods=grid.skipped_methods, threads=threads)
    for name, reason in grid.skipped_methods:
        log.write(f"skipping method {name}: {reason}\n")

    def reuse(status: str) -> bool:
        return not force and not (retry_failed and status != "ok")

    try:
        stored = opened.outcomes(c.key for c in grid.cells)
        todo, reused = [], []
        for cell in grid.cells:
            if cell.key in stored and reuse(stored[cell.key][0]):
                summary.add(cell, *stored[cell.key], stored=True)
                reused.append(cell.key)
            else:
                todo.append(cell)
        summary.skipped_stored = len(reused)
        _note_other_versions(opened, reused, summary)
        if summary.skipped_stored:
            log.write(f"{summary.skipped_stored} cells already stored, skipped; use --force to re-run\n")
        if todo:
            _execute(todo, opened, summary, jobs=jobs, threads=threads, timeout=timeout,
                     max_memory=max_memory, progress=progress, save_estimates=save_estimates,
                     reuse=reuse if not force else None, log=log, dask=pool_maker)
    finally:
        if own:
            opened.close()
        if pool_maker is not None:
            pool_maker.close()
    summary.wall_seconds = time.monotonic() - started
    return summary


def _note_other_versions(store: ResultStore, keys: list[str], summary: RunSummary) -> None:
    """Count reused cells made by another hubench version or git commit (for the summary)."""
    if not keys:
        return
    here = provenance()
    mine = (here["hubench_version"], here["git_commit"])
    for version, commit in store.provenance_of(keys).values():
        if (version, commit) != mine:
            summary.reused_other_version[f"hubench {version} at {commit or 'no git commit'}"] += 1


def _execute(todo: list[Cell], store: ResultStore, summary: RunSummary, *, jobs: int, threads: int,
             timeout: float | None, max_memory: int | None, progress: bool | None, save_estimates: bool,
             reuse: Any, log: TextIO, dask: Any = None) -> None:
    """Run ``todo`` on a worker pool (or ``dask``, a :class:`~hubench.harness.dask_pool.DaskPool`),
    claiming each cell in the store just before it runs.

    A write to the store that still fails after its retries stops the run cleanly: the
    workers and their process trees are ended, the claims released, and the summary
    says what happened (exit code 3).
    """
    from tqdm import tqdm

    prov = dict(provenance())
    estimates_dir = None
    if save_estimates:
        store.estimates_dir.mkdir(parents=True, exist_ok=True)
        estimates_dir = str(store.estimates_dir)
    enabled = progress if progress is not None else bool(getattr(log, "isatty", lambda: False)())
    running: dict[str, Cell] = {}
    bar = tqdm(total=len(todo), unit="cell", file=log, disable=not enabled, dynamic_ncols=True,
               desc="hubench run")

    def started(cell: Cell) -> None:
        running[cell.key] = cell
        bar.set_postfix_str(_clip(", ".join(c.label for c in running.values()), 80))

    def acquire(cell: Cell) -> str:
        verdict = store.claim(cell.key, reuse if reuse is not None else (lambda status: False))
        if verdict == "stored":
            status, reason = store.outcomes([cell.key])[cell.key]
            summary.add(cell, status, reason, stored=True)
            summary.stored_by_other_run += 1
            summary.skipped_stored += 1
            bar.update(1)
            return "skip"
        return verdict

    done = 0
    try:
        # The pool starts (workers import the registries) before the bar moves, so the ETA is honest.
        pool: Any = dask if dask is not None else WorkerPool(min(jobs, len(todo)), threads=threads,
                                                             max_memory=max_memory)
        with pool:
            if dask is not None:
                prov["scheduler"] = dask.address
                log.write(f"hubench run: on Dask, scheduler {dask.address}\n")
            for cell, outcome in pool.run(todo, timeout=timeout, estimates_dir=estimates_dir,
                                          on_start=started, acquire=acquire):
                store.put(cell, outcome, prov)
                done += 1
                running.pop(cell.key, None)
                summary.ran += 1
                summary.add(cell, outcome.status, outcome.reason, stored=False)
                if outcome.status != "ok":
                    bar.write(f"{cell.label}: {outcome.status}: {_clip(outcome.reason, 200)}", file=log)
                bar.update(1)
    except StoreWriteError as exc:
        summary.stopped = (f"{exc}. Every cell stored before this is kept; free the store or the disk, "
                           "then run the same command again to resume")
        summary.not_run = len(todo) - done - summary.stored_by_other_run
        log.write(f"hubench run: stopped: {summary.stopped}\n")
    finally:
        bar.close()
        try:
            store.release_claims()
        except StoreWriteError as exc:
            log.write(f"hubench run: could not release this run's claims ({exc}); "
                      "a later run takes them over since this process is gone\n")
