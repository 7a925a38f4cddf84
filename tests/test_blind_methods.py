"""The blind baselines N-FINDR, SISAL, NMF-QMV and EDAA: known answers on noise-free scenes
built so that each method's model holds, and the objective or constraint at the result."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import hubench
from hubench.errors import ParameterError, ValidationError
from hubench.solvers.affine import affine_set
from hubench.solvers.edaa import FIT_TOLERANCE, edaa
from hubench.solvers.nfindr import nfindr
from hubench.solvers.nmf_qmv import facet_distance, nmf_qmv
from hubench.solvers.sisal import sisal
from hubench.solvers.vca import vca


def aligned_msad(E_true: np.ndarray, E_hat: np.ndarray) -> float:
    """Mean spectral angle (rad) after Hungarian matching, computed here independently."""
    unit = E_true / np.linalg.norm(E_true, axis=1, keepdims=True)
    unit_hat = E_hat / np.linalg.norm(E_hat, axis=1, keepdims=True)
    angles = np.arccos(np.clip(unit @ unit_hat.T, -1.0, 1.0))
    rows, cols = linear_sum_assignment(angles)
    return float(angles[rows, cols].mean())


def mixed_scene(seed: int, p: int = 4, n_bands: int = 30, n: int = 600, cap: float = 0.8,
                pure: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Noise-free mixtures of positive random spectra. Dirichlet(0.3) abundances spread
    towards the facets; with ``cap`` < 1 no abundance exceeds it (no pixel is pure, yet
    every facet is populated, so the minimum-volume simplex is the true one); ``pure``
    puts the p pure pixels first."""
    rng = np.random.default_rng(seed)
    E = 0.1 + rng.random((p, n_bands))
    A = rng.dirichlet(np.full(p, 0.3), 30 * n)
    A = A[A.max(axis=1) <= cap][:n]
    if pure:
        A[:p] = np.eye(p)
    return A @ E, A, E


def volume(points: np.ndarray) -> float:
    """|det [1, x]| of p points given in p-1 coordinates."""
    return float(abs(np.linalg.det(np.hstack([np.ones((points.shape[0], 1)), points]))))


# ---- N-FINDR --------------------------------------------------------------------------

def test_nfindr_picks_the_pure_pixels_and_no_swap_grows_the_volume() -> None:
    Y, _, E = mixed_scene(0, pure=True)
    found = nfindr(Y, 4, random_state=0)
    assert sorted(found.indices.tolist()) == [0, 1, 2, 3]
    assert aligned_msad(E, found.E) < 1e-6
    # Objective at the result: no single replacement enlarges the simplex (brute force by
    # determinants, not the solver's cofactor update).
    W = affine_set(Y, 4, spherize=False).coordinates(Y)
    base = volume(W[found.indices])
    assert base == pytest.approx(found.volume, rel=1e-9)
    for i in range(4):
        trial = np.repeat(found.indices[None], Y.shape[0], axis=0)
        trial[:, i] = np.arange(Y.shape[0])
        T = np.concatenate([np.ones((Y.shape[0], 4, 1)), W[trial]], axis=2)
        assert np.abs(np.linalg.det(T)).max() <= base * (1 + 1e-9)


def test_nfindr_is_seeded_and_restarts_keep_the_largest() -> None:
    Y, _, _ = mixed_scene(1, n=300)
    Y = Y + 0.01 * np.random.default_rng(0).standard_normal(Y.shape)
    first = nfindr(Y, 4, random_state=3)
    np.testing.assert_array_equal(first.indices, nfindr(Y, 4, random_state=3).indices)
    assert nfindr(Y, 4, random_state=3, n_restarts=5).volume >= first.volume
    raw = nfindr(Y, 4, random_state=3, endmember_source="pixels")
    np.testing.assert_array_equal(raw.E, Y[first.indices])


# ---- SISAL ----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_sisal_recovers_a_simplex_without_pure_pixels_where_vca_fails(seed: int) -> None:
    Y, A, E = mixed_scene(seed)
    assert A.max() <= 0.8  # no pure pixel anywhere
    found = sisal(Y, 4, mm_iters=150, random_state=0)
    assert aligned_msad(E, found.E) < 2e-3  # measured 1e-4 to 2e-4
    assert aligned_msad(E, vca(Y, 4, random_state=0).E) > 0.05  # VCA picks inner pixels
    # Minimum volume: the simplex found is no larger than the true one, which holds the data.
    space = affine_set(Y, 4, spherize=False)
    assert volume(space.coordinates(found.E)) <= volume(space.coordinates(E)) * (1 + 1e-3)


def test_sisal_objective_never_increases_and_the_data_stay_inside() -> None:
    Y, _, _ = mixed_scene(2)
    found = sisal(Y, 4, mm_iters=100, random_state=0)
    steps = np.diff(found.objective)
    assert np.all(steps <= 1e-12 * np.abs(found.objective[:-1]))
    assert found.objective[-1] < found.objective[0] - 1.0  # the expanded start shrank
    assert found.max_violation > -2e-3  # soft (hinge) constraint: tiny violations only


# ---- NMF-QMV --------------------------------------------------------------------------

