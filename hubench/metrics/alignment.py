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


def identity_alignment(n_endmembers: int) -> tuple[int, ...]:
    """The alignment of a supervised result: endmember ``k`` is column ``k``."""
    return tuple(range(n_endmembers))


def aligned_columns(X_hat: np.ndarray, alignment: tuple[int, ...]) -> np.ndarray:
    """Reorder the columns of ``X_hat`` to follow the true endmembers.

    Parameters
    ----------
    X_hat : ndarray, shape (n_rows, p_hat)
        Estimated abundances (``n_rows = n_pixels``) or any per-endmember columns.
    alignment : tuple of int, length p_true
        From :func:`align`; ``-1`` entries give a column of zeros (an unrecovered
        endmember is estimated absent everywhere).

    Returns
    -------
    ndarray, shape (n_rows, p_true)
    """
    idx = np.asarray(alignment, dtype=np.int64)
    out = np.zeros((X_hat.shape[0], idx.size), dtype=np.float64)
    matched = idx >= 0
    out[:, matched] = X_hat[:, idx[matched]]
    return out
