"""The library task: scenes with a spectral library, the library methods, their metrics,
and the harness running them (docs/dev/library.md)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import hubench
from hubench.cli import main
from hubench.datasets import make_scene
from hubench.datasets.library_scenes import material, mismatch_angles_deg
from hubench.errors import ParameterError, ValidationError
from hubench.harness import ResultStore
from hubench.harness.grid import expand_grid, parse_methods
from hubench.metrics import evaluate
from hubench.metrics.library import detected_atoms
from hubench.scene import Estimate

LIBRARY_METHODS = ("sunsal", "clsunsal", "sunsal-tv", "fcls-library")


# ---- scenes ---------------------------------------------------------------------------
def test_library_holds_each_material_once_among_distractors() -> None:
    scene = make_scene("library", seed=3, profile="ci")
    assert scene.library is not None and scene.library_names is not None
    assert scene.library.shape == (60, scene.n_bands)
    atoms = [scene.library_names[i] for i in scene.library_index]  # type: ignore[union-attr]
    scene_materials = [material(n) for n in scene.endmember_names or ()]
    assert [material(n) for n in atoms] == scene_materials
    # Sample mismatch: another sample of the same material, never the scene's spectrum.
    assert not set(atoms) & set(scene.endmember_names or ())
    assert np.all(mismatch_angles_deg(scene) > 0.1)
    others = [material(n) for i, n in enumerate(scene.library_names) if i not in set(scene.library_index.tolist())]  # type: ignore[union-attr]
    assert not set(others) & set(scene_materials)


def test_exact_and_perturbed_libraries() -> None:
    exact = make_scene("library-exact", seed=0, profile="ci")
    np.testing.assert_array_equal(exact.library[exact.library_index], exact.E)  # type: ignore[index]
    perturbed = make_scene("library-perturbed", seed=0, profile="ci")
    angles = mismatch_angles_deg(perturbed)
    assert np.all((angles > 0.5) & (angles < 10))


def test_weak_material_is_dark_in_the_library_too() -> None:
    scene = make_scene("library-exact", seed=1, profile="ci", n_weak=1, weak_albedo=0.25)
    k = int(np.flatnonzero(scene.weak)[0])
    np.testing.assert_array_equal(scene.library[scene.library_index[k]], scene.E[k])  # type: ignore[index]
    # Distractors are darkened in the same share (1 of 5 materials: 11 of 55 distractors).
    bright = make_scene("library-exact", seed=1, profile="ci")
    darkened = np.isclose(scene.library, 0.25 * bright.library).all(axis=1)  # type: ignore[operator]
    assert darkened.sum() == 1 + 11


def test_library_scene_is_deterministic_and_observation_carries_it() -> None:
    a = make_scene("library-similar", seed=5, profile="ci")
    b = make_scene("library-similar", seed=5, profile="ci")
    np.testing.assert_array_equal(a.Y, b.Y)
    np.testing.assert_array_equal(a.library, b.library)
    obs = a.observation(library=True)
    assert obs.library is a.library and obs.n_atoms == 60 and obs.E is None
    assert a.observation().library is None
    with pytest.raises(ValidationError, match="no spectral library"):
        make_scene("standard", seed=0, profile="ci").observation(library=True)


@pytest.mark.parametrize(
    ("knobs", "match"),
    [({"library_size": 5}, "library_size"), ({"library_size": 1000}, "library_size"),
     ({"mismatch": "sampel"}, "did you mean"), ({"library_min_angle_deg": 95}, "library_min_angle_deg"),
     ({"mismatch_strength": -1}, "mismatch_strength")],
)
def test_bad_library_knobs_are_refused(knobs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        make_scene("library", seed=0, profile="ci", **knobs)


# ---- methods --------------------------------------------------------------------------
def _noise_free_scene() -> hubench.Scene:
    """The model holds exactly: the library holds the scene's spectra, no noise; 30 atoms
    10 degrees apart keep the problem well conditioned."""
    return make_scene("library-exact", seed=0, profile="ci", snr_db=math.inf, library_size=30,
                      library_min_angle_deg=10.0)


@pytest.mark.parametrize(
    ("name", "params", "atol"),
    [("sunsal", {"lam": 1e-6, "tol": 1e-8, "max_iter": 20_000}, 1e-3),
     ("sunsal", {"lam": 1e-6, "asc": True, "tol": 1e-8, "max_iter": 20_000}, 1e-3),
     ("clsunsal", {"lam": 1e-7, "tol": 1e-8, "max_iter": 20_000}, 1e-3),
     ("sunsal-tv", {"lam": 1e-6, "lam_tv": 1e-6, "tol": 1e-8, "max_iter": 20_000}, 2e-3),
     ("fcls-library", {}, 1e-8)],
)
def test_exact_sparse_abundances_recovered(name: str, params: dict, atol: float) -> None:
    scene = _noise_free_scene()
    est = hubench.get_method(name, **params).fit(scene.observation(library=True))
    X = scene.library_abundances()
    assert est.A.shape == X.shape and est.E is scene.library
    assert np.max(np.abs(est.A - X)) <= atol
    assert est.A.min() >= 0  # the constraint holds at the returned point
    m = evaluate(scene, est).metrics
    assert m["lib_recall"] == 1.0 and m["lib_precision"] == 1.0 and m["lib_active"] == scene.n_endmembers
    if params.get("asc") or name == "fcls-library":
        np.testing.assert_allclose(est.A.sum(axis=1), 1.0, atol=1e-8)


@pytest.mark.parametrize("name", ["sunsal", "clsunsal", "sunsal-tv"])
def test_admm_methods_report_convergence_and_keep_nonnegativity(name: str) -> None:
    scene = make_scene("library-weak", seed=0, profile="ci", snr_db=20)
    est = hubench.get_method(name, profile="ci").fit(scene.observation(library=True))
    assert est.A.min() >= 0
    assert {"iterations", "converged", "primal_residual", "dual_residual"} <= set(est.info)


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [("sunsal", {"lam": -1.0}, "lam"), ("sunsal", {"asc": 1}, "asc"), ("clsunsal", {"tol": 0}, "tol"),
     ("sunsal-tv", {"lam_tv": float("nan")}, "lam_tv"), ("sunsal-tv", {"max_iter": 0}, "max_iter"),
     ("fcls-library", {"tol": 2.0}, "tol")],
)
def test_bad_params_refused(name: str, params: dict, match: str) -> None:
    cls = hubench.get_method(name).__class__
    with pytest.raises(ParameterError, match=f"method '{name}': {match}"):
        cls.validate_params(params)


def test_library_method_needs_a_library() -> None:
    scene = make_scene("standard", seed=0, profile="ci")
    with pytest.raises(ValidationError, match="needs one"):
        hubench.get_method("sunsal").fit(scene.observation())


# ---- metrics --------------------------------------------------------------------------
def test_library_metrics_known_values() -> None:
    scene = make_scene("library-weak", seed=0, profile="ci")
    X = scene.library_abundances()
    perfect = evaluate(scene, Estimate(A=X, E=scene.library)).metrics
    assert perfect["lib_sre"] == math.inf and perfect["lib_armse"] == 0.0
    assert perfect["lib_recall"] == perfect["lib_precision"] == perfect["lib_weak_recall"] == 1.0
    assert perfect["armse"] == 0.0 and math.isnan(perfect["msad"])
    # Drop the weak material and add one distractor in 3 pixels at tau.
    k = int(np.flatnonzero(scene.weak)[0])
    wrong = X.copy()
    wrong[:, scene.library_index[k]] = 0.0  # type: ignore[index]
    spare = next(j for j in range(X.shape[1]) if j not in set(scene.library_index.tolist()))  # type: ignore[union-attr]
    wrong[:3, spare] = 0.05
    m = evaluate(scene, Estimate(A=wrong, E=scene.library)).metrics
    p = scene.n_endmembers
    assert m["lib_recall"] == (p - 1) / p and m["lib_weak_recall"] == 0.0
    assert m["lib_precision"] == (p - 1) / p and m["lib_active"] == p
    wrong[2, spare] = 0.049  # now only 2 pixels reach tau: not detected
    assert evaluate(scene, Estimate(A=wrong, E=scene.library)).metrics["lib_active"] == p - 1
    assert detected_atoms(np.array([[0.05], [0.05], [0.05]]), 0.05).tolist() == [True]


def test_blind_estimate_on_a_library_scene_has_no_library_metrics() -> None:
    scene = make_scene("library", seed=0, profile="ci")
    m = evaluate(scene, Estimate(A=scene.A, E=scene.E)).metrics
    assert "lib_sre" not in m and m["armse"] == 0.0


# ---- harness --------------------------------------------------------------------------
def test_grid_skips_library_methods_on_scenes_without_a_library() -> None:
    grid = expand_grid(parse_methods("sunsal,fcls"), ["standard", "library"], [20.0], [0], profile="ci")
    pairs = {(c.method, c.scenario) for c in grid.cells}
    assert pairs == {("sunsal", "library"), ("fcls", "standard"), ("fcls", "library")}
    assert any(name == "sunsal" and "spectral library" in why for name, why in grid.skipped_methods)


@pytest.mark.slow
def test_run_and_leaderboard_rank_within_the_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "r.sqlite"
    args = ["run", "--methods", "sunsal,fcls-library,vca+fcls", "--scenarios", "library-weak",
            "--profile", "ci", "--seeds", "1", "--snr", "20", "--store", str(store), "--jobs", "1"]
    assert main(args) == 0
    with ResultStore(store) as opened:
        rows = opened.rows()
    assert {r["status"] for r in rows} == {"ok"}
    assert {r["task"] for r in rows} == {"library", "blind"}
    lib = next(r for r in rows if r["method"] == "sunsal")
    assert 0 <= lib["metrics"]["lib_recall"] <= 1
    from hubench.report.board import build_leaderboard

    with ResultStore(store) as opened:
        board = build_leaderboard(opened.to_frame())
    ranks = board.methods.set_index("method")["rank"]
    assert ranks["vca+fcls"] == 1.0  # alone in its task
    # The two library methods are ranked between themselves: per column 1 and 2 (or 1.5 each).
    # In a table that mixes tasks the library rows are tagged "(library)".
    assert ranks["sunsal (library)"] + ranks["fcls-library (library)"] == pytest.approx(3.0)
    capsys.readouterr()
