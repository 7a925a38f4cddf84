"""The ADMM library solvers (SUnSAL, CLSUnSAL, SUnSAL-TV) against scipy.optimize.

Each ADMM result is compared with an independent solver on the same objective, on small
problems: L-BFGS-B (SUnSAL: on X >= 0 the l1 norm is the linear function sum(X)), SLSQP
with the sum-to-one rows (SUnSAL with asc), SLSQP on the epigraph form (CLSUnSAL:
t_j^2 >= |X[:, j]|^2, t >= 0; SUnSAL-TV: -s <= D X <= s). Stated tolerance: objective
values agree to a relative 1e-8, abundances to 1e-5 (the ADMM runs at tol=1e-10).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from hubench.solvers.sparse_regression import (
    clsunsal,
    clsunsal_objective,
    prox_l21_nonneg,
    sunsal,
    sunsal_objective,
)
from hubench.solvers.sunsal_tv import (
    differences,
    differences_adjoint,
    sunsal_tv,
    sunsal_tv_objective,
)

OBJ_RTOL = 1e-8
X_ATOL = 1e-5
ADMM = {"tol": 1e-10, "max_iter": 50_000}


def _problem(n: int, m: int = 6, b: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    L = rng.uniform(0.1, 1.0, (m, b))
    X = np.zeros((n, m))
    X[:, :3] = rng.dirichlet(np.ones(3), n)
    return L, X @ L + 0.01 * rng.standard_normal((n, b))


def _grad(L: np.ndarray, Y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return -(Y - x.reshape(Y.shape[0], -1) @ L) @ L.T


@pytest.mark.parametrize("lam", [1e-3, 0.05, 0.5])
def test_sunsal_matches_lbfgsb(lam: float) -> None:
    L, Y = _problem(5)
    n, m = Y.shape[0], L.shape[0]
    result = sunsal(L, Y, lam, **ADMM)
    ref = minimize(
        lambda x: sunsal_objective(L, Y, x.reshape(n, m), lam),
        np.zeros(n * m), jac=lambda x: (_grad(L, Y, x) + lam).ravel(), method="L-BFGS-B",
        bounds=[(0, None)] * (n * m), options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 10_000},
    )
    assert result.converged and result.X.min() >= 0
    ours = sunsal_objective(L, Y, result.X, lam)
    assert ours <= ref.fun * (1 + OBJ_RTOL)
    assert abs(ours - ref.fun) <= OBJ_RTOL * ref.fun
    np.testing.assert_allclose(result.X, ref.x.reshape(n, m), atol=X_ATOL)


def test_sunsal_sum_to_one_matches_slsqp() -> None:
    L, Y = _problem(4)
    n, m = Y.shape[0], L.shape[0]
    lam = 0.05
    result = sunsal(L, Y, lam, asc=True, **ADMM)
    rows = np.kron(np.eye(n), np.ones((1, m)))
    ref = minimize(
        lambda x: sunsal_objective(L, Y, x.reshape(n, m), lam),
        np.full(n * m, 1 / m), jac=lambda x: (_grad(L, Y, x) + lam).ravel(), method="SLSQP",
        bounds=[(0, None)] * (n * m),
        constraints=[{"type": "eq", "fun": lambda x: rows @ x - 1, "jac": lambda x: rows}],
        options={"ftol": 1e-15, "maxiter": 10_000},
    )
    assert result.X.min() >= 0
    np.testing.assert_allclose(result.X.sum(axis=1), 1.0, atol=1e-8)
    assert abs(sunsal_objective(L, Y, result.X, lam) - ref.fun) <= OBJ_RTOL * ref.fun
    np.testing.assert_allclose(result.X, ref.x.reshape(n, m), atol=X_ATOL)


def test_clsunsal_matches_slsqp_epigraph() -> None:
    L, Y = _problem(6, m=8, b=12)
    n, m = Y.shape[0], L.shape[0]
    N = n * m
    lam = 0.1
    result = clsunsal(L, Y, lam, **ADMM)

    def jac_cone(v: np.ndarray) -> np.ndarray:
        J = np.zeros((m, N + m))
        x = v[:N].reshape(n, m)
        for j in range(m):
            J[j, np.arange(n) * m + j] = -2 * x[:, j]
            J[j, N + j] = 2 * v[N + j]
        return J

    ref = minimize(
        lambda v: 0.5 * np.sum((Y - v[:N].reshape(n, m) @ L) ** 2) + lam * v[N:].sum(),
        np.concatenate([np.full(N, 0.1), np.ones(m)]),
        jac=lambda v: np.concatenate([_grad(L, Y, v[:N]).ravel(), np.full(m, lam)]),
        method="SLSQP", bounds=[(0, None)] * (N + m),
        constraints=[{"type": "ineq", "fun": lambda v: v[N:] ** 2 - np.sum(v[:N].reshape(n, m) ** 2, axis=0),
                      "jac": jac_cone}],
        options={"ftol": 1e-14, "maxiter": 5000},
    )
    X_ref = ref.x[:N].reshape(n, m)
    ours, theirs = clsunsal_objective(L, Y, result.X, lam), clsunsal_objective(L, Y, X_ref, lam)
    assert result.converged and result.X.min() >= 0
    assert abs(ours - theirs) <= OBJ_RTOL * theirs
    np.testing.assert_allclose(result.X, X_ref, atol=X_ATOL)
    # Row sparsity: whole atoms are off, in every pixel.
    assert np.any(np.all(result.X == 0, axis=0))


def test_clsunsal_meets_its_optimality_conditions() -> None:
    """KKT of min 1/2|Y - XL|^2 + lam sum_j |X[:, j]| s.t. X >= 0, with G the gradient
    of the smooth part: on an active column, G + lam x/|x| = 0 where x > 0 and G >= 0
    where x = 0; on an empty column, |max(-G, 0)| <= lam."""
    L, Y = _problem(30, m=10, b=12, seed=5)
    lam = 0.2
    X = clsunsal(L, Y, lam, **ADMM).X
    G = -(Y - X @ L) @ L.T
    norms = np.linalg.norm(X, axis=0)
    assert np.any(norms == 0) and np.any(norms > 0)
    for j in range(X.shape[1]):
        if norms[j] == 0:
            assert np.linalg.norm(np.maximum(-G[:, j], 0)) <= lam * (1 + 1e-6)
        else:
            on = X[:, j] > 0
            np.testing.assert_allclose(G[on, j] + lam * X[on, j] / norms[j], 0, atol=1e-6)
            assert np.all(G[~on, j] >= -1e-6)


def test_sunsal_tv_matches_slsqp_epigraph() -> None:
    H, W = 3, 2
    L, Y = _problem(H * W, m=4, b=8, seed=1)
    n, m = Y.shape[0], L.shape[0]
    N = n * m
    lam, lam_tv = 0.02, 0.05
    result = sunsal_tv(L, Y, (H, W), lam, lam_tv, **ADMM)
    basis = np.eye(N)
    D = np.stack(
        [np.concatenate([d.ravel() for d in differences(basis[i].reshape(n, m), (H, W))]) for i in range(N)],
        axis=1,
    )
    n_diff = D.shape[0]
    upper, lower = np.hstack([-D, np.eye(n_diff)]), np.hstack([D, np.eye(n_diff)])
    ref = minimize(
        lambda v: sunsal_objective(L, Y, v[:N].reshape(n, m), lam) + lam_tv * v[N:].sum(),
        np.zeros(N + n_diff),
        jac=lambda v: np.concatenate([(_grad(L, Y, v[:N]) + lam).ravel(), np.full(n_diff, lam_tv)]),
        method="SLSQP", bounds=[(0, None)] * N + [(None, None)] * n_diff,
        constraints=[{"type": "ineq", "fun": lambda v: upper @ v, "jac": lambda v: upper},
                     {"type": "ineq", "fun": lambda v: lower @ v, "jac": lambda v: lower}],
        options={"ftol": 1e-15, "maxiter": 5000},
    )
    X_ref = ref.x[:N].reshape(n, m)
    ours = sunsal_tv_objective(L, Y, result.X, lam, lam_tv, (H, W))
    theirs = sunsal_tv_objective(L, Y, X_ref, lam, lam_tv, (H, W))
    assert result.converged and result.X.min() >= 0
    assert abs(ours - theirs) <= OBJ_RTOL * theirs
    np.testing.assert_allclose(result.X, X_ref, atol=X_ATOL)


def test_differences_adjoint_is_the_transpose() -> None:
    rng = np.random.default_rng(3)
    shape = (4, 5)
    X = rng.standard_normal((20, 3))
    dh, dv = rng.standard_normal((4, 4, 3)), rng.standard_normal((3, 5, 3))
    Dh, Dv = differences(X, shape)
    assert np.isclose(np.sum(Dh * dh) + np.sum(Dv * dv), np.sum(X * differences_adjoint(dh, dv, shape)))


def test_l21_prox_is_the_minimiser() -> None:
    rng = np.random.default_rng(4)
    V = rng.standard_normal((6, 4))
    t = 0.8
    Z = prox_l21_nonneg(V, t)

    def objective(z: np.ndarray) -> float:
        z = z.reshape(V.shape)
        return float(0.5 * np.sum((z - V) ** 2) + t * np.linalg.norm(z, axis=0).sum())

    best = objective(Z.ravel())
    for _ in range(200):  # no feasible perturbation does better
        trial = np.maximum(Z + 0.05 * rng.standard_normal(V.shape), 0.0)
        assert objective(trial.ravel()) >= best - 1e-12
