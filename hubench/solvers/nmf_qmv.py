"""NMF-QMV: NMF with a quadratic minimum-volume regulariser (Zhuang, Lin, Figueiredo,
Bioucas-Dias, "Regularization parameter selection in minimum volume hyperspectral
unmixing", IEEE TGRS 2019).

In the coordinates ``G`` (n, p-1) of the data's (p-1)-dimensional affine set (PCA,
spherized: unit variance per axis), with endmembers ``M`` (p, p-1) and abundances
``S`` (n, p)::

    min_{M, S}  1/2 |G - S M|_F^2 + beta/2 |Gamma M - O|_F^2   s.t.  S >= 0, S 1 = 1

The quadratic term has a minimum-volume effect; ``term`` chooses (Gamma, O):
``"boundary"`` (I, the VCA endmembers), ``"center"`` (I, the data centroid, 0 here) and
``"totalVar"`` (I - 1 1^T / p, 0: the spread of the endmembers about their mean).

Known (the paper and the authors' code): proximal alternating optimisation with
``mu_M = 1e-4 n p`` and ``mu_S = 0.1``; 100 iterations (stopped early when the relative
reconstruction error falls below 1e-8); VCA initialisation; ``beta`` chosen among
``10^-5 ... 10^5`` by the criterion of the paper: the mean, over the boundary pixels of the
data (the vertices of its convex hull, "FastBPI"; for p-1 > 5 the union of the hull
vertices of random 5-dimensional projections), of the distance to the nearest facet of the
estimated simplex; the smallest wins.

Here each block is minimised exactly: the M-step is the closed form
``M = (S^T S + beta Gamma^T Gamma + mu_M I)^{-1} (S^T G + beta Gamma^T O + mu_M M_k)``,
and the S-step ``min 1/2 |G - S M|^2 + mu_S/2 |S - S_k|^2`` on the simplex is the exact
batched FCLS on the Gram form ``(M M^T + mu_S I, G M^T + mu_S S_k)`` (the authors run 100
SUnSAL iterations). Exact proximal blocks make the objective non-increasing (tested).
Inferred: the VCA start is one VCA run seeded by ``random_state`` (the authors keep the
largest of 30 runs; ``vca_restarts`` exposes it); the hull in 1-D is the two extreme
pixels; a degenerate hull falls back to qhull's joggled mode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from hubench.solvers.affine import affine_set, check_data
from hubench.solvers.simplex_ls import fcls_gram
from hubench.solvers.vca import vca

TERMS = ("boundary", "center", "totalVar")
DEFAULT_BETAS = tuple(10.0**k for k in range(-5, 6))
HULL_DIM = 5
HULL_PROJECTIONS = 100


@dataclass(frozen=True)
class QMVResult:
    """The selected ``beta``: ``E`` (p, L), ``A`` (n, p), its ``objective`` history
    (start, then after each iteration); per candidate ``betas`` and ``criterion``."""

    E: np.ndarray
    A: np.ndarray
    beta: float
    objective: np.ndarray
    betas: np.ndarray
    criterion: np.ndarray


def boundary_pixels(G: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of the vertices of the convex hull of the rows of ``G`` (n, d)."""
    d = G.shape[1]
    if d == 1:
        return np.unique([int(np.argmin(G[:, 0])), int(np.argmax(G[:, 0]))])

    def hull(points: np.ndarray) -> np.ndarray:
        try:
            return ConvexHull(points).vertices
        except QhullError:
            return ConvexHull(points, qhull_options="QJ").vertices

    if d <= HULL_DIM:
        return np.sort(hull(G))
    found: set[int] = set()
    for _ in range(HULL_PROJECTIONS):
        basis, _ = np.linalg.qr(rng.standard_normal((d, HULL_DIM)))
        found.update(hull(G @ basis).tolist())
    return np.array(sorted(found))


