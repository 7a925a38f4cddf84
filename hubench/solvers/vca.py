"""VCA's vertex search (Nascimento & Bioucas-Dias, IEEE TGRS 2005): endmembers only.

Known (the paper): estimate the SNR from the power kept by the top-p principal
directions of the centred data, ``SNR = 10 log10((P_x - p/L P_y) / (P_y - P_x))``, and
compare it with ``15 + 10 log10(p)``. Low SNR: project the centred data on p-1 principal
directions and append a constant coordinate (the largest projected norm). High SNR:
project on the p leading directions of the uncentred correlation matrix and divide by the
projection on the mean (projective projection). Then p iterations: a Gaussian random
vector made orthogonal to the vertices found so far; the pixel with the largest absolute
projection is the next vertex.

Inferred (each a hyperparameter or stated here): an SNR estimate that is NaN/inf on
noise-free data is guarded (no noise power -> +inf dB, no signal power above the noise
floor -> -inf dB); ``snr_input`` overrides the estimate; the projective division is
guarded against zero denominators (clamped at 1e-9 of the largest); ``n_restarts`` reruns
the random iterations and keeps the vertex set of largest simplex volume (``|det|`` of the
vertices in the projected coordinates, which is proportional to the volume in both
branches); the endmembers are the denoised (projected) pixels, as in the authors' code,
or the raw pixels with ``endmember_source="pixels"``.

The registered ``vca`` and ``vca+fcls`` methods (:mod:`hubench.methods.vca`) add the
abundances (exact batched FCLS on the found endmembers). The deep methods' decoder
initialisation (:meth:`hubench.deep.base.DeepMethod.initial_endmembers`) calls
:func:`vca` directly: it needs the endmembers only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hubench.errors import ValidationError

SOURCES = ("projected", "pixels")


@dataclass(frozen=True)
class VCAResult:
    """Outcome of :func:`vca`: ``E`` (p, n_bands), the chosen pixel ``indices`` (p,),
    the SNR used (dB; estimated unless given), the projection ``branch`` and the simplex
    ``volume`` (projected coordinates) of the kept restart."""

    E: np.ndarray
    indices: np.ndarray
    snr_db: float
    branch: str
    volume: float


def estimate_snr(P_y: float, P_x: float, p: int, n_bands: int) -> float:
    """The VCA SNR estimate in dB from the data power ``P_y`` and the power ``P_x`` kept
    by the top-p principal subspace; +inf without noise (a residual power at rounding
    level, below 1e-12 of the data power, counts as none), -inf when noise dominates."""
    signal = P_x - p / n_bands * P_y
    noise = P_y - P_x
    if noise <= 1e-12 * P_y:
        return float("inf")
    if signal <= 0.0:
        return float("-inf")
    return float(10.0 * np.log10(signal / noise))


def _top_eigenvectors(M: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` leading eigenvectors (columns, descending) of the symmetric ``M``."""
    _, vectors = np.linalg.eigh(M)
    return vectors[:, ::-1][:, :k]


BLOCK_PIXELS = 16384  # pixels centred at a time in the low-SNR branch


def _project(Y: np.ndarray, p: int, snr_input: float | None
             ) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray], float, str]:
    """Projected coordinates ``X`` (n, p), a map from pixel indices to their denoised
    spectra (the rows of ``R`` (n, L), made only for the pixels asked), SNR and branch.

    No image-sized temporary is made: the centred image of the low-SNR branch is
    projected in blocks of :data:`BLOCK_PIXELS` pixels, and the denoised image ``R`` is
    never formed (only its p chosen rows are).
    """
    n, L = Y.shape
    mean = Y.mean(axis=0)
    corr = (Y.T @ Y) / n  # one pass over the image serves both branches
    cov = corr - np.outer(mean, mean)
    U = _top_eigenvectors(cov, p)
    P_y = float(np.trace(corr))
    P_x = float(np.sum((U.T @ cov) * U.T)) + float(mean @ mean)  # mean |U^T (y - m)|^2 + |m|^2
    snr = estimate_snr(P_y, P_x, p, L) if snr_input is None else float(snr_input)
    if snr < 15.0 + 10.0 * np.log10(p):
        Ud = U[:, : p - 1]
        Z = np.empty((n, p - 1))
        for start in range(0, n, BLOCK_PIXELS):
            Z[start:start + BLOCK_PIXELS] = (Y[start:start + BLOCK_PIXELS] - mean) @ Ud
        norms = np.sqrt(np.sum(Z * Z, axis=1))
        X = np.hstack([Z, np.full((n, 1), norms.max())])
        return X, lambda rows: Z[rows] @ Ud.T + mean, snr, "low"
    Ud = _top_eigenvectors(corr, p)
    Z = Y @ Ud
    denom = Z @ Z.mean(axis=0)
    floor = 1e-9 * float(np.abs(denom).max())
    denom = np.where(np.abs(denom) < floor, floor, denom)
    return Z / denom[:, None], lambda rows: Z[rows] @ Ud.T, snr, "high"


def _vertices(X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One run of the VCA iterations on projected data ``X`` (n, p): p pixel indices."""
    p = X.shape[1]
    basis = np.zeros((p, p))
    basis[p - 1, 0] = 1.0  # the authors' start: orthogonal to the constant coordinate
    indices = np.zeros(p, dtype=np.int64)
    for i in range(p):
        for _ in range(100):  # a draw inside the span (probability zero) is redrawn
            w = rng.standard_normal(p)
            f = w - basis @ (np.linalg.pinv(basis) @ w)
            norm = float(np.linalg.norm(f))
            if norm > 1e-12 * float(np.linalg.norm(w)):
                break
        v = X @ (f / norm)
        indices[i] = int(np.argmax(np.abs(v)))
        basis[:, i] = X[indices[i]]
    return indices


def vca(
    Y: np.ndarray,
    n_endmembers: int,
    *,
    snr_input: float | None = None,
    n_restarts: int = 1,
    endmember_source: str = "projected",
    random_state: int | np.random.Generator | None = None,
) -> VCAResult:
    """Extract ``n_endmembers`` endmembers from ``Y`` (n_pixels, n_bands) with VCA.

    Returns
    -------
    VCAResult with ``E`` of shape (n_endmembers, n_bands).
    """
    Y = np.asarray(Y, dtype=np.float64)
    p = int(n_endmembers)
    if Y.ndim != 2 or not 1 <= p < Y.shape[1] or p > Y.shape[0]:
        raise ValidationError(
            f"VCA needs 1 <= n_endmembers < n_bands and <= n_pixels; got {p} for Y of shape {Y.shape}"
        )
    if not np.any(Y):
        raise ValidationError("Y: every pixel is zero; there is nothing to unmix")
    rng = np.random.default_rng(random_state)
    X, denoised, snr, branch = _project(Y, p, snr_input)
    best, best_volume = np.zeros(p, dtype=np.int64), -1.0
    for _ in range(n_restarts):
        indices = _vertices(X, rng)
        volume = float(abs(np.linalg.det(X[indices])))
        if volume > best_volume:
            best, best_volume = indices, volume
    E = denoised(best) if endmember_source == "projected" else Y[best].copy()
    return VCAResult(E, best, snr, branch, best_volume)
