"""Statistics for the leaderboards: bootstrap confidence intervals, paired tests, ranks.

- :func:`bootstrap_mean_ci`: percentile-bootstrap confidence interval of the mean over
  seeds, vectorised over resamples (and over rows of a 2-D input), drawn from a
  fixed-seed generator so that the same numbers give the same interval every time. It
  draws exactly as :func:`scipy.stats.bootstrap` does (``method="percentile"``, one
  batch, ``rng=numpy.random.default_rng(seed)``), so the two agree to the last digit.
- :func:`paired_wilcoxon`: two-sided Wilcoxon signed-rank test
  (:func:`scipy.stats.wilcoxon`) of paired samples, with the degenerate cases (no
  non-zero difference) answered instead of raised.
- :func:`compare_to_best`: per scenario and metric, each method against the best one
  (best mean over all its cells), paired over the (seed, SNR) cells both finished.
- :func:`average_rank`: mean of per-scenario ranks across scenarios.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from hubench.errors import ParameterError

#: Seed of the bootstrap generator: fixed, so a leaderboard is reproducible byte for byte.
BOOTSTRAP_SEED = 0
N_RESAMPLES = 9999
CONFIDENCE = 0.95
ALPHA = 0.05


def bootstrap_mean_ci(
    values: Any,
    *,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile-bootstrap confidence interval of the mean along the last axis.

    Parameters
    ----------
    values : array_like, shape (n,) or (n_rows, n)
        Finite values (one per seed). Every row is resampled with the same index draws,
        as :func:`scipy.stats.bootstrap` does.
    confidence : float
        Two-sided confidence level in (0, 1).
    n_resamples : int
        Number of bootstrap resamples.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    low, high : ndarray, shape () or (n_rows,)
        The ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles (linear
        interpolation) of the resampled means. NaN where fewer than two values are given
        (one seed says nothing about the spread).
    """
    data = np.asarray(values, dtype=np.float64)
    if data.ndim not in (1, 2):
        raise ParameterError(f"values: expected shape (n,) or (n_rows, n), got {data.shape}")
    if not 0.0 < confidence < 1.0:
        raise ParameterError(f"confidence: must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ParameterError(f"n_resamples: must be at least 1, got {n_resamples}")
    if not np.all(np.isfinite(data)):
        raise ParameterError("values: holds NaN/Inf; drop the cells that did not finish first")
    n = data.shape[-1]
    if n < 2:
        nan = np.full(data.shape[:-1], np.nan)
        return nan, nan.copy()
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, (n_resamples, n))  # the draw scipy.stats.bootstrap makes
    means = data[..., index].mean(axis=-1)  # (..., n_resamples)
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [alpha, 1.0 - alpha], axis=-1)
    return low, high


def ci_half_width(values: Any, **kwargs: Any) -> float:
    """Half the width of :func:`bootstrap_mean_ci` of a 1-D sample (finite values only).

    NaN values are dropped first; NaN when fewer than two finite values remain.
    """
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    arr = arr[np.isfinite(arr)]
    low, high = bootstrap_mean_ci(arr, **kwargs)
    return float((high - low) / 2.0)


def paired_wilcoxon(x: Any, y: Any) -> tuple[float, float]:
    """Two-sided Wilcoxon signed-rank test of ``x - y`` (paired, same order).

    Zero differences are dropped (``zero_method="wilcox"``); with no non-zero
    difference left the samples are indistinguishable: statistic 0, p-value 1.

    Parameters
    ----------
    x, y : array_like, shape (n_pairs,)

    Returns
    -------
    statistic, pvalue : float
        As :func:`scipy.stats.wilcoxon` reports them.
    """
    a = np.asarray(x, dtype=np.float64).reshape(-1)
    b = np.asarray(y, dtype=np.float64).reshape(-1)
    if a.shape != b.shape:
        raise ParameterError(f"x, y: paired samples need equal lengths, got {a.size} and {b.size}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ParameterError("x, y: hold NaN/Inf; keep only the pairs where both finished")
    if not np.any(a - b != 0):
        return 0.0, 1.0
    from scipy import stats  # a second or so to import: only when a test is made

    result = stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    return float(result.statistic), float(result.pvalue)


def compare_to_best(
    frame: pd.DataFrame, metric: str, better: str, *, group: str = "method_label"
) -> pd.DataFrame:
    """Each method of one scenario against the best one on ``metric``.

    The best method has the best mean of ``metric`` over all its cells that finished
    ``ok`` (finite values). Every other method is paired with it on the
    ``(seed, snr_db)`` cells where both have a finite value, and tested with
    :func:`paired_wilcoxon`.

    Parameters
    ----------
    frame : DataFrame
        One scenario's rows of a results frame with columns ``group``, ``seed``,
        ``snr_db``, ``status`` and ``metric``.
    metric : str
    better : {"lower", "higher"}
    group : str
        Column naming the method.

    Returns
    -------
    DataFrame indexed by method with columns ``mean``, ``n_pairs``, ``statistic``,
    ``pvalue``, ``best`` (bool) and ``worse`` (bool: not the best, mean worse than the
    best's and ``pvalue < 0.05``). The best method has p-value NaN.
    """
    if better not in ("lower", "higher"):
        raise ParameterError(f"better: must be 'lower' or 'higher', got {better!r}")
    ok = frame[(frame["status"] == "ok") & np.isfinite(frame[metric].to_numpy(dtype=float))]
    methods = sorted(frame[group].unique())
    out = pd.DataFrame(index=pd.Index(methods, name=group))
    out["mean"] = ok.groupby(group)[metric].mean().reindex(methods)
    out["n_pairs"] = 0
    out["statistic"] = math.nan
    out["pvalue"] = math.nan
    out["best"] = False
    out["worse"] = False
    means = out["mean"].dropna()
    if means.empty:
        return out
    best = means.idxmin() if better == "lower" else means.idxmax()
    out.loc[best, "best"] = True
    # snr_db is NaN for real scenes: pair on a filled copy so that NaN == NaN.
    keyed = ok.assign(_snr=ok["snr_db"].fillna(-np.inf))
    wide = keyed.pivot_table(index=["seed", "_snr"], columns=group, values=metric, aggfunc="mean")
    for method in means.index:
        if method == best:
            continue
        pairs = wide[[best, method]].dropna()
        out.loc[method, "n_pairs"] = len(pairs)
        if len(pairs) == 0:
            continue
        stat, p = paired_wilcoxon(pairs[method], pairs[best])
        out.loc[method, "statistic"] = stat
        out.loc[method, "pvalue"] = p
        worse = means[method] > means[best] if better == "lower" else means[method] < means[best]
        out.loc[method, "worse"] = bool(worse and p < ALPHA)
    return out


def average_rank(ranks: pd.DataFrame) -> pd.Series:
    """Mean over scenarios (columns) of each method's (row's) rank, skipping missing ones.

    Parameters
    ----------
    ranks : DataFrame, shape (n_methods, n_scenarios)
        Rank of each method in each scenario (1 = best); NaN where a method did not run.
    """
    return ranks.astype(float).mean(axis=1, skipna=True)


__all__ = [
    "ALPHA",
    "BOOTSTRAP_SEED",
    "CONFIDENCE",
    "N_RESAMPLES",
    "average_rank",
    "bootstrap_mean_ci",
    "ci_half_width",
    "compare_to_best",
    "paired_wilcoxon",
]
