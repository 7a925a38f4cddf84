"""Small statistics shared by the leaderboard and the regression check.

A metric's direction and unit come from the metric registry alone
(:mod:`hubench.metrics.registry`: :func:`metric_direction`, :func:`metric_unit`,
:data:`COST_METRICS`, which also resolve per-endmember columns such as ``sad_em3`` and
family names such as ``rmse_em``); they are re-exported here under their old names.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hubench.errors import UnknownNameError, suggest
from hubench.harness.store import FRAME_COLUMNS
from hubench.metrics.registry import COST_METRICS, metric_direction, metric_unit
from hubench.metrics.registry import metric_columns as _metric_columns

#: Columns of the results frame that are not metrics (``ResultStore.to_frame()``).
# Every fixed column of a results frame (the store's, costs among them): not a metric.
CELL_COLUMNS = tuple(FRAME_COLUMNS)

__all__ = [
    "CELL_COLUMNS",
    "COST_METRICS",
    "best_mask",
    "column_ranks",
    "mean_std",
    "metric_columns",
    "metric_direction",
    "metric_unit",
    "require_direction",
]


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
    return _metric_columns(frame, CELL_COLUMNS)


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
