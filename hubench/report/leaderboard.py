"""Leaderboards from a results frame: Markdown tables (tabulate) and a tidy CSV.

Input is the frame of ``ResultStore(path).to_frame()``: one row per cell. One table per
scenario, a row per method, ``mean ± std`` over seeds of the cells that finished ``ok``
for each metric at each SNR (columns ``armse @ 10 dB``), the best value of a column in
bold (direction from the metric registry; ties within a relative 1e-9 all bold; missing
values never), an overall ``rank`` (mean over the quality columns of the method's rank
in each; ties share the average rank; a method with no ok cell ranks last in a column,
a metric that does not apply to it is left out of its mean), cost columns averaged
over all SNRs and not ranked, and ``failed`` = cells not ok / cells run. A header
names the settings and versions that produced the numbers. Nothing here reads a clock:
the same store gives the same bytes.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tabulate import tabulate

from hubench.errors import HubenchError
from hubench.report.frame import (
    DEFAULT_METRICS,
    labelled,
    resolve_metrics,
    select,
    supervised_rows,
    variant_labels,
)
from hubench.report.stats import (
    COST_METRICS,
    best_mask,
    column_ranks,
    mean_std,
    metric_unit,
    require_direction,
)
from hubench.report.text import format_mean_std, snr_text

CSV_COLUMNS = ("scenario", "method", "snr_db", "metric", "mean", "std", "n")


# ---- summary ------------------------------------------------------------------------
def _ok(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status"] == "ok"]


def summarize(frame: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Tidy long summary: one row per (scenario, method, snr_db, metric) with mean, std, n.

    Statistics are over the seeds of the cells that finished ``ok`` (finite values only;
    ``std`` is the sample std, NaN for one value). Methods whose cells all failed appear
    with ``n = 0``.
    """
    chosen = resolve_metrics(frame, metrics)
    lab = labelled(frame)
    rows = []
    keys = ["scenario_label", "method_label", "snr_db"]
    for (scenario, method, snr), group in lab.groupby(keys, dropna=False, sort=True):
        ok = _ok(group)
        for metric in chosen:
            mean, std, n = mean_std(ok[metric])
            rows.append((scenario, method, snr, metric, mean, std, n))
    return pd.DataFrame(rows, columns=list(CSV_COLUMNS))


def _snr_order(values: Any) -> list[float]:
    snrs = sorted({float(v) for v in values}, key=lambda s: (math.isnan(s), s))
    return snrs


def _cell_text(stats: tuple[float, float, int], bold: bool) -> str:
    text = format_mean_std(*stats)
    return f"**{text}**" if bold else text


