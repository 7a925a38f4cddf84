"""The batched FCLS solver against independent per-pixel references, and the fcls method."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize, nnls

import hubench
from hubench.errors import HubenchError, ParameterError
from hubench.scene import Observation
from hubench.solvers import fcls, fcls_gram, kkt_residual, project_simplex, simplex_ls

TOL = 1e-10


def nnls_reference(E: np.ndarray, Y: np.ndarray, weight: float = 1e6) -> np.ndarray:
    """Heinz & Chang's augmented NNLS per pixel: ``[E^T; w 1^T] a = [y; w]``, a >= 0.

    (Their form ``[delta E^T; 1^T]`` with a small delta; a large weight on the sum row is
    the same problem.) The sum-to-one row is enforced up to ~|residual| / w^2.
    """
    w = weight * np.linalg.norm(E, 2)
    M = np.vstack([E.T, np.full((1, E.shape[0]), w)])
    return np.array([nnls(M, np.append(y, w))[0] for y in Y])


def slsqp_reference(E: np.ndarray, y: np.ndarray) -> np.ndarray:
    """One pixel's QP by SLSQP, the generic constrained solver."""
    p = E.shape[0]
    G, b = E @ E.T, E @ y
    res = minimize(
        lambda a: 0.5 * a @ G @ a - b @ a,
        np.full(p, 1.0 / p),
        jac=lambda a: G @ a - b,
        bounds=[(0.0, None)] * p,
        constraints=[{"type": "eq", "fun": lambda a: a.sum() - 1.0, "jac": lambda a: np.ones(p)}],
        method="SLSQP",
        options={"ftol": 1e-15, "maxiter": 500},
    )
    return res.x


def objective(E: np.ndarray, Y: np.ndarray, A: np.ndarray) -> np.ndarray:
    return np.sum((Y - A @ E) ** 2, axis=1)


def mixed_problem(rng: np.random.Generator, p: int, n: int = 300, n_bands: int = 40):
    """Endmembers and pixels mostly outside the simplex (stretched abundances, noise)."""
    E = rng.random((p, n_bands))
    A = rng.dirichlet(np.ones(p), n)
    Y = (1.6 * A - 0.6 / p) @ E + 0.05 * rng.standard_normal((n, n_bands))
    return E, Y


def assert_simplex(A: np.ndarray) -> None:
    assert A.min() >= -TOL
    assert np.abs(A.sum(axis=1) - 1.0).max() <= TOL


@pytest.mark.parametrize("pivots", [0, 3])  # active set alone; pivoting first
@pytest.mark.parametrize("p", [2, 3, 6, 10])
def test_matches_nnls_reference_on_random_problems(p: int, pivots: int) -> None:
    rng = np.random.default_rng(p)
    E, Y = mixed_problem(rng, p)
    result = fcls(E, Y, pivots=pivots)
    assert result.converged
    assert_simplex(result.A)
    np.testing.assert_allclose(result.A, nnls_reference(E, Y), atol=1e-6)
    assert kkt_residual(E, Y, result.A).max() < TOL
    assert (result.A == 0).any()  # the constraints were active somewhere


def test_matches_slsqp_reference() -> None:
    rng = np.random.default_rng(7)
    E, Y = mixed_problem(rng, 5, n=25)
    A = fcls(E, Y).A
    for i in range(Y.shape[0]):
        np.testing.assert_allclose(A[i], slsqp_reference(E, Y[i]), atol=1e-6)


def test_degenerate_pixels_zero_far_outside_and_negative() -> None:
    rng = np.random.default_rng(3)
    E, Y = mixed_problem(rng, 4, n=120)
    Y[:10] = 0.0  # zero pixels
    Y[10:20] *= 1e3  # far outside the simplex
    Y[20:30] = -Y[20:30]  # opposite side of the origin
    Y[30:40] = 5.0 * E[rng.integers(0, 4, 10)]  # on the ray of one vertex
    reference = nnls_reference(E, Y)
    for pivots in (0, 3):
        result = fcls(E, Y, pivots=pivots)
        assert result.converged
        assert_simplex(result.A)
        assert kkt_residual(E, Y, result.A).max() < TOL
        np.testing.assert_allclose(result.A, reference, atol=1e-6)


def test_near_collinear_endmembers() -> None:
    rng = np.random.default_rng(4)
    E, Y = mixed_problem(rng, 4, n=200)
    E[1] = E[0] + 1e-3 * rng.standard_normal(E.shape[1])  # 1e-3 apart: cond(G) ~ 1e7
    result = fcls(E, Y)
    assert_simplex(result.A)
    assert kkt_residual(E, Y, result.A).max() < TOL
    np.testing.assert_allclose(result.A, nnls_reference(E, Y), atol=1e-6)


