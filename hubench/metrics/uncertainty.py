"""Metrics of a method's uncertainty about its abundances, and whether it can be trusted.

A method (or the harness's ensemble of K fits, :mod:`hubench.ensemble`) gives, per pixel
and endmember, a central interval ``[lower, upper]`` meant to hold the true abundance
with probability :data:`NOMINAL` (90%), and a probability that the endmember is present
(abundance >= tau). These functions score both against the truth:

- **coverage**: the share of true abundances inside their interval. A calibrated
  method covers about 90%; less means over-confident intervals.
- **width** (sharpness): the mean interval width. Of two methods with the same
  coverage, the narrower one is more useful; a trivial [0, 1] interval covers all.
- **Brier score**: the mean squared difference between the presence probability and
  the truth's 0/1 presence.
- **expected calibration error** (ECE): probabilities binned into ``n_bins`` equal
  bins on [0, 1]; the mean over bins, weighted by their share of pixels, of
  ``|mean probability - observed frequency|``. Zero for a perfectly calibrated predictor.

Everything is vectorised over pixels; inputs are arrays of any matching shapes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import norm

from hubench.metrics.alignment import aligned_columns

#: The nominal content of the central interval: 5% and 95% quantiles.
NOMINAL = 0.90
#: Number of equal-width probability bins of the calibration error and diagrams.
N_BINS = 10


def _same_shape(**arrays: np.ndarray) -> list[np.ndarray]:
    values = [np.asarray(a, dtype=np.float64) for a in arrays.values()]
    shapes = {v.shape for v in values}
    if len(shapes) != 1:
        names = ", ".join(f"{k} {np.shape(a)}" for k, a in arrays.items())
        raise ValueError(f"uncertainty inputs must share one shape; got {names}")
    return values


def interval_coverage(A: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of true abundances ``A`` with ``lower <= A <= upper`` (NaN for no value)."""
    A, lower, upper = _same_shape(A=A, lower=lower, upper=upper)
    if A.size == 0:
        return math.nan
    inside = (lower <= A) & (A <= upper)  # noqa: SIM300 (A is an array, not a constant)
    return float(np.mean(inside))


def interval_width(lower: np.ndarray, upper: np.ndarray) -> float:
    """Mean of ``upper - lower`` (the sharpness; NaN for no value)."""
    lower, upper = _same_shape(lower=lower, upper=upper)
    if lower.size == 0:
        return math.nan
    return float(np.mean(upper - lower))


def presence_from_members(members: np.ndarray, tau: float) -> np.ndarray:
    """Probability of presence from an ensemble: the share of members with ``A >= tau``.

    ``members`` has the member axis first: shape (K, ...); returns shape (...).
    """
    members = np.asarray(members, dtype=np.float64)
    return np.mean(members >= tau, axis=0)


def presence_from_normal(mean: np.ndarray, std: np.ndarray, tau: float) -> np.ndarray:
    """Probability of presence ``P(a >= tau)`` for ``a ~ Normal(mean, std)``.

    For methods that report a standard deviation per abundance; ``std == 0`` gives the
    0/1 decision ``mean >= tau``.
    """
    mean, std = _same_shape(mean=mean, std=std)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (mean - tau) / std
    prob = norm.cdf(z)
    return np.where(std > 0, prob, (mean >= tau).astype(np.float64))


def normal_interval(mean: np.ndarray, std: np.ndarray,
                    nominal: float = NOMINAL) -> tuple[np.ndarray, np.ndarray]:
    """Central ``nominal`` interval of ``Normal(mean, std)``, clipped to [0, 1]."""
    mean, std = _same_shape(mean=mean, std=std)
    half = norm.ppf(0.5 + nominal / 2) * std
    return np.clip(mean - half, 0.0, 1.0), np.clip(mean + half, 0.0, 1.0)


def brier_score(prob: np.ndarray, outcome: np.ndarray) -> float:
    """Mean of ``(prob - outcome)^2`` over every value (outcome 0/1 or bool)."""
    prob, outcome = _same_shape(prob=prob, outcome=outcome)
    if prob.size == 0:
        return math.nan
    return float(np.mean((prob - outcome) ** 2))


