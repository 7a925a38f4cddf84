"""The detection-limit figure: per sweep family, ``weak_em_recall`` and ``weak_ap``
against the swept level (log scale), one line per method, one panel per SNR.

Each point is the per-level mean of :func:`hubench.report.detection.level_table` (failed
cells count as 0, undefined criteria are left out), the dotted line is the criterion and
a triangle on the x axis marks each method's limit. Methods are dodged by a few percent
along x (3.5% apart) so that identical results (``vca`` and ``vca+fcls``) both show; the
triangles are not dodged.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubench.report.detection import THRESHOLD, detection_limits, level_table
from hubench.report.fig_style import RC, method_style, plt, save
from hubench.report.text import snr_text

FIGURE_DPI = 90
STEM = "detection-{family}"


def detection_figure(tidy: pd.DataFrame, family: str, threshold: float = THRESHOLD) -> Any | None:
    """The figure of one family, or None when the frame holds none of its cells."""
    from hubench.datasets.sweeps import FAMILIES

    rows = tidy[tidy["family"] == family]
    if rows.empty:
        return None
    levels = level_table(rows, threshold)
    limits = detection_limits(rows, threshold)
    snrs = sorted(levels["snr_db"].unique())
    methods = sorted(levels["method"].unique())
    styles = method_style(methods)
    fam = FAMILIES.get(family)
    xlabel = fam.level_label if fam else "level"
    dodge = {m: 10 ** ((i - (len(methods) - 1) / 2) * 0.015) for i, m in enumerate(methods)}
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            1, len(snrs), figsize=(3.2 * len(snrs) + 0.4, 3.4), squeeze=False,
            sharey=True, layout="constrained",
        )
        for ax, snr in zip(axes[0], snrs, strict=True):
            for m in methods:
                sub = levels[(levels["method"] == m) & (levels["snr_db"] == snr)].sort_values("level")
                st = styles[m]
                # dodge: methods with identical results (vca, vca+fcls) stay visible
                x = sub["level"].to_numpy(dtype=float) * dodge[m]
                for metric, ls in (("weak_em_recall", "-"), ("weak_ap", "--")):
                    y = sub[metric].to_numpy(dtype=float)
                    if np.isfinite(y).any():
                        ax.plot(x, y, color=st["color"], linestyle=ls, marker=st["marker"],
                                markersize=3.5, linewidth=1.3)
                lim = limits[(limits["method"] == m) & (limits["snr_db"] == snr)]
                if len(lim) and math.isfinite(float(lim["limit"].iloc[0])):
                    ax.plot([float(lim["limit"].iloc[0])], [-0.085], marker="^", color=st["color"],
                            markersize=7, clip_on=False, linestyle="none")
            ax.axhline(threshold, color="0.4", linestyle=":", linewidth=1)
            ax.set_xscale("log")
            ax.set_ylim(-0.12, 1.04)
            ax.set_title(snr_text(float(snr)))
            ax.set_xlabel(xlabel)
        axes[0][0].set_ylabel("mean over seeds")
        handles = [
            plt.Line2D([], [], color=styles[m]["color"], marker=styles[m]["marker"], label=m)
            for m in methods
        ] + [
            plt.Line2D([], [], color="0.3", linestyle="-", label="weak_em_recall"),
            plt.Line2D([], [], color="0.3", linestyle="--", label="weak_ap"),
            plt.Line2D([], [], color="0.3", marker="^", linestyle="none", label="limit"),
        ]
        fig.legend(handles=handles, loc="outside right center", frameon=False)
        fig.suptitle(f"Detection limit: {family}")
    return fig


def plot_detection(
    tidy: pd.DataFrame, directory: Path, formats: tuple[str, ...] = ("png",)
) -> dict[str, list[Path]]:
    """Write ``directory/detection-<family>.<fmt>`` for every family in ``tidy``."""
    out: dict[str, list[Path]] = {}
    for family in sorted(tidy["family"].unique()):
        fig = detection_figure(tidy, family)
        if fig is not None:
            out[family] = save(fig, directory, STEM.format(family=family), formats, dpi=FIGURE_DPI)
    return out


__all__ = ["detection_figure", "plot_detection"]
