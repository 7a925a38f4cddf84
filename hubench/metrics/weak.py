"""Weak-endmember detection metrics on already-aligned abundances.

Over the endmembers marked weak and all pixels, a pixel *has* endmember ``k`` when
``A[i, k] >= tau`` and the method *detects* it when ``A_hat[i, k] >= tau``. Counts are
pooled over the weak endmembers (micro-average), so an endmember present in many pixels
weighs more than a rare one; :func:`per_endmember_detection` scores each weak endmember
on its own and :func:`macro_mean` averages those values (macro-average), so that a
missed small endmember is not hidden by a large one found. See docs/guide/metrics.md for every
edge case.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

NAN = float("nan")


class DetectionCounts(NamedTuple):
    """Pooled confusion counts of the detection ``A_hat >= tau`` against ``A >= tau``."""

    tp: int
    fp: int
    fn: int


def detection_counts(A: np.ndarray, A_hat: np.ndarray, tau: float) -> DetectionCounts:
    """Count true/false positives and false negatives over every entry.

    Parameters
    ----------
    A, A_hat : ndarray, shape (n_pixels, n_weak)
        True and aligned estimated abundances of the weak endmembers only.
    tau : float
        Presence threshold.
    """
    has = np.asarray(A) >= tau
    detects = np.asarray(A_hat) >= tau
    tp = int(np.count_nonzero(has & detects))
    return DetectionCounts(
        tp=tp,
        fp=int(np.count_nonzero(detects)) - tp,
        fn=int(np.count_nonzero(has)) - tp,
    )


def recall(counts: DetectionCounts) -> float:
    """``TP / (TP + FN)``; NaN when no entry is positive (nothing to recall)."""
    positives = counts.tp + counts.fn
    return counts.tp / positives if positives else NAN


def precision(counts: DetectionCounts) -> float:
    """``TP / (TP + FP)``; 0 when nothing is detected."""
    detected = counts.tp + counts.fp
    return counts.tp / detected if detected else 0.0


def f1(precision_value: float, recall_value: float) -> float:
    """Harmonic mean ``2 P R / (P + R)``; 0 when ``P + R == 0``, NaN when ``R`` is NaN."""
    if np.isnan(recall_value) or np.isnan(precision_value):
        return NAN
    total = precision_value + recall_value
    return 2.0 * precision_value * recall_value / total if total > 0 else 0.0


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """Average precision of ``scores`` ranking the ``labels == True`` entries first.

    ``AP = sum_n (R_n - R_{n-1}) P_n`` over the distinct score values taken as thresholds
    in descending order, where ``P_n``/``R_n`` are the precision/recall of
    ``scores >= threshold_n``. Equivalently: the mean over positives of the precision at
    that positive's rank, where tied scores are admitted together (every positive in a
    tie group gets the precision of the whole group), so the result does not depend on
    the order of tied entries. NaN when there is no positive.

    Parameters
    ----------
    scores : ndarray, shape (n,)
        Higher means more confident that the entry is positive.
    labels : ndarray of bool, shape (n,)
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels, dtype=bool).reshape(-1)
    n_pos = int(np.count_nonzero(labels))
    if n_pos == 0:
        return NAN
    # Tie groups are scored as a whole below, so the sort need not be stable.
    order = np.argsort(-scores)
    sorted_scores = scores[order]
    cum_tp = np.cumsum(labels[order])
    # Last index of every group of equal scores: the thresholds.
    ends = np.flatnonzero(np.diff(sorted_scores) != 0)
    ends = np.append(ends, sorted_scores.size - 1)
    tp_at = cum_tp[ends]
    precision_at = tp_at / (ends + 1.0)
    new_tp = np.diff(tp_at, prepend=0)
    return float(np.sum(new_tp * precision_at) / n_pos)


class EndmemberDetection(NamedTuple):
    """Detection scores of one weak endmember over the pixels (NaN: no score)."""

    recall: float
    precision: float
    f1: float
    ap: float


def per_endmember_detection(A: np.ndarray, A_hat: np.ndarray, tau: float) -> list[EndmemberDetection]:
    """Recall, precision, F1 and AP of each column on its own (one weak endmember each).

    Parameters
    ----------
    A, A_hat : ndarray, shape (n_pixels, n_weak)
        True and aligned estimated abundances of the weak endmembers only.
    tau : float
        Presence threshold.

    Returns
    -------
    list of EndmemberDetection, one per column
        ``recall``, ``f1`` and ``ap`` are NaN when the endmember has no positive pixel
        (nothing to recall); ``precision`` is ``TP / (TP + FP)``, 0 when nothing is
        detected although the endmember is present, NaN when it is neither present nor
        detected anywhere (nothing to find and nothing claimed: no score).
    """
    A = np.asarray(A)
    A_hat = np.asarray(A_hat)
    out = []
    for k in range(A.shape[1]):
        counts = detection_counts(A[:, k], A_hat[:, k], tau)
        rec = recall(counts)
        # Neither present nor detected anywhere: nothing to find, nothing claimed.
        prec = NAN if counts.tp + counts.fp + counts.fn == 0 else precision(counts)
        out.append(
            EndmemberDetection(
                recall=rec,
                precision=prec,
                f1=f1(prec, rec),
                ap=average_precision(A_hat[:, k], A[:, k] >= tau),
            )
        )
    return out


def macro_mean(values: list[float]) -> float:
    """Mean of the values that are not NaN; NaN when every value is NaN (or none given)."""
    arr = np.asarray(values, dtype=np.float64)
    arr = arr[~np.isnan(arr)]
    return float(arr.mean()) if arr.size else NAN


def em_recall(
    sad_values: np.ndarray, sad_threshold: float, matched: np.ndarray | None = None
) -> float:
    """Share of endmembers recovered: matched and ``sad <= sad_threshold``.

    Parameters
    ----------
    sad_values : ndarray, shape (n_weak,)
        SAD of each weak endmember after alignment (``pi / 2`` when unmatched).
    sad_threshold : float
        Largest angle, in radians, that counts as recovered.
    matched : ndarray of bool, shape (n_weak,), optional
        Whether each endmember was matched at all; an unmatched one is never recovered,
        whatever the threshold. Default: all matched.

    Returns
    -------
    float
        NaN when there is no endmember or any SAD is NaN (endmembers not estimated).
    """
    sad_values = np.asarray(sad_values, dtype=np.float64)
    if sad_values.size == 0 or np.any(np.isnan(sad_values)):
        return NAN
    recovered = sad_values <= sad_threshold
    if matched is not None:
        recovered &= np.asarray(matched, dtype=bool)
    return float(np.mean(recovered))
