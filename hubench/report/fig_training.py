"""Learning curves of deep methods: quality and training loss against training time.

One figure per deep method and scenario, from the ``training`` column of the store
(each cell's ``learning_curve``: checkpoints with ``epoch``, ``seconds``, ``loss`` and,
on scenes with a reference, ``armse``, ``msad``, ``weak_ap``). One panel per quantity,
against the training seconds of the checkpoint (scoring time excluded); one line per
cell (variant, profile and seed), so a ``quick`` and a ``full`` run of one method sit
side by side. A marker at the end of a line says how training ended: a dot when the
stopping rule ended it, a cross at the epochs cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hubench.report.fig_style import RC, method_style

#: The panels, in order, when the curves hold them: (key, axis label).
PANELS = (("loss", "training loss"), ("armse", "aRMSE"), ("msad", "mSAD (rad)"), ("weak_ap", "weak AP"))


def _line_label(row: Mapping[str, Any]) -> str:
    seed = row.get("seed")
    profile = row.get("profile") or "custom"
    label = str(row["method_label"])
    if label.endswith(f" ({profile})"):  # the label already names the profile
        return f"{label} · seed {seed}"
    return f"{label} · {profile} · seed {seed}"


def learning_curve_figure(rows: pd.DataFrame, curves: Mapping[str, Mapping[str, Any]], title: str) -> Any | None:
    """The figure of one method on one scenario, or None when no cell has a curve.

    Parameters
    ----------
    rows : DataFrame
        Labelled results rows (``key``, ``method_label``, ``profile``, ``seed``) of one
        method on one scenario.
    curves : mapping
        ``{key: training record}`` (the store's ``training`` column) of those rows.
    title : str
    """
    lines = []
    for _, row in rows.sort_values(["method_label", "profile", "seed"], na_position="last").iterrows():
        record = curves.get(str(row["key"])) or {}
        curve = record.get("learning_curve") or []
        if curve:
            lines.append((_line_label(row), row["method_label"], curve, bool(record.get("training_converged"))))
    if not lines:
        return None
    panels = [(key, name) for key, name in PANELS
              if any(entry.get(key) is not None for _, _, curve, _ in lines for entry in curve)]
    styles = method_style([label for label, _, _, _ in lines])
    ncol = 1 if max(len(label) for label, _, _, _ in lines) > 45 else min(3, len(lines))
    legend_rows = -(-len(lines) // ncol)
    legend_height = 0.3 + 0.17 * legend_rows  # inches under the panels
    height = 2.9 + legend_height
    with plt.rc_context(RC):
        fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), height), squeeze=False)
        for ax, (key, name) in zip(axes[0], panels, strict=True):
            for label, _, curve, converged in lines:
                points = [(e["seconds"], e[key]) for e in curve if e.get(key) is not None]
                if not points:
                    continue
                x, y = np.array(points, dtype=float).T
                style = styles[label]
                ax.plot(x, y, color=style["color"], linestyle=style["linestyle"], linewidth=1.2, label=label)
                ax.plot(x[-1], y[-1], linestyle="none", color=style["color"],
                        marker="o" if converged else "x", markersize=5)
            ax.set_xlabel("training time (s)")
            ax.set_title(name)
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3), useOffset=False)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=ncol, frameon=False)
        fig.suptitle(f"{title}  (o: converged, x: epochs cap)")
        fig.tight_layout(rect=(0, legend_height / height, 1, 1))
    return fig


def learning_curve_figures(frame: pd.DataFrame, curves: Mapping[str, Mapping[str, Any]],
                           scenario: str) -> dict[str, Any]:
    """``{method: figure}`` for the deep methods with curves on ``scenario`` (labelled frame)."""
    rows = frame[frame["scenario_label"] == scenario]
    out = {}
    for method in sorted(set(rows["method"])):
        fig = learning_curve_figure(rows[rows["method"] == method], curves, f"{method} on {scenario}")
        if fig is not None:
            out[method] = fig
    return out


__all__ = ["PANELS", "learning_curve_figure", "learning_curve_figures"]


