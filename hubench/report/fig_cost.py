"""Accuracy against compute: each method's quality against its fit time, per scenario,
with the Pareto front of the methods no other method beats on both.

Only the results frame is needed (no saved estimates). One point per method: x = the
median of ``fit_seconds`` over the method's ``ok`` cells of the scenario, y = the mean
of the metric over those cells (all SNRs and seeds pooled); the bar spans the minimum to
the maximum over seeds of the per-seed means, so it shows the seed-to-seed spread.

A method is on the front when no other ranked method is at least as fast *and* at least
as good with one of the two strictly better. Reference methods (given the truth, e.g.
``fcls (given E)``) are drawn hollow and never take part in the front: their quality is
not reachable by a blind method.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hubench.report.fig_style import RC, method_style
from hubench.report.frame import reference_rows
from hubench.report.stats import metric_direction, metric_unit

#: Quality metrics drawn against time when present and not all missing.
COST_FIGURE_METRICS = ("msad", "armse", "weak_ap")


def method_points(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per method label: ``seconds`` (median fit time), ``value`` (mean metric),
    ``low``/``high`` (min/max over seeds of the per-seed mean), ``cells``, ``reference``.

    Cells that are not ``ok`` and metric values that are NaN are left out.
    """
    ok = rows[(rows["status"] == "ok")].copy()
    ok["_reference"] = reference_rows(ok).to_numpy()
    records = []
    for label, group in ok.groupby("method_label", sort=True):
        values = group[metric].to_numpy(dtype=float)
        keep = np.isfinite(values)
        if not keep.any():
            continue
        group = group[keep]
        per_seed = group.groupby("seed")[metric].mean()
        records.append({
            "method": str(label),
            "seconds": float(np.median(group["fit_seconds"].to_numpy(dtype=float))),
            "value": float(group[metric].mean()),
            "low": float(per_seed.min()),
            "high": float(per_seed.max()),
            "cells": len(group),
            "reference": bool(group["_reference"].any()),
        })
    return pd.DataFrame.from_records(
        records, columns=["method", "seconds", "value", "low", "high", "cells", "reference"]
    )


def pareto_front(seconds: Sequence[float], values: Sequence[float], better: str) -> np.ndarray:
    """Boolean mask of the points no other point dominates (faster or equal *and* better
    or equal, one strictly). ``better`` is ``"lower"`` or ``"higher"`` for the values.

    Points with a NaN coordinate are never on the front. Vectorised: O(n^2) comparisons
    for n methods, which is a handful.
    """
    t = np.asarray(seconds, dtype=float)
    v = np.asarray(values, dtype=float)
    if better == "higher":
        v = -v
    valid = np.isfinite(t) & np.isfinite(v)
    t_other, t_self = t[None, :], t[:, None]
    v_other, v_self = v[None, :], v[:, None]
    no_worse = (t_other <= t_self) & (v_other <= v_self)
    strictly = (t_other < t_self) | (v_other < v_self)
    dominated = (no_worse & strictly & valid[None, :]).any(axis=1)
    return valid & ~dominated


def quality_vs_cost(
    rows: pd.DataFrame, scenario: str, metrics: Sequence[str] | None = None
) -> Any | None:
    """One panel per quality metric against fit time (log scale), Pareto front drawn.

    Returns None when no ``ok`` cell has a fit time and a finite value of any metric.
    """
    wanted = list(metrics) if metrics is not None else list(COST_FIGURE_METRICS)
    points = {m: method_points(rows, m) for m in wanted if m in rows.columns}
    points = {m: p for m, p in points.items() if not p.empty and (p["seconds"] > 0).any()}
    if not points:
        return None
    styles = method_style(rows["method_label"].astype(str).unique())
    ncols = len(points)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            1, ncols, figsize=(max(4.3 * ncols, 9.0), 3.9), squeeze=False, layout="constrained"
        )
        for ax, (metric, pts) in zip(axes[0], points.items(), strict=True):
            better = metric_direction(metric)
            ranked = pts[~pts["reference"]]
            front = pareto_front(ranked["seconds"], ranked["value"], better or "lower")
            on_front = ranked[front].sort_values("seconds")
            if len(on_front) > 1:
                ax.plot(on_front["seconds"], on_front["value"], color="0.55", linewidth=1.2,
                        zorder=1, label="Pareto front")
            for _, p in pts.iterrows():
                st = styles[p["method"]]
                ax.errorbar(
                    p["seconds"], p["value"],
                    yerr=[[p["value"] - p["low"]], [p["high"] - p["value"]]],
                    color=st["color"], marker=st["marker"], markersize=7, capsize=2,
                    linestyle="none", zorder=3,
                    markerfacecolor="none" if p["reference"] else st["color"],
                    label=p["method"] + (" (reference)" if p["reference"] else ""),
                )
            ax.set_xscale("log")
            unit = metric_unit(metric)
            ax.set_ylabel(f"{metric} ({unit})" if unit else metric)
            ax.set_xlabel("fit time per cell, median (s)")
            ax.set_title(f"{metric}" + (f" ({better} is better)" if better else ""))
            ax.grid(alpha=0.3, which="both")
        legend: dict[str, Any] = {}
        for ax in axes[0]:  # a reference may lack the first panel's metric (no msad)
            for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
                legend.setdefault(label, handle)
        handles, labels = list(legend.values()), list(legend)
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5),
                   frameon=False)
        n_cells = int(next(iter(points.values()))["cells"].max())
        fig.suptitle(
            f"Accuracy against compute \u2014 {scenario}\n"
            f"point: mean over up to {n_cells} ok cells (SNRs and seeds pooled) at the median "
            "fit time\nbar: min\u2013max of per-seed means; hollow: reference, not on the front"
        )
    return fig


__all__ = ["COST_FIGURE_METRICS", "method_points", "pareto_front", "quality_vs_cost"]
