"""SUnSAL-TV: sparse regression with total-variation regularisation, by ADMM over the image.

Iordache, Bioucas-Dias & Plaza, IEEE TGRS 2012. With ``X`` ``(n_pixels, n_atoms)`` over an
``(H, W)`` image in row-major order, ``L`` the library and ``D`` the horizontal and
vertical differences between 4-neighbours (anisotropic TV)::

    min_X  1/2 |Y - X L|_F^2 + lam |X|_1 + lam_tv |D X|_1   s.t.  X >= 0

ADMM with the splits ``Z1 = X`` (the l1 term and non-negativity) and ``Z2 = D X`` (the TV
term), scaled duals ``U1``, ``U2``::

    X  <- solve  X (L L^T + mu I) + mu D^T D X = Y L^T + mu (Z1 - U1) + mu D^T (Z2 - U2)
    Z1 <- max(0, X + U1 - lam/mu)
    Z2 <- soft(D X + U2, lam_tv/mu)
    U1 <- U1 + X - Z1;   U2 <- U2 + D X - Z2

The X step is exact and vectorised: ``L L^T = V diag(g) V^T`` once, and ``D^T D`` (the
Laplacian of the pixel grid without wrap-around, i.e. reflective boundaries) is
diagonalised by the orthonormal 2-D DCT-II with eigenvalues ``(2 - 2 cos(pi u / H)) +
(2 - 2 cos(pi v / W))``, so ``X = IDCT(DCT(W V) / (g + mu + mu kappa)) V^T``: two
``n_atoms x n_atoms`` products over the image and two DCTs per iteration. The paper
splits five ways and applies ``D`` as a cyclic convolution (periodic boundary, FFT); the
fewer splits and the DCT here minimise the same objective with non-periodic differences
(no penalty between opposite image edges).

Stopping and ``mu`` adaptation as :mod:`hubench.solvers.sparse_regression`, with the
stacked constraint ``[I; D] X = [Z1; Z2]``: ``r = |[X - Z1; D X - Z2]|``, ``s = mu |(Z1 -
Z1_prev) + D^T (Z2 - Z2_prev)|``.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

from hubench.errors import ValidationError
from hubench.solvers.sparse_regression import (
    ABS_FLOOR,
    AdmmResult,
    balance_factor,
    check_library_inputs,
    frobenius,
)


def differences(X: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal ``(H, W-1, m)`` and vertical ``(H-1, W, m)`` differences of the maps."""
    cube = X.reshape(shape[0], shape[1], -1)
    return np.diff(cube, axis=1), np.diff(cube, axis=0)


def differences_adjoint(dh: np.ndarray, dv: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """``D^T [dh; dv]`` as ``(n_pixels, m)``."""
    H, W = shape
    out = np.zeros((H, W, dh.shape[-1]))
    out[:, :-1] -= dh
    out[:, 1:] += dh
    out[:-1] -= dv
    out[1:] += dv
    return out.reshape(H * W, -1)


def tv_norm(X: np.ndarray, shape: tuple[int, int]) -> float:
    """Anisotropic TV ``|D X|_1`` summed over the atoms."""
    dh, dv = differences(X, shape)
    return float(np.abs(dh).sum() + np.abs(dv).sum())


def sunsal_tv_objective(
    L: np.ndarray, Y: np.ndarray, X: np.ndarray, lam: float, lam_tv: float, shape: tuple[int, int]
) -> float:
    """``1/2 |Y - X L|^2 + lam |X|_1 + lam_tv |D X|_1``."""
    return float(0.5 * np.sum((Y - X @ L) ** 2) + lam * np.abs(X).sum() + lam_tv * tv_norm(X, shape))


def _stacked(*parts: np.ndarray) -> float:
    return float(np.sqrt(sum(frobenius(p) ** 2 for p in parts)))


def _soft(V: np.ndarray, t: float) -> np.ndarray:
    return np.sign(V) * np.maximum(np.abs(V) - t, 0.0)


def sunsal_tv(
    L: np.ndarray,
    Y: np.ndarray,
    image_shape: tuple[int, int],
    lam: float,
    lam_tv: float,
    *,
    mu: float = 0.01,
    tol: float = 1e-4,
    max_iter: int = 1000,
) -> AdmmResult:
    """Solve SUnSAL-TV (module docstring); ``Y`` rows are the pixels of ``image_shape``
    in row-major order."""
    L, Y = check_library_inputs(L, Y)
    H, W = (int(image_shape[0]), int(image_shape[1]))
    if Y.shape[0] != H * W:
        raise ValidationError(f"image_shape: {(H, W)} holds {H * W} pixels but Y has {Y.shape[0]}")
    shape = (H, W)
    eigval, V = np.linalg.eigh(L @ L.T)
    eigval = np.maximum(eigval, 0.0)
    kappa = (2 - 2 * np.cos(np.pi * np.arange(H) / H))[:, None] + (2 - 2 * np.cos(np.pi * np.arange(W) / W))[None, :]
    R = Y @ L.T

    def x_step(rhs: np.ndarray, mu_now: float) -> np.ndarray:
        spectral = fft.dctn((rhs @ V).reshape(H, W, -1), type=2, norm="ortho", axes=(0, 1))
        spectral /= eigval[None, None, :] + mu_now + mu_now * kappa[:, :, None]
        return fft.idctn(spectral, type=2, norm="ortho", axes=(0, 1)).reshape(H * W, -1) @ V.T

    X = x_step(R, mu)
    Z1 = np.maximum(X, 0.0)
    Z2h, Z2v = differences(X, shape)
    U1 = np.zeros_like(Z1)
    U2h, U2v = np.zeros_like(Z2h), np.zeros_like(Z2v)
    floor = ABS_FLOOR * np.sqrt(Z1.size + Z2h.size + Z2v.size)
    r = s = np.inf
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        rhs = R + mu * (Z1 - U1) + mu * differences_adjoint(Z2h - U2h, Z2v - U2v, shape)
        X = x_step(rhs, mu)
        Dh, Dv = differences(X, shape)
        Z1_prev, Z2h_prev, Z2v_prev = Z1, Z2h, Z2v
        Z1 = np.maximum(X + U1 - lam / mu, 0.0)
        Z2h, Z2v = _soft(Dh + U2h, lam_tv / mu), _soft(Dv + U2v, lam_tv / mu)
        U1 += X - Z1
        U2h += Dh - Z2h
        U2v += Dv - Z2v
        r = _stacked(X - Z1, Dh - Z2h, Dv - Z2v)
        s = mu * frobenius(Z1 - Z1_prev + differences_adjoint(Z2h - Z2h_prev, Z2v - Z2v_prev, shape))
        primal_scale = max(_stacked(X, Dh, Dv), _stacked(Z1, Z2h, Z2v))
        dual_scale = mu * frobenius(U1 + differences_adjoint(U2h, U2v, shape))
        if r <= tol * (floor + primal_scale) and s <= tol * (floor + dual_scale):
            converged = True
            break
        factor = balance_factor(it, r, s)
        if factor is not None:
            mu *= factor
            U1 /= factor
            U2h /= factor
            U2v /= factor
    return AdmmResult(X=Z1, iterations=it, converged=converged, primal_residual=r, dual_residual=s, mu=mu)
