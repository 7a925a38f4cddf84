"""Run-to-run spread of the deep methods on the CI grid (a script, not a test).

For every method asked for and every cell of the CI grid (profile ``ci``, the scenarios
``standard, rare, weak, no-pure-pixels`` at 20 dB, scene seeds 0 and 1, ``device="cpu"``,
exactly as :mod:`hubench.harness.check` builds them), the scene is held fixed and only
the method's ``random_state`` changes (``--states``, default 0..4). Each fit runs through
the harness's own :func:`hubench.harness.worker.run_cell` in a worker process with one
torch thread and one BLAS thread (the check pins ``CI_THREADS = 1``).

Printed (Markdown):

1. per method and metric family (``rmse_em0..4`` -> ``rmse_em``, ``sad_em*`` -> ``sad_em``):
   the largest and the median per-scene sample std over the states, the largest
   per-scene range (max - min: the widest gap seen between two runs of one cell), and
   the proposed check tolerance ``atol = max(floor, k * largest std, largest range)``
   rounded up to two significant digits (``--k``, default 3; floors in :data:`FLOORS`);
2. same-seed reproducibility: every CI cell (``random_state = scene seed``, as the
   check runs it) is fitted a second time in a fresh process; the largest absolute
   difference over all metrics (0 means bit-identical results on this CPU);
3. the rows to put into ``leaderboards/ci-tolerances.csv`` (``method,metric,atol,rtol``).

Usage::

    python benchmarks/ci_spread.py --methods daeu,cnnaeu --states 0,1,2,3,4 --jobs 2
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"  # before numpy loads OpenBLAS

import argparse  # noqa: E402
import contextlib  # noqa: E402
import dataclasses  # noqa: E402
import math  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tabulate import tabulate  # noqa: E402

DEEP = ("daeu", "cnnaeu", "deq-unmix", "smile", "ws-net")
SCORED = ("ok", "degenerate")  # the statuses whose metrics hubench check compares
#: Smallest tolerance per metric family (a metric that did not move over the states
#: still gets this much room); ``sre`` is in dB, the rest in their own units (<= ~1).
FLOORS = {"sre": 0.05}
DEFAULT_FLOOR = 1e-3


def family(metric: str) -> str:
    """``rmse_em3`` -> ``rmse_em``; other names are their own family."""
    return re.sub(r"(_em)\d+$", r"\1", metric)


def ceil2(value: float) -> float:
    """Round up to two significant digits (a tolerance is never rounded below what it covers)."""
    if value <= 0 or not math.isfinite(value):
        return value
    step = 10.0 ** (math.floor(math.log10(value)) - 1)
    return float(f"{math.ceil(value / step - 1e-9) * step:.2g}")


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)


def _fit(cell: Any) -> dict[str, Any]:
    from hubench.harness.worker import run_cell

    out = run_cell(cell)
    return {"status": out.status, "reason": out.reason, "seconds": out.fit_seconds,
            **out.metrics}  # fmt: skip


def ci_cells(method: str) -> list[Any]:
    """The CI grid's cells of one method, as ``hubench check`` runs them."""
    from hubench.harness.check import CI_DEVICE, CI_PROFILE, CI_SCENARIOS, CI_SEEDS, CI_SNRS
    from hubench.harness.grid import expand_grid, parse_methods

    grid = expand_grid(parse_methods(method), CI_SCENARIOS, CI_SNRS, list(CI_SEEDS),
                       profile=CI_PROFILE, device=CI_DEVICE)  # fmt: skip
    return grid.cells


def with_state(cell: Any, state: int) -> Any:
    return dataclasses.replace(cell, method_params={**cell.method_params, "random_state": state})


