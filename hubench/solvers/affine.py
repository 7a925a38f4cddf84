"""The (p-1)-dimensional affine set that best fits the data (PCA), shared by the
geometric blind methods (N-FINDR, SISAL, NMF-QMV).

Pixels ``y`` (rows of ``Y``) are centred on their mean ``m`` and projected on the p-1
leading eigenvectors ``U`` of the sample covariance: ``w = U^T (y - m)``. With
``spherize`` the coordinates are also divided by the square roots of the eigenvalues
(the covariance of ``w`` becomes the identity, as in SISAL and NMF-QMV), which makes the
simplex geometry equally conditioned along every axis. :meth:`AffineSet.to_spectra` maps
coordinates back to spectra, so endmembers found in the subspace lie in the affine hull
of the data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hubench.errors import ValidationError

# Added to the eigenvalues before the spherizing division (SISAL's lam_sphe): a flat
# direction (noise-free data of lower rank) is scaled by a large finite number, not inf.
SPHERIZE_FLOOR = 1e-8


@dataclass(frozen=True)
class AffineSet:
    """Mean ``mean`` (L,), directions ``U`` (L, p-1) and per-direction ``scale`` (p-1,)
    of the affine set; ``coords = (Y - mean) @ U / scale``."""

    mean: np.ndarray
    U: np.ndarray
    scale: np.ndarray
    eigenvalues: np.ndarray

    def coordinates(self, Y: np.ndarray) -> np.ndarray:
        """Coordinates (n, p-1) of the rows of ``Y`` (n, L)."""
        return ((Y - self.mean) @ self.U) / self.scale

    def to_spectra(self, W: np.ndarray) -> np.ndarray:
        """Spectra (k, L) of the points with coordinates ``W`` (k, p-1)."""
        return (W * self.scale) @ self.U.T + self.mean


def check_data(Y: np.ndarray, p: int, what: str) -> np.ndarray:
    """``Y`` as float64 (n, L); raise :class:`ValidationError` unless 2 <= p <= L and
    p <= n and the data are finite and not all zero."""
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim != 2 or not 2 <= p <= Y.shape[1] or p > Y.shape[0]:
        shape = Y.shape
        raise ValidationError(
            f"{what} needs 2 <= n_endmembers <= n_bands and <= n_pixels; got {p} for Y of shape {shape}"
        )
    if not np.all(np.isfinite(Y)):
        raise ValidationError("Y holds NaN/Inf values; clean the input first")
    if not np.any(Y):
        raise ValidationError("Y: every pixel is zero; there is nothing to unmix")
    return Y


def affine_set(Y: np.ndarray, p: int, *, spherize: bool) -> AffineSet:
    """The PCA affine set of dimension p-1 of ``Y`` (n, L) (one ``Y^T Y`` product)."""
    n = Y.shape[0]
    mean = Y.mean(axis=0)
    cov = (Y.T @ Y) / n - np.outer(mean, mean)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][: p - 1]
    values = np.maximum(values[order], 0.0)
    U = vectors[:, order]
    # Fix each direction's sign (largest entry positive) so results do not depend on LAPACK.
    signs = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(p - 1)])
    U = U * np.where(signs == 0, 1.0, signs)
    scale = np.sqrt(values + SPHERIZE_FLOOR) if spherize else np.ones(p - 1)
    return AffineSet(mean=mean, U=U, scale=scale, eigenvalues=values)


def simplex_volume(W: np.ndarray) -> float:
    """|det [1; W^T]| of the vertices ``W`` (p, p-1): (p-1)! times the simplex volume."""
    T = np.hstack([np.ones((W.shape[0], 1)), W])
    return float(abs(np.linalg.det(T)))
