"""Sparse regression over a spectral library by ADMM: SUnSAL and CLSUnSAL, all pixels at once.

With ``Y`` ``(n_pixels, n_bands)``, the library ``L`` ``(n_atoms, n_bands)`` and the
abundances ``X`` ``(n_pixels, n_atoms)`` (hubench's rows-are-pixels layout; the papers
write the transposes), both solve::

    min_X  1/2 |Y - X L|_F^2 + penalty(X)   s.t.  X >= 0   [and X 1 = 1 with asc]

- SUnSAL (Bioucas-Dias & Figueiredo, WHISPERS 2010): ``penalty = lam sum |X_ij|``;
- CLSUnSAL (Iordache, Bioucas-Dias & Plaza, IEEE TGRS 2014): ``penalty = lam sum_j
  |X[:, j]|_2``, the l2,1 norm over the atoms' abundance maps (an atom is used in
  every pixel or in none).

ADMM with the split ``X = Z`` (scaled form, Boyd et al. 2011, section 3.1.1)::

    X <- (Y L^T + mu (Z - U)) (L L^T + mu I)^-1      [then the affine projection on X 1 = 1]
    Z <- prox_{penalty/mu + nonnegativity}(X + U)
    U <- U + X - Z

The inverse is one ``n_atoms x n_atoms`` matrix, formed once per value of ``mu``, so an
iteration costs one matrix product over the image plus element-wise work. The prox of
SUnSAL is ``max(0, V - lam/mu)``; that of CLSUnSAL clips ``V`` at zero and shrinks each
column by ``max(0, 1 - lam / (mu |column|))`` (the l2 norm is monotone on the
non-negative orthant, so clipping first and shrinking second is the exact prox of the
sum). The paper's CLSUnSAL splits three ways (``V1 = L X``, ``V2 = V3 = X``); the two-block
split here minimises the same objective with one image product per iteration instead of
three.

Stopping (Boyd et al. 2011, section 3.3.1): primal residual ``r = |X - Z|_F`` and dual
residual ``s = mu |Z - Z_prev|_F`` must both fall below ``tol (sqrt(n_pixels n_atoms)
1e-3 + scale)``, the scale being ``max(|X|_F, |Z|_F)`` and ``|mu U|_F`` respectively:
``tol`` is relative, and the absolute floor is ``1e-3 tol`` per entry. Every 10
iterations ``mu`` is doubled when ``r > 10 s`` and halved when ``s > 10 r``, ``U``
rescaled accordingly (residual balancing, Boyd et al. 2011, section 3.4.1; the authors'
code adapts ``mu`` the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hubench.errors import ValidationError

BALANCE_EVERY = 10
BALANCE_RATIO = 10.0
ABS_FLOOR = 1e-3


def balance_factor(it: int, r: float, s: float) -> float | None:
    """Residual balancing of the ADMM penalty (Boyd et al. 2011, 3.4.1), every
    ``BALANCE_EVERY`` iterations: the factor to multiply ``mu`` by (2 when the primal
    residual ``r`` is over ``BALANCE_RATIO`` times the dual ``s``, 0.5 the other way; the
    scaled duals are divided by it), or None to keep ``mu``."""
    if it % BALANCE_EVERY == 0 and (r > BALANCE_RATIO * s or s > BALANCE_RATIO * r):
        return 2.0 if r > s else 0.5
    return None


@dataclass(frozen=True)
class AdmmResult:
    """Result of an ADMM solve.

    Attributes
    ----------
    X : (n_pixels, n_atoms) abundances: the ``Z`` iterate, so the constraints hold exactly
        (non-negative; with ``asc`` the rows sum to one up to the final primal residual).
    iterations : iterations run.
    converged : both residuals met the tolerance before ``max_iter``.
    primal_residual, dual_residual : the last residuals (Frobenius norms).
    mu : the final penalty parameter.
    """

    X: np.ndarray
    iterations: int
    converged: bool
    primal_residual: float
    dual_residual: float
    mu: float


def check_library_inputs(L: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``L`` ``(n_atoms, n_bands)`` and ``Y`` ``(n_pixels, n_bands)`` as finite float64."""
    L = np.asarray(L, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if L.ndim != 2 or Y.ndim != 2 or L.shape[1] != Y.shape[1]:
        raise ValidationError(
            f"library {L.shape} and Y {Y.shape}: need (n_atoms, n_bands) and (n_pixels, n_bands)"
        )
    if not (np.all(np.isfinite(L)) and np.all(np.isfinite(Y))):
        raise ValidationError("library, Y: hold NaN/Inf values")
    return L, Y


def frobenius(a: np.ndarray) -> float:
    """``|a|_F`` by one BLAS dot (``np.linalg.norm`` of a matrix is several times slower)."""
    flat = np.ravel(a)
    return float(np.sqrt(np.dot(flat, flat)))


def prox_l1_nonneg(V: np.ndarray, t: float) -> np.ndarray:
    """``argmin_Z 1/2 |Z - V|^2 + t sum Z  s.t. Z >= 0`` = ``max(0, V - t)``."""
    return np.maximum(V - t, 0.0)


def prox_l21_nonneg(V: np.ndarray, t: float) -> np.ndarray:
    """``argmin_Z 1/2 |Z - V|^2 + t sum_j |Z[:, j]|_2  s.t. Z >= 0``: clip, then shrink
    each column toward zero by ``t`` in l2 norm."""
    P = np.maximum(V, 0.0)
    norms = np.linalg.norm(P, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(norms > t, 1.0 - t / norms, 0.0)
    return P * scale


def admm_library(
    L: np.ndarray,
    Y: np.ndarray,
    prox: Callable[[np.ndarray, float], np.ndarray],
    lam: float,
    *,
    asc: bool = False,
    mu: float = 0.01,
    tol: float = 1e-4,
    max_iter: int = 1000,
) -> AdmmResult:
    """The two-block ADMM of the module docstring for the penalty whose prox (with the
    non-negativity) is ``prox(V, lam / mu)``."""
    L, Y = check_library_inputs(L, Y)
    G = L @ L.T
    R = Y @ L.T  # the one product with the full spectra; iterations work in atom space
    eigval, eigvec = np.linalg.eigh(G)
    eigval = np.maximum(eigval, 0.0)

    def inverse(mu_now: float) -> tuple[np.ndarray, np.ndarray]:
        B = (eigvec / (eigval + mu_now)) @ eigvec.T
        ones = B.sum(axis=1)
        return B, ones / ones.sum()  # (G + mu I)^-1 and its direction onto X 1 = 1

    def x_step(W: np.ndarray, B: np.ndarray, c: np.ndarray) -> np.ndarray:
        X = W @ B
        if asc:
            X -= (X.sum(axis=1, keepdims=True) - 1.0) * c
        return X

    B, c = inverse(mu)
    Z = np.maximum(x_step(R, B, c), 0.0)
    U = np.zeros_like(Z)
    floor = ABS_FLOOR * np.sqrt(Z.size)
    r = s = np.inf
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        X = x_step(R + mu * (Z - U), B, c)
        Z_prev = Z
        Z = prox(X + U, lam / mu)
        U += X - Z
        r = frobenius(X - Z)
        s = mu * frobenius(Z - Z_prev)
        if r <= tol * (floor + max(frobenius(X), frobenius(Z))) and s <= tol * (floor + mu * frobenius(U)):
            converged = True
            break
        factor = balance_factor(it, r, s)
        if factor is not None:
            mu *= factor
            U /= factor
            B, c = inverse(mu)
    return AdmmResult(X=Z, iterations=it, converged=converged, primal_residual=r, dual_residual=s, mu=mu)


def sunsal(
    L: np.ndarray, Y: np.ndarray, lam: float, *, asc: bool = False, mu: float = 0.01,
    tol: float = 1e-4, max_iter: int = 1000,
) -> AdmmResult:
    """SUnSAL: ``min 1/2 |Y - X L|^2 + lam |X|_1, X >= 0`` (and ``X 1 = 1`` with ``asc``)."""
    return admm_library(L, Y, prox_l1_nonneg, lam, asc=asc, mu=mu, tol=tol, max_iter=max_iter)


def clsunsal(
    L: np.ndarray, Y: np.ndarray, lam: float, *, mu: float = 0.01, tol: float = 1e-4,
    max_iter: int = 1000,
) -> AdmmResult:
    """CLSUnSAL: ``min 1/2 |Y - X L|^2 + lam sum_j |X[:, j]|_2, X >= 0`` (``lam`` as in
    the paper: not scaled with the number of pixels)."""
    return admm_library(L, Y, prox_l21_nonneg, lam, mu=mu, tol=tol, max_iter=max_iter)


def sunsal_objective(L: np.ndarray, Y: np.ndarray, X: np.ndarray, lam: float) -> float:
    """``1/2 |Y - X L|_F^2 + lam |X|_1`` (for checks and tests)."""
    return float(0.5 * np.sum((Y - X @ L) ** 2) + lam * np.abs(X).sum())


def clsunsal_objective(L: np.ndarray, Y: np.ndarray, X: np.ndarray, lam: float) -> float:
    """``1/2 |Y - X L|_F^2 + lam sum_j |X[:, j]|_2``."""
    return float(0.5 * np.sum((Y - X @ L) ** 2) + lam * np.linalg.norm(X, axis=0).sum())
