"""SISAL (Bioucas-Dias, WHISPERS 2009): simplex identification via split augmented
Lagrangian, the minimum-volume simplex for data without pure pixels.

Known (the paper, arXiv 0904.4635): in the p-dimensional coordinates ``x`` of the data
(the (p-1)-dimensional affine set plus a constant coordinate), find ``Q = M^{-1}``
solving::

    min_Q  -log|det Q| + tau * sum(hinge(Q X))   s.t.  1^T Q = q_m

where ``hinge(z) = max(-z, 0)`` (soft abundance positivity: ``Q x`` are the abundances)
and ``q_m`` makes ``1^T Q x = 1`` for every pixel. The problem is solved as a sequence of
subproblems (``mm_iters``): ``-log|det Q|`` is replaced by its linearisation at the
current ``Q_k`` (gradient ``-Q_k^{-T}``) plus a small quadratic ``lam/2 |Q - Q_k|^2``, and
each subproblem is solved by a few ADMM (augmented Lagrangian) iterations on the split
``Z = Q X``: a quadratic step for ``Q`` with the equality constraint (closed form), the
proximal map of the hinge for ``Z`` (one-sided soft threshold at ``tau / mu``), and the
multiplier update. A step that raises the true objective is halved towards ``Q_k`` until
it does not, so the objective never increases (tested). Initialisation: VCA endmembers,
expanded about their centroid by a factor p + 1 so that the first simplex holds the
data.

Known from the authors' code (defaults): ``tau = 1``, ``mu = 1000 p / n``, 80
subproblems, 4 AL iterations per subproblem, ``lam = 1e-6``, spherized coordinates
scaled by ``1/sqrt(p)``.

Own derivation (matrix form instead of the authors' Kronecker form, same solution): with
``K = lam I + mu X X^T`` and ``R = lam Q_k + Q_k^{-T} + mu (Z + D) X^T`` the Q-step is
``Q = (I - 1 1^T / p) R K^{-1} + 1 q_m^T / p``; every step is p x p algebra plus two
(p x p)(p x n) products, vectorised over pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hubench.solvers.affine import affine_set, check_data
from hubench.solvers.vca import vca

LAM_QUAD = 1e-6
MAX_HALVINGS = 60


@dataclass(frozen=True)
class SISALResult:
    """``E`` (p, L) the simplex vertices as spectra, ``objective`` per subproblem (the
    value after it, first entry at the start) and ``max_violation``, the most negative
    abundance ``Q x`` of any pixel (0 when the simplex holds every pixel)."""

    E: np.ndarray
    objective: np.ndarray
    max_violation: float


def hinge_prox(V: np.ndarray, t: float) -> np.ndarray:
    """argmin_Z t * sum(max(-Z, 0)) + 1/2 |Z - V|^2, element-wise."""
    return np.where(V >= 0.0, V, np.where(V + t < 0.0, V + t, 0.0))


def sisal_objective(Q: np.ndarray, X: np.ndarray, tau: float) -> float:
    """``-log|det Q| + tau * sum(hinge(Q X))`` (inf when Q is singular)."""
    sign, logdet = np.linalg.slogdet(Q)
    if sign == 0:
        return float("inf")
    return float(-logdet + tau * np.maximum(-(Q @ X), 0.0).sum())


def sisal(
    Y: np.ndarray,
    n_endmembers: int,
    *,
    tau: float = 1.0,
    mu: float | None = None,
    mm_iters: int = 80,
    al_iters: int = 4,
    spherize: bool = True,
    random_state: int | np.random.Generator | None = None,
) -> SISALResult:
    """Minimum-volume simplex of ``Y`` (n_pixels, n_bands) with ``n_endmembers`` vertices."""
    p = int(n_endmembers)
    Y = check_data(Y, p, "SISAL")
    n = Y.shape[0]
    space = affine_set(Y, p, spherize=spherize)
    lift = np.sqrt(p)

    def coords(rows: np.ndarray) -> np.ndarray:  # (k, L) -> (p, k), last coordinate 1/sqrt(p)
        W = space.coordinates(rows)
        return np.vstack([W.T, np.ones((1, W.shape[0]))]) / lift

    X = coords(Y)
    start = vca(Y, p, random_state=random_state).E
    M = coords(start)
    M = M.mean(axis=1, keepdims=True) + (p + 1) * (M - M.mean(axis=1, keepdims=True))
    Q = np.linalg.inv(M)

    mu_ = 1000.0 * p / n if mu is None else float(mu)
    XXt = X @ X.T
    q_m = np.linalg.solve(XXt, X.sum(axis=1))  # 1^T Q X = 1^T  <=>  1^T Q = q_m^T
    K_inv = np.linalg.inv(LAM_QUAD * np.eye(p) + mu_ * XXt)
    centre = np.eye(p) - np.full((p, p), 1.0 / p)
    offset = np.outer(np.ones(p), q_m) / p

    Z = Q @ X
    D = np.zeros_like(Z)
    history = [sisal_objective(Q, X, tau)]
    for _ in range(mm_iters):
        Q_k = Q
        R_k = LAM_QUAD * Q_k + np.linalg.inv(Q_k).T  # lam Q_k - gradient of -log|det|
        for _ in range(al_iters):
            R = R_k + mu_ * (Z + D) @ X.T
            Q = centre @ R @ K_inv + offset
            QX = Q @ X
            Z = hinge_prox(QX - D, tau / mu_)
            D = D - (QX - Z)
        value = sisal_objective(Q, X, tau)
        for _ in range(MAX_HALVINGS):  # line search: never above the previous value
            if value <= history[-1]:
                break
            Q = 0.5 * (Q + Q_k)
            value = sisal_objective(Q, X, tau)
        else:
            Q, value = Q_k, history[-1]
        history.append(value)
    vertices = np.linalg.inv(Q)  # columns: vertices in lifted coordinates
    W = (vertices[: p - 1] * lift).T
    violation = float(min(0.0, (Q @ X).min()))
    return SISALResult(space.to_spectra(W), np.asarray(history), violation)