def measure(methods: list[str], states: list[int], jobs: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fits over the states (``runs``) and same-seed repeats (``repeats``, in fresh processes)."""
    tasks: list[tuple[str, str, int, int, Any]] = []
    for method in methods:
        for cell in ci_cells(method):
            for state in states:
                tasks.append((method, cell.scenario, cell.seed, state, with_state(cell, state)))
    with ProcessPoolExecutor(jobs, initializer=_init_worker) as pool:
        results = list(pool.map(_fit, [t[-1] for t in tasks]))
    runs = pd.DataFrame([{"method": m, "scenario": s, "seed": k, "state": st, **r}
                         for (m, s, k, st, _), r in zip(tasks, results, strict=True)])  # fmt: skip
    again = [t for t in tasks if t[3] == t[2]]  # random_state == scene seed: the check's cell
    with ProcessPoolExecutor(jobs, initializer=_init_worker) as pool:  # fresh processes
        results = list(pool.map(_fit, [t[-1] for t in again]))
    repeats = pd.DataFrame([{"method": m, "scenario": s, "seed": k, "state": st, **r}
                            for (m, s, k, st, _), r in zip(again, results, strict=True)])  # fmt: skip
    return runs, repeats


def metric_names(frame: pd.DataFrame) -> list[str]:
    fixed = {"method", "scenario", "seed", "state", "status", "reason", "seconds"}
    return [c for c in frame.columns if c not in fixed]


def spread_table(runs: pd.DataFrame, k: float) -> pd.DataFrame:
    """Per method and metric family: largest / median per-scene std, largest range, atol."""
    rows = []
    ok = runs[runs["status"].isin(SCORED)]  # degenerate cells are compared by the check too
    for method, sub in ok.groupby("method", sort=False):
        per_scene = sub.groupby(["scenario", "seed"])
        stds: dict[str, list[float]] = {}
        ranges: dict[str, list[float]] = {}
        for metric in metric_names(sub):
            if not np.isfinite(sub[metric].to_numpy(dtype=float)).any():
                continue
            fam = family(metric)
            stds.setdefault(fam, []).extend(per_scene[metric].std(ddof=1).dropna().tolist())
            rng = (per_scene[metric].max() - per_scene[metric].min()).dropna()
            ranges.setdefault(fam, []).extend(rng.tolist())
        for fam in sorted(stds):
            s = np.asarray(stds[fam], dtype=float)
            largest = float(s.max()) if s.size else math.nan
            floor = FLOORS.get(fam, DEFAULT_FLOOR)
            widest = float(np.max(ranges[fam])) if ranges[fam] else 0.0
            largest = largest if np.isfinite(largest) else 0.0
            rows.append({"method": method, "metric": fam, "max_std": largest,
                         "median_std": float(np.median(s)) if s.size else math.nan,
                         "max_range": widest,
                         "atol": ceil2(max(floor, k * largest, widest))})  # fmt: skip
    return pd.DataFrame(rows)


def repeat_table(runs: pd.DataFrame, repeats: pd.DataFrame) -> pd.DataFrame:
    """Largest |difference| between a CI cell and its repeat in a fresh process."""
    key = ["method", "scenario", "seed", "state"]
    first = runs.set_index(key).loc[repeats.set_index(key).index]
    second = repeats.set_index(key)
    rows = []
    for method in second.index.get_level_values("method").unique():
        a, b = first.loc[method], second.loc[method]
        metrics = [m for m in metric_names(runs) if m in a.columns and m in b.columns]
        x, y = a[metrics].to_numpy(dtype=float), b[metrics].to_numpy(dtype=float)
        same_nan = np.isnan(x) & np.isnan(y)
        diff = np.where(same_nan, 0.0, np.abs(x - y))
        rows.append({"method": method, "cells": len(a), "max_abs_diff": float(np.nanmax(diff)),
                     "bit_identical": bool(np.array_equal(x, y, equal_nan=True)),
                     "fit_s_per_cell": float(a["seconds"].mean())})  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--methods", default=",".join(DEEP))
    parser.add_argument("--states", default="0,1,2,3,4", help="random_state values")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--k", type=float, default=3.0, help="atol = k * largest std")
    parser.add_argument("--raw", default=None, help="also write every fit's metrics to this CSV")
    args = parser.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    states = [int(s) for s in args.states.split(",")]
    start = time.perf_counter()
    runs, repeats = measure(methods, states, args.jobs)
    if args.raw:
        pd.concat([runs.assign(run="states"), repeats.assign(run="repeat")]).to_csv(
            args.raw, index=False
        )
    failed = runs[~runs["status"].isin(SCORED)]
    print(f"{len(runs)} fits over random_state in {states}, {len(repeats)} same-seed repeats, "
          f"{len(failed)} not ok, {time.perf_counter() - start:.0f} s wall, "
          f"load {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    spread = spread_table(runs, args.k)
    print(tabulate(spread, headers="keys", tablefmt="github", showindex=False, floatfmt=".3g"))
    print()
    print(tabulate(repeat_table(runs, repeats), headers="keys", tablefmt="github",
                   showindex=False, floatfmt=".3g"))  # fmt: skip
    print("\nrows for leaderboards/ci-tolerances.csv (method,metric,atol,rtol):")
    for r in spread.itertuples():
        print(f"{r.method},{r.metric},{r.atol!r},0.0")
    if len(failed):
        print("\nnot ok:", failed[["method", "scenario", "seed", "state", "reason"]].to_string())


if __name__ == "__main__":
    main()
