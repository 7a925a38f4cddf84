"""Small statistics shared by the leaderboard and the regression check.

Metric directions come from the metric registry
(``hubench.metrics.registry.metric_info(name).better`` in ``{"lower", "higher"}``, which
also resolves per-endmember columns such as ``sad_em3``). A fallback table
covers the names of docs/design.md when the registry does not know a name.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from hubench.errors import HubenchError, UnknownNameError, suggest
from hubench.harness.store import FRAME_COLUMNS

#: Columns of the results frame that are not metrics (``ResultStore.to_frame()``).
# Every fixed column of a results frame (the store's, costs among them): not a metric.
CELL_COLUMNS = tuple(FRAME_COLUMNS)

#: Cost columns: measured, never deterministic, summarised over all SNRs.
COST_METRICS = ("fit_seconds", "peak_mem_mb")

_FALLBACK_BETTER = {
    "armse": "lower", "msad": "lower", "sre": "higher", "rmse_y": "lower",
    "weak_recall": "higher", "weak_precision": "higher", "weak_f1": "higher",
    "weak_ap": "higher", "weak_em_recall": "higher", "weak_armse": "lower",
    "weak_msad": "lower", "rmse": "lower", "sad": "lower", "rmse_em": "lower",
    "sad_em": "lower", "fit_seconds": "lower", "peak_mem_mb": "lower",
}  # fmt: skip


def _candidates(name: str) -> list[str]:
    """``rmse_em3`` -> ``["rmse_em3", "rmse_em", "rmse"]``: the name, then its family."""
    out = [name]
    for pattern in (r"\d+$", r"_em\d+$"):
        stripped = re.sub(pattern, "", name)
        if stripped and stripped not in out:
            out.append(stripped)
    return out


def _registry_direction(name: str) -> str | None:
    try:
        from hubench.metrics.registry import metric_info
    except ImportError:  # the metric registry is optional for reading a results frame
        return None
    try:
        better = metric_info(name).better
    except HubenchError:
        return None
    return str(better) if better in ("lower", "higher") else None


def metric_unit(name: str) -> str:
    """The unit of a metric from the registry (``"rad"``, ``"s"``...), or ``""`` if unknown."""
    try:
        from hubench.metrics.registry import metric_info

        return str(metric_info(name).unit)
    except (ImportError, HubenchError):
        return ""


def metric_direction(name: str) -> str | None:
    """``"lower"`` or ``"higher"`` (which is better) for a metric column, or None if unknown."""
    found = _registry_direction(name)
    if found is not None:
        return found
    for candidate in _candidates(name):
        if candidate in _FALLBACK_BETTER:
            return _FALLBACK_BETTER[candidate]
    return None


def require_direction(name: str, known: list[str]) -> str:
    """Like :func:`metric_direction` but raise for an unknown name, naming the known ones."""
    found = metric_direction(name)
    if found is None:
        raise UnknownNameError(
            f"unknown metric {name!r}{suggest(name, known)}; metrics in this store: "
            f"{', '.join(known) or 'none'}"
        )
    return found


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric metric columns of a results frame, in frame order (cost columns excluded)."""
    return [
        c for c in frame.columns
        if c not in CELL_COLUMNS and pd.api.types.is_numeric_dtype(frame[c])
    ]  # fmt: skip


def mean_std(values: pd.Series) -> tuple[float, float, int]:
    """Mean, sample standard deviation (ddof=1; NaN for one value) and count of finite values."""
    arr = np.asarray(values, dtype=float)
    arr = arr[np.isfinite(arr)]
    n = int(arr.size)
    if n == 0:
        return math.nan, math.nan, 0
    std = float(arr.std(ddof=1)) if n > 1 else math.nan
    return float(arr.mean()), std, n


def best_mask(means: pd.Series, better: str, rtol: float = 1e-9) -> pd.Series:
    """True where a mean equals the best of its column (ties within ``rtol`` all True; NaN never)."""
    finite = means[np.isfinite(means.to_numpy(dtype=float))]
    if finite.empty:
        return pd.Series(False, index=means.index)
    best = finite.min() if better == "lower" else finite.max()
    close = np.isclose(means.to_numpy(dtype=float), best, rtol=rtol, atol=0.0)
    return pd.Series(close, index=means.index)


def column_ranks(means: pd.Series, better: str, rtol: float = 1e-9) -> pd.Series:
    """Rank 1 = best; values within ``rtol`` of each other tie and share the average rank;
    a missing value ranks last (the same tie rule as :func:`best_mask`)."""
    snapped = means.astype(float).copy()
    order = snapped[np.isfinite(snapped.to_numpy())].sort_values()
    anchor = math.nan
    for label, value in order.items():
        if math.isnan(anchor) or not math.isclose(value, anchor, rel_tol=rtol, abs_tol=0.0):
            anchor = value
        snapped[label] = anchor
    return snapped.rank(ascending=(better == "lower"), method="average", na_option="bottom")
