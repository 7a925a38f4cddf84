"""Statistics for the leaderboard tables: confidence intervals, significance markers and
the average rank across scenarios (``hubench leaderboard --statistics``, the default).

Works on the tables of :func:`hubench.report.leaderboard.scenario_table` after the fact,
so the plain tables stay exactly as they are:

- every metric cell becomes ``mean ± h`` with ``h`` the half-width of the bootstrap 95%
  confidence interval of the mean over seeds (:func:`~hubench.report.significance.mean_ci`;
  no ``± h`` for one seed), bold kept;
- ``†`` marks a method significantly worse than the best method of that metric in the
  scenario (two-sided Wilcoxon signed-rank over the (seed, SNR) pairs, p < 0.05;
  :func:`~hubench.report.significance.worse_than_best`), on every column of the metric;
- :func:`average_rank_markdown` is a table of each method's rank per scenario and the
  average over scenarios.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from tabulate import tabulate

from hubench.report.significance import ALPHA, average_rank_table, mean_ci, worse_than_best
from hubench.report.stats import COST_METRICS, metric_direction
from hubench.report.text import format_mean_std, snr_text

MARKER = "\u2020"  # dagger


def column_cells(
    frame: pd.DataFrame, metrics: Sequence[str]
) -> dict[str, tuple[str, pd.DataFrame]]:
    """``{column label: (metric, rows)}`` for the columns of a scenario table.

    Labels follow :func:`~hubench.report.leaderboard.scenario_table`: ``metric @ 20 dB``
    per SNR, a bare ``metric`` for cost columns and real scenes (SNR NaN).
    """
    ok = frame[frame["status"] == "ok"]
    out: dict[str, tuple[str, pd.DataFrame]] = {}
    snrs = sorted({float(s) for s in frame["snr_db"]}, key=lambda s: (math.isnan(s), s))
    for metric in metrics:
        if metric in COST_METRICS:
            out[metric] = (metric, ok)
            continue
        for snr in snrs:
            if math.isnan(snr):
                out[metric] = (metric, ok[ok["snr_db"].isna()])
            else:
                out[f"{metric} @ {snr_text(snr)}"] = (metric, ok[ok["snr_db"] == snr])
    return out


def with_statistics(
    table: pd.DataFrame, frame: pd.DataFrame, metrics: Sequence[str]
) -> pd.DataFrame:
    """Rewrite the metric cells of one scenario's table as ``mean ± CI half-width`` and
    add the ``†`` markers.

    Parameters
    ----------
    table : DataFrame
        Output of ``scenario_table(frame, metrics)`` (display strings, ``method`` column).
    frame : DataFrame
        The same scenario's rows with ``method_label`` (:func:`~hubench.report.frame.labelled`).
    metrics : sequence of str
        The metrics the table was made with.
    """
    quality = [m for m in metrics if m not in COST_METRICS]
    directions = {m: d for m in quality if (d := metric_direction(m)) is not None}
    worse = worse_than_best(frame, quality, directions)
    out = table.copy()
    # The table may decorate a label for display ("fcls (given E)"): map it back.
    labels = [str(m) for m in frame["method_label"].unique()]
    shown = {
        display: next((m for m in labels if display == m or display.startswith(f"{m} (")), display)
        for display in out["method"].astype(str)
    }
    for label, (metric, rows) in column_cells(frame, metrics).items():
        if label not in out.columns:
            continue
        texts = []
        for display, old in zip(out["method"].astype(str), out[label], strict=True):
            method = shown[display]
            values = rows.loc[rows["method_label"] == method, metric].to_numpy(dtype=float)
            text = format_mean_std(*mean_ci(values))
            if str(old).startswith("**"):
                text = f"**{text}**"
            if method in worse.get(metric, set()):
                text += f" {MARKER}"
            texts.append(text)
        out[label] = texts
    return out


def average_rank_markdown(ranks: dict[str, pd.Series]) -> str:
    """A Markdown table: methods x scenarios of per-scenario ranks, ``avg rank`` and the
    number of scenarios averaged (sorted by average rank)."""
    table = average_rank_table(ranks)
    shown = table.copy().astype(object)
    for column in table.columns:
        if column == "scenarios":
            shown[column] = [str(int(v)) for v in table[column]]
        else:
            shown[column] = [f"{v:.2f}" if np.isfinite(v) else "" for v in table[column]]
    shown = shown.reset_index()
    return str(
        tabulate(shown, headers="keys", tablefmt="github", showindex=False, disable_numparse=True)
    )


def parse_rank(texts: pd.Series, methods: pd.Series) -> pd.Series:
    """The ``rank`` column of a rendered scenario table back as floats (``n/a`` -> NaN)."""
    values = pd.to_numeric(texts.replace("n/a", np.nan), errors="coerce").astype(float)
    return pd.Series(values.to_numpy(), index=methods.to_numpy())


NOTE = (
    "With statistics (the default of `hubench leaderboard`): each cell is the mean \u00b1 the "
    "half-width of its bootstrap 95% confidence interval over seeds, instead of the std "
    "(percentile bootstrap, 9,999 resamples, fixed seed; no interval for one seed). "
    f"{MARKER}: significantly worse than the best method of that metric in the scenario "
    f"(two-sided Wilcoxon signed-rank test over the (seed, SNR) pairs, p < {ALPHA:g}; marked "
    "on every column of the metric). The average-rank table averages each method's `rank` "
    "over the scenarios it ran on."
)

__all__ = [
    "MARKER",
    "NOTE",
    "average_rank_markdown",
    "column_cells",
    "parse_rank",
    "with_statistics",
]
