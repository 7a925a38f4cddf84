"""Generic tests over the registries: a method or scenario is tested the day it is added.

Every registered method must honour the contract in hubench/methods/base.py on a tiny
scene with its ``ci`` preset; every synthetic scenario must build with each preset.
"""

from __future__ import annotations

import numpy as np
import pytest

import hubench
from hubench.datasets import SCENARIOS
from hubench.errors import HubenchError, ParameterError, UnknownNameError, ValidationError
from hubench.methods import METHODS, PROFILES

METHOD_NAMES = hubench.list_methods()
SYNTHETIC = hubench.list_scenarios(kind="synthetic")


@pytest.fixture(scope="module")
def tiny_scene() -> hubench.Scene:
    return hubench.make_scene("weak", seed=3, profile="ci", snr_db=30.0)


def test_registries_hold_the_suite() -> None:
    for name in ("vca", "fcls", "vca+fcls", "daeu", "cnnaeu", "deq-unmix", "ws-net", "smile"):
        assert name in METHOD_NAMES
    for name in ("standard", "rare", "weak", "no-pure-pixels"):
        assert name in SYNTHETIC
    assert not hubench.methods.IMPORT_ERRORS


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_method_metadata_and_presets(name: str) -> None:
    cls = METHODS.get(name)
    assert cls.name == name and cls.description and cls.task in ("blind", "supervised")
    for profile in PROFILES:
        params = cls.preset(profile)
        cls.check_param_names(params)  # raises on a misspelt preset key
    defaults = cls.defaults()
    assert set(defaults) == set(cls.param_names()), "every hyperparameter needs a default"
    method = cls()
    assert method.get_params() == defaults  # __init__ stores, nothing else


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_method_fits_contract_on_ci_preset(name: str, tiny_scene: hubench.Scene) -> None:
    cls = METHODS.get(name)
    ok, reason = cls.availability()
    if not ok:
        pytest.skip(reason)
    params = {"random_state": 0} if "random_state" in cls.param_names() else {}
    method = hubench.get_method(name, profile="ci", **params)
    estimate = method.fit(tiny_scene.observation(supervised=cls.task == "supervised"))
    n, p = tiny_scene.n_pixels, tiny_scene.n_endmembers
    assert estimate.A.shape == (n, p)
    assert np.all(np.isfinite(estimate.A))
    assert estimate.A.min() >= -1e-6
    if not cls.relaxes_asc:
        np.testing.assert_allclose(estimate.A.sum(axis=1), 1.0, atol=1e-6)
    if cls.task == "blind":
        assert estimate.E is not None and estimate.E.shape == (p, tiny_scene.n_bands)
    metrics = hubench.score(tiny_scene, estimate)
    # A range check, not a quality threshold: for ASC estimates armse <= sqrt(2 / p) (0.82
    # here). The ci presets are smoke settings (2-3 epochs): one epoch scores about the same
    # (deep methods' armse 0.09-0.34 over random_state 0-9 at 1 and 2 threads,
    # benchmarks/threshold_spread.py), so no quality limit would be robust here.
    assert np.isfinite(metrics["armse"]) and 0.0 <= metrics["armse"] < 1.0
    if cls.deterministic:
        again = hubench.get_method(name, profile="ci", **params).fit(
            tiny_scene.observation(supervised=cls.task == "supervised"))
        np.testing.assert_array_equal(again.A, estimate.A)


@pytest.mark.parametrize("name", METHOD_NAMES)
def test_unknown_parameter_is_refused_with_a_suggestion(name: str) -> None:
    cls = METHODS.get(name)
    first = cls.param_names()[0]
    with pytest.raises(ParameterError, match="did you mean"):
        hubench.get_method(name, **{first + "x": 1})


def test_unknown_names_suggest_close_matches() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'vca'"):
        hubench.get_method("vcaa")
    with pytest.raises(UnknownNameError, match="did you mean 'standard'"):
        hubench.make_scene("standrd", seed=0)
    with pytest.raises(ParameterError, match="did you mean 'snr_db'"):
        hubench.make_scene("standard", seed=0, snr_bd=10)


def test_supervised_method_without_endmembers_is_refused(tiny_scene: hubench.Scene) -> None:
    with pytest.raises(ValidationError, match="supervised"):
        hubench.get_method("fcls").fit(tiny_scene.observation())


def test_bad_observations_are_refused(tiny_scene: hubench.Scene) -> None:
    Y = tiny_scene.Y.copy()
    Y[3, 2] = np.nan
    with pytest.raises(ValidationError, match="NaN"):
        hubench.Observation(Y=Y, image_shape=tiny_scene.image_shape, n_endmembers=3)
    with pytest.raises(ValidationError, match="image_shape"):
        hubench.Observation(Y=tiny_scene.Y, image_shape=(3, 3), n_endmembers=3)
    with pytest.raises(ValidationError, match="n_endmembers"):
        hubench.Observation(Y=tiny_scene.Y[:, :4], image_shape=tiny_scene.image_shape, n_endmembers=4)
    assert issubclass(ValidationError, HubenchError)


@pytest.mark.parametrize("name", SYNTHETIC)
@pytest.mark.parametrize("profile", ["ci", "quick"])
def test_synthetic_scenarios_build_for_each_profile(name: str, profile: str) -> None:
    scene = hubench.make_scene(name, seed=1, profile=profile)
    assert scene.name == name and scene.seed == 1
    np.testing.assert_allclose(scene.A.sum(axis=1), 1.0, atol=1e-10)
    assert scene.A.min() >= 0.0
    spec = SCENARIOS.get(name)
    rebuilt = hubench.make_scene(name, seed=1, **{k: v for k, v in scene.params.items()
                                                   if k in spec.param_names()})
    np.testing.assert_array_equal(rebuilt.Y, scene.Y)  # params regenerate the scene