@pytest.mark.parametrize("kind", ["duplicate", "affinely-dependent"])
def test_singular_gram_reaches_the_optimal_value(kind: str) -> None:
    """With dependent endmembers the minimiser is not unique; its value is."""
    rng = np.random.default_rng(5)
    E, Y = mixed_problem(rng, 4, n=150)
    E[3] = E[2] if kind == "duplicate" else 0.5 * (E[0] + E[1])
    reference = nnls_reference(E, Y)
    for pivots in (0, 3):
        result = fcls(E, Y, pivots=pivots)
        assert_simplex(result.A)
        assert kkt_residual(E, Y, result.A).max() < 1e-9
        gap = objective(E, Y, result.A) - objective(E, Y, reference)
        assert gap.max() <= 1e-9 * objective(E, Y, reference).max()


def test_one_and_two_endmembers() -> None:
    rng = np.random.default_rng(6)
    E, Y = mixed_problem(rng, 2)
    np.testing.assert_allclose(fcls(E, Y).A, nnls_reference(E, Y), atol=1e-6)
    one = fcls(E[:1], Y)
    np.testing.assert_array_equal(one.A, np.ones((Y.shape[0], 1)))


def test_many_distinct_free_sets_use_the_per_pixel_path() -> None:
    """Sparse solutions with p = 14 give more distinct free sets than the operator path
    accepts; the per-pixel batched solves must agree with the gathered operators."""
    rng = np.random.default_rng(8)
    p = 14
    E = rng.random((p, 40))
    A = rng.dirichlet(np.full(p, 0.2), 400)
    Y = A @ E + 0.02 * rng.standard_normal((400, 40))
    for pivots in (0, 3):
        result = fcls(E, Y, pivots=pivots)
        assert kkt_residual(E, Y, result.A).max() < TOL
        np.testing.assert_allclose(result.A, nnls_reference(E, Y), atol=1e-6)
    G = E @ E.T / np.linalg.eigvalsh(E @ E.T)[-1]
    free = rng.random((300, p)) < 0.4
    free[np.arange(300), rng.integers(0, p, 300)] = True
    B1 = np.hstack([rng.standard_normal((300, p)), np.ones((300, 1))])
    per_pixel = simplex_ls._solve_per_pixel(G, free, B1)
    codes, inverse = np.unique(free, axis=0, return_inverse=True)
    T = simplex_ls._pattern_operators(G, codes)
    gathered = np.einsum("nij,nj->ni", T[inverse.ravel()], B1)
    np.testing.assert_allclose(per_pixel, gathered, atol=1e-9)


def test_scale_invariance_and_gram_form() -> None:
    rng = np.random.default_rng(9)
    E, Y = mixed_problem(rng, 5)
    base = fcls(E, Y).A
    np.testing.assert_allclose(fcls(1e3 * E, 1e3 * Y).A, base, atol=1e-9)
    np.testing.assert_allclose(fcls(1e-3 * E, 1e-3 * Y).A, base, atol=1e-9)
    np.testing.assert_array_equal(fcls_gram(E @ E.T, Y @ E.T).A, base)


def test_kkt_residual_flags_non_optimal_points() -> None:
    rng = np.random.default_rng(10)
    E, Y = mixed_problem(rng, 4)
    A = fcls(E, Y).A
    assert kkt_residual(E, Y, A).max() < TOL
    uniform = np.full_like(A, 0.25)
    assert kkt_residual(E, Y, uniform).max() > 1e-3
    off_simplex = A.copy()
    off_simplex[:, 0] += 1e-6
    assert kkt_residual(E, Y, off_simplex).min() >= 1e-6 - 1e-12


def test_project_simplex_matches_a_qp() -> None:
    rng = np.random.default_rng(11)
    V = 2.0 * rng.standard_normal((40, 5))
    P = project_simplex(V)
    assert_simplex(P)
    eye = np.eye(5)
    for v, proj in zip(V, P, strict=True):  # projection = FCLS with E = I, y = v
        np.testing.assert_allclose(proj, slsqp_reference(eye, v), atol=1e-6)


def test_fcls_method_records_exactness() -> None:
    rng = np.random.default_rng(12)
    E, Y = mixed_problem(rng, 4, n=64)
    obs = Observation(Y=Y, image_shape=(8, 8), n_endmembers=4, E=E)
    estimate = hubench.get_method("fcls", profile="ci").fit(obs)
    assert_simplex(estimate.A)
    assert estimate.info["fcls_converged"] is True
    assert estimate.info["fcls_max_kkt_residual"] < TOL
    assert estimate.info["fcls_iterations"] >= 1
    np.testing.assert_allclose(estimate.A, nnls_reference(E, Y), atol=1e-6)


def test_fcls_method_refuses_bad_input() -> None:
    rng = np.random.default_rng(13)
    E, Y = mixed_problem(rng, 3, n=16)
    blind = Observation(Y=Y, image_shape=(4, 4), n_endmembers=3)
    with pytest.raises(HubenchError, match="supervised"):
        hubench.get_method("fcls").fit(blind)
    supervised = Observation(Y=Y, image_shape=(4, 4), n_endmembers=3, E=E)
    with pytest.raises(ParameterError, match="tol"):
        hubench.get_method("fcls", tol=-1.0).fit(supervised)
    with pytest.raises(ParameterError, match="max_iter"):
        hubench.get_method("fcls", max_iter=0).fit(supervised)
    with pytest.raises(HubenchError, match="bands"):
        fcls(E[:, :-1], Y)
