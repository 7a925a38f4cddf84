"""``hubench check``: re-run the CI grid and compare it with the committed baseline."""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tabulate import tabulate

from hubench.cli.run_cmd import DEFAULT_JOBS
from hubench.errors import ParameterError

if TYPE_CHECKING:
    import pandas as pd

    from hubench.harness.check import CheckReport, Finding

NAME = "check"
HELP = "re-run the CI profile and fail when a metric got worse than the baseline's tolerance"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--baseline", required=True, help="baseline CSV, e.g. leaderboards/ci-baseline.csv"
    )
    parser.add_argument(
        "--tolerances", default=None,
        help="per-method, per-metric tolerance CSV (method,metric,atol,rtol; default: "
             "ci-tolerances.csv beside the baseline)"
    )
    parser.add_argument("--methods", default="all",
                        help="only these methods (names or name[k=v]); the baseline is narrowed "
                             "to them (default: all)")  # fmt: skip
    parser.add_argument("--store", default=None,
                        help="results database to run into and reuse (default: a temporary one)")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS,
                        help=f"worker processes, one thread each (default: the cores, at most 4; "
                             f"{DEFAULT_JOBS} here)")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="wall-clock limit per cell in seconds (default: 600)")  # fmt: skip
    parser.add_argument("--force", action="store_true", help="re-run cells already in --store")
    parser.add_argument("--write", action="store_true",
                        help="(re)write the baseline from this run instead of comparing; with "
                        "--methods only those methods' rows are replaced")  # fmt: skip
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show the progress bar (default: only on a terminal)")  # fmt: skip


def _write(args: argparse.Namespace, frame: pd.DataFrame, requested: set[str]) -> int:
    """Write the baseline; with ``--methods`` only those methods' rows are replaced."""
    import pandas as pd

    from hubench.harness.check import CELL_ID, baseline_frame, read_baseline, write_baseline_text
    from hubench.report.leaderboard import write_text_atomic

    table = baseline_frame(frame)
    if "all" not in requested and Path(args.baseline).is_file():
        kept = read_baseline(args.baseline)
        kept = kept[~kept["method"].isin(requested)]
        table = pd.concat([kept, table], ignore_index=True).sort_values(
            list(CELL_ID), kind="stable"
        )
    target = write_text_atomic(args.baseline, write_baseline_text(table))
    failed = frame[frame["status"] != "ok"]
    sys.stdout.write(f"hubench check: wrote {target} ({len(table)} cells, "
                     f"{table['method'].nunique()} methods, {len(failed)} not ok in this run)\n")  # fmt: skip
    if len(failed):
        sys.stderr.write("warning: the baseline records failed cells of: "
                         + ", ".join(sorted(set(failed["method"]))) + "\n")  # fmt: skip
    return 0


def run(args: argparse.Namespace) -> int:
    from hubench.harness.check import (
        compare,
        read_baseline,
        read_tolerances,
        run_ci,
        table_tolerance,
        tolerances_path,
    )

    if args.jobs < 1:
        raise ParameterError(f"--jobs: needs at least one worker, got {args.jobs}")
    if not (args.timeout > 0 and math.isfinite(args.timeout)):
        raise ParameterError(f"--timeout: must be a positive, finite number of seconds, got {args.timeout}")
    from hubench.harness.grid import parse_methods

    requested = {m.name for m in parse_methods(args.methods)}
    baseline = None if args.write else read_baseline(args.baseline)  # fail before running
    tolerances = read_tolerances(args.tolerances or tolerances_path(args.baseline))
    target = Path(args.baseline)
    if args.write and target.exists() and ("all" not in requested or not target.is_file()):
        read_baseline(target)  # --methods keeps the other rows; a folder cannot be replaced
    if baseline is not None and "all" not in requested:
        baseline = baseline[baseline["method"].isin(requested)]
    with tempfile.TemporaryDirectory(prefix="hubench-check-") as tmp:
        store = args.store or str(Path(tmp) / "results.sqlite")
        _, frame = run_ci(store, methods=args.methods, jobs=args.jobs, timeout=args.timeout, force=args.force,
                          progress=args.progress, log=sys.stderr)  # fmt: skip
    if baseline is None:
        return _write(args, frame, requested)
    report = compare(baseline, frame, tolerance=table_tolerance(tolerances))
    if report.regressions:
        sys.stdout.write(regression_table(report.regressions) + "\n\n")
    sys.stdout.write(summary_line(report, args.baseline) + "\n")
    return 0 if report.ok else 1


# ---- printing -----------------------------------------------------------------------
def _num(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def regression_table(findings: list[Finding]) -> str:
    """A tabulate table of findings: what moved, by how much, and what was allowed."""
    rows = []
    for f in findings:
        change = ""
        if (
            isinstance(f.baseline, float)
            and isinstance(f.current, float)
            and np.isfinite(f.baseline)
            and np.isfinite(f.current)
        ):
            change = f"{f.current - f.baseline:+.3g}"
        rows.append([
            f.method, f.scenario, "" if math.isnan(f.snr_db) else f"{f.snr_db:g}",
            "" if f.seed is None else f.seed, f.metric, _num(f.baseline), _num(f.current),
            change, "" if f.allowed is None else f"{f.allowed:.3g}", f.problem,
        ])  # fmt: skip
    headers = [
        "method",
        "scenario",
        "snr_db",
        "seed",
        "metric",
        "baseline",
        "now",
        "change",
        "allowed",
        "problem",
    ]
    return str(tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True))


def summary_line(report: CheckReport, baseline: str) -> str:
    """One line: the verdict and the counts."""
    verdict = "no regression" if report.ok else f"{len(report.regressions)} regression(s)"
    parts = [
        f"{report.cells_compared} cells and {report.values_compared} values compared",
        f"{len(report.improved)} improved beyond tolerance",
        f"{len(report.new_cells)} new cells ({report.new_not_ok} of them not ok)",
    ]
    if report.still_failing:
        parts.append(f"{report.still_failing} cells failing as in the baseline")
    if report.skipped_methods:
        parts.append(
            "skipped: "
            + "; ".join(f"{m} ({why})" for m, why in sorted(report.skipped_methods.items()))
        )
    return f"hubench check: {verdict} against {baseline} (" + ", ".join(parts) + ")"
