"""Real scenes' weak rule in the reports: energy share and mean abundance beside the
verdict, marginal values flagged, and an explicit weak set (``jasper[weak=water,road]``)."""

from __future__ import annotations

import numpy as np
import pytest

from hubench.datasets.formats import scene_from_arrays
from hubench.datasets.weak_rule import weak_by_rule
from hubench.harness.grid import parse_method_spec, parse_scenario_spec
from hubench.report.weak_table import weak_rule_table


def _scene(mean_abundances: list[float], weak: object = None):  # type: ignore[no-untyped-def]
    """A noiseless scene whose reference abundances have exactly these means."""
    p, n_bands = len(mean_abundances), 12
    rng = np.random.default_rng(0)
    E = rng.uniform(0.5, 1.0, (p, n_bands))
    E /= np.linalg.norm(E, axis=1, keepdims=True)  # equal norms: energy share = abundance ratio
    base = np.array(mean_abundances)
    A = np.tile(base, (40, 1))
    A[:20] += 0.01 * rng.standard_normal((20, p))
    A[20:] = 2 * base - A[:20]  # keeps every column mean at exactly its value
    A = np.clip(A, 0, None)
    A /= A.sum(axis=1, keepdims=True)
    return scene_from_arrays(A @ E, A, E, (5, 8), name="t", source="test", normalised=False,
                             endmember_names=[f"m{k}" for k in range(p)], weak=weak)


def test_marginal_flags_values_within_ten_percent_of_a_threshold() -> None:
    scene = _scene([0.60, 0.25, 0.15])  # 0.15 sits on the rare threshold
    rule = weak_by_rule(scene.Y, scene.A, scene.E, normalised=False)
    expected_share = rule.mean_abundance / rule.mean_abundance.max()
    np.testing.assert_allclose(rule.energy_fraction, expected_share, rtol=1e-9)
    # m2: mean 0.15 (rare threshold) -> marginal; m1: share 0.25/0.6 = 0.42 -> clear of 0.25
    assert rule.marginal.tolist() == [False, False, True]
    params = rule.as_params()
    assert params["marginal"] == [False, False, True] and params["weak_by_rule"] == rule.weak.tolist()


def test_table_lists_numbers_verdicts_and_the_weak_set_used() -> None:
    text = weak_rule_table(_scene([0.60, 0.30, 0.10]))
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in text.splitlines() if line.startswith("| m")}
    assert rows["m2"][2:4] == ["yes", "**weak**"] and rows["m0"][2:4] == ["no", ""]
    assert float(rows["m2"][0]) == pytest.approx(0.10, abs=1e-3)
    assert "is the rule's" in text
    given = weak_rule_table(_scene([0.60, 0.30, 0.10], weak=["m1"]))
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in given.splitlines() if line.startswith("| m")}
    assert rows["m1"][2:4] == ["no", "**weak**"] and rows["m2"][2:4] == ["yes", ""]
    assert "was given explicitly" in given


def test_a_bare_item_extends_the_previous_value_into_a_list() -> None:
    assert parse_scenario_spec("jasper[weak=water,road]") == ("jasper", {"weak": ["water", "road"]})
    assert parse_scenario_spec("jasper[weak=water,road,dirt,data_dir=/x]") == (
        "jasper", {"weak": ["water", "road", "dirt"], "data_dir": "/x"})
    assert parse_method_spec("fcls[tol=1e-9,max_iter=5]").overrides == {"tol": 1e-9, "max_iter": 5}
    with pytest.raises(ValueError, match="write key=value"):
        parse_method_spec("fcls[tol]")


def test_a_single_weak_name_or_index_is_accepted() -> None:
    assert _scene([0.60, 0.30, 0.10], weak="m0").weak.tolist() == [True, False, False]
    assert _scene([0.60, 0.30, 0.10], weak=1).weak.tolist() == [False, True, False]


def test_jasper_weak_set_from_the_command_line(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from hubench.cli import main
    from hubench.datasets.fetch import resolve_data_dir
    from hubench.errors import DataError
    from hubench.harness import ResultStore

    try:
        folder = resolve_data_dir("jasper")
    except DataError:
        pytest.skip("jasper files not found")
    store = tmp_path / "r.sqlite"
    argv = ["run", "--methods", "vca+fcls", "--scenarios", "jasper[weak=dirt],jasper", "--data-dir",
            str(folder), "--seeds", "1", "--profile", "ci", "--jobs", "1", "--store", str(store), "--no-progress"]
    assert main(argv) == 0, capsys.readouterr().err
    rows = {str(r["scenario_params"].get("weak")): r["metrics"] for r in ResultStore(store, readonly=True).rows()}
    # the weak metrics follow the weak set: dirt alone, or the rule's water and road
    assert rows["dirt"]["weak_msad"] == pytest.approx(rows["dirt"]["sad_em2"], abs=1e-12)
    assert rows["None"]["weak_msad"] == pytest.approx(
        (rows["None"]["sad_em1"] + rows["None"]["sad_em3"]) / 2, abs=1e-12)
    bad = main([*argv[:4], "jasper[weak=lava]", *argv[5:]])
    assert bad == 2 and "'lava' is not among" in capsys.readouterr().err


def test_each_weak_endmember_gets_its_own_recall_and_ap_per_method_and_snr() -> None:
    import math as _math

    import pandas as pd

    from hubench.report.weak_table import per_endmember_blocks

    rows = []
    for method, found_small in (("a", 1.0), ("b", 0.0)):
        for seed in (0, 1):
            rows.append({"scenario_label": "rare", "method_label": method, "status": "ok", "snr_db": 20.0,
                         "weak_recall_em1": 0.9 + 0.05 * seed, "weak_recall_em3": found_small,
                         "weak_ap_em1": 0.8, "weak_ap_em3": found_small / 2})
    rows.append({"scenario_label": "rare", "method_label": "b", "status": "error", "snr_db": 20.0,
                 "weak_recall_em1": _math.nan, "weak_recall_em3": _math.nan, "weak_ap_em1": _math.nan,
                 "weak_ap_em3": _math.nan})
    block = per_endmember_blocks(pd.DataFrame(rows))["rare"]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    assert [c.strip() for c in lines[0].split("|")[2:6]] == [
        "recall em1 @ 20 dB", "ap em1 @ 20 dB", "recall em3 @ 20 dB", "ap em3 @ 20 dB"]
    cells = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]] for line in lines[2:]}
    assert cells["a"] == ["0.925", "0.8", "1", "0.5"]
    assert cells["b"] == ["0.925", "0.8", "0", "0"]  # the missed small endmember shows
