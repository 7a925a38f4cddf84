"""The leaderboard as data: every number a leaderboard shows, computed once.

:func:`build_leaderboard` turns a results frame (``ResultStore(path).to_frame()``, one
row per cell) into a :class:`Leaderboard`: plain DataFrames of numbers, intervals,
significance, ranks and counts, with no display text in them. The renderers
(:mod:`hubench.report.render_md`, :mod:`hubench.report.render_csv`) only format it;
nothing is parsed back from a rendered string.

Definitions (docs/guide/leaderboards.md):

- statistics of a cell group are over the seeds of the cells that finished ``ok``
  (finite values only): mean, sample std (``ddof=1``), count, and the percentile
  bootstrap 95% CI of the mean (:func:`~hubench.report.significance.bootstrap_mean_ci`,
  NaN for fewer than two values);
- a scenario's table has a column per quality metric and SNR (a bare metric for a real
  scene, whose SNR is NaN) and one per cost metric pooled over all SNRs; a column none
  of whose methods has a value is left out;
- **reference methods**: a method whose rows have ``task == "supervised"`` or
  ``"priors"`` (it was given the true endmembers or prior spectra of the weak materials)
  is a reference, not a competitor: it is shown, but left out of
  the ranks, of ``best`` and of the significance tests, which are computed among the
  blind methods alone (ranks within a task; the reference methods are not ranked among
  themselves either: their ``rank`` is NaN); methods of the ``library`` task (given a
  spectral library) are ranked, given ``best`` and tested among themselves, apart from
  the blind methods of the same scenario;
- ``best``: the best mean of a column among the blind methods (direction from the
  metric registry; ties within a relative 1e-9); ``rank``: the method's rank among the
  blind methods in a column of a *rank metric* (ties share the average; no ok cell
  ranks last; a metric that does not apply to the method, i.e. its cells finished but
  gave no value, is not ranked); a method's ``rank`` is the mean of its column ranks.
  The rank metrics are ``rank_by`` (default: every quality metric shown; never a cost);
- ``worse``: significantly worse than the best blind method of that metric in the
  scenario (two-sided Wilcoxon over the (seed, SNR) pairs, p < 0.05,
  :func:`~hubench.report.significance.compare_to_best`);
- the average rank of a blind method is the mean of its ``rank`` over the scenarios it
  ran on;
- **partial references** (:attr:`Leaderboard.references`): a scene whose reference lacks
  abundances or endmembers is recognised from its ok cells (no finite ``armse``: no
  reference abundances; no finite ``msad`` and no supervised cell: no reference
  endmembers). Its table keeps the columns of the metrics that need the missing part,
  with no value (shown ``n/a``, never ranked), so the reader sees what does not apply
  (:func:`hubench.metrics.evaluation.applies`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hubench.errors import HubenchError, ParameterError
from hubench.metrics.evaluation import applies as metric_applies
from hubench.report.frame import (
    labelled,
    reference_rows,
    resolve_metrics,
    resolve_rank_by,
    supervised_rows,
)
from hubench.report.significance import average_rank, bootstrap_mean_ci, compare_to_best
from hubench.report.stats import (
    COST_METRICS,
    best_mask,
    column_ranks,
    metric_unit,
    require_direction,
)

#: Statuses whose cells are not counted as failed (a degenerate cell is counted apart).
_NOT_FAILED = ("ok", "degenerate")

#: Columns of :attr:`Leaderboard.summary`.
SUMMARY_COLUMNS = (
    "scenario", "method", "snr_db", "metric", "mean", "std", "n", "ci_low", "ci_high",
    "reference",
)  # fmt: skip
#: Columns of :attr:`Leaderboard.columns`.
TABLE_COLUMNS = ("scenario", "column", "metric", "snr_db", "pooled")
#: Columns of :attr:`Leaderboard.cells`.
CELL_COLUMNS = (
    "scenario", "column", "metric", "snr_db", "pooled", "method", "mean", "std", "n",
    "ci_low", "ci_high", "best", "rank", "pvalue", "worse",
)  # fmt: skip
#: Columns of :attr:`Leaderboard.methods`.
METHOD_COLUMNS = ("scenario", "method", "supervised", "rank", "failed", "degenerate", "total", "trained", "capped")
#: Columns of :attr:`Leaderboard.failures`.
FAILURE_COLUMNS = ("scenario", "method", "seed", "snr_db", "status", "reason")
#: Columns of :attr:`Leaderboard.average_rank`.
AVERAGE_RANK_COLUMNS = ("method", "supervised", "rank", "scenarios")


@dataclass(frozen=True)
class Provenance:
    """What produced the cells of a leaderboard (its header). Values are sorted and
    distinct; an empty tuple means the store did not record it."""

    profiles: tuple[str, ...]
    scenarios: tuple[str, ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...]
    #: Controlled SNRs in dB, ascending, ``inf`` (noiseless) last; real scenes (NaN) left out.
    snrs: tuple[float, ...]
    cells: int
    #: Cells whose status is neither ``ok`` nor ``degenerate``.
    failed: int
    degenerate: int
    hubench_versions: tuple[str, ...]
    git_commits: tuple[str, ...]
    python_versions: tuple[str, ...]
    numpy_versions: tuple[str, ...]
    torch_versions: tuple[str, ...]
    devices: tuple[str, ...]
    hosts: tuple[str, ...]
    #: Earliest ``started_at`` and latest ``finished_at`` (ISO text as stored), or None.
    first_start: str | None
    last_finish: str | None
    #: Sums over the cells of ``fit_seconds`` and ``cpu_seconds`` (NaN when not stored).
    fit_seconds_total: float = math.nan
    cpu_seconds_total: float = math.nan

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Provenance:
        """The provenance of the cells of ``frame`` (a results frame)."""
        status = frame["status"]
        start = _texts(frame, "started_at")
        end = _texts(frame, "finished_at")
        return cls(
            profiles=_distinct(frame, "profile"),
            scenarios=tuple(sorted({str(s) for s in _column(frame, "scenario")})),
            methods=tuple(sorted({str(m) for m in _column(frame, "method")})),
            seeds=tuple(sorted({int(s) for s in _column(frame, "seed").dropna()})),
            snrs=tuple(s for s in snr_order(frame["snr_db"]) if not math.isnan(s)),
            cells=len(frame),
            failed=int((~status.isin(_NOT_FAILED)).sum()),
            degenerate=int((status == "degenerate").sum()),
            hubench_versions=_distinct(frame, "hubench_version"),
            git_commits=_distinct(frame, "git_commit"),
            python_versions=_distinct(frame, "python_version"),
            numpy_versions=_distinct(frame, "numpy_version"),
            torch_versions=_distinct(frame, "torch_version"),
            devices=_distinct(frame, "device"),
            hosts=_distinct(frame, "host"),
            first_start=min(start) if start and end else None,
            last_finish=max(end) if start and end else None,
            fit_seconds_total=_total(frame, "fit_seconds"),
            cpu_seconds_total=_total(frame, "cpu_seconds"),
        )


@dataclass(frozen=True)
class Leaderboard:
    """Every number of a leaderboard, one DataFrame per kind (no display text).

    Scenarios and methods are their labels (:func:`~hubench.report.frame.labelled`:
    ``name`` or ``name[k=v,...]`` for variants). ``snr_db`` is NaN for a real scene and
    for a cost column pooled over all SNRs (``pooled`` True).

    Attributes
    ----------
    metrics : DataFrame
        Index ``metric`` (the chosen metrics, in order); ``better`` (``"lower"`` or
        ``"higher"``), ``unit`` (``""`` if unknown), ``cost`` (bool: measured, pooled
        over SNRs, not ranked), ``ranked`` (bool: a rank metric, whose columns the
        ``rank`` averages).
    summary : DataFrame
        One row per scenario x method x SNR x metric for which cells ran (sorted by
        scenario, method, SNR with NaN last, then metric order): ``mean``, ``std``
        (NaN for one value), ``n`` (finite values of ok cells; 0 when none),
        ``ci_low``, ``ci_high`` (bootstrap 95% CI of the mean; NaN for n < 2),
        ``reference`` (bool: the method was given the true endmembers).
    columns : DataFrame
        The columns of each scenario's table, in order (``column`` = 0, 1, ...):
        ``metric``, ``snr_db``, ``pooled``. Columns without any value are left out.
    cells : DataFrame
        One row per scenario x table column x method of the scenario: the statistics
        as in ``summary`` (n = 0 and NaN where the method has no value), ``best``
        (bool; among the blind methods), ``rank`` (rank among the blind methods in a
        column of a rank metric, NaN where not ranked and for reference methods),
        ``pvalue`` and ``worse`` (the paired test of a blind method against the best
        blind one of that metric over all SNRs; NaN / False for the best itself, cost
        columns and reference methods).
    methods : DataFrame
        One row per scenario x method, in table order (scenario, then the blind methods
        by rank, NaN last, then method, then the reference methods by method):
        ``supervised`` (given the true endmembers: a reference, not ranked), ``rank``
        (mean of its column ranks; NaN for a reference method), cell counts ``failed``
        (neither ok nor degenerate), ``degenerate`` and ``total``; for deep methods
        ``trained`` (cells with a training record) and ``capped`` (of those, the cells
        whose training hit the epochs cap before the stopping rule held).
    failures : DataFrame
        Every cell that is not ``ok`` (degenerate ones included), per scenario sorted
        by method, SNR, seed: ``seed``, ``snr_db``, ``status``, ``reason`` (as stored).
    average_rank : DataFrame
        One row per blind method label across scenarios (reference methods are not
        ranked and have no row; ``supervised`` is always False), sorted by ``rank``
        (the mean of its unrounded per-scenario ranks; NaN last; ties within a relative
        1e-9 by method): ``scenarios`` = how many scenario ranks were averaged.
    provenance : Provenance
    statistics : bool
        Whether the CIs and paired tests were computed (:func:`build_leaderboard`);
        without them ``ci_low``, ``ci_high``, ``pvalue`` are NaN and ``worse`` False.
    """

    metrics: pd.DataFrame
    summary: pd.DataFrame
    columns: pd.DataFrame
    cells: pd.DataFrame
    methods: pd.DataFrame
    failures: pd.DataFrame
    average_rank: pd.DataFrame
    provenance: Provenance
    statistics: bool = True
    #: Scenario label -> its reference, ``"A+E"`` (full), ``"E"``, ``"A"`` or ``"none"``.
    references: dict[str, str] = field(default_factory=dict)

    @property
    def rank_by(self) -> list[str]:
        """The rank metrics: those whose columns a method's ``rank`` averages, in order."""
        return [str(m) for m in self.metrics.index[self.metrics["ranked"].to_numpy(dtype=bool)]]

    @property
    def scenarios(self) -> list[str]:
        """Scenario labels, sorted (the order of the tables)."""
        return sorted({str(s) for s in self.methods["scenario"]})


