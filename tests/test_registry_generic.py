"""Generic tests over the registries: a method or scenario is tested the day it is added.

Every registered method must pass ``hubench test-method NAME`` (the checks of
hubench/contract.py, one copy shared with the command) with its ``ci`` preset; every
synthetic scenario must build with each preset.
"""

from __future__ import annotations

import numpy as np
import pytest

import hubench
from hubench.cli import main
from hubench.contract import CHECKS
from hubench.datasets import SCENARIOS
from hubench.errors import HubenchError, ParameterError, UnknownNameError, ValidationError
from hubench.methods import METHODS

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
def test_hubench_test_method_passes(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Every registered method (built-in, or a plug-in installed here) meets the method
    contract of hubench/contract.py: the command itself runs, in this process."""
    ok, reason = METHODS.get(name).availability()
    if not ok:
        pytest.skip(reason)
    code = main(["test-method", name, "--profile", "ci"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert code == 0, out
    assert [line.split()[1] for line in lines[:-1]] == list(CHECKS), out
    assert all(line.startswith(("PASS ", "SKIP ")) for line in lines[:-1]), out
    assert "meets the method contract" in lines[-1]


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
