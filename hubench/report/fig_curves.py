"""Curves: each metric against SNR (from the results frame) and weak-endmember
precision-recall curves (from one scene's saved estimates).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hubench.metrics.weak import average_precision
from hubench.report.fig_data import SceneResults
from hubench.report.fig_style import RC, method_style
from hubench.report.stats import metric_direction, metric_unit

#: Metrics drawn against SNR when present and not all missing.
SNR_METRICS = ("armse", "msad", "sre", "weak_recall", "weak_precision", "weak_ap")
TAU = 0.05


def precision_recall_curve(scores: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision and recall of ``scores >= t`` for every distinct score ``t``, descending.

    Tied scores are admitted together (as in
    :func:`hubench.metrics.weak.average_precision`, whose value is
    ``sum_n (R_n - R_{n-1}) P_n`` over these points with ``R_0 = 0``).

    Parameters
    ----------
    scores : array_like, shape (n,)
    labels : array_like of bool, shape (n,)

    Returns
    -------
    precision, recall, thresholds : ndarray, shape (n_distinct,)
        Recall is NaN when there is no positive label.
    """
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    y = np.asarray(labels, dtype=bool).reshape(-1)
    order = np.argsort(-s, kind="stable")
    s_sorted = s[order]
    tp = np.cumsum(y[order])
    ends = np.append(np.flatnonzero(np.diff(s_sorted) != 0), s_sorted.size - 1)
    n_pos = int(y.sum())
    precision = tp[ends] / (ends + 1.0)
    recall = tp[ends] / n_pos if n_pos else np.full(ends.size, np.nan)
    return precision, recall, s_sorted[ends]


def _snr_positions(snrs: np.ndarray) -> tuple[np.ndarray, list[float], list[str]]:
    """x positions for SNRs: dB as is; noiseless (inf) one step right of the largest."""
    finite = np.unique(snrs[np.isfinite(snrs)])
    step = float(np.min(np.diff(finite))) if finite.size > 1 else 10.0
    inf_at = (float(finite.max()) if finite.size else 0.0) + step
    x = np.where(np.isinf(snrs), inf_at, snrs)
    ticks = [float(v) for v in finite]
    labels = [f"{v:g}" for v in finite]
    if np.isinf(snrs).any():
        ticks.append(inf_at)
        labels.append("\u221e")
    return x, ticks, labels


