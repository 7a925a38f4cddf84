"""Ensembles: member alignment, combination and the two modes on real methods."""

from __future__ import annotations

import numpy as np
import pytest

import hubench
from hubench.ensemble import combine, ensemble_mode, fit_ensemble, member_seed
from hubench.errors import ParameterError, ValidationError
from hubench.methods import METHODS
from hubench.scene import AbundanceUncertainty, Estimate


def _estimate(seed: int = 0) -> Estimate:
    rng = np.random.default_rng(seed)
    A = rng.dirichlet(np.ones(4), size=50)
    E = rng.random((4, 20))
    return Estimate(A=A, E=E)


def test_alignment_of_permuted_copies_recovers_the_estimate():
    base = _estimate()
    members = []
    for perm in ([0, 1, 2, 3], [2, 0, 3, 1], [3, 2, 1, 0], [1, 3, 0, 2]):
        members.append(Estimate(A=base.A[:, perm], E=base.E[perm]))
    out = combine(members)
    # Every member matched to member 0 (the identity order): the mean is the estimate.
    np.testing.assert_allclose(out.A, base.A, rtol=0, atol=1e-15)
    np.testing.assert_allclose(out.E, base.E, rtol=0, atol=1e-15)
    u = out.uncertainty
    assert u.members == 4 and np.abs(u.std).max() < 1e-15
    assert np.array_equal(u.presence, (base.A >= 0.05).astype(float))
    np.testing.assert_allclose(u.lower, base.A, atol=1e-15)


def test_combine_spread_by_hand():
    A1 = np.array([[0.2, 0.8], [0.5, 0.5]])
    A2 = np.array([[0.4, 0.6], [0.5, 0.5]])
    out = combine([Estimate(A=A1), Estimate(A=A2)])  # supervised: no matching
    np.testing.assert_allclose(out.A, [[0.3, 0.7], [0.5, 0.5]])
    np.testing.assert_allclose(out.uncertainty.std, [[0.1, 0.1], [0.0, 0.0]])
    np.testing.assert_allclose(out.uncertainty.lower, [[0.21, 0.61], [0.5, 0.5]])
    np.testing.assert_allclose(out.uncertainty.upper, [[0.39, 0.79], [0.5, 0.5]])
    assert np.allclose(out.A.sum(axis=1), 1)


def test_uncertainty_record_refuses_bad_input():
    A = np.full((3, 2), 0.5)
    with pytest.raises(ValidationError, match="lower and upper"):
        AbundanceUncertainty(lower=A)
    with pytest.raises(ValidationError, match="negative"):
        AbundanceUncertainty(std=-A)
    with pytest.raises(ValidationError, match="expected \\(3, 3\\)"):
        Estimate(A=np.full((3, 3), 1 / 3), uncertainty=AbundanceUncertainty(std=A))


def test_member_seeds_are_distinct_and_stable():
    seeds = [member_seed(3, k) for k in range(10)]
    assert len(set(seeds)) == 10 and seeds == [member_seed(3, k) for k in range(10)]


def test_modes_follow_the_method_kind():
    assert ensemble_mode(METHODS.get("vca+fcls")) == "bootstrap"
    assert ensemble_mode(METHODS.get("daeu")) == "seeds"


def test_bootstrap_ensemble_of_fcls_covers_the_truth():
    scene = hubench.make_scene("standard", seed=0, snr_db=30, profile="ci")
    obs = scene.observation(supervised=True)
    est = fit_ensemble(lambda rs: hubench.get_method("fcls"), obs, 8, seed=0)
    u = est.uncertainty
    assert est.info["ensemble"] == {**est.info["ensemble"], "mode": "bootstrap", "members": 8, "fits": 9}
    assert np.allclose(est.A.sum(axis=1), 1) and (est.A >= 0).all()
    assert (u.upper >= u.lower).all() and u.std.max() > 0
    # Deterministic: the same seed gives the same ensemble.
    again = fit_ensemble(lambda rs: hubench.get_method("fcls"), obs, 8, seed=0)
    assert np.array_equal(again.A, est.A) and np.array_equal(again.uncertainty.std, u.std)
    with pytest.raises(ParameterError, match="--ensemble"):
        fit_ensemble(lambda rs: hubench.get_method("fcls"), obs, 1, seed=0)


def test_seed_ensemble_of_vca_fcls_matches_members():
    scene = hubench.make_scene("standard", seed=1, snr_db=20, profile="ci")
    obs = scene.observation()
    est = fit_ensemble(lambda rs: hubench.get_method("vca+fcls", random_state=rs), obs, 4,
                       seed=1, mode="seeds")
    assert est.E.shape == (obs.n_endmembers, obs.n_bands)
    # The mean of matched members stays close to the truth (matching failures would
    # average different materials and blow the angle up).
    score = hubench.score(scene, est)
    assert score["msad"] < 0.15