# ---- helpers ------------------------------------------------------------------------
def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]``, or an empty column when the frame has none (a hand-made frame)."""
    return frame[name] if name in frame.columns else pd.Series([], dtype=object)


def _total(frame: pd.DataFrame, column: str) -> float:
    """Sum of a numeric column over the cells that recorded it; NaN when none did."""
    values = pd.to_numeric(_column(frame, column), errors="coerce").dropna()
    return float(values.sum()) if len(values) else math.nan


def _texts(frame: pd.DataFrame, column: str) -> list[str]:
    if column not in frame.columns:
        return []
    return list(frame[column].dropna().astype(str))


def _distinct(frame: pd.DataFrame, column: str) -> tuple[str, ...]:
    if column not in frame.columns:
        return ()
    return tuple(sorted({str(v) for v in frame[column].dropna() if str(v) != ""}))


def snr_order(values: Any) -> list[float]:
    """Distinct SNRs ascending (``inf`` after every finite one), NaN (real scenes) once, last."""
    snrs = [float(v) for v in values]
    real = [math.nan] if any(math.isnan(s) for s in snrs) else []
    return sorted({s for s in snrs if not math.isnan(s)}) + real


def _snr_key(snr: float) -> float | None:
    """A dict key for an SNR: NaN (real scene) is None, so that it equals itself."""
    return None if math.isnan(snr) else snr


Stats = tuple[float, float, int, float, float]
_NO_VALUE: Stats = (math.nan, math.nan, 0, math.nan, math.nan)


def cell_stats(values: Any, *, ci: bool = True) -> Stats:
    """Mean, sample std, count, CI low and high of the finite ``values`` (in the given
    order: the bootstrap draws positions). ``(nan, nan, 0, nan, nan)`` for none; the CI
    is NaN for one value or without ``ci``."""
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    arr = arr[np.isfinite(arr)]
    n = int(arr.size)
    if n == 0:
        return _NO_VALUE
    std = float(arr.std(ddof=1)) if n > 1 else math.nan
    if not ci or n < 2:
        return float(arr.mean()), std, n, math.nan, math.nan
    low, high = bootstrap_mean_ci(arr)
    return float(arr.mean()), std, n, float(low), float(high)


# ---- building -----------------------------------------------------------------------
def build_leaderboard(
    frame: pd.DataFrame,
    metrics: Sequence[str] | None = None,
    *,
    statistics: bool = True,
    rank_by: Sequence[str] | None = None,
) -> Leaderboard:
    """Compute the leaderboard of a results frame.

    Parameters
    ----------
    frame : DataFrame
        ``ResultStore(path).to_frame()``, possibly narrowed with
        :func:`~hubench.report.frame.select`.
    metrics : sequence of str, optional
        Metric columns (default: :data:`~hubench.report.frame.DEFAULT_METRICS` present
        in the frame); an unknown name raises with a suggestion.
    statistics : bool
        Also compute the bootstrap confidence intervals and the paired tests against
        the best (the costly part: tens of milliseconds per scenario and metric).
        Without them ``ci_low``, ``ci_high`` and ``pvalue`` are NaN and ``worse`` False.
    rank_by : sequence of str, optional
        The metrics whose columns the ``rank`` averages (default: every quality metric
        shown). A rank metric not among ``metrics`` is shown too (after them); an
        unknown name raises :class:`~hubench.errors.UnknownNameError`, a cost metric
        :class:`~hubench.errors.ParameterError`.
    """
    if frame.empty:
        raise HubenchError("no results to tabulate; run `hubench run` first")
    chosen = resolve_metrics(frame, metrics)
    ranked = resolve_rank_by(frame, rank_by)
    if ranked is not None:
        chosen += [m for m in ranked if m not in chosen]
    return build_labelled(
        labelled(frame), chosen, Provenance.of(frame), statistics=statistics, rank_by=ranked
    )


def build_labelled(
    lab: pd.DataFrame,
    metrics: Sequence[str],
    provenance: Provenance | None = None,
    *,
    statistics: bool = True,
    rank_by: Sequence[str] | None = None,
) -> Leaderboard:
    """:func:`build_leaderboard` of a frame that already has ``scenario_label`` and
    ``method_label`` columns, for the given (resolved) metrics; ``rank_by`` (default:
    every quality metric of ``metrics``) must be among ``metrics``, never a cost."""
    chosen = list(metrics)
    if rank_by is None:
        ranked = {m for m in chosen if m not in COST_METRICS}
    else:
        ranked = set(rank_by)
        for name in rank_by:
            if name not in chosen:
                raise ParameterError(f"rank_by: {name!r} is not among the metrics {chosen}")
            if name in COST_METRICS:
                raise ParameterError(
                    f"rank_by: {name!r} is a cost metric; cost is shown, never ranked"
                )
    info = pd.DataFrame(
        {
            "better": [require_direction(m, [m]) for m in chosen],
            "unit": [metric_unit(m) for m in chosen],
            "cost": [m in COST_METRICS for m in chosen],
            "ranked": [m in ranked for m in chosen],
        },
        index=pd.Index(chosen, name="metric"),
    )
    lab = lab.assign(_reference=reference_rows(lab).to_numpy(dtype=bool))
    summary = _summary(lab, chosen, statistics)
    looked_up = {
        (r.scenario, r.method, _snr_key(r.snr_db), r.metric): (r.mean, r.std, r.n, r.ci_low, r.ci_high)
        for r in summary.itertuples(index=False)
    }  # fmt: skip
    columns, cells, methods, failures = [], [], [], []
    references: dict[str, str] = {}
    for scenario, group in lab.groupby("scenario_label", sort=True):
        references[str(scenario)] = scene_reference(group)
        table = _scenario(str(scenario), group, info, looked_up, statistics,
                          references[str(scenario)])
        columns.append(table[0])
        cells.append(table[1])
        methods.append(table[2])
        failures.append(table[3])
    methods_frame = pd.concat(methods, ignore_index=True)
    return Leaderboard(
        metrics=info,
        summary=summary,
        columns=_concat(columns, TABLE_COLUMNS),
        cells=_concat(cells, CELL_COLUMNS),
        methods=methods_frame,
        failures=_concat(failures, FAILURE_COLUMNS),
        average_rank=_average_rank(methods_frame),
        provenance=provenance if provenance is not None else Provenance.of(lab),
        statistics=statistics,
        references=references,
    )


def scene_reference(frame: pd.DataFrame) -> str:
    """What reference one scenario's scene has, read from its ok cells: ``"A+E"``, ``"E"``,
    ``"A"`` or ``"none"``; ``"A+E"`` (nothing to say) when no cell finished ok."""
    ok = frame[frame["status"] == "ok"]
    if not len(ok):
        return "A+E"

    def finite(column: str) -> bool:
        return column in ok.columns and bool(np.isfinite(ok[column].to_numpy(dtype=float)).any())

    has_a = finite("armse")
    has_e = finite("msad") or bool(supervised_rows(ok).to_numpy(dtype=bool).any())
    return "+".join(part for part, has in (("A", has_a), ("E", has_e)) if has) or "none"


def _concat(parts: list[pd.DataFrame], names: Sequence[str]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=list(names))
    return pd.concat(parts, ignore_index=True)


def _summary(lab: pd.DataFrame, metrics: list[str], statistics: bool) -> pd.DataFrame:
    rows = []
    keys = ["scenario_label", "method_label", "snr_db"]
    for (scenario, method, snr), group in lab.groupby(keys, dropna=False, sort=True):
        ok = group[group["status"] == "ok"]
        reference = bool(group["_reference"].any())
        for metric in metrics:
            stats = cell_stats(ok[metric], ci=statistics)
            rows.append((scenario, method, snr, metric, *stats, reference))
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def _scenario(
    scenario: str,
    frame: pd.DataFrame,
    info: pd.DataFrame,
    looked_up: dict[tuple[Any, ...], Stats],
    statistics: bool,
    scene_ref: str = "A+E",
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One scenario's table columns, cells, methods and failures."""
    methods = sorted(frame["method_label"].unique())
    # Reference methods (given the true endmembers) are shown, never ranked: best,
    # ranks and the paired tests are computed among the blind methods alone.
    reference = set(frame.loc[frame["_reference"], "method_label"])
    blind = [m for m in methods if m not in reference]
    # Ranks within a task: library methods (given a library) apart from blind ones.
    groups = _task_groups(frame, blind)
    ok = frame[frame["status"] == "ok"]
    snrs = snr_order(frame["snr_db"])
    tests = {
        metric: _grouped_tests(frame, groups, metric, str(info.loc[metric, "better"]))
        for metric in info.index
        if statistics and not info.loc[metric, "cost"] and blind
    }
    columns: list[tuple[Any, ...]] = []
    cells: list[tuple[Any, ...]] = []
    ranks: list[pd.Series] = []
    for metric in info.index:
        better = str(info.loc[metric, "better"])
        cost = bool(info.loc[metric, "cost"])
        for snr in [math.nan] if cost else snrs:
            if cost:
                stats = {
                    m: cell_stats(ok.loc[ok["method_label"] == m, metric], ci=statistics)
                    for m in methods
                }
                finished = set()
            else:
                key = _snr_key(snr)
                stats = {m: looked_up.get((scenario, m, key, metric), _NO_VALUE) for m in methods}
                at = ok["snr_db"].isna() if key is None else ok["snr_db"] == snr
                finished = set(ok.loc[at, "method_label"])
            means = pd.Series({m: s[0] for m, s in stats.items()}, dtype=float)
            not_applicable = not metric_applies(metric, scene_ref)
            if not_applicable:  # kept, without values, to show what the reference allows
                stats = dict.fromkeys(methods, _NO_VALUE)
                means = pd.Series(math.nan, index=methods, dtype=float)
            elif not np.isfinite(means.to_numpy()).any():
                continue
            best = pd.concat(
                [best_mask(means[group], better) for group in groups]
            ).reindex(methods, fill_value=False) if groups else pd.Series(False, index=methods)
            rank = pd.Series(math.nan, index=methods)
            if not cost and bool(info.loc[metric, "ranked"]) and not not_applicable:
                # No value although cells finished ok: the metric does not apply to the
                # method, so the column does not count for it. No cell finished ok: it
                # ranks last there.
                parts = []
                for group in groups:
                    applies = [m for m in group if stats[m][2] > 0 or m not in finished]
                    parts.append(column_ranks(means[applies], better))
                rank = pd.concat(parts).reindex(methods) if parts else rank
                ranks.append(rank)
            position = len(columns)
            columns.append((scenario, position, metric, snr, cost))
            test = tests.get(metric)
            for m in methods:
                if test is not None and m in test.index:  # a blind method, with statistics
                    pvalue, worse = float(test.loc[m, "pvalue"]), bool(test.loc[m, "worse"])
                else:
                    pvalue, worse = math.nan, False
                cells.append(
                    (scenario, position, metric, snr, cost, m, *stats[m], bool(best[m]),
                     float(rank[m]), pvalue, worse)
                )  # fmt: skip
    counts = frame.groupby("method_label")["status"].agg(
        failed=lambda s: int((~s.isin(_NOT_FAILED)).sum()),
        degenerate=lambda s: int((s == "degenerate").sum()),
        total="size",
    )
    converged = pd.to_numeric(frame["training_converged"], errors="coerce") if "training_converged" in frame \
        else pd.Series(math.nan, index=frame.index)
    trained = converged.notna().groupby(frame["method_label"]).sum()
    capped = (converged == 0).groupby(frame["method_label"]).sum()
    mean_rank = (
        pd.concat(ranks, axis=1).mean(axis=1) if ranks else pd.Series(math.nan, index=methods)
    )
    table = pd.DataFrame(
        {
            "scenario": scenario,
            "method": methods,
            "supervised": [m in reference for m in methods],
            "rank": [float(mean_rank[m]) for m in methods],
            "failed": [int(counts.loc[m, "failed"]) for m in methods],
            "degenerate": [int(counts.loc[m, "degenerate"]) for m in methods],
            "total": [int(counts.loc[m, "total"]) for m in methods],
            "trained": [int(trained.get(m, 0)) for m in methods],
            "capped": [int(capped.get(m, 0)) for m in methods],
        },
        columns=list(METHOD_COLUMNS),
    )
    # The blind methods by rank, then the reference block (rank NaN) by method.
    table = table.sort_values(["supervised", "rank", "method"], kind="stable")
    table = table.reset_index(drop=True)
    failed = frame[frame["status"] != "ok"].sort_values(["method_label", "snr_db", "seed"])
    failures = pd.DataFrame(
        {
            "scenario": scenario,
            "method": failed["method_label"].to_numpy(),
            "seed": failed["seed"].to_numpy(),
            "snr_db": failed["snr_db"].to_numpy(dtype=float),
            "status": failed["status"].to_numpy(),
            "reason": failed["reason"].to_numpy() if "reason" in failed else [None] * len(failed),
        },
        columns=list(FAILURE_COLUMNS),
    )
    return (
        pd.DataFrame(columns, columns=list(TABLE_COLUMNS)),
        pd.DataFrame(cells, columns=list(CELL_COLUMNS)),
        table,
        failures,
    )