@pytest.mark.parametrize("term", ["center", "boundary", "totalVar"])
def test_nmf_qmv_recovers_endmembers_without_pure_pixels(term: str) -> None:
    Y, _, E = mixed_scene(0)
    found = nmf_qmv(Y, 4, term=term, betas=(1e-3, 1e-2, 1e-1, 1.0, 10.0), n_iter=100, random_state=0)
    assert aligned_msad(E, found.E) < 0.01  # measured 0.002-0.003 (VCA: 0.12)
    assert aligned_msad(E, vca(Y, 4, random_state=0).E) > 0.05
    assert found.beta == found.betas[int(np.argmin(found.criterion))]


def test_nmf_qmv_objective_never_increases_and_abundances_are_on_the_simplex() -> None:
    Y, _, _ = mixed_scene(3)
    Y = Y + 0.005 * np.random.default_rng(1).standard_normal(Y.shape)
    found = nmf_qmv(Y, 4, betas=(0.1,), n_iter=40, random_state=0)
    steps = np.diff(found.objective)
    assert np.all(steps <= 1e-10 * found.objective[0])
    assert found.objective[-1] < found.objective[0]
    assert found.A.min() >= 0.0
    np.testing.assert_allclose(found.A.sum(axis=1), 1.0, atol=1e-12)


def test_facet_distance_of_a_unit_triangle() -> None:
    M = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    points = np.array([[0.25, 0.25], [0.5, 0.0], [0.1, 0.6]])
    expected = [0.25, 0.0, min(0.1, 0.6, (1 - 0.7) / np.sqrt(2))]
    np.testing.assert_allclose(facet_distance(M, points), expected, atol=1e-12)


# ---- EDAA -----------------------------------------------------------------------------

def test_edaa_recovers_archetypes_and_meets_its_constraints() -> None:
    Y, _, E = mixed_scene(0, pure=True)  # the archetypes are pixels of the image
    found = edaa(Y, 4, n_runs=6, n_outer=150, random_state=0)
    # Entropic steps approach a one-hot B only asymptotically: measured 0.005-0.007 rad
    # on seeds 0-2 (10 runs x 100 iterations: 0.006-0.013).
    assert aligned_msad(E, found.E) < 0.02
    assert found.A.min() >= 0.0 and found.B.min() >= 0.0
    np.testing.assert_allclose(found.A.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(found.B.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(found.E, found.B.T @ Y, rtol=1e-12, atol=1e-12)
    k = found.chosen
    assert found.objective_end[k] < 1e-3 * found.objective_start[k]  # measured 1.5e-4
    # The paper's model selection: fit within 5% of the best, then least correlated.
    close = np.abs(found.fit_l1 - found.fit_l1.min()) <= FIT_TOLERANCE * found.fit_l1
    assert close[k]
    assert found.max_correlation[k] == found.max_correlation[close].min()


def test_edaa_is_seeded() -> None:
    Y, _, _ = mixed_scene(4, n=200)
    first = edaa(Y, 3, n_runs=3, n_outer=10, random_state=7)
    again = edaa(Y, 3, n_runs=3, n_outer=10, random_state=7)
    np.testing.assert_array_equal(first.E, again.E)
    np.testing.assert_array_equal(first.A, again.A)


# ---- the registered methods ------------------------------------------------------------

@pytest.mark.parametrize("name", ["n-findr", "sisal"])
def test_endmember_methods_add_exact_fcls(name: str) -> None:
    scene = hubench.make_scene("no-pure-pixels", seed=0, profile="ci", snr_db=30.0)
    obs = scene.observation()
    estimate = hubench.get_method(name, profile="ci", random_state=0).fit(obs)
    assert estimate.E is not None
    assert estimate.info["fcls_max_kkt_residual"] < 1e-10
    supervised = hubench.scene.Observation(Y=scene.Y, image_shape=scene.image_shape,
                                           n_endmembers=scene.E.shape[0], E=estimate.E)
    np.testing.assert_array_equal(hubench.get_method("fcls").fit(supervised).A, estimate.A)


@pytest.mark.parametrize(("name", "params", "match"), [
    ("n-findr", {"n_restarts": 0}, "n_restarts"),
    ("sisal", {"tau": 0.0}, "tau"),
    ("sisal", {"spherize": 1}, "spherize"),
    ("nmf-qmv", {"term": "centre"}, "did you mean 'center'"),
    ("nmf-qmv", {"beta_exp_lo": 2, "beta_exp_hi": 1}, "beta_exp_lo"),
    ("nmf-qmv", {"beta": -1.0}, "beta"),
    ("edaa", {"n_runs": 0}, "n_runs"),
])
def test_bad_parameters_are_refused(name: str, params: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        hubench.get_method(name, **params).validate_params(params)


def test_too_many_endmembers_are_refused() -> None:
    Y = np.random.default_rng(0).random((20, 5))
    for solver in (nfindr, sisal, edaa, nmf_qmv):
        with pytest.raises(ValidationError, match="n_endmembers"):
            solver(Y, 6)


def test_combinations_cover_every_facet() -> None:  # guards the scene builder itself
    _, A, _ = mixed_scene(0)
    for i, j in itertools.combinations(range(4), 2):
        assert np.any((A[:, i] < 0.02) & (A[:, j] < 0.02))