def facet_distance(M: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Distance of each row of ``points`` (k, d) to the nearest facet hyperplane of the
    simplex with vertices ``M`` (d + 1, d): barycentric coordinate over its gradient norm."""
    T = np.vstack([M.T, np.ones((1, M.shape[0]))])  # (d+1, d+1): T a = [x; 1]
    T_inv = np.linalg.pinv(T)
    bary = points @ T_inv[:, :-1].T + T_inv[:, -1]
    norms = np.linalg.norm(T_inv[:, :-1], axis=1)
    return np.min(np.abs(bary) / np.maximum(norms, 1e-300), axis=1)


def qmv_objective(G: np.ndarray, S: np.ndarray, M: np.ndarray, beta: float,
                  Gamma: np.ndarray, target: np.ndarray) -> float:
    return float(0.5 * np.sum((G - S @ M) ** 2) + 0.5 * beta * np.sum((Gamma @ M - target) ** 2))


def _solve_one(G: np.ndarray, M0: np.ndarray, S0: np.ndarray, beta: float, Gamma: np.ndarray,
               target: np.ndarray, n_iter: int, mu_m: float, mu_s: float,
               tol: float) -> tuple[np.ndarray, np.ndarray, list[float]]:
    p = M0.shape[0]
    M, S = M0.copy(), S0.copy()
    GtG = Gamma.T @ Gamma
    history = [qmv_objective(G, S, M, beta, Gamma, target)]
    norm_g = float(np.linalg.norm(G))
    for _ in range(n_iter):
        lhs = S.T @ S + beta * GtG + mu_m * np.eye(p)
        M = np.linalg.solve(lhs, S.T @ G + beta * Gamma.T @ target + mu_m * M)
        S = fcls_gram(M @ M.T + mu_s * np.eye(p), G @ M.T + mu_s * S, tol=tol).A
        history.append(qmv_objective(G, S, M, beta, Gamma, target))
        if np.linalg.norm(G - S @ M) <= 1e-8 * norm_g:
            break
    return M, S, history


def nmf_qmv(
    Y: np.ndarray,
    n_endmembers: int,
    *,
    term: str = "boundary",
    betas: tuple[float, ...] = DEFAULT_BETAS,
    n_iter: int = 100,
    vca_restarts: int = 1,
    tol: float = 1e-12,
    random_state: int | np.random.Generator | None = None,
) -> QMVResult:
    """Minimum-volume NMF of ``Y`` (n_pixels, n_bands), ``beta`` selected among ``betas``."""
    p = int(n_endmembers)
    Y = check_data(Y, p, "NMF-QMV")
    n = Y.shape[0]
    rng = np.random.default_rng(random_state)
    space = affine_set(Y, p, spherize=True)
    G = space.coordinates(Y)
    M_vca = space.coordinates(vca(Y, p, n_restarts=vca_restarts, random_state=rng).E)
    S0 = fcls_gram(M_vca @ M_vca.T, G @ M_vca.T, tol=tol).A
    if term == "boundary":
        Gamma, target = np.eye(p), M_vca
    elif term == "center":
        Gamma, target = np.eye(p), np.zeros_like(M_vca)
    else:
        Gamma, target = np.eye(p) - np.full((p, p), 1.0 / p), np.zeros_like(M_vca)
    boundary = G[boundary_pixels(G, rng)]
    mu_m, mu_s = 1e-4 * n * p, 0.1
    best: tuple[float, np.ndarray, np.ndarray, float, list[float]] | None = None
    criterion = []
    for beta in betas:
        M, S, history = _solve_one(G, M_vca, S0, float(beta), Gamma, target, n_iter, mu_m, mu_s, tol)
        score = float(np.mean(facet_distance(M, boundary)))
        criterion.append(score)
        if best is None or score < best[0]:
            best = (score, M, S, float(beta), history)
    assert best is not None
    _, M, S, beta, history = best
    return QMVResult(space.to_spectra(M), S, beta, np.asarray(history),
                     np.asarray(betas, dtype=float), np.asarray(criterion))
