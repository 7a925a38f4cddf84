"""Grid expansion: spec parsing, stable keys, resolution order, refusals."""

from __future__ import annotations

import math

import pytest
from test_harness_plugin import plugin  # noqa: F401  (fixture)

from hubench.errors import HubenchError, ParameterError, UnknownNameError
from hubench.harness import (
    cell_key,
    expand_grid,
    load_plugins,
    parse_method_spec,
    parse_methods,
    parse_seeds,
    parse_snrs,
    parse_value,
)


def test_parse_value_types() -> None:
    assert parse_value("3") == 3 and isinstance(parse_value("3"), int)
    assert parse_value("1e-9") == 1e-9
    assert parse_value("True") is True and parse_value("false") is False
    assert parse_value("None") is None
    assert parse_value("cuda") == "cuda"


def test_parse_method_specs_with_overrides() -> None:
    req = parse_method_spec("fcls[tol=1e-9, max_iter=50]")
    assert req.name == "fcls" and req.overrides == {"tol": 1e-9, "max_iter": 50}
    reqs = parse_methods("vca,fcls[tol=1e-9,max_iter=5],vca+fcls")
    assert [r.name for r in reqs] == ["vca", "fcls", "vca+fcls"]
    assert reqs[1].overrides == {"tol": 1e-9, "max_iter": 5}


@pytest.mark.parametrize("text", ["vca,,fcls", "fcls[tol=1", "fcls]", "fcls[tol]", "fcls[=3]", ","])
def test_malformed_method_lists(text: str) -> None:
    with pytest.raises(ParameterError):
        parse_methods(text)


def test_parse_snrs_and_seeds() -> None:
    assert parse_snrs("10,20,inf") == [10.0, 20.0, math.inf]
    assert parse_seeds("3") == [0, 1, 2]
    assert parse_seeds("0,3,7") == [0, 3, 7]
    assert parse_seeds("7,") == [7]
    for bad in ("10,abc", "10,,20", "nan"):
        with pytest.raises(ParameterError, match="--snr"):
            parse_snrs(bad)
    for bad in ("-1", "0", "x", "1,-2", "1,,2"):
        with pytest.raises(ParameterError, match="--seeds"):
            parse_seeds(bad)


def test_cell_key_is_stable_and_sensitive() -> None:
    base = cell_key("m", "1", {"a": 1, "b": (2, 3)}, "s", {"snr_db": 10.0}, 0)
    assert base == cell_key("m", "1", {"b": [2, 3], "a": 1}, "s", {"snr_db": 10.0}, 0)
    assert len(base) == 20
    variants = [
        cell_key("m", "2", {"a": 1, "b": (2, 3)}, "s", {"snr_db": 10.0}, 0),
        cell_key("m", "1", {"a": 2, "b": (2, 3)}, "s", {"snr_db": 10.0}, 0),
        cell_key("m", "1", {"a": 1, "b": (2, 3)}, "s", {"snr_db": 20.0}, 0),
        cell_key("m", "1", {"a": 1, "b": (2, 3)}, "s", {"snr_db": 10.0}, 1),
        cell_key("n", "1", {"a": 1, "b": (2, 3)}, "s", {"snr_db": 10.0}, 0),
    ]
    assert len({base, *variants}) == 6


def test_expand_resolves_everything(plugin: str) -> None:  # noqa: F811
    load_plugins()
    grid = expand_grid(parse_methods("t-ok[scale=2.0],t-mem,t-gpu"), ["t-tiny", "t-real"],
                       [10.0, 20.0], [0, 1], profile="ci", device="cpu", data_dir="/data")
    # t-tiny: 2 SNR x 2 seeds, t-real: 2 seeds (no SNR) -> 6 scenes x 2 available methods
    assert len(grid.cells) == 12
    assert grid.skipped_methods[0][0] == "t-gpu" and "no_such_package_xyz" in grid.skipped_methods[0][1]
    ok = [c for c in grid.cells if c.method == "t-ok"]
    assert all(c.method_params["scale"] == 2.0 for c in ok)
    assert {c.method_params["random_state"] for c in ok} == {0, 1}  # random_state follows the seed
    assert all(c.method_params["device"] == "cpu" for c in grid.cells if c.method == "t-mem")
    tiny = [c for c in grid.cells if c.scenario == "t-tiny"]
    assert {c.snr_db for c in tiny} == {10.0, 20.0}
    assert all(c.scenario_params["size"] == 5 for c in tiny)  # ci preset applied
    real = [c for c in grid.cells if c.scenario == "t-real"]
    assert all(math.isnan(c.snr_db) and c.scenario_params == {"data_dir": "/data"} for c in real)
    assert len({c.key for c in grid.cells}) == 12


def test_all_and_refusals(plugin: str) -> None:  # noqa: F811
    load_plugins()
    grid = expand_grid(parse_methods("all"), ["t-tiny"], None, [0], profile="quick")
    names = {c.method for c in grid.cells}
    assert {"t-ok", "t-raise", "t-die"} <= names and "t-gpu" not in names
    assert math.isinf(grid.cells[0].snr_db)  # the scenario's own default: noiseless
    with pytest.raises(UnknownNameError, match="did you mean 't-ok'"):
        expand_grid(parse_methods("t-okk"), ["t-tiny"], None, [0])
    with pytest.raises(UnknownNameError, match="t-tiny"):
        expand_grid(parse_methods("t-ok"), ["t-tinyy"], None, [0])
    with pytest.raises(ParameterError, match="no parameter 'scal'"):
        expand_grid(parse_methods("t-ok[scal=2]"), ["t-tiny"], None, [0])
    with pytest.raises(ParameterError, match="real scene"):
        expand_grid(parse_methods("t-ok"), ["t-real"], [10.0], [0])
    with pytest.raises(HubenchError, match="profile"):
        expand_grid(parse_methods("t-ok"), ["t-tiny"], None, [0], profile="huge")


def test_scene_profile_builds_other_scenes_with_the_same_presets() -> None:
    """``--profile full --scene-profile quick``: the full presets on the quick scenes.

    The scene is the quick one (same resolved parameters, so the same scene as a quick
    run's), the method parameters are the full preset's, and the two cells' keys differ.
    """
    quick = expand_grid(parse_methods("daeu"), ["standard"], [20.0], [0], profile="quick").cells[0]
    full = expand_grid(parse_methods("daeu"), ["standard"], [20.0], [0], profile="full").cells[0]
    mixed = expand_grid(parse_methods("daeu"), ["standard"], [20.0], [0], profile="full",
                        scene_profile="quick").cells[0]
    assert full.scenario_params["image_shape"] != quick.scenario_params.get("image_shape", (50, 50))
    assert mixed.scenario_params == quick.scenario_params
    assert mixed.method_params == full.method_params != quick.method_params
    assert mixed.profile == "full"
    assert len({quick.key, full.key, mixed.key}) == 3
    with pytest.raises(ParameterError, match=r"--scene-profile: unknown profile 'quik'.*quick"):
        expand_grid(parse_methods("daeu"), ["standard"], None, [0], scene_profile="quik")