def reliability(prob: np.ndarray, outcome: np.ndarray,
                n_bins: int = N_BINS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per equal-width bin of ``prob`` on [0, 1]: mean probability, observed frequency
    of the outcome, and the count. Empty bins have NaN means and count 0.

    Bin ``b`` holds ``b / n_bins <= prob < (b + 1) / n_bins``; ``prob == 1`` falls in
    the last bin.
    """
    prob, outcome = _same_shape(prob=prob, outcome=outcome)
    prob, outcome = prob.ravel(), outcome.ravel()
    which = np.minimum((prob * n_bins).astype(np.int64), n_bins - 1)
    count = np.bincount(which, minlength=n_bins).astype(np.float64)
    sum_prob = np.bincount(which, weights=prob, minlength=n_bins)
    sum_outcome = np.bincount(which, weights=outcome, minlength=n_bins)
    with np.errstate(divide="ignore", invalid="ignore"):
        return sum_prob / count, sum_outcome / count, count


def expected_calibration_error(prob: np.ndarray, outcome: np.ndarray,
                               n_bins: int = N_BINS) -> float:
    """Count-weighted mean over bins of ``|mean probability - observed frequency|``."""
    mean_prob, freq, count = reliability(prob, outcome, n_bins)
    total = count.sum()
    if total == 0:
        return math.nan
    filled = count > 0
    return float(np.sum(count[filled] * np.abs(mean_prob[filled] - freq[filled])) / total)


def uncertainty_metrics(
    A: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    presence: np.ndarray,
    weak: np.ndarray,
    tau: float,
) -> dict[str, float]:
    """Every uncertainty metric of one aligned estimate.

    Parameters
    ----------
    A : ndarray, shape (n_pixels, p)
        True abundances.
    lower, upper : ndarray, shape (n_pixels, p)
        The estimate's central :data:`NOMINAL` interval, aligned to the truth's columns
        (NaN columns for true endmembers no estimated one was matched to: left out).
    presence : ndarray, shape (n_pixels, p)
        Probability that each endmember is present (``A >= tau``), aligned likewise.
    weak : ndarray of bool, shape (p,)
    tau : float
        Presence threshold, as in the weak-detection metrics.

    Returns
    -------
    dict
        ``coverage90``, ``coverage90_error`` (``|coverage - 0.9|``), ``interval_width``,
        the same three restricted to weak endmembers (``weak_`` prefix), and
        ``weak_presence_brier`` and ``weak_presence_ece`` over the weak endmembers'
        pixels (NaN when the scene has no weak endmember).
    """
    A, lower, upper, presence = _same_shape(A=A, lower=lower, upper=upper, presence=presence)
    weak = np.asarray(weak, dtype=bool)
    matched = np.isfinite(lower).all(axis=0) & np.isfinite(upper).all(axis=0)
    out: dict[str, float] = {}
    for prefix, columns in (("", matched), ("weak_", matched & weak)):
        cov = interval_coverage(A[:, columns], lower[:, columns], upper[:, columns])
        out[f"{prefix}coverage90"] = cov
        out[f"{prefix}coverage90_error"] = abs(cov - NOMINAL) if not math.isnan(cov) else math.nan
        out[f"{prefix}interval_width"] = interval_width(lower[:, columns], upper[:, columns])
    columns = matched & weak & np.isfinite(presence).all(axis=0)
    truth = (A[:, columns] >= tau).astype(np.float64)
    out["weak_presence_brier"] = brier_score(presence[:, columns], truth)
    out["weak_presence_ece"] = expected_calibration_error(presence[:, columns], truth)
    return out


def estimate_uncertainty_metrics(
    A: np.ndarray,
    A_hat: np.ndarray,
    uncertainty: Any,
    alignment: tuple[int, ...],
    weak: np.ndarray,
    tau: float,
) -> dict[str, float]:
    """:func:`uncertainty_metrics` of an estimate's :class:`~hubench.scene.AbundanceUncertainty`.

    ``A_hat`` is the estimate's own ``A`` (its column order); ``alignment`` maps true
    endmember k to its column (``-1``: unmatched, left out). A standard deviation alone
    gives the Gaussian interval of ``uncertainty.nominal`` and the presence probability
    ``P(a >= tau)``; a presence probability given for another threshold than ``tau``
    is not used (the calibration metrics are then NaN unless a std is given).
    """
    def aligned(X: np.ndarray | None) -> np.ndarray:
        if X is None:
            return np.full((A.shape[0], len(alignment)), np.nan)
        return aligned_columns(X, alignment, fill=np.nan)

    lower, upper = uncertainty.lower, uncertainty.upper
    if lower is None:
        lower, upper = normal_interval(A_hat, uncertainty.std, uncertainty.nominal)
    presence = None
    if uncertainty.presence is not None and math.isclose(uncertainty.presence_tau, tau):
        presence = uncertainty.presence
    elif uncertainty.std is not None:
        presence = presence_from_normal(A_hat, uncertainty.std, tau)
    metrics = uncertainty_metrics(A, aligned(lower), aligned(upper), aligned(presence), weak, tau)
    if not math.isclose(uncertainty.nominal, NOMINAL):  # coverage is of another interval
        for key in [k for k in metrics if "coverage90" in k]:
            metrics[key] = math.nan
    return metrics


__all__ = [
    "NOMINAL",
    "N_BINS",
    "brier_score",
    "estimate_uncertainty_metrics",
    "expected_calibration_error",
    "interval_coverage",
    "interval_width",
    "normal_interval",
    "presence_from_members",
    "presence_from_normal",
    "reliability",
    "uncertainty_metrics",
]