def metrics_vs_snr(
    frame: pd.DataFrame, scenario: str, metrics: Sequence[str] | None = None
) -> Any | None:
    """One panel per metric: mean over seeds against SNR, one line per method, and a
    shaded band from the minimum to the maximum over seeds.

    Parameters
    ----------
    frame : DataFrame
        One scenario's labelled rows (``method_label``); only cells ``ok`` are drawn.
    scenario : str
        Scenario label, for the title.
    metrics : sequence of str, optional
        Default: those of :data:`SNR_METRICS` with at least one finite value.

    Returns
    -------
    Figure, or None when the scenario has no controlled SNR (real scenes) or no metric.
    """
    ok = frame[(frame["status"] == "ok") & ~np.isnan(frame["snr_db"].to_numpy(dtype=float))]
    wanted = list(metrics) if metrics is not None else list(SNR_METRICS)
    chosen = [
        m for m in wanted if m in ok.columns and np.isfinite(ok[m].to_numpy(dtype=float)).any()
    ]
    if ok.empty or not chosen:
        return None
    styles = method_style(frame["method_label"].astype(str).unique())
    ncols = min(len(chosen), 3)
    nrows = -(-len(chosen) // ncols)
    x_all, ticks, tick_labels = _snr_positions(ok["snr_db"].to_numpy(dtype=float))
    ok = ok.assign(_x=x_all)
    # Dodge: shift each method a little along x so identical results stay visible.
    methods = sorted(ok["method_label"].astype(str).unique())
    span = (max(ticks) - min(ticks)) if len(ticks) > 1 else 10.0
    dodge = {m: (i - (len(methods) - 1) / 2) * 0.012 * span for i, m in enumerate(methods)}
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(4.0 * ncols, 3.1 * nrows + 0.9),
            squeeze=False,
            layout="constrained",
        )
        for i, metric in enumerate(chosen):
            ax = axes[i // ncols, i % ncols]
            for label, group in ok.groupby("method_label", sort=True):
                stats = group.groupby("_x")[metric].agg(["mean", "min", "max", "count"]).dropna()
                if stats.empty:
                    continue
                st = styles[str(label)]
                x = stats.index.to_numpy(dtype=float) + dodge[str(label)]
                ax.plot(
                    x,
                    stats["mean"],
                    color=st["color"],
                    linestyle=st["linestyle"],
                    marker=st["marker"],
                    markersize=4,
                    label=str(label),
                )
                ax.fill_between(
                    x,
                    stats["min"],
                    stats["max"],
                    color=st["color"],
                    alpha=0.18,
                    linewidth=0,
                )
            unit = metric_unit(metric)
            better = metric_direction(metric)
            ax.set_title(f"{metric}" + (f" ({better} is better)" if better else ""))
            ax.set_ylabel(f"{metric} ({unit})" if unit else metric)
            ax.set_xlabel("SNR (dB)")
            ax.set_xticks(ticks, tick_labels)
            ax.grid(alpha=0.3)
        for i in range(len(chosen), nrows * ncols):
            axes[i // ncols, i % ncols].set_visible(False)
        handles, labels = axes[0, 0].get_legend_handles_labels()
        fig.legend(
            handles, labels, loc="outside lower center", ncols=min(len(labels), 6), frameon=False
        )
        n_seeds = ok["seed"].nunique()
        fig.suptitle(
            f"Metrics against SNR \u2014 {scenario}\n"
            f"line: mean over {n_seeds} seed{'s' if n_seeds != 1 else ''}; "
            "band: min\u2013max over seeds"
        )
    return fig


def weak_pr_curves(results: SceneResults, tau: float = TAU) -> Any | None:
    """Precision-recall of each method's ``A_hat[:, k]`` as a score for ``A[:, k] >= tau``,
    pooled over the scene's weak endmembers; a dot marks the detection ``A_hat >= tau``
    (the operating point of ``weak_recall`` / ``weak_precision``).

    Returns None when the scene has no weak endmember or none is present anywhere.
    """
    scene = results.scene
    weak = np.asarray(scene.weak, dtype=bool)
    if not weak.any() or scene.A is None:
        return None
    labels = scene.A[:, weak] >= tau
    if not labels.any():
        return None
    prevalence = float(labels.mean())
    styles = method_style([r.label for r in results.results])
    order = [r.label for r in results.results]
    names = scene.endmember_names
    weak_names = ", ".join(
        f"EM {k}" + (f" ({names[k].split()[0]})" if names else "") for k in np.flatnonzero(weak)
    )
    with plt.rc_context(RC):
        fig, ax = plt.subplots(figsize=(5.8, 5.4), layout="constrained")
        for r in results.results:
            scores = r.A_hat[:, weak]
            precision, recall, _ = precision_recall_curve(scores, labels)
            ap = average_precision(scores, labels)
            st = styles[r.label]
            ax.step(
                np.r_[0.0, recall],
                np.r_[precision[0], precision],
                where="pre",
                color=st["color"],
                linestyle=st["linestyle"],
                # first methods drawn wider and below: coinciding curves stay visible
                linewidth=1.3
                + 1.8 * (len(order) - 1 - order.index(r.label)) / max(len(order) - 1, 1),
                label=f"{r.label} (AP {ap:.3f})",
            )
            detect = scores >= tau
            tp = int(np.count_nonzero(detect & labels))
            op_recall = tp / int(labels.sum())
            op_precision = tp / int(detect.sum()) if detect.any() else 0.0
            ax.plot(
                op_recall,
                op_precision,
                marker=st["marker"],
                color=st["color"],
                markeredgecolor="black",
                markersize=7,
                linestyle="none",
            )
        ax.axhline(
            prevalence,
            color="0.5",
            linestyle=":",
            linewidth=1.0,
            label=f"chance (prevalence {prevalence:.3f})",
        )
        ax.plot(
            [],
            [],
            marker="o",
            color="0.5",
            markeredgecolor="black",
            linestyle="none",
            label=f"operating point, A_hat \u2265 {tau:g}",
        )
        ax.set_xlim(0.0, 1.02)
        ax.set_ylim(0.0, 1.02)
        ax.set_xlabel(f"recall (share of pixels with A \u2265 {tau:g} detected)")
        ax.set_ylabel("precision")
        ax.grid(alpha=0.3)
        fig.legend(loc="outside lower center", ncols=2, frameon=False)
        ax.set_title(
            f"Weak-endmember precision\u2013recall \u2014 {results.title}\n"
            f"pooled over {weak_names}",
            fontsize=9,
        )
    return fig


__all__ = ["SNR_METRICS", "metrics_vs_snr", "precision_recall_curve", "weak_pr_curves"]
