"""HyperWeak (task ``priors``): known answer, objective, constraints, refusals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hubench import get_method, make_scene
from hubench.errors import ParameterError, ValidationError
from hubench.methods.hyperweak import wiener3
from hubench.metrics import score
from hubench.scene import NamedSpectra, Observation


def _exact_weak_scene():
    # Noise-free, linear, three materials: two with pure pixels, one weak (albedo 0.25,
    # abundance at most 0.2, no pure pixel): VCA alone cannot find it, its prior can.
    return make_scene("weak", seed=0, profile="ci", snr_db=math.inf, n_endmembers=3,
                      weak_max_abundance=0.2, prior_mismatch="exact")


def test_weak_material_recovered_from_its_exact_prior():
    scene = _exact_weak_scene()
    weak = int(np.flatnonzero(scene.weak)[0])
    assert scene.A[:, weak].max() <= 0.2 + 1e-12
    est = get_method("hyperweak", profile="ci", lam=0.0, delta=50.0, random_state=0).fit(
        scene.observation(priors=True))
    got = score(scene, est)
    assert got["weak_armse"] < 5e-3, got["weak_armse"]
    assert got["armse"] < 5e-3, got["armse"]
    assert got["weak_msad"] < 1e-3
    # the prior's row is the weak material's: its abundance map is the weak one
    row = est.info["prior_rows"][0]
    assert np.max(np.abs(est.A[:, row] - scene.A[:, weak])) < 2e-2


@pytest.mark.parametrize("reweight", [False, True])
def test_objective_does_not_increase_with_the_weights_fixed(reweight):
    scene = make_scene("weak", seed=1, profile="ci")
    est = get_method("hyperweak", profile="ci", reweight=reweight, tol=1e-9, random_state=1).fit(
        scene.observation(priors=True))
    before = np.array(est.info["objective_before"])
    after = np.array(est.info["objective"])
    assert len(after) == est.info["iterations"] > 3
    # every outer iteration lowers J under that iteration's weights
    assert np.all(after <= before * (1 + 1e-12))
    if not reweight:  # weights fixed for good: J never increases across iterations
        assert np.all(np.diff(after) <= 1e-12 * after[:-1])


def test_constraints_at_the_returned_point():
    scene = make_scene("rare", seed=0, profile="ci")
    loose = get_method("hyperweak", profile="ci", delta=1.0, random_state=0).fit(scene.observation(priors=True))
    tight = get_method("hyperweak", profile="ci", delta=50.0, random_state=0).fit(scene.observation(priors=True))
    for est in (loose, tight):
        assert est.A.min() >= 0.0 and est.E.min() >= 0.0
    # sum to one is the appended row: soft, tighter with a larger delta
    dev_loose = np.abs(loose.A.sum(axis=1) - 1).max()
    dev_tight = np.abs(tight.A.sum(axis=1) - 1).max()
    assert dev_tight < 5e-3 and dev_tight < dev_loose


def test_deterministic_given_random_state():
    scene = make_scene("weak", seed=2, profile="ci")
    one = get_method("hyperweak", profile="ci", random_state=3).fit(scene.observation(priors=True))
    two = get_method("hyperweak", profile="ci", random_state=3).fit(scene.observation(priors=True))
    assert np.array_equal(one.A, two.A) and np.array_equal(one.E, two.E)


def test_wiener_filter_matches_a_direct_computation():
    rng = np.random.default_rng(0)
    maps = rng.random((5, 6, 2))
    padded = np.pad(maps, ((1, 1), (1, 1), (0, 0)))
    windows = np.stack([padded[i:i + 5, j:j + 6] for i in range(3) for j in range(3)])
    mean = windows.mean(axis=0)
    var = (windows**2).mean(axis=0) - mean**2
    noise = var.mean(axis=(0, 1))
    expected = mean + np.maximum(var - noise, 0) / np.maximum(var, noise) * (maps - mean)
    assert np.allclose(wiener3(maps), expected, atol=1e-12)


def test_missing_priors_refused_in_one_line():
    scene = make_scene("weak", seed=0, profile="ci")
    with pytest.raises(ValidationError, match=r"^priors: method 'hyperweak' needs the prior spectra") as info:
        get_method("hyperweak", profile="ci").fit(scene.observation())
    assert "\n" not in str(info.value)


def test_more_priors_than_endmembers_refused():
    scene = make_scene("weak", seed=0, profile="ci", n_endmembers=2, n_weak=1)
    P = NamedSpectra(np.vstack([scene.E, scene.E[:1]]), ("a", "b", "c"))
    obs = Observation(Y=scene.Y, image_shape=scene.image_shape, n_endmembers=2, priors=P)
    with pytest.raises(ValidationError, match="3 prior spectra but only 2 endmembers"):
        get_method("hyperweak", profile="ci").fit(obs)


@pytest.mark.parametrize("bad", [{"lam": -1.0}, {"tau": math.nan}, {"weight_eps": 0.0},
                                 {"max_iter": 0}, {"reweight": "yes"}, {"tol": 1.0}])
def test_bad_hyperparameters_refused(bad):
    name = next(iter(bad))
    with pytest.raises(ParameterError, match=rf"^method 'hyperweak': {name}: expected"):
        get_method("hyperweak", **bad).fit(make_scene("weak", seed=0, profile="ci").observation(priors=True))


def test_leaderboard_marks_the_method_given_priors():
    from hubench.report.frame import GIVEN_PRIORS, labelled

    frame = pd.DataFrame({
        "scenario": ["weak", "weak"], "scenario_params": ["{}", "{}"],
        "method": ["hyperweak", "vca+fcls"], "method_params": ["{}", "{}"],
        "method_version": ["1", "1"], "task": ["priors", "blind"],
    })
    labels = labelled(frame)["method_label"].tolist()
    assert labels == ["hyperweak" + GIVEN_PRIORS, "vca+fcls"]
