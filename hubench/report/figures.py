"""Figures from a results store: what ``hubench plot`` and ``hubench report`` draw.

Per scenario (all stored ones, or the one asked for):

(a) ``<scenario>_abundances_<snr>_seed<N>``: abundance maps, truth row then one row per
    method, one column per endmember, weak endmembers marked, colour scale 0-1;
(b) ``<scenario>_spectra_<snr>_seed<N>``: true vs matched estimated spectra;
(c) ``<scenario>_metrics-vs-snr``: each metric against SNR, mean over seeds with a
    min-max band (needs no saved estimates);
(d) ``<scenario>_weak-pr_<snr>_seed<N>``: weak-endmember precision-recall curves;
(e) ``<scenario>_cost``: quality against fit time with the Pareto front (accuracy
    against compute; needs no saved estimates, see :mod:`hubench.report.fig_cost`);
(f) ``<scenario>_uncertainty_<snr>_seed<N>`` and (g) ``<scenario>_reliability_<snr>_seed<N>``:
    abundance and 90%-interval width maps, and the weak-presence reliability diagram, of
    the methods run with ``--ensemble K`` (or returning their own uncertainty); drawn
    only when such a cell is stored (:mod:`hubench.report.fig_uncertainty`);
(h) ``<scenario>_learning-curves_<method>``: a deep method's training loss and quality
    (armse, msad, weak_ap) against training time, one line per cell (from the store's
    learning curves; needs no saved estimates; :mod:`hubench.report.fig_training`).

(a), (b) and (d) need the estimates saved by ``hubench run --save-estimates``; the scene
is regenerated from the stored parameters and seed (see :mod:`hubench.report.fig_data`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hubench.errors import HubenchError, ParameterError, StoreError
from hubench.report.fig_cost import quality_vs_cost
from hubench.report.fig_curves import metrics_vs_snr, weak_pr_curves
from hubench.report.fig_data import (
    SceneResults,
    choose_cell,
    has_estimate,
    load_scene_results,
    select_methods,
    select_scenarios,
)
from hubench.report.fig_maps import abundance_grid, endmember_spectra
from hubench.report.fig_style import save, slug
from hubench.report.fig_training import learning_curve_figures
from hubench.report.fig_uncertainty import reliability_diagram, uncertainty_grid
from hubench.report.frame import labelled
from hubench.report.text import snr_text

KINDS = ("abundances", "spectra", "metrics-vs-snr", "weak-pr", "cost", "uncertainty", "reliability",
         "learning-curves")


@dataclass
class PlotResult:
    """What :func:`plot_store` wrote: ``files[scenario][kind]`` = paths (one per format),
    and ``notes``: one line per figure left out and why."""

    files: dict[str, dict[str, list[Path]]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def all_files(self) -> list[Path]:
        return [p for kinds in self.files.values() for paths in kinds.values() for p in paths]


def _snr_tag(snr: float) -> str:
    """The SNR in a file name: ``10dB``, ``noiseless``, ``real`` (a real scene)."""
    return "real" if math.isnan(snr) else snr_text(snr).replace(" ", "")


def load_frame(store_path: str | Path) -> tuple[pd.DataFrame, Path]:
    """The labelled results frame of the store at ``store_path`` and its estimates folder."""
    from hubench.harness.store import ResultStore

    path = Path(store_path)
    if not path.is_file():
        raise StoreError(
            f"--store: no results store at {path}; run `hubench run --save-estimates` first or pass --store"
        )
    with ResultStore(path, readonly=True) as store:
        frame = store.to_frame()
        estimates = store.estimates_dir
    if frame.empty:
        raise StoreError(
            f"--store: {path} holds no results; run `hubench run --save-estimates` first"
        )
    return labelled(frame), estimates


def plot_store(
    store_path: str | Path,
    output: str | Path,
    *,
    scene: str | None = None,
    snr: float | None = None,
    seed: int | None = None,
    methods: str | Sequence[str] | None = None,
    formats: Sequence[str] = ("png",),
    kinds: Sequence[str] = KINDS,
) -> PlotResult:
    """Draw every figure of the chosen scenarios into ``output``.

    Parameters
    ----------
    store_path : path
        The SQLite results store.
    output : path
        Folder for the image files (created).
    scene : str, optional
        Scenario name or leaderboard label; default every stored scenario.
    snr, seed : optional
        The cell whose estimates are drawn in (a), (b), (d); default the lowest stored
        SNR and the smallest seed with saved estimates.
    methods : str or sequence of str, optional
        Method names or labels (``"vca+fcls,fcls"``); default all.
    formats : sequence of {"png", "svg"}
    kinds : sequence of str
        Which of :data:`KINDS` to draw (default all).

    Raises
    ------
    HubenchError
        Empty store, unknown names (with suggestions), no saved estimates for an
        explicitly chosen scene.
    """
    from hubench.harness.store import ResultStore

    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ParameterError(
            f"kinds: unknown figure {unknown[0]!r}; choose from {', '.join(KINDS)}"
        )
    needs_estimates = any(kind in kinds for kind in ("abundances", "spectra", "weak-pr"))
    frame, estimates_dir = load_frame(store_path)
    frame = select_methods(frame, methods)
    scenarios = select_scenarios(frame, scene)
    frame = frame.assign(_has_estimate=has_estimate(frame, estimates_dir))
    out_dir = Path(output)
    result = PlotResult()
    # Resolve every choice (and regenerate and check every scene) first, so that bad
    # input raises before any file is written.
    plan: list[tuple[str, pd.DataFrame, SceneResults | None]] = []
    with ResultStore(store_path, readonly=True) as store:
        curves = store.training(frame["key"]) if "learning-curves" in kinds else {}
        for scenario in scenarios:
            rows = frame[frame["scenario_label"] == scenario]
            saved = rows[rows["_has_estimate"]]
            if not needs_estimates:
                plan.append((scenario, rows, None))
                continue
            if saved.empty and scene is None:
                result.notes.append(
                    f"{scenario}: no saved estimates, so no maps, spectra or PR curves; re-run "
                    "its `hubench run` with --save-estimates --force"
                )
                plan.append((scenario, rows, None))
                continue
            cell = choose_cell(saved, scenario, snr, seed, Path(store_path))
            plan.append((scenario, rows, load_scene_results(store, saved, *cell)))
    for scenario, rows, scene_results in plan:
        stem = slug(scenario)
        figures: dict[str, list[Path]] = {}
        fig = metrics_vs_snr(rows, scenario) if "metrics-vs-snr" in kinds else None
        if fig is None and "metrics-vs-snr" in kinds:
            result.notes.append(
                f"{scenario}: no metric against SNR to draw (real scene or nothing ok)"
            )
        elif fig is not None:
            figures["metrics-vs-snr"] = save(fig, out_dir, f"{stem}_metrics-vs-snr", formats)
        cost = quality_vs_cost(rows, scenario) if "cost" in kinds else None
        if cost is None and "cost" in kinds:
            result.notes.append(f"{scenario}: no ok cell with a fit time, so no cost figure")
        elif cost is not None:
            figures["cost"] = save(cost, out_dir, f"{stem}_cost", formats)
        if scene_results is not None:
            tag = f"{_snr_tag(scene_results.snr_db)}_seed{scene_results.seed}"
            if "abundances" in kinds:
                figures["abundances"] = save(
                    abundance_grid(scene_results), out_dir, f"{stem}_abundances_{tag}", formats
                )
            if "spectra" in kinds:
                figures["spectra"] = save(
                    endmember_spectra(scene_results), out_dir, f"{stem}_spectra_{tag}", formats
                )
            pr = weak_pr_curves(scene_results) if "weak-pr" in kinds else None
            if pr is None and "weak-pr" in kinds:
                result.notes.append(f"{scenario}: no weak endmember present, so no PR curve")
            elif pr is not None:
                figures["weak-pr"] = save(pr, out_dir, f"{stem}_weak-pr_{tag}", formats)
            # Only cells with an uncertainty have these; no note when none has one.
            for kind, draw in (("uncertainty", uncertainty_grid), ("reliability", reliability_diagram)):
                fig = draw(scene_results) if kind in kinds else None
                if fig is not None:
                    figures[kind] = save(fig, out_dir, f"{stem}_{kind}_{tag}", formats)
        if "learning-curves" in kinds:
            for method, fig in learning_curve_figures(rows, curves, scenario).items():
                figures[f"learning-curves:{method}"] = save(
                    fig, out_dir, f"{stem}_learning-curves_{slug(method)}", formats
                )
        result.files[scenario] = figures
    if not result.all_files():
        raise HubenchError("nothing to draw: " + "; ".join(result.notes))
    return result


__all__ = ["KINDS", "PlotResult", "load_frame", "plot_store"]
