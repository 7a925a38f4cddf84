"""Figures of one scene: abundance maps and endmember spectra, truth against each method.

Both take a :class:`~hubench.report.fig_data.SceneResults` (the regenerated scene and
the aligned estimates) and return a matplotlib figure; saving is the caller's job.
"""

from __future__ import annotations

import textwrap
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from hubench.report.fig_data import SceneResults
from hubench.report.fig_style import (
    ABUNDANCE_CMAP,
    RC,
    TRUTH_COLOR,
    interleaved_dashes,
    method_style,
)

WEAK_MARK = "\u2605 weak"  # a star: visible in print and without colour


def endmember_titles(results: SceneResults, width: int = 21) -> list[str]:
    """Column titles: ``"EM 3 \u2605 weak\\nSauconite GDS135"`` (name wrapped to ``width``)."""
    scene = results.scene
    names = scene.endmember_names or tuple("" for _ in range(scene.n_endmembers))
    titles = []
    for k, name in enumerate(names):
        head = f"EM {k}" + (f"  {WEAK_MARK}" if scene.weak[k] else "")
        titles.append(
            head
            + ("\n" + textwrap.shorten(name, width=width, placeholder="\u2026") if name else "")
        )
    return titles


def abundance_grid(results: SceneResults) -> Any:
    """Truth row, then one row per method; one column per endmember; colour scale 0-1.

    Each method panel is annotated with that endmember's abundance RMSE; a column whose
    endmember the method did not recover (no matched estimate) says so.
    """
    scene = results.scene
    h, w = scene.image_shape
    p = scene.n_endmembers
    truth = [] if scene.A is None else [("truth", scene.A, None)]  # a partial reference has none
    rows = truth + [(r.label, r.A_hat, r) for r in results.results]
    panel = 1.7 if max(h, w) <= 200 else 2.2
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            len(rows),
            p,
            figsize=(panel * p + 1.2, panel * len(rows) + 0.9),
            squeeze=False,
            layout="constrained",
        )
        image: Any = None
        titles = endmember_titles(results)
        for i, (label, A, result) in enumerate(rows):
            for k in range(p):
                ax = axes[i, k]
                image = ax.imshow(
                    A[:, k].reshape(h, w),
                    vmin=0.0,
                    vmax=1.0,
                    cmap=ABUNDANCE_CMAP,
                    interpolation="nearest",
                )
                ax.set_xticks([])
                ax.set_yticks([])
                if i == 0:
                    ax.set_title(titles[k], color="#B00000" if scene.weak[k] else "black")
                if k == 0:
                    ax.set_ylabel(label, fontsize=10, fontweight="bold" if result is None else None)
                if result is not None:
                    if result.alignment[k] < 0:
                        text = "not recovered"
                    elif scene.A is None:
                        text = ""
                    else:
                        rmse = float(np.sqrt(np.mean((scene.A[:, k] - A[:, k]) ** 2)))
                        text = f"RMSE {rmse:.3f}"
                    ax.text(
                        0.03,
                        0.03,
                        text,
                        transform=ax.transAxes,
                        fontsize=7,
                        va="bottom",
                        bbox={"facecolor": "white", "alpha": 0.8, "pad": 1.5, "linewidth": 0},
                    )
                if scene.weak[k]:
                    for side in ax.spines.values():
                        side.set_edgecolor("#B00000")
                        side.set_linewidth(2.0)
        bar = fig.colorbar(image, ax=axes, shrink=0.6, pad=0.02)
        bar.set_label("abundance (fraction of pixel, 0\u20131)")
        key = f"  ({WEAK_MARK}: weak endmember, red frame)" if scene.weak.any() else ""
        fig.suptitle(f"Abundance maps \u2014 {results.title}{key}")
    return fig


def _gapped(wavelengths: np.ndarray, spectrum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Insert NaN where a band gap (dropped water-absorption bands) is > 2.5x the median step,
    so lines break there instead of bridging the gap."""
    if wavelengths.size < 3:
        return wavelengths, spectrum
    steps = np.diff(wavelengths)
    gaps = np.flatnonzero(steps > 2.5 * np.median(steps))
    if gaps.size == 0:
        return wavelengths, spectrum
    x = np.insert(wavelengths, gaps + 1, np.nan)
    y = np.insert(spectrum, gaps + 1, np.nan)
    return x, y


def endmember_spectra(results: SceneResults) -> Any:
    """One panel per true endmember: the true spectrum and each blind method's matched one.

    Supervised methods were handed the true spectra, so they have nothing to draw here
    and are named in the subtitle. Legends give each method's spectral angle (rad).
    """
    scene = results.scene
    p = scene.n_endmembers
    blind = [r for r in results.results if r.E_hat is not None]
    supervised = [r.label for r in results.results if r.E_hat is None]
    styles = method_style([r.label for r in results.results])
    if scene.wavelengths is not None:
        x_all, x_label = np.asarray(scene.wavelengths, dtype=float), "wavelength (nm)"
    else:
        x_all, x_label = np.arange(scene.n_bands, dtype=float), "band index"
    ncols = min(p, 3)
    nrows = -(-p // ncols)
    titles = endmember_titles(results, width=30)
    with plt.rc_context(RC):
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(4.2 * ncols, 3.0 * nrows + 0.8),
            squeeze=False,
            layout="constrained",
        )
        for k in range(p):
            ax = axes[k // ncols, k % ncols]
            e = scene.E[k] if scene.E is not None else None
            if e is not None:
                ax.plot(*_gapped(x_all, e), color=TRUTH_COLOR, linewidth=2.2, label="truth")
            for r in blind:
                assert r.E_hat is not None
                if r.alignment[k] < 0:
                    ax.plot(
                        [], [], color=styles[r.label]["color"], label=f"{r.label} (not recovered)"
                    )
                    continue
                e_hat = r.E_hat[k]
                label = r.label
                if e is not None:
                    cos = float(e @ e_hat / (np.linalg.norm(e) * np.linalg.norm(e_hat) or 1.0))
                    label += f" (SAD {float(np.arccos(np.clip(cos, -1.0, 1.0))):.3f} rad)"
                ax.plot(
                    *_gapped(x_all, e_hat),
                    color=styles[r.label]["color"],
                    linestyle=interleaved_dashes(blind.index(r), len(blind)),
                    linewidth=1.4,
                    label=label,
                )
            ax.set_title(
                titles[k].replace("\n", ": "), color="#B00000" if scene.weak[k] else "black"
            )
            ax.set_xlabel(x_label)
            ax.set_ylabel("reflectance")
            ax.legend(loc="best", frameon=True, framealpha=0.85)
            ax.grid(alpha=0.3)
        for k in range(p, nrows * ncols):
            axes[k // ncols, k % ncols].set_visible(False)
        note = ""
        if supervised:
            note = f"\n{', '.join(supervised)}: supervised (given the true spectra), not drawn"
        if not blind:
            note += "\nno blind method among those chosen: only the true spectra are drawn"
        fig.suptitle(f"Endmember spectra, truth vs matched estimates \u2014 {results.title}{note}")
    return fig


__all__ = ["WEAK_MARK", "abundance_grid", "endmember_spectra", "endmember_titles"]
