"""The CI regression check: a fixed tiny grid, a committed baseline, per-metric tolerances.

The CI grid is profile ``ci`` (tiny scenes, short schedules), every available registered
method, the scenarios ``standard``, ``rare``, ``weak``, ``no-pure-pixels`` and
``library-weak`` (the library task's scene; library methods run on it alone) at 20 dB,
seeds 0 and 1, on the CPU (so that a GPU in the machine does not change the numbers).

The baseline is a wide CSV, one row per cell (``method, method_version, scenario,
snr_db, seed, status`` and one column per quality metric; cost columns are left out:
they are measured, never reproducible). :func:`compare` matches cells on
``(method, scenario, snr_db, seed)``. A metric is *worse* when it moved in its bad
direction by more than ``atol + rtol * |baseline|``:

- deterministic methods (class attribute ``deterministic = True``):
  ``atol = rtol = 1e-6`` (:data:`DETERMINISTIC`);
- stochastic methods (``deterministic = False``): ``atol = 0.02``, ``rtol = 0.1``
  (:data:`STOCHASTIC`);
- both are overridden per method and metric by the tolerance table, a CSV beside the
  baseline (``leaderboards/ci-tolerances.csv``: ``method, metric, atol, rtol``; data,
  not code, measured for the deep methods with ``benchmarks/ci_spread.py``, see
  docs/guide/leaderboards.md). A ``metric`` may be a metric family (``rmse_em`` covers
  ``rmse_em0``, ``rmse_em1``...) or ``*``; a metric a method's rows do not name falls
  back to its ``*`` row, then to the method's default above.

A metric whose direction is unknown fails on a move either way. A cell ``ok`` in the
baseline that fails now, a baseline cell missing from the run, or a baseline method
that is no longer registered is a regression; a method that is registered but cannot
run here is skipped with its reason; cells not in the baseline are reported as new.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from hubench.errors import DataError
from hubench.harness.store import FRAME_COLUMNS
from hubench.metrics.registry import COST_METRICS, metric_columns, metric_direction

CI_PROFILE = "ci"
CI_SCENARIOS = ("standard", "rare", "weak", "no-pure-pixels", "library-weak")
CI_SNRS = (20.0,)
CI_SEEDS = (0, 1)
CI_DEVICE = "cpu"
# One thread per worker: floating-point sums (torch, BLAS) change with the thread count,
# so a baseline written on one machine holds on another only with the count pinned.
CI_THREADS = 1
TOLERANCES_FILE = "ci-tolerances.csv"

CELL_ID = ("method", "scenario", "snr_db", "seed")
# Statuses whose metrics are stored and compared: a degenerate (collapsed) estimate is
# scored like an ok one, and a change between the two is a finding of its own.
SCORED = ("ok", "degenerate")
BASELINE_FIXED = ("method", "method_version", "scenario", "snr_db", "seed", "status")


@dataclass(frozen=True)
class Tolerance:
    """A metric is worse when it moved the bad way by more than ``atol + rtol * |baseline|``."""

    atol: float
    rtol: float

    def allowed(self, baseline: float) -> float:
        return self.atol + self.rtol * abs(baseline)


DETERMINISTIC = Tolerance(atol=1e-6, rtol=1e-6)
STOCHASTIC = Tolerance(atol=0.02, rtol=0.1)


def metric_family(metric: str) -> str:
    """``rmse_em3`` -> ``rmse_em``, ``sad_em0`` -> ``sad_em``; other names are unchanged."""
    return re.sub(r"(_em)\d+$", r"\1", metric)


def lookup_tolerance(table: Mapping[str, Any], metric: str) -> Any:
    """The entry of one method's rows of the tolerance table for ``metric``.

    Looked up by the exact name, then by its family (``rmse_em3`` -> ``rmse_em``, so one
    entry covers every endmember), then ``"*"``; None when none of them is there (the
    method's default tolerance applies).
    """
    for name in (metric, metric_family(metric), "*"):
        if name in table:
            return table[name]
    return None


def tolerances_path(baseline: str | Path) -> Path:
    """The tolerance table that goes with a baseline: ``ci-tolerances.csv`` beside it."""
    return Path(baseline).with_name(TOLERANCES_FILE)


def read_tolerances(path: str | Path) -> dict[str, dict[str, Tolerance]]:
    """``{method: {metric or family or '*': Tolerance}}`` from a tolerance CSV.

    A missing file is an empty table (every method gets its default); a malformed one
    is a :class:`DataError` naming the file, line and problem.
    """
    target = Path(path)
    if not target.is_file():
        return {}
    table: dict[str, dict[str, Tolerance]] = {}
    try:
        lines = target.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"tolerances {target}: cannot read it ({exc})") from None
    if not lines or [c.strip() for c in lines[0].split(",")] != ["method", "metric", "atol", "rtol"]:
        raise DataError(f"tolerances {target}: the header must be 'method,metric,atol,rtol'")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = [c.strip() for c in line.split(",")]
        if len(fields) != 4 or not fields[0] or not fields[1]:
            raise DataError(f"tolerances {target}, line {number}: expected method,metric,atol,rtol")
        try:
            atol, rtol = float(fields[2]), float(fields[3])
        except ValueError:
            raise DataError(f"tolerances {target}, line {number}: atol and rtol must be numbers") from None
        if not (math.isfinite(atol) and math.isfinite(rtol) and atol >= 0 and rtol >= 0):
            raise DataError(f"tolerances {target}, line {number}: atol and rtol must be finite and >= 0")
        if fields[1] in table.get(fields[0], {}):
            raise DataError(f"tolerances {target}, line {number}: {fields[0]}/{fields[1]} is listed twice")
        table.setdefault(fields[0], {})[fields[1]] = Tolerance(atol, rtol)
    return table


def method_tolerance(method: str, metric: str, table: Mapping[str, Mapping[str, Tolerance]] | None = None
                     ) -> Tolerance:
    """Tolerance of one method's metric: the table's entry, else the method's default."""
    entry = lookup_tolerance((table or {}).get(method, {}), metric)
    if entry is not None:
        return entry
    from hubench.methods import METHODS

    if method not in METHODS:
        return DETERMINISTIC
    return DETERMINISTIC if getattr(METHODS.get(method), "deterministic", True) else STOCHASTIC


def table_tolerance(table: Mapping[str, Mapping[str, Tolerance]]) -> Callable[[str, str], Tolerance]:
    """``tolerance(method, metric)`` for :func:`compare` from a tolerance table."""
    return lambda method, metric: method_tolerance(method, metric, table)


def method_availability(method: str) -> tuple[bool | None, str]:
    """``(True, "")`` available; ``(False, reason)`` registered but not runnable here;
    ``(None, reason)`` not registered at all."""
    from hubench.methods import IMPORT_ERRORS, METHODS

    if method not in METHODS:
        why = IMPORT_ERRORS.get(method)
        return None, f"failed to import: {why}" if why else "no longer registered"
    return METHODS.get(method).availability()


# ---- the CI grid ----------------------------------------------------------------------
def ci_grid_keys(methods: str = "all") -> set[str]:
    """Stable keys of the cells of the CI grid (``methods``: every method available here)."""
    from hubench.harness.grid import expand_grid, load_plugins, parse_methods

    load_plugins()
    grid = expand_grid(parse_methods(methods), CI_SCENARIOS, CI_SNRS, list(CI_SEEDS),
                       profile=CI_PROFILE, device=CI_DEVICE)  # fmt: skip
    return {cell.key for cell in grid.cells}


def run_ci(
    store: str | Path,
    *,
    methods: str = "all",
    jobs: int = 1,
    timeout: float | None = None,
    force: bool = False,
    progress: bool | None = None,
    log: TextIO | None = None,
) -> tuple[Any, pd.DataFrame]:
    """Run the CI grid into ``store`` (stored cells are reused unless ``force``).

    ``methods`` narrows the grid (a ``--methods`` spec such as ``"vca,fcls"``).

    Returns the :class:`~hubench.harness.runner.RunSummary` and the frame of the CI
    grid's cells only (a shared store may hold other runs).
    """
    from hubench.harness.runner import DEFAULT_TIMEOUT, run_grid
    from hubench.harness.store import ResultStore

    summary = run_grid(
        methods, CI_SCENARIOS, list(CI_SNRS), list(CI_SEEDS), profile=CI_PROFILE, store=str(store),
        jobs=jobs, threads=CI_THREADS, timeout=DEFAULT_TIMEOUT if timeout is None else timeout, force=force,
        device=CI_DEVICE, progress=progress, log=log,
    )  # fmt: skip
    keys = ci_grid_keys(methods)
    with ResultStore(store) as opened:
        frame = opened.to_frame()
    return summary, frame[frame["key"].isin(keys)].reset_index(drop=True)


# ---- the baseline file ----------------------------------------------------------------
def baseline_frame(results: pd.DataFrame) -> pd.DataFrame:
    """The baseline table of a results frame: fixed columns, then the quality metrics."""
    metrics = sorted(c for c in metric_columns(results, FRAME_COLUMNS) if c not in COST_METRICS)
    out = results.loc[:, [*BASELINE_FIXED, *metrics]].copy()
    out.loc[~out["status"].isin(SCORED), metrics] = math.nan
    out = out.dropna(axis=1, how="all")  # metrics no cell has (per-endmember beyond p)
    return out.sort_values(list(CELL_ID), kind="stable").reset_index(drop=True)


def baseline_csv(results: pd.DataFrame) -> str:
    """The baseline as CSV text (12 significant digits: stable diffs, far below 1e-6)."""
    return write_baseline_text(baseline_frame(results))


def write_baseline_text(table: pd.DataFrame) -> str:
    """CSV text of a baseline table."""
    return str(table.to_csv(index=False, float_format="%.12g", lineterminator="\n"))


_SEED = re.compile(r"\s*\+?\d+\s*")
_TEXT_COLUMNS = ("method", "method_version", "scenario", "status")


def _cell_text(value: str, width: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + "...'"


def read_baseline(path: str | Path) -> pd.DataFrame:
    """Read a baseline CSV written by :func:`baseline_csv`; raise DataError if it is not one.

    Every cell is checked before anything runs: each error names the file, the row and
    line, and the column (a seed that is not an integer in ``0..2**63-1``, an SNR or a
    metric that is not a number, an empty method/scenario/version, an unknown status),
    and so do rows with too many or too few fields, a repeated cell, missing or repeated
    columns, an empty file and text that is not UTF-8.
    """
    import csv
    import io

    from hubench.harness.grid import MAX_SEED
    from hubench.harness.store import STATUSES

    target = Path(path)
    regen = f"regenerate it with `hubench check --baseline {target} --write`"
    if not target.exists():
        raise DataError(
            f"baseline {target} does not exist; create it with `hubench check --baseline {target} --write`"
        )
    if not target.is_file():
        raise DataError(f"baseline {target} is not a file; pass the baseline CSV")
    try:
        raw = target.read_bytes()
    except OSError as exc:
        raise DataError(f"baseline {target}: cannot read it ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(
            f"baseline {target}, line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); {regen}"
        ) from None
    if not text.strip():
        raise DataError(f"baseline {target} is empty; {regen}")
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[list[str]] = []
    lines: list[int] = []
    try:
        header = [name.strip() for name in next(reader)]
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # a blank line
            if len(record) != len(header):
                raise DataError(
                    f"baseline {target}, row {len(records) + 1} (line {reader.line_num}): "
                    f"{len(record)} fields, the header has {len(header)}; {regen}"
                )
            records.append(record)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(f"baseline {target}, line {reader.line_num}: not a readable CSV ({exc}); {regen}") from None
    if "" in header:
        raise DataError(f"baseline {target}: column {header.index('') + 1} of the header has no name; {regen}")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise DataError(f"baseline {target}: the header repeats the columns {repeated}; {regen}")
    missing = [c for c in BASELINE_FIXED if c not in header]
    if missing:
        raise DataError(f"baseline {target} lacks the columns {missing}; {regen}")
    if not records:
        raise DataError(f"baseline {target} has a header but no rows; {regen}")

    def bad(row: int, column: str, value: str, what: str) -> DataError:
        return DataError(
            f"baseline {target}, row {row + 1} (line {lines[row]}), column {column!r}: "
            f"{_cell_text(value)} {what}; fix the cell or {regen}"
        )

    columns: dict[str, list[Any]] = {name: [] for name in header}
    seen: dict[tuple[str, str, str, int], int] = {}
    for i, record in enumerate(records):
        for name, value in zip(header, record, strict=True):
            cell = value.strip()
            if name in _TEXT_COLUMNS:
                if not cell:
                    raise bad(i, name, value, "is empty")
                if name == "status" and cell not in STATUSES:
                    raise bad(i, name, value, f"is not a status ({', '.join(STATUSES)})")
                columns[name].append(cell)
            elif name == "seed":
                number = int(cell) if len(cell) <= 25 and _SEED.fullmatch(cell) else -1
                if not 0 <= number <= MAX_SEED:
                    raise bad(i, name, value, f"is not a seed (an integer from 0 to {MAX_SEED})")
                columns[name].append(number)
            else:  # snr_db (empty for real scenes) and the metrics (empty when absent)
                try:
                    columns[name].append(float(cell) if cell else math.nan)
                except ValueError:
                    raise bad(i, name, value, "is not numeric") from None
        cid = (columns["method"][i], columns["scenario"][i], repr(columns["snr_db"][i]), columns["seed"][i])
        if cid in seen:
            raise DataError(
                f"baseline {target}, row {i + 1} (line {lines[i]}): the cell (method, scenario, "
                f"snr_db, seed) = {cid[0]}, {cid[1]}, {columns['snr_db'][i]:g}, {cid[3]} is already "
                f"on line {lines[seen[cid]]}; {regen}"
            )
        seen[cid] = i
    frame = pd.DataFrame(columns)
    frame["seed"] = frame["seed"].astype("int64")
    return frame


# ---- comparison -----------------------------------------------------------------------
@dataclass
class Finding:
    """One thing that moved: a metric, a status, a missing cell or a missing method."""

    method: str
    scenario: str
    snr_db: float
    seed: int | None
    metric: str
    baseline: Any
    current: Any
    allowed: float | None
    problem: str


@dataclass
class CheckReport:
    """Everything :func:`compare` found."""

    regressions: list[Finding] = field(default_factory=list)
    improved: list[Finding] = field(default_factory=list)
    new_cells: list[tuple[str, str, float, int]] = field(default_factory=list)
    new_not_ok: int = 0
    skipped_methods: dict[str, str] = field(default_factory=dict)
    still_failing: int = 0
    cells_compared: int = 0
    values_compared: int = 0

    @property
    def ok(self) -> bool:
        return not self.regressions


def _cell_id(row: Mapping[str, Any]) -> tuple[str, str, str, int]:
    snr = float(row["snr_db"])
    return (
        str(row["method"]),
        str(row["scenario"]),
        "nan" if math.isnan(snr) else repr(snr),
        int(row["seed"]),
    )


def _compare_value(
    base: float, now: float, better: str | None, tol: Tolerance
) -> tuple[str, float] | None:
    """``("worse"|"better"|"missing"|"new", allowed)`` when a value moved, else None."""
    allowed = tol.allowed(base) if np.isfinite(base) else 0.0
    if base == now or (math.isnan(base) and math.isnan(now)):
        return None
    if math.isnan(base):
        return "new", allowed
    if math.isnan(now):
        return "missing", allowed
    delta = now - base  # +-inf when one side is infinite (sre of a perfect fit): a real move
    if better is None:
        return ("worse", allowed) if abs(delta) > allowed else None
    bad = delta if better == "lower" else -delta
    if bad > allowed:
        return "worse", allowed
    if -bad > allowed:
        return "better", allowed
    return None


_PROBLEMS = {
    "worse": "worse than tolerance",
    "missing": "value is now missing/NaN",
    "better": "better than tolerance",
}


def compare(
    baseline: pd.DataFrame,
    current: pd.DataFrame,
    *,
    tolerance: Callable[[str, str], Tolerance] = method_tolerance,
    availability: Callable[[str], tuple[bool | None, str]] = method_availability,
) -> CheckReport:
    """Compare a run (a results frame or a baseline-shaped frame) with a baseline, per cell.

    ``tolerance(method, metric)`` and ``availability(method)`` default to the method
    registry; tests pass their own.
    """
    report = CheckReport()
    now_rows = {_cell_id(r): r for r in current.to_dict("records")}
    now_methods = set(current["method"]) if len(current) else set()
    metrics = [c for c in baseline.columns if c not in BASELINE_FIXED]
    for method in sorted(set(baseline["method"]) - now_methods):
        ok, reason = availability(method)
        if ok is False:
            report.skipped_methods[method] = reason
        else:
            problem = f"method not run: {reason or 'it produced no cells'}"
            report.regressions.append(
                Finding(method, "*", math.nan, None, "method", "ran", "absent", None, problem)
            )
    base_ids = set()
    for row in baseline.to_dict("records"):
        cid = _cell_id(row)
        base_ids.add(cid)
        method, scenario, _, seed = cid
        snr = float(row["snr_db"])
        if method not in now_methods:
            continue

        def found(
            metric: str, base: Any, value: Any, allowed: float | None, problem: str
        ) -> Finding:
            return Finding(method, scenario, snr, seed, metric, base, value, allowed, problem)  # noqa: B023

        now = now_rows.get(cid)
        if now is None:
            report.regressions.append(
                found("cell", "ran", "absent", None, "cell missing from this run")
            )
            continue
        report.cells_compared += 1
        note = ""
        if str(now.get("method_version", row["method_version"])) != str(row["method_version"]):
            note = (
                f" (method version {row['method_version']} -> {now['method_version']}: "
                "re-write the baseline with --write if intended)"
            )
        before, after = str(row["status"]), str(now["status"])
        if (before in SCORED and after not in SCORED) or (before, after) == ("ok", "degenerate"):
            reason = str(now.get("reason") or "").strip().split("\n")[0][:120]
            what = "cell collapsed" if after == "degenerate" else "cell failed"
            report.regressions.append(found("status", before, after, None, f"{what}: {reason}{note}"))
            continue
        if before not in SCORED or (before, after) == ("degenerate", "ok"):
            if after in SCORED:
                report.improved.append(found("status", before, after, None, f"cell now {after}"))
            else:
                report.still_failing += 1
            continue
        for metric in metrics:
            base = float(row[metric])
            raw = now.get(metric)
            value = math.nan if raw is None else float(raw)
            report.values_compared += 1
            moved = _compare_value(base, value, metric_direction(metric), tolerance(method, metric))
            if moved is None or moved[0] == "new":
                continue
            finding = found(metric, base, value, moved[1], _PROBLEMS[moved[0]] + note)
            (report.improved if moved[0] == "better" else report.regressions).append(finding)
    for cid in sorted(set(now_rows) - base_ids):
        report.new_cells.append((cid[0], cid[1], float(cid[2]), cid[3]))
        report.new_not_ok += now_rows[cid]["status"] != "ok"
    return report
