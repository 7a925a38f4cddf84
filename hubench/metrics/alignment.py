"""Endmember alignment: match estimated endmembers to true ones, once per result.

The match is the Hungarian assignment (:func:`scipy.optimize.linear_sum_assignment`)
minimising the total spectral angle. It works for any numbers of true and estimated
endmembers: with fewer estimated than true, some true endmembers stay unmatched (``-1``);
with more, the surplus estimated endmembers are left out. The metric functions never
align by themselves; :func:`hubench.metrics.evaluate` aligns once and records it.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from hubench.errors import ValidationError
from hubench.metrics.endmember import spectral_angle

UNMATCHED = -1


def sad_matrix(E_true: np.ndarray, E_hat: np.ndarray) -> np.ndarray:
    """Spectral angle between every true and every estimated endmember.

    Parameters
    ----------
    E_true : ndarray, shape (p_true, n_bands)
    E_hat : ndarray, shape (p_hat, n_bands)

    Returns
    -------
    ndarray, shape (p_true, p_hat)
        ``arccos(<e, e_hat> / (|e| |e_hat|))`` in radians (computed stably, see
        :func:`~hubench.metrics.endmember.spectral_angle`); a pair involving a zero
        spectrum has angle ``pi / 2``.
    """
    E_true = np.asarray(E_true, dtype=np.float64)
    E_hat = np.asarray(E_hat, dtype=np.float64)
    if E_true.ndim != 2 or E_hat.ndim != 2 or E_true.shape[1] != E_hat.shape[1]:
        raise ValidationError(
            f"E_hat: shape {E_hat.shape} does not match the true endmembers' bands "
            f"(E has shape {E_true.shape}); estimate one spectrum per row over the same bands"
        )
    return spectral_angle(E_true[:, None, :], E_hat[None, :, :])


def align(E_true: np.ndarray, E_hat: np.ndarray) -> tuple[int, ...]:
    """Match estimated endmembers to true ones by the Hungarian algorithm on the SAD matrix.

    Parameters
    ----------
    E_true : ndarray, shape (p_true, n_bands)
    E_hat : ndarray, shape (p_hat, n_bands)
        ``p_hat`` may differ from ``p_true``.

    Returns
    -------
    tuple of int, length p_true
        ``alignment[k]`` is the row of ``E_hat`` matched to true endmember ``k``, or
        ``-1`` when none is (only possible when ``p_hat < p_true``).
    """
    cost = sad_matrix(E_true, E_hat)
    rows, cols = linear_sum_assignment(cost)
    alignment = np.full(cost.shape[0], UNMATCHED, dtype=np.int64)
    alignment[rows] = cols
    return tuple(int(j) for j in alignment)


def align_abundances(A_true: np.ndarray, A_hat: np.ndarray) -> tuple[int, ...]:
    """Match estimated endmembers to true ones by their abundance maps, for a reference
    without endmember spectra: the Hungarian assignment minimising the total RMSE
    between a true map ``A_true[:, k]`` and an estimated one ``A_hat[:, j]``.

    Parameters
    ----------
    A_true : ndarray, shape (n_pixels, p_true)
    A_hat : ndarray, shape (n_pixels, p_hat)

    Returns
    -------
    tuple of int, length p_true
        As :func:`align`.
    """
    A_true = np.asarray(A_true, dtype=np.float64)
    A_hat = np.asarray(A_hat, dtype=np.float64)
    if A_true.ndim != 2 or A_hat.ndim != 2 or A_true.shape[0] != A_hat.shape[0]:
        raise ValidationError(
            f"A_hat: shape {A_hat.shape} does not match the reference abundances {A_true.shape}"
        )
    # |a - b|^2 = |a|^2 + |b|^2 - 2 a.b for every pair of columns at once.
    sq = (A_true**2).sum(axis=0)[:, None] + (A_hat**2).sum(axis=0)[None, :] - 2.0 * A_true.T @ A_hat
    cost = np.sqrt(np.clip(sq, 0.0, None) / A_true.shape[0])
    rows, cols = linear_sum_assignment(cost)
    alignment = np.full(cost.shape[0], UNMATCHED, dtype=np.int64)
    alignment[rows] = cols
    return tuple(int(j) for j in alignment)


def identity_alignment(n_endmembers: int) -> tuple[int, ...]:
    """The alignment of a supervised result: endmember ``k`` is column ``k``."""
    return tuple(range(n_endmembers))


def aligned_columns(
    X_hat: np.ndarray, alignment: tuple[int, ...], fill: float = 0.0
) -> np.ndarray:
    """Reorder the columns of ``X_hat`` to follow the true endmembers.

    Parameters
    ----------
    X_hat : ndarray, shape (n_rows, p_hat)
        Estimated abundances (``n_rows = n_pixels``) or any per-endmember columns.
    alignment : tuple of int, length p_true
        From :func:`align`; ``-1`` entries give a column of ``fill``: zeros by default
        (an unrecovered endmember is estimated absent everywhere), NaN for columns
        that are not estimates of abundance (e.g. an interval, left out as unmatched).

    Returns
    -------
    ndarray, shape (n_rows, p_true)
    """
    idx = np.asarray(alignment, dtype=np.int64)
    out = np.full((X_hat.shape[0], idx.size), fill, dtype=np.float64)
    matched = idx >= 0
    out[:, matched] = X_hat[:, idx[matched]]
    return out
