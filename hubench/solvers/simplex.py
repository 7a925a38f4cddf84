"""The probability simplex: Euclidean projection and the FCLS optimality check.

Shared by :mod:`hubench.solvers.simplex_ls` (the batched FCLS solver) and by methods that
project onto the simplex (DEQ-Unmix's prox).
"""

from __future__ import annotations

import numpy as np

from hubench.errors import ValidationError


def project_simplex(V: np.ndarray) -> np.ndarray:
    """Euclidean projection of every row of ``V`` (n, p) onto the probability simplex.

    Sort-based (Held, Wolfe & Crowder 1974; Duchi et al. 2008), vectorised over rows.
    """
    V = np.asarray(V, dtype=np.float64)
    n, p = V.shape
    U = -np.sort(-V, axis=1)
    css = np.cumsum(U, axis=1) - 1.0
    positive = U - css / np.arange(1, p + 1) > 0
    rho = p - 1 - np.argmax(positive[:, ::-1], axis=1)  # last index where positive
    theta = css[np.arange(n), rho] / (rho + 1)
    return np.maximum(V - theta[:, None], 0.0)


def check_inputs(E: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``E`` (p, L) and ``Y`` (n, L) as float64; raise :class:`ValidationError` if they do
    not fit together or ``E`` is not finite (``Y`` is checked through ``image_product``)."""
    E = np.asarray(E, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if E.ndim != 2 or Y.ndim != 2:
        raise ValidationError(f"E and Y must be 2-D, got shapes {E.shape} and {Y.shape}")
    if E.shape[1] != Y.shape[1]:
        raise ValidationError(
            f"E has {E.shape[1]} bands but Y has {Y.shape[1]}; pass E as (n_endmembers, n_bands)"
        )
    if not np.all(np.isfinite(E)):
        raise ValidationError("E holds NaN/Inf values; clean the input first")
    return E, Y


def image_product(Y: np.ndarray, E: np.ndarray) -> np.ndarray:
    """``Y @ E.T`` (n_pixels, p); NaN/Inf in ``Y`` always reach it (0 * inf is NaN), so
    checking the small product replaces a pass over the whole image."""
    B = Y @ E.T
    if not np.all(np.isfinite(B)):
        raise ValidationError("Y holds NaN/Inf values (or overflows); clean the input first")
    return B


def lipschitz(G: np.ndarray) -> float:
    """Largest eigenvalue of ``G`` (its Lipschitz constant), guarded against zero."""
    top = float(np.linalg.eigvalsh(G)[-1]) if G.size else 0.0
    return top if top > 0.0 else 1.0


def kkt_residual(E: np.ndarray, Y: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Per-pixel KKT residual of ``A`` (n_pixels, n_endmembers) for the FCLS problem.

    The residual is the larger of the primal infeasibility ``max(-min(a), |sum(a) - 1|)``
    and the natural (projected-gradient) residual ``|a - P(a - g / L)|_inf / (1 + |g / L|_inf)``
    with ``g = G a - b`` the gradient, ``L`` the largest eigenvalue of ``G = E E^T`` and ``P``
    the projection onto the simplex. It is zero exactly at the optimum (KKT point) and is
    dimensionless, so one tolerance fits every data scale.

    Returns
    -------
    (n_pixels,) residuals.
    """
    E, Y = check_inputs(E, Y)
    return kkt_residual_gram(E @ E.T, image_product(Y, E), A)


def kkt_residual_gram(G: np.ndarray, B: np.ndarray, A: np.ndarray) -> np.ndarray:
    """:func:`kkt_residual` from ``G = E @ E.T`` (p, p) and ``B = Y @ E.T`` (n_pixels, p)."""
    A = np.asarray(A, dtype=np.float64)
    if A.shape != B.shape:
        raise ValidationError(f"A: expected shape {B.shape}, got {A.shape}")
    scale = lipschitz(G)
    step = (A @ G - B) / scale
    natural = np.abs(A - project_simplex(A - step)).max(axis=1)
    natural /= 1.0 + np.abs(step).max(axis=1)
    primal = np.maximum(-A.min(axis=1), np.abs(A.sum(axis=1) - 1.0))
    return np.maximum(natural, primal)
