"""Figures of a method's uncertainty (``hubench run --ensemble K`` or its own), drawn
from one cell's saved estimates:

- :func:`uncertainty_grid`: per method, its abundance maps above its 90%-interval
  width maps, one column per endmember, each width panel annotated with the interval's
  coverage of the truth there;
- :func:`reliability_diagram`: the probability of presence of the weak endmembers
  (binned in :data:`~hubench.metrics.uncertainty.N_BINS` equal bins) against how often
  they are present, one line per method, the diagonal of perfect calibration, and the
  bins' pixel counts below.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from hubench.metrics.uncertainty import (
    N_BINS,
    expected_calibration_error,
    interval_coverage,
    reliability,
)
from hubench.report.fig_data import SceneResults
from hubench.report.fig_maps import endmember_titles
from hubench.report.fig_style import ABUNDANCE_CMAP, RC, method_style

WIDTH_CMAP = "magma"
TAU = 0.05


def uncertainty_grid(results: SceneResults) -> Any | None:
    """Abundance and interval-width maps of every method with saved uncertainty.

    Returns None when no method of the cell saved an uncertainty.
    """
    with_unc = [r for r in results.results if r.lower is not None and r.upper is not None]
    if not with_unc:
        return None
    scene = results.scene
    h, w = scene.image_shape
    p = scene.n_endmembers
    widths = [r.upper - r.lower for r in with_unc]  # type: ignore[operator]
    finite = np.concatenate([x[np.isfinite(x)] for x in widths])
    top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    panel = 1.7 if max(h, w) <= 200 else 2.2
    titles = endmember_titles(results)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(2 * len(with_unc), p,
                                 figsize=(panel * p + 1.6, panel * 2 * len(with_unc) + 0.9),
                                 squeeze=False, layout="constrained")
        a_image: Any = None
        w_image: Any = None
        for i, (result, width) in enumerate(zip(with_unc, widths, strict=True)):
            for k in range(p):
                top_ax, low_ax = axes[2 * i, k], axes[2 * i + 1, k]
                a_image = top_ax.imshow(result.A_hat[:, k].reshape(h, w), vmin=0, vmax=1,
                                        cmap=ABUNDANCE_CMAP, interpolation="nearest")
                w_image = low_ax.imshow(width[:, k].reshape(h, w), vmin=0, vmax=top,
                                        cmap=WIDTH_CMAP, interpolation="nearest")
                for ax in (top_ax, low_ax):
                    ax.set_xticks([])
                    ax.set_yticks([])
                if i == 0:
                    top_ax.set_title(titles[k], color="#B00000" if scene.weak[k] else "black")
                if k == 0:
                    top_ax.set_ylabel(f"{result.label}\nabundance", fontsize=9)
                    low_ax.set_ylabel("90% interval\nwidth", fontsize=9)
                if scene.A is None:
                    text = "no reference abundances"
                elif result.alignment[k] < 0:
                    text = "not recovered"
                else:
                    cover = interval_coverage(np.asarray(scene.A)[:, k],
                                              np.asarray(result.lower)[:, k],
                                              np.asarray(result.upper)[:, k])
                    text = f"coverage {cover:.0%}"
                low_ax.text(0.03, 0.03, text, transform=low_ax.transAxes, fontsize=7, va="bottom",
                            bbox={"facecolor": "white", "alpha": 0.8, "pad": 1.5, "linewidth": 0})
        fig.colorbar(a_image, ax=axes, location="bottom", shrink=0.5, pad=0.01,
                     aspect=40).set_label("abundance (rows 'abundance')")
        fig.colorbar(w_image, ax=axes, location="right", shrink=0.5, pad=0.02).set_label(
            "width of the central 90% interval (rows 'width')")
        fig.suptitle(f"Abundance uncertainty \u2014 {results.title}\n"
                     "coverage: share of true abundances inside the interval (0.9 = calibrated)")
    return fig


def reliability_diagram(results: SceneResults, tau: float = TAU) -> Any | None:
    """Reliability of the weak-presence probability, one line per method with one.

    Returns None when the scene has no weak endmember or no method saved a presence
    probability.
    """
    scene = results.scene
    weak = np.asarray(scene.weak, dtype=bool)
    if not weak.any() or scene.A is None:
        return None
    with_presence = [r for r in results.results if r.presence is not None]
    if not with_presence:
        return None
    styles = method_style([r.label for r in results.results])
    edges = np.linspace(0, 1, N_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    with plt.rc_context(RC):
        fig, (ax, hist) = plt.subplots(2, 1, figsize=(5.6, 6.2), height_ratios=[3, 1.2],
                                       sharex=True, layout="constrained")
        ax.plot([0, 1], [0, 1], color="0.5", linestyle=":", label="perfectly calibrated")
        width = 0.9 / (N_BINS * len(with_presence))
        for j, result in enumerate(with_presence):
            presence = np.asarray(result.presence)
            columns = weak & np.isfinite(presence).all(axis=0)
            prob = presence[:, columns]
            truth = (np.asarray(scene.A)[:, columns] >= tau).astype(float)
            mean_prob, freq, count = reliability(prob, truth)
            ece = expected_calibration_error(prob, truth)
            st = styles[result.label]
            filled = count > 0
            ax.plot(mean_prob[filled], freq[filled], color=st["color"], marker=st["marker"],
                    linestyle=st["linestyle"], label=f"{result.label} (ECE {ece:.3f})")
            offset = (j - (len(with_presence) - 1) / 2) * width
            hist.bar(centres + offset, count, width=width, color=st["color"])
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_ylabel(f"observed frequency of presence (A \u2265 {tau:g})")
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left", fontsize=8, frameon=False)
        hist.set_yscale("log")
        hist.set_ylabel("pixels")
        hist.set_xlabel("predicted probability of presence (share of members detecting it)")
        fig.suptitle(f"Weak-presence reliability \u2014 {results.title}\n"
                     f"weak endmembers' pixels, {N_BINS} equal bins")
    return fig


__all__ = ["reliability_diagram", "uncertainty_grid"]
