"""Declarative parameter rules (hubench/params.py) and how methods use them.

A rule type is tested on values it must accept and refuse and on its message; every
registered built-in method must declare a rule for every hyperparameter of its
``__init__`` (so a new hyperparameter without one fails here), and every preset of
every method and every scenario must pass validation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

import hubench
from hubench.datasets import SCENARIOS
from hubench.datasets.base import ScenarioSpec
from hubench.datasets.synthetic_params import MAX_SNR_DB
from hubench.errors import ParameterError, UnavailableError
from hubench.harness.grid import expand_grid, parse_methods
from hubench.methods import METHODS, PROFILES
from hubench.params import Bool, Choice, Int, Real, Rule, check_params, owned_by

BUILTIN_METHODS = [n for n in METHODS if METHODS.get(n).__module__.startswith("hubench.")]


def refused(rule: Rule, value: Any, name: str = "x") -> str:
    with pytest.raises(ParameterError) as info:
        rule.check(name, value)
    return str(info.value)


# ---- rule types -------------------------------------------------------------------------
def test_int_rule() -> None:
    rule = Int(min=1)
    for ok in (1, 7, np.int64(3), 10**30):
        rule.check("n", ok)
    for bad in (0, -5, 2.0, "3", True, None, float("nan")):
        assert refused(rule, bad, "n") == f"n: expected an int >= 1, got {bad!r}"
    Int(min=0, max=3).check("k", 3)
    assert "an int in [0, 3]" in refused(Int(min=0, max=3), 4)
    assert "an int <= 3" in refused(Int(max=3), 4)
    assert refused(Int(), 1.5) == "x: expected an int, got 1.5"
    odd = Int(min=1, odd=True, hint="so the output keeps its size")
    odd.check("k", 3)
    assert refused(odd, 4, "k") == "k: expected an odd int >= 1 so the output keeps its size, got 4"


def test_real_rule() -> None:
    tol = Real(0, 1, open_lo=True, open_hi=True, hint="such as 1e-12")
    for ok in (1e-12, 0.5, np.float32(0.25), np.float64(0.999)):
        tol.check("tol", ok)
    for bad in (0, 1, 0.0, 1.0, -1.0, "abc", float("nan"), True, None):
        assert refused(tol, bad, "tol") == f"tol: expected a number in (0, 1) such as 1e-12, got {bad!r}"
    positive = Real(0, open_lo=True)
    positive.check("lr", 1)  # an int is a number: kept as it is
    for bad in (0, -1e-3, math.inf, math.nan):
        assert "lr: expected a finite number > 0" in refused(positive, bad, "lr")
    Real(0).check("w", 0)
    assert "a finite number >= 0" in refused(Real(0), -1)
    assert "a number in [0, 1)" in refused(Real(0, 1, open_hi=True), 1.0)
    assert "a finite number <= 2" in refused(Real(hi=2), 3)
    unbounded = Real(finite=False, hint="in dB", none_ok="estimate it from the data")
    for ok in (math.inf, -math.inf, -3, 40.0, None):
        unbounded.check("snr_input", ok)
    assert refused(unbounded, math.nan, "snr_input") == (
        "snr_input: expected a number in dB or None (estimate it from the data), got nan")
    assert "a finite number" in refused(Real(), math.inf)


def test_choice_rule() -> None:
    rule = Choice("projected", "pixels")
    rule.check("src", "pixels")
    assert refused(rule, "pixel", "src") == (
        "src: expected one of projected, pixels, got 'pixel' (did you mean 'pixels'?)")
    assert refused(rule, 3, "src") == "src: expected one of projected, pixels, got 3"
    device = Choice("auto", "cpu", "cuda", pattern=r"cuda:\d+", describe="auto, cpu, cuda or cuda:N")
    for ok in ("auto", "cpu", "cuda", "cuda:0", "cuda:12"):
        device.check("device", ok)
    for bad in ("tpu", "cuda:", "cuda:x", "CPU", None):
        assert "device: expected auto, cpu, cuda or cuda:N, got" in refused(device, bad, "device")
    assert Choice("a", "b") == Choice("a", "b") and Choice("a") != Choice("b")
    with pytest.raises(TypeError):
        Choice()


def test_bool_rule() -> None:
    rule = Bool()
    rule.check("flag", True)
    rule.check("flag", False)
    for bad in (1, 0, "true", None, np.float64(1.0)):
        assert refused(rule, bad, "flag") == f"flag: expected True or False, got {bad!r}"


def test_none_ok_and_owner_prefix() -> None:
    rule = Int(min=1, none_ok="automatic")
    rule.check("max_iter", None)
    assert refused(rule, 0, "max_iter") == "max_iter: expected an int >= 1 or None (automatic), got 0"
    assert "or None, got" in refused(Real(0, none_ok=True), -1)
    rules = {"tol": Real(0, 1), "n": Int(min=1)}
    check_params("method 'm'", {"tol": 0.5, "n": 2, "free": object()}, rules)  # no rule: passes
    with pytest.raises(ParameterError, match=r"^method 'm': n: expected an int >= 1, got 0$"):
        check_params("method 'm'", {"tol": 0.5, "n": 0}, rules)
    with pytest.raises(UnavailableError, match=r"^scenario 's': no GPU$"), owned_by("scenario 's'"):
        raise UnavailableError("no GPU")
    with pytest.raises(ParameterError, match=r"^method 'm': x$"), owned_by("method 'm'"), owned_by("method 'm'"):
        raise ParameterError("x")


# ---- methods ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUILTIN_METHODS)
def test_every_hyperparameter_has_a_rule(name: str) -> None:
    cls = METHODS.get(name)
    rules = cls.rules()
    missing = [p for p in cls.param_names() if p not in rules]
    assert not missing, f"{cls.__name__}: add rules for {missing} to param_rules"
    stale = [p for p in vars(cls).get("param_rules", {}) if p not in cls.param_names()]
    assert not stale, f"{cls.__name__}.param_rules names {stale}, which are not hyperparameters"
    assert all(isinstance(rule, Rule) for rule in rules.values())


@pytest.mark.parametrize("name", BUILTIN_METHODS)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_preset_validates(name: str, profile: str) -> None:
    cls = METHODS.get(name)
    preset = cls.preset(profile)
    before = {k: (type(v), v) for k, v in preset.items()}
    cls.validate_params(preset)
    if "random_state" in cls.param_names():  # as the driver resolves it
        cls.validate_params({**cls.defaults(), **preset, "random_state": 0})
    assert {k: (type(v), v) for k, v in preset.items()} == before  # nothing converted


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("fcls", {"tol": "abc"}, "method 'fcls': tol: expected a number in (0, 1) such as 1e-12, got 'abc'"),
        ("fcls", {"tol": math.nan}, "method 'fcls': tol: expected a number in (0, 1)"),
        ("fcls", {"max_iter": -5}, "method 'fcls': max_iter: expected an int >= 1 or None"),
        ("vca", {"n_restarts": 0}, "method 'vca': n_restarts: expected an int >= 1, got 0"),
        ("vca", {"random_state": -1}, "method 'vca': random_state: expected an int >= 0 or None"),
        ("vca+fcls", {"tol": 2.0}, "method 'vca+fcls': tol"),
        ("daeu", {"device": "tpu"}, "method 'daeu': device: expected one of auto, cpu, cuda, cuda:N, got 'tpu'"),
        ("daeu", {"dropout": 1.0}, "method 'daeu': dropout: expected a number in [0, 1)"),
        ("cnnaeu", {"kernel_size": 4}, "method 'cnnaeu': kernel_size: expected an odd int >= 1"),
        ("deq-unmix", {"prox_pixel_weight": "high"}, "method 'deq-unmix': prox_pixel_weight"),
        ("smile", {"patch_size": 2, "scale": 3}, "method 'smile': patch_size: must be at least scale=3"),
        ("smile", {"sigma": 0.0}, "method 'smile': sigma: expected a finite number > 0 or None (scale / 2)"),
        ("ws-net", {"width": 7, "heads": 2}, "method 'ws-net': heads: width=7 must be divisible"),
        ("ws-net", {"use_gate": 1}, "method 'ws-net': use_gate: expected True or False, got 1"),
        ("ws-net", {"wavelet": "db99x"}, "method 'ws-net': wavelet: expected a discrete PyWavelets wavelet"),
        ("fcls", {"tol_": 1e-9}, "did you mean 'tol'"),
    ],
)
def test_validate_params_names_method_and_value(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ParameterError) as info:
        METHODS.get(name).validate_params(params)
    assert message in str(info.value)


def test_fit_runs_the_same_validation() -> None:
    scene = hubench.make_scene("standard", seed=0, profile="ci")
    with pytest.raises(ParameterError, match=r"^method 'fcls': tol: expected"):
        hubench.get_method("fcls", tol="abc").fit(scene.observation(supervised=True))


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_refused_at_validation() -> None:
    with pytest.raises(UnavailableError, match=r"^method 'daeu': device='cuda' asks for a CUDA GPU"):
        METHODS.get("daeu").validate_params({"device": "cuda"})


# ---- scenarios --------------------------------------------------------------------------
BUILTIN_SCENARIOS = [n for n in SCENARIOS if SCENARIOS.get(n).build.__module__.startswith("hubench.")]


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
@pytest.mark.parametrize("profile", PROFILES)
def test_every_scenario_preset_validates(name: str, profile: str) -> None:
    spec = SCENARIOS.get(name)
    resolved = spec.resolve(profile)
    spec.validate(resolved)
    if spec.kind == "synthetic":
        assert spec.validator is not None
        for snr in (-10, 0, 30.0, MAX_SNR_DB, math.inf):
            spec.validate({**resolved, "snr_db": snr})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"snr_db": "abc"}, "scenario 'standard': snr_db: expected a number of dB up to 200, or inf for no noise, "
                            "got 'abc'"),
        ({"snr_db": math.nan}, "snr_db: expected a number of dB"),
        ({"snr_db": -math.inf}, "snr_db: expected a number of dB"),
        ({"snr_db": MAX_SNR_DB + 0.5}, "snr_db: 200.5 dB is above the largest finite SNR, 200 dB"),
        ({"snr_db": 5000}, "use inf for a noiseless scene"),
        ({"n_endmembers": 1000}, "scenario 'standard': n_endmembers"),
        ({"n_bands": 100000}, "n_bands: at most 182"),
        ({"noise": "purple"}, "noise: unknown kind 'purple'"),
        ({"max_purity": 2}, "max_purity: must be in"),
        ({"min_angle_deg": 60, "n_endmembers": 20}, "min_angle_deg=60 leaves"),  # the library check
        ({"snr": 10}, "did you mean 'snr_db'"),
    ],
)
def test_scenario_validate_names_scenario_and_knob(params: dict[str, Any], message: str) -> None:
    spec = SCENARIOS.get("standard")
    with pytest.raises(ParameterError) as info:
        spec.validate({**spec.resolve("ci"), **params})
    assert message in str(info.value)


def test_generator_refuses_snr_above_the_maximum() -> None:
    with pytest.raises(ParameterError, match="use inf"):
        hubench.make_scene("standard", seed=0, profile="ci", snr_db=5000)
    hubench.make_scene("standard", seed=0, profile="ci", snr_db=MAX_SNR_DB)


def test_validate_does_not_build() -> None:
    def build(seed: int, size: int = 2) -> hubench.Scene:
        raise AssertionError("validate must not build the scene")

    def check(params: dict[str, Any]) -> None:
        if params["size"] < 1:
            raise ParameterError(f"size: expected an int >= 1, got {params['size']}")

    spec = ScenarioSpec(name="s", build=build, description="", validator=check)
    spec.validate({"size": 3})
    with pytest.raises(ParameterError, match=r"^scenario 's': size: expected an int >= 1, got 0$"):
        spec.validate({"size": 0})
    ScenarioSpec(name="r", build=build, description="", kind="real").validate({"size": -1})  # no validator


def test_expand_grid_validates_once_per_distinct_set(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Any]] = []
    vca = METHODS.get("vca")
    original_method, original_scenario = vca.validate_params.__func__, ScenarioSpec.validate
    monkeypatch.setattr(vca, "validate_params",
                        classmethod(lambda cls, p=None: calls.append(("method", p)) or original_method(cls, p)))
    monkeypatch.setattr(ScenarioSpec, "validate",
                        lambda self, p: calls.append(("scenario", p)) or original_scenario(self, p))
    grid = expand_grid(parse_methods("vca,vca[n_restarts=2]"), ["standard"], [10.0, 20.0], [0, 1], profile="ci")
    assert len(grid.cells) == 2 * 2 * 2
    scenario_calls = [p for what, p in calls if what == "scenario"]
    method_calls = [p for what, p in calls if what == "method"]
    assert sorted(p["snr_db"] for p in scenario_calls) == [10.0, 20.0]  # one per SNR, not per seed
    # one per (overrides, random_state): 2 x 2, not per scene
    assert sorted((p["n_restarts"], p["random_state"]) for p in method_calls) == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert all(type(c.method_params["n_restarts"]) is int for c in grid.cells)  # nothing converted


def test_expand_grid_refuses_before_returning_cells() -> None:
    with pytest.raises(ParameterError, match=r"^method 'fcls': tol"):
        expand_grid(parse_methods("fcls[tol=abc]"), ["standard"], None, [0], profile="ci")
    with pytest.raises(ParameterError, match=r"^scenario 'rare': snr_db"):
        expand_grid(parse_methods("vca"), ["rare"], [5000.0], [0], profile="ci")
