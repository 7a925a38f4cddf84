"""Abundance and reconstruction errors on already-aligned arrays.

Every function takes the truth first and the estimate second, both with the true
endmembers' column order (see :mod:`hubench.metrics.alignment`); none of them aligns.
"""

from __future__ import annotations

import numpy as np

from hubench.errors import ValidationError


def _pair(name: str, X: np.ndarray, X_hat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    X_hat = np.asarray(X_hat, dtype=np.float64)
    if X.shape != X_hat.shape:
        raise ValidationError(
            f"{name}: estimate has shape {X_hat.shape} but the truth has shape {X.shape}"
        )
    return X, X_hat


def armse(A: np.ndarray, A_hat: np.ndarray) -> float:
    """Abundance RMSE over all pixels and endmembers: ``sqrt(mean((A - A_hat)**2))``.

    Parameters
    ----------
    A, A_hat : ndarray, shape (n_pixels, n_endmembers)
    """
    A, A_hat = _pair("A_hat", A, A_hat)
    return float(np.sqrt(np.mean((A - A_hat) ** 2)))


def rmse_per_endmember(A: np.ndarray, A_hat: np.ndarray) -> np.ndarray:
    """Abundance RMSE of each endmember over pixels.

    Parameters
    ----------
    A, A_hat : ndarray, shape (n_pixels, n_endmembers)

    Returns
    -------
    ndarray, shape (n_endmembers,)
        ``sqrt(mean_i((A[i, k] - A_hat[i, k])**2))``.
    """
    A, A_hat = _pair("A_hat", A, A_hat)
    return np.sqrt(np.mean((A - A_hat) ** 2, axis=0))


def sre(A: np.ndarray, A_hat: np.ndarray) -> float:
    """Signal-to-reconstruction error in dB: ``20 log10(|A|_F / |A - A_hat|_F)``.

    ``inf`` when ``A_hat == A`` exactly; ``nan`` when both are zero.

    Parameters
    ----------
    A, A_hat : ndarray, shape (n_pixels, n_endmembers)
    """
    A, A_hat = _pair("A_hat", A, A_hat)
    signal = float(np.linalg.norm(A))
    error = float(np.linalg.norm(A - A_hat))
    if error == 0.0:
        return float("inf") if signal > 0 else float("nan")
    if signal == 0.0:
        return float("-inf")
    return float(20.0 * np.log10(signal / error))


_BLOCK_ROWS = 1024  # rows per block: keeps the residual in cache instead of a full copy of Y


def rmse_y(Y: np.ndarray, Y_hat: np.ndarray) -> float:
    """Reconstruction RMSE: ``sqrt(mean((Y - Y_hat)**2))`` over pixels and bands.

    Parameters
    ----------
    Y, Y_hat : ndarray, shape (n_pixels, n_bands)
        The observed image and the method's reconstruction of it.
    """
    Y, Y_hat = _pair("Y_hat", Y, Y_hat)
    total = 0.0
    for start in range(0, Y.shape[0], _BLOCK_ROWS):
        d = Y[start : start + _BLOCK_ROWS] - Y_hat[start : start + _BLOCK_ROWS]
        total += float(np.einsum("ij,ij->", d, d))
    return float(np.sqrt(total / Y.size))


def rmse_linear(Y: np.ndarray, A_hat: np.ndarray, E_hat: np.ndarray) -> float:
    """``rmse_y(Y, A_hat @ E_hat)`` without forming ``A_hat @ E_hat`` in full.

    Parameters
    ----------
    Y : ndarray, shape (n_pixels, n_bands)
    A_hat : ndarray, shape (n_pixels, p)
    E_hat : ndarray, shape (p, n_bands)
    """
    Y = np.asarray(Y, dtype=np.float64)
    A_hat = np.asarray(A_hat, dtype=np.float64)
    E_hat = np.asarray(E_hat, dtype=np.float64)
    if A_hat.shape[0] != Y.shape[0] or E_hat.shape != (A_hat.shape[1], Y.shape[1]):
        raise ValidationError(
            f"A_hat {A_hat.shape} @ E_hat {E_hat.shape} does not give Y's shape {Y.shape}"
        )
    total = 0.0
    for start in range(0, Y.shape[0], _BLOCK_ROWS):
        d = Y[start : start + _BLOCK_ROWS] - A_hat[start : start + _BLOCK_ROWS] @ E_hat
        total += float(np.einsum("ij,ij->", d, d))
    return float(np.sqrt(total / Y.size))