def scenario_table(frame: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """One scenario's table, rows sorted by rank: ``method``, ``rank``, metric columns, ``failed``.

    ``frame`` holds one scenario's rows with a ``method_label`` column (:func:`labelled`).
    Cells are display strings (best in ``**bold**``). Columns whose every value is
    missing (weak metrics on a scenario without weak endmembers) are dropped.
    """
    methods = sorted(frame["method_label"].unique())
    ok = _ok(frame)
    snrs = _snr_order(frame["snr_db"])
    texts: dict[str, pd.Series] = {}
    ranks: list[pd.Series] = []
    for metric in metrics:
        better = require_direction(metric, [metric])
        cost = metric in COST_METRICS
        for snr in [math.nan] if cost else snrs:
            if cost or math.isnan(snr):
                sub, label = ok, metric
            else:
                sub, label = ok[ok["snr_db"] == snr], f"{metric} @ {snr_text(snr)}"
            stats = {m: mean_std(sub.loc[sub["method_label"] == m, metric]) for m in methods}
            means = pd.Series({m: s[0] for m, s in stats.items()}, dtype=float)
            if not np.isfinite(means.to_numpy()).any():
                continue
            bold = best_mask(means, better)
            texts[label] = pd.Series({m: _cell_text(stats[m], bool(bold[m])) for m in methods})
            if not cost:
                # No value although cells finished ok: the metric does not apply to the
                # method (msad of a supervised one), so the column does not count for it.
                # No cell finished ok: it ranks last there.
                finished = set(sub["method_label"])
                applies = [m for m in methods if stats[m][2] > 0 or m not in finished]
                ranks.append(column_ranks(means[applies], better).reindex(methods))
    counts = frame.groupby("method_label")["status"].agg(
        failed=lambda s: int((~s.isin(["ok", "degenerate"])).sum()),
        degenerate=lambda s: int((s == "degenerate").sum()), total="size",
    )
    table = pd.DataFrame(index=methods)
    table.index.name = "method"
    rank = pd.concat(ranks, axis=1).mean(axis=1) if ranks else pd.Series(math.nan, index=methods)
    table["rank"] = rank
    for label, col in texts.items():
        table[label] = col
    table["failed"] = [f"{counts.loc[m, 'failed']}/{counts.loc[m, 'total']}" for m in methods]
    if counts["degenerate"].any():  # collapsed estimates: stored, not averaged, counted here
        table["degenerate"] = [f"{counts.loc[m, 'degenerate']}/{counts.loc[m, 'total']}" for m in methods]
    supervised = set(frame.loc[supervised_rows(frame), "method_label"])
    table.index = [f"{m} (given E)" if m in supervised else m for m in methods]
    table.index.name = "method"
    table = table.reset_index().sort_values(["rank", "method"], kind="stable")
    table["rank"] = [f"{r:.2f}" if np.isfinite(r) else "n/a" for r in table["rank"]]
    return table.reset_index(drop=True)


# ---- provenance header --------------------------------------------------------------
def _distinct(frame: pd.DataFrame, column: str) -> str:
    if column not in frame.columns:
        return "unknown"
    values = sorted({str(v) for v in frame[column].dropna() if str(v) != ""})
    return ", ".join(values) if values else "unknown"


def provenance(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(setting, value) pairs describing what produced ``frame``."""
    seeds = sorted({int(s) for s in frame["seed"].dropna()})
    snrs = [snr_text(s) for s in _snr_order(frame["snr_db"]) if not math.isnan(s)]
    failed = int((~frame["status"].isin(["ok", "degenerate"])).sum())
    degenerate = int((frame["status"] == "degenerate").sum())
    start = frame["started_at"].dropna().astype(str)
    end = frame["finished_at"].dropna().astype(str)
    dates = f"{start.min()} to {end.max()}" if len(start) and len(end) else "unknown"
    return [
        ("profile", _distinct(frame, "profile")),
        ("scenarios", ", ".join(sorted(frame["scenario"].unique()))),
        ("methods", ", ".join(sorted(frame["method"].unique()))),
        ("seeds", f"{', '.join(map(str, seeds))} ({len(seeds)})"),
        ("SNR", ", ".join(snrs) or "n/a (real scenes)"),
        ("cells", f"{len(frame)} ({failed} failed, {degenerate} degenerate)" if degenerate
         else f"{len(frame)} ({failed} not ok)"),
        ("hubench", _distinct(frame, "hubench_version")),
        ("git commit", _distinct(frame, "git_commit")),
        ("python", _distinct(frame, "python_version")),
        ("numpy", _distinct(frame, "numpy_version")),
        ("torch", _distinct(frame, "torch_version")),
        ("devices", _distinct(frame, "device")),
        ("hosts", _distinct(frame, "host")),
        ("run between", dates),
    ]


def _notes(metrics: Sequence[str]) -> str:
    parts = []
    for m in metrics:
        unit = metric_unit(m)
        better = require_direction(m, [m])
        parts.append(f"`{m}` ({unit + ', ' if unit else ''}{better} is better)")
    return (
        "Each cell: mean ± std over seeds of the cells that finished ok (std left out for "
        "one seed; n/a when no cell finished or the metric does not apply). **Bold**: best "
        "of its column. `rank`: mean over the quality columns of the method's rank in each "
        "(ties share; no finished cell ranks last; a metric that does not apply is left "
        "out); cost columns are averaged over all SNRs and not ranked. `failed`: cells not "
        "ok / cells run. `(given E)`: supervised, given the true endmembers. Metrics: "
        + ", ".join(parts)
        + "."
    )


# ---- rendering ----------------------------------------------------------------------
def render_markdown(
    frame: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    title: str = "hubench leaderboard",
    source: str | None = None,
    statistics: bool = False,
) -> str:
    """The whole Markdown leaderboard: header, then one table per scenario.

    ``statistics``: cells as mean ± bootstrap 95% CI half-width, † for significantly worse
    than the best (Wilcoxon), and an average-rank table (:mod:`hubench.report.stats_table`).
    """
    if frame.empty:
        raise HubenchError("no results to tabulate; run `hubench run` first")
    chosen = resolve_metrics(frame, metrics)
    lab = labelled(frame)
    out = io.StringIO()
    out.write(f"# {title}\n\n")
    origin = f" from `{source}`" if source else ""
    out.write(f"Generated by `hubench leaderboard`{origin}; do not edit by hand.\n\n")
    out.write(tabulate(provenance(frame), headers=["setting", "value"], tablefmt="github"))
    out.write("\n\n" + _notes(chosen) + "\n")
    groups = lab.groupby("scenario_label", sort=True)
    sections = [(str(s), g, scenario_table(g, chosen)) for s, g in groups]
    if statistics:
        from hubench.report import stats_table as st

        sections = [(s, g, st.with_statistics(t, g, chosen)) for s, g, t in sections]
        out.write("\n" + st.NOTE + "\n")
        if len(sections) > 1:
            ranks = {s: st.parse_rank(t["rank"], t["method"]) for s, _, t in sections}
            out.write("\n### Average rank across scenarios\n\n")
            out.write(st.average_rank_markdown(ranks) + "\n")
    for scenario, group, table in sections:
        out.write(f"\n## {scenario}\n\n")
        out.write(
            tabulate(
                table, headers="keys", tablefmt="github", showindex=False, disable_numparse=True
            )
        )
        out.write("\n")
        failures = group[group["status"] != "ok"]
        if len(failures):
            out.write("\nCells not ok:\n\n")
            for _, row in failures.sort_values(["method_label", "snr_db", "seed"]).iterrows():
                snr = "" if pd.isna(row["snr_db"]) else f" at {snr_text(float(row['snr_db']))}"
                reason = str(row["reason"] or "").splitlines()[0][:160] if row["reason"] else ""
                out.write(
                    f"- {row['method_label']}, seed {row['seed']}{snr}: {row['status']} {reason}\n"
                )
    return out.getvalue()


def render_csv(frame: pd.DataFrame, *, metrics: Sequence[str] | None = None) -> str:
    """The tidy long CSV (``scenario,method,snr_db,metric,mean,std,n``)."""
    if frame.empty:
        raise HubenchError("no results to tabulate; run `hubench run` first")
    return str(summarize(frame, metrics).to_csv(index=False, lineterminator="\n"))


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half-written."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise HubenchError(
            f"cannot write {target}: {exc.strerror or exc}; choose a writable --output"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be read
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise HubenchError(
            f"cannot write {target}: {exc.strerror or exc}; choose a writable --output"
        ) from exc
    return target


__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_METRICS",
    "format_mean_std",
    "labelled",
    "provenance",
    "render_csv",
    "render_markdown",
    "scenario_table",
    "select",
    "summarize",
    "variant_labels",
    "write_text_atomic",
]