def _task_groups(frame: pd.DataFrame, ranked: list[str]) -> list[list[str]]:
    """The ranked methods split by task (``blind``, ``library``...), each group ranked
    on its own; a row without a stored task counts as blind."""
    task = frame["task"] if "task" in frame.columns else pd.Series("blind", index=frame.index)
    of = task.fillna("blind").groupby(frame["method_label"]).first()
    groups: dict[str, list[str]] = {}
    for m in ranked:
        groups.setdefault(str(of.get(m, "blind")), []).append(m)
    return [groups[t] for t in sorted(groups)]


def _grouped_tests(frame: pd.DataFrame, groups: list[list[str]], metric: str, better: str) -> pd.DataFrame:
    """:func:`compare_to_best` within each task group, stacked."""
    parts = [
        compare_to_best(frame[frame["method_label"].isin(group)], metric, better) for group in groups
    ]
    parts = [p for p in parts if len(p)]
    return pd.concat(parts) if parts else compare_to_best(frame.iloc[:0], metric, better)


def _average_rank(methods: pd.DataFrame) -> pd.DataFrame:
    """Each blind method's mean rank over the scenarios it ran on (reference methods are
    not ranked: no row)."""
    methods = methods[~methods["supervised"].astype(bool)]
    if methods.empty:
        return pd.DataFrame(columns=list(AVERAGE_RANK_COLUMNS))
    wide = methods.pivot(index=["method", "supervised"], columns="scenario", values="rank")
    wide = wide.astype(float).sort_index()
    out = pd.DataFrame(
        {
            "method": wide.index.get_level_values("method"),
            "supervised": wide.index.get_level_values("supervised").astype(bool),
            "rank": average_rank(wide).to_numpy(),
            "scenarios": wide.notna().sum(axis=1).to_numpy(dtype=int),
        },
        columns=list(AVERAGE_RANK_COLUMNS),
    )
    # Means of equal ranks can differ in the last bit (summation order): ties within a
    # relative 1e-9 (the rule of the columns) are ordered by method, not by rounding.
    order = column_ranks(out["rank"], "lower")
    return out.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)


__all__ = [
    "AVERAGE_RANK_COLUMNS",
    "CELL_COLUMNS",
    "FAILURE_COLUMNS",
    "METHOD_COLUMNS",
    "SUMMARY_COLUMNS",
    "TABLE_COLUMNS",
    "Leaderboard",
    "Provenance",
    "build_labelled",
    "build_leaderboard",
    "cell_stats",
    "snr_order",
]
