"""What the figures draw, read back from the results store.

A figure of one scene needs the scene's truth and each method's saved estimate
(``hubench run --save-estimates``). The truth is not stored: synthetic scenes are pure
functions of their parameters and seed, so :func:`load_scene_results` regenerates the
scene with :func:`hubench.make_scene` from the stored row and checks it against the
stored ``armse`` before drawing anything. Estimates are put in the order of the true
endmembers with the alignment the harness recorded (never re-aligned here).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hubench.errors import (
    DataError,
    HubenchError,
    ParameterError,
    StoreError,
    UnknownNameError,
    suggest,
)
from hubench.report.text import snr_text
from hubench.scene import Scene

if TYPE_CHECKING:
    from hubench.harness.store import ResultStore

_ARMSE_RTOL = 1e-6


@dataclass(frozen=True)
class MethodResult:
    """One method's estimate of a scene, in the order of the true endmembers.

    Attributes
    ----------
    label : str
        Method label as in the leaderboards (``name`` or ``name[k=v]``).
    A_hat : ndarray, shape (n_pixels, p)
        Column ``k`` estimates true endmember ``k`` (zeros if none was matched).
    E_hat : ndarray, shape (p, n_bands), or None
        Row ``k`` is the estimated spectrum matched to true endmember ``k`` (NaN if
        none); None for a supervised method (it was given the true spectra).
    alignment : tuple of int, length p
        As recorded: the estimated endmember matched to each true one, -1 for none.
    lower, upper, presence : ndarray, shape (n_pixels, p), or None
        The saved uncertainty (``--ensemble`` or the method's own), aligned likewise
        (NaN columns for unmatched endmembers): the central 90% interval and the
        probability of presence; None when the estimate has none.
    """

    label: str
    A_hat: np.ndarray
    E_hat: np.ndarray | None
    alignment: tuple[int, ...]
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    presence: np.ndarray | None = None


@dataclass(frozen=True)
class SceneResults:
    """A regenerated scene and the methods' aligned estimates of it."""

    scene: Scene
    scenario: str
    snr_db: float
    seed: int
    results: tuple[MethodResult, ...]

    @property
    def title(self) -> str:
        """``"weak, 20 dB, seed 0"``: names the scene in figure titles."""
        return f"{self.scenario}, {snr_text(self.snr_db)}, seed {self.seed}"


def same_snr(snrs: np.ndarray, snr: float) -> np.ndarray:
    """Mask of ``snrs`` equal to ``snr`` (inf equals inf, NaN equals NaN: real scenes)."""
    return np.isclose(snrs, snr, rtol=0.0, atol=1e-9, equal_nan=True)


def _names(text: str | Sequence[str] | None) -> list[str] | None:
    if text is None:
        return None
    items = (
        [s.strip() for s in text.split(",")] if isinstance(text, str) else [str(s) for s in text]
    )
    if not items or not all(items):
        raise ParameterError(
            f"--methods: empty name in {text!r}; separate names with single commas"
        )
    return items


def select_methods(frame: pd.DataFrame, methods: str | Sequence[str] | None) -> pd.DataFrame:
    """Rows of the named methods (registry names or leaderboard labels); all if None.

    ``frame`` must carry ``method_label`` (:func:`hubench.report.frame.labelled`).
    """
    wanted = _names(methods)
    if wanted is None:
        return frame
    known = sorted(set(frame["method"].astype(str)) | set(frame["method_label"].astype(str)))
    for name in wanted:
        if name not in known:
            raise UnknownNameError(
                f"--methods: no results for method {name!r}{suggest(name, known)}; "
                f"methods in the store: {', '.join(known)}"
            )
    return frame[frame["method"].isin(wanted) | frame["method_label"].isin(wanted)]


def select_scenarios(frame: pd.DataFrame, scene: str | None) -> list[str]:
    """Scenario labels to draw: ``scene`` (a scenario name or label) or every stored one."""
    labels = sorted(frame["scenario_label"].astype(str).unique())
    if scene is None:
        return labels
    if scene in labels:
        return [scene]
    matching = sorted(frame.loc[frame["scenario"] == scene, "scenario_label"].astype(str).unique())
    if not matching:
        known = sorted(set(labels) | set(frame["scenario"].astype(str)))
        raise UnknownNameError(
            f"--scene: no results for scenario {scene!r}{suggest(scene, known)}; "
            f"scenarios in the store: {', '.join(known)}"
        )
    return matching


def has_estimate(frame: pd.DataFrame, estimates_dir: Path) -> pd.Series:
    """True for the rows that finished ok and have a saved ``estimates/<key>.npz``."""
    present = {p.stem for p in estimates_dir.glob("*.npz")} if estimates_dir.is_dir() else set()
    return (frame["status"] == "ok") & frame["key"].isin(present)


def choose_cell(
    rows: pd.DataFrame, scenario: str, snr: float | None, seed: int | None, store: Path
) -> tuple[float, int]:
    """The (SNR, seed) to draw among ``rows`` (one scenario's rows with saved estimates).

    Defaults: the lowest SNR (where weak endmembers are hardest) and the smallest seed.
    """
    again = (
        "re-run the same `hubench run` command with --save-estimates --force "
        "(stored cells are otherwise skipped)"
    )
    if rows.empty:
        raise StoreError(f"no saved estimates for scenario {scenario!r} in {store}; {again}")
    snrs = rows["snr_db"].to_numpy(dtype=float)
    if snr is None:
        finite = snrs[~np.isnan(snrs)]
        chosen_snr = float(finite.min()) if finite.size else math.nan
    else:
        if np.all(np.isnan(snrs)):
            raise ParameterError(
                f"--snr: scenario {scenario!r} is a real scene with fixed noise; drop --snr"
            )
        if not np.any(same_snr(snrs, snr)):
            have = ", ".join(snr_text(s) for s in sorted(set(snrs[~np.isnan(snrs)])))
            raise ParameterError(
                f"--snr: no saved estimates for {scenario!r} at {snr_text(snr)}; available: {have}"
            )
        chosen_snr = float(snr)
    at = rows[same_snr(snrs, chosen_snr)]
    seeds = sorted(int(s) for s in at["seed"].unique())
    if seed is None:
        return chosen_snr, seeds[0]
    if seed not in seeds:
        raise ParameterError(
            f"--seed: no saved estimates for {scenario!r} at {snr_text(chosen_snr)} with seed {seed}; "
            f"available seeds: {', '.join(map(str, seeds))}"
        )
    return chosen_snr, int(seed)


def _aligned(label: str, arrays: dict[str, np.ndarray], p: int) -> MethodResult:
    from hubench.metrics.alignment import aligned_columns, identity_alignment

    A = np.asarray(arrays["A"], dtype=np.float64)
    E = arrays.get("E")
    alignment = tuple(int(j) for j in np.asarray(arrays.get("alignment", [])).reshape(-1))
    if E is None:
        alignment = alignment or identity_alignment(p)
    if len(alignment) != p:
        raise DataError(
            f"saved estimate of {label}: alignment has {len(alignment)} entries, scene has {p} endmembers"
        )
    A_hat = aligned_columns(A, alignment)
    E_hat = None
    if E is not None:
        E = np.asarray(E, dtype=np.float64)
        idx = np.asarray(alignment)
        E_hat = np.full((p, E.shape[1]), np.nan)
        E_hat[idx >= 0] = E[idx[idx >= 0]]

    def column_aligned(name: str) -> np.ndarray | None:
        if name not in arrays:
            return None
        return aligned_columns(np.asarray(arrays[name], dtype=np.float64), alignment, fill=np.nan)

    lower, upper = column_aligned("A_lower"), column_aligned("A_upper")
    return MethodResult(label=label, A_hat=A_hat, E_hat=E_hat, alignment=alignment,
                        lower=lower, upper=upper if lower is not None else None,
                        presence=column_aligned("A_presence"))


def load_scene_results(
    store: ResultStore, rows: pd.DataFrame, snr: float, seed: int
) -> SceneResults:
    """Regenerate the scene of ``rows`` at (``snr``, ``seed``) and load every method's estimate.

    Parameters
    ----------
    store : hubench.harness.ResultStore
        The open store (for :meth:`load_estimate`).
    rows : DataFrame
        One scenario's labelled rows with saved estimates.
    """
    import hubench

    cells = rows[
        same_snr(rows["snr_db"].to_numpy(dtype=float), snr) & (rows["seed"] == seed)
    ].sort_values("method_label")
    first = cells.iloc[0]
    params = json.loads(first["scenario_params"]) if first["scenario_params"] else {}
    try:
        scene = hubench.make_scene(str(first["scenario"]), seed=int(seed), **params)
    except HubenchError as exc:
        raise DataError(
            f"cannot regenerate scene {first['scenario']!r} (seed {seed}): {exc}"
        ) from None
    results = []
    for _, row in cells.iterrows():
        result = _aligned(
            str(row["method_label"]), store.load_estimate(row["key"]), scene.n_endmembers
        )
        if scene.A is None:  # nothing to check the regenerated scene against
            results.append(result)
            continue
        armse = float(np.sqrt(np.mean((scene.A - result.A_hat) ** 2)))
        stored = float(row["armse"]) if "armse" in row.index else math.nan
        if np.isfinite(stored) and not math.isclose(
            armse, stored, rel_tol=_ARMSE_RTOL, abs_tol=1e-12
        ):
            raise DataError(
                f"the regenerated scene {first['scenario_label']!r} (seed {seed}) does not match the "
                f"stored result of {result.label} (armse {armse:.6g} vs stored {stored:.6g}); the scene "
                "generator changed since the run: re-run with --force --save-estimates"
            )
        results.append(result)
    return SceneResults(
        scene=scene,
        scenario=str(first["scenario_label"]),
        snr_db=float(snr),
        seed=int(seed),
        results=tuple(results),
    )


__all__ = [
    "MethodResult",
    "SceneResults",
    "choose_cell",
    "has_estimate",
    "load_scene_results",
    "select_methods",
    "select_scenarios",
    "snr_text",
]
