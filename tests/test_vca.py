"""VCA (and the vca+fcls pipeline): vertex recovery, both projection branches, seeding."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import hubench
from hubench.errors import ParameterError, ValidationError
from hubench.scene import Observation, Scene
from hubench.solvers.vca import estimate_snr, vca


def aligned_msad(E_true: np.ndarray, E_hat: np.ndarray) -> float:
    """Mean spectral angle (rad) after Hungarian matching, computed here independently."""
    unit = E_true / np.linalg.norm(E_true, axis=1, keepdims=True)
    unit_hat = E_hat / np.linalg.norm(E_hat, axis=1, keepdims=True)
    angles = np.arccos(np.clip(unit @ unit_hat.T, -1.0, 1.0))
    rows, cols = linear_sum_assignment(angles)
    return float(angles[rows, cols].mean())


def simplex_scene(seed: int, p: int = 4, n_bands: int = 30, side: int = 12, snr_db: float = np.inf) -> Scene:
    """Dirichlet mixtures of positive random spectra with one pure pixel per endmember."""
    rng = np.random.default_rng(seed)
    E = 0.1 + rng.random((p, n_bands))
    A = rng.dirichlet(np.ones(p), side * side)
    A[rng.choice(side * side, p, replace=False)] = np.eye(p)
    X = A @ E
    Y = X
    if np.isfinite(snr_db):
        noise = rng.standard_normal(X.shape)
        noise *= np.sqrt(np.sum(X**2) / np.sum(noise**2) / 10 ** (snr_db / 10))
        Y = X + noise
    return Scene(Y=Y, A=A, E=E, image_shape=(side, side), weak=np.zeros(p, bool), name="simplex")


@pytest.mark.parametrize("snr_input", [None, 0.0])  # estimated (high branch), forced low
def test_recovers_vertices_of_a_noiseless_simplex(snr_input: float | None) -> None:
    scene = simplex_scene(0)
    found = vca(scene.Y, 4, snr_input=snr_input, random_state=0)
    assert found.branch == ("high" if snr_input is None else "low")
    assert aligned_msad(scene.E, found.E) < 0.01
    pure = np.flatnonzero(scene.A.max(axis=1) == 1.0)
    assert sorted(found.indices.tolist()) == sorted(pure.tolist())


def test_noise_free_snr_is_infinite_not_nan() -> None:
    scene = simplex_scene(1)
    found = vca(scene.Y, 4, random_state=0)
    assert found.snr_db == np.inf
    assert np.all(np.isfinite(found.E))
    assert estimate_snr(1.0, 1.0, 3, 30) == np.inf
    assert estimate_snr(1.0, 1.0 - 1e-15, 3, 30) == np.inf  # rounding is not noise
    assert estimate_snr(1.0, 0.05, 3, 30) == -np.inf
    assert np.isfinite(estimate_snr(1.0, 0.99, 3, 30))


def test_snr_estimate_tracks_the_true_snr() -> None:
    scene = simplex_scene(2, p=3, n_bands=60, side=40, snr_db=25.0)
    found = vca(scene.Y, 3, random_state=0)
    assert abs(found.snr_db - 25.0) < 1.5
    assert found.branch == "high"  # 25 dB > 15 + 10 log10(3)
    noisy = simplex_scene(2, p=3, n_bands=60, side=40, snr_db=10.0)
    assert vca(noisy.Y, 3, random_state=0).branch == "low"


def test_standard_scenario_noiseless() -> None:
    scene = hubench.make_scene("standard", seed=0, snr_db=float("inf"))
    estimate = hubench.get_method("vca", random_state=0).fit(scene.observation())
    assert estimate.E is not None
    assert aligned_msad(scene.E, estimate.E) < 0.01
    assert estimate.info["fcls_max_kkt_residual"] < 1e-10
    assert estimate.A.min() >= 0.0
    np.testing.assert_allclose(estimate.A.sum(axis=1), 1.0, atol=1e-10)


def test_same_seed_same_result_and_restarts_keep_the_largest_simplex() -> None:
    scene = simplex_scene(3, snr_db=20.0)
    first = vca(scene.Y, 4, random_state=5)
    again = vca(scene.Y, 4, random_state=5)
    np.testing.assert_array_equal(first.indices, again.indices)
    np.testing.assert_array_equal(first.E, again.E)
    best = vca(scene.Y, 4, random_state=5, n_restarts=6)
    assert best.volume >= first.volume  # the first restart replays the single run's draws
    pixels = vca(scene.Y, 4, random_state=5, endmember_source="pixels")
    np.testing.assert_array_equal(pixels.E, scene.Y[first.indices])


def test_vca_fcls_pipeline_is_vca_then_fcls() -> None:
    scene = simplex_scene(4, snr_db=30.0)
    obs = scene.observation()
    pipeline = hubench.get_method("vca+fcls", random_state=1, n_restarts=2).fit(obs)
    plain = hubench.get_method("vca", random_state=1, n_restarts=2).fit(obs)
    assert pipeline.E is not None
    np.testing.assert_array_equal(pipeline.E, plain.E)
    np.testing.assert_array_equal(pipeline.A, plain.A)
    supervised = Observation(Y=scene.Y, image_shape=scene.image_shape, n_endmembers=4, E=pipeline.E)
    np.testing.assert_array_equal(hubench.get_method("fcls").fit(supervised).A, pipeline.A)


def test_bad_parameters_and_inputs_are_refused() -> None:
    obs = simplex_scene(5).observation()
    for params, match in [
        ({"n_restarts": 0}, "n_restarts"),
        ({"endmember_source": "raw"}, "endmember_source"),
        ({"snr_input": "high"}, "snr_input"),
        ({"random_state": 1.5}, "random_state"),
    ]:
        with pytest.raises(ParameterError, match=match):
            hubench.get_method("vca", **params).fit(obs)
    with pytest.raises(ValidationError, match="zero"):
        vca(np.zeros((20, 10)), 3)
    with pytest.raises(ValidationError, match="n_endmembers"):
        vca(np.ones((20, 10)), 10)
