"""Real scenes end to end from the command line: ``hubench run`` with ``--data-dir`` and
``--scene-file``, SNR refusal, bad files (one line, exit 2, no store), the leaderboard.

Classic methods only and one seed, so the one pool start is the main cost.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.io

import hubench
from hubench.cli import main
from hubench.datasets.fetch import candidate_data_dirs, resolve_data_dir
from hubench.errors import DataError
from hubench.harness import ResultStore
from hubench.harness.grid import expand_grid, parse_methods
from hubench.harness.runner import check_real_scenes
from hubench.harness.worker import run_cell

SHAPE, BANDS, P = (6, 5), 20, 3


def _data_dir() -> Path:
    """The folder holding both shared datasets (``../shared/data``), or skip."""
    try:
        folder = resolve_data_dir("samson")
        resolve_data_dir("jasper", folder)
    except DataError:
        pytest.skip(f"samson/jasper files not found in {candidate_data_dirs()}")
    return folder


def _tiny(seed: int = 0) -> dict[str, np.ndarray]:
    """A noiseless linear scene in HySUPP's orientation: Y (L, N), E (L, p), A (p, N)."""
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.1, 1.0, (BANDS, P))
    A = rng.dirichlet(np.ones(P), SHAPE[0] * SHAPE[1]).T
    A[:, :P] = np.eye(P)  # pure pixels, so VCA can find the vertices
    return {"Y": E @ A, "E": E, "A": A}


def _hysupp_file(path: Path, **override: object) -> Path:
    arrays: dict[str, object] = dict(_tiny())
    arrays.update(H=SHAPE[0], W=SHAPE[1], p=P, L=BANDS, N=SHAPE[0] * SHAPE[1])
    arrays.update(override)
    scipy.io.savemat(path, {k: v for k, v in arrays.items() if v is not None})
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.slow
def test_run_real_and_file_scenes_store_rows_the_leaderboard_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _data_dir()
    scene_file = _hysupp_file(tmp_path / "mine.mat")
    store = tmp_path / "r.sqlite"
    argv = ["run", "--methods", "vca+fcls,fcls", "--scenarios", "samson,jasper,standard",
            "--snr", "20", "--profile", "ci", "--seeds", "1,", "--jobs", "2", "--threads", "1",
            "--data-dir", str(data), "--scene-file", str(scene_file), "--store", str(store)]
    code, out, err = _run(argv, capsys)
    assert code == 0, out + err
    assert "8 cells: 8 run now" in out
    with ResultStore(store, create=False) as opened:
        rows = opened.rows()
    by = {(r["method"], r["scenario"]): r for r in rows}
    assert set(by) == {(m, s) for m in ("vca+fcls", "fcls") for s in ("samson", "jasper", "standard", "file")}
    assert all(r["status"] == "ok" and r["seed"] == 1 for r in rows)
    for scen in ("samson", "jasper", "file"):  # real: kind stored, SNR not applied
        row = by[("vca+fcls", scen)]
        assert row["scenario_kind"] == "real"
        assert row["snr_db"] is None or math.isnan(row["snr_db"])
        assert "snr_db" not in row["scenario_params"]
    assert by[("vca+fcls", "standard")]["snr_db"] == 20.0  # synthetic: --snr applies
    assert by[("vca+fcls", "samson")]["scenario_params"]["data_dir"] == str(data)
    assert by[("vca+fcls", "file")]["scenario_params"]["path"] == str(scene_file)
    # the noiseless file scene with pure pixels is unmixed exactly; given E, FCLS is exact too
    assert by[("vca+fcls", "file")]["metrics"]["armse"] < 1e-6
    assert by[("fcls", "file")]["metrics"]["armse"] < 1e-8
    samson = by[("vca+fcls", "samson")]["metrics"]
    # docs/guide/your-data.md, VCA+FCLS over seeds 0-9: aRMSE 0.270 +- 0.014, mSAD 0.0666 +- 0.0056
    # (1 restart), 0.272 +- 0.004 / 0.0667 (3 restarts); bounds at about 3.5 std.
    assert 0.22 < samson["armse"] < 0.32 and 0.047 < samson["msad"] < 0.087
    # FCLS given Samson's reference endmembers is deterministic: 0.168 (its coarse reference)
    assert abs(by[("fcls", "samson")]["metrics"]["armse"] - 0.168) < 5e-4

    # a second run finds every cell stored
    code, out, err = _run(argv, capsys)
    assert code == 0 and "8 cells already stored" in err

    board = tmp_path / "board.md"
    code, out, err = _run(["leaderboard", "--store", str(store), "--output", str(board)], capsys)
    assert code == 0, err
    text = board.read_text()
    for scen in ("samson", "jasper", "standard", "file"):
        assert f"## {scen}" in text
    assert "vca+fcls" in text and "(given E)" in text


def test_mixed_real_and_synthetic_applies_snr_to_synthetic_only(tmp_path: Path) -> None:
    path = tmp_path / "scene.mat"
    scipy.io.savemat(path, _tiny())
    grid = expand_grid(parse_methods("vca+fcls"), ["file", "standard"], [10.0, 20.0], [0, 1],
                       profile="ci", scene_file=str(path))
    real = [c for c in grid.cells if c.scenario == "file"]
    synthetic = [c for c in grid.cells if c.scenario == "standard"]
    assert len(real) == 2 and all(math.isnan(c.snr_db) and "snr_db" not in c.scenario_params for c in real)
    assert sorted((c.snr_db, c.seed) for c in synthetic) == [(10, 0), (10, 1), (20, 0), (20, 1)]


def test_scene_file_changed_after_the_grid_was_made_is_refused_in_the_worker(tmp_path: Path) -> None:
    """The cell is keyed on the file's sha256; a worker that finds other content (even
    in the process that hashed it first) refuses to build the scene."""
    import os

    from hubench.errors import DataError
    from hubench.harness.worker import _SCENE_CACHE, _scene_for

    path = _hysupp_file(tmp_path / "scene.mat")
    cell = expand_grid(parse_methods("vca+fcls"), ["file"], None, [0], profile="ci",
                       scene_file=str(path)).cells[0]
    _SCENE_CACHE.clear()
    assert _scene_for(cell).Y.shape[0] == SHAPE[0] * SHAPE[1]
    _SCENE_CACHE.clear()
    _hysupp_file(path, Y=_tiny()["Y"] * 0.5)  # new content, same layout and size
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    with pytest.raises(DataError, match="changed after the run started"):
        _scene_for(cell)
    _SCENE_CACHE.clear()


def test_snr_for_real_scenes_only_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "r.sqlite"
    code, out, err = _run(["run", "--methods", "vca+fcls", "--scenarios", "samson,jasper", "--snr", "20",
                           "--data-dir", str(tmp_path), "--store", str(store)], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "--snr" in err and "real scene" in err
    assert not store.exists()


def test_missing_dataset_is_one_line_and_no_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "r.sqlite"
    code, out, err = _run(["run", "--methods", "vca+fcls", "--scenarios", "samson", "--seeds", "1,",
                           "--data-dir", str(tmp_path / "empty"), "--store", str(store)], capsys)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "samson" in err and "hubench data fetch samson" in err
    assert not store.exists()


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    good = _hysupp_file(tmp / "good.mat")
    raw = good.read_bytes()
    truncated = tmp / "truncated.mat"
    truncated.write_bytes(raw[: len(raw) // 2])
    corrupt = tmp / "corrupt.mat"
    corrupt.write_bytes(b"MATLAB? no" * 40)
    tiny = _tiny()
    nan_y = tiny["Y"].copy()
    nan_y[3, 7] = np.nan
    rng = np.random.default_rng(1)
    many_e = rng.uniform(0.1, 1.0, (3, 4))  # 4 endmembers, 3 bands
    many_a = rng.dirichlet(np.ones(4), 30).T
    return {
        "truncated": (truncated, "truncated or corrupt"),
        "corrupt": (corrupt, "truncated or corrupt"),
        "missing key": (_hysupp_file(tmp / "nokey.mat", A=None), "has no variable 'A'"),
        "mismatched shapes": (_hysupp_file(tmp / "shape.mat", A=tiny["A"][:, :-1]), "has shape"),
        "NaN values": (_hysupp_file(tmp / "nan.mat", Y=nan_y), "NaN"),
        "too many endmembers": (
            _hysupp_file(tmp / "many.mat", Y=many_e @ many_a, E=many_e, A=many_a, p=4, L=3),
            "endmembers but only",
        ),
    }


def test_bad_scene_files_are_one_line_exit_2_and_no_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for what, (path, phrase) in _bad_files(tmp_path).items():
        store = tmp_path / f"{path.stem}.sqlite"
        code, out, err = _run(["run", "--methods", "vca+fcls", "--scenarios", "file", "--seeds", "1,",
                               "--scene-file", str(path), "--store", str(store)], capsys)
        assert code == 2, what
        assert err.count("\n") == 1 and err.startswith("hubench run: error: "), (what, err)
        assert str(path) in err and phrase in err, (what, err)
        assert "Traceback" not in err and out == ""
        assert not store.exists() and not store.parent.joinpath("estimates").exists(), what


def test_bad_generic_npz_via_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tiny = _tiny()
    path = tmp_path / "mine.npz"
    np.savez(path, Y=tiny["Y"].T, A=tiny["A"].T[:-2], E=tiny["E"].T)  # A has 2 pixels too few
    store = tmp_path / "r.sqlite"
    code, _, err = _run(["run", "--methods", "vca", "--scenarios", "file", "--seeds", "1,",
                         "--scene-file", str(path), "--store", str(store)], capsys)
    assert code == 2 and err.count("\n") == 1 and "do not match" in err
    assert not store.exists()


def test_generic_scene_file_options_as_scenario_overrides(tmp_path: Path) -> None:
    """``--scenarios 'file[y_key=...,...]'`` passes load_scene's options to a generic file."""
    tiny = _tiny()
    path = tmp_path / "generic.mat"  # bands x pixels in MATLAB's column-major pixel order
    order = np.arange(30).reshape(SHAPE, order="F").ravel()  # row-major pixel -> file column
    cube = np.empty_like(tiny["Y"])
    cube[:, order] = tiny["Y"]
    abund = np.empty_like(tiny["A"])
    abund[:, order] = tiny["A"]
    scipy.io.savemat(path, {"data": cube, "abund": abund, "ends": tiny["E"].T, "nRow": SHAPE[0], "nCol": SHAPE[1]})
    spec = "file[y_key=data,a_key=abund,e_key=ends,y_axes=LN]"
    grid = expand_grid(parse_methods("vca+fcls"), [spec], None, [0], profile="ci", scene_file=str(path))
    (cell,) = grid.cells
    assert cell.scenario == "file" and cell.scenario_params["y_key"] == "data"
    assert cell.scenario_params["path"] == str(path.resolve())
    check_real_scenes(grid.cells)  # loads in the driver without error
    outcome = run_cell(cell)
    assert outcome.status == "ok", outcome.reason
    assert outcome.metrics["armse"] < 1e-6


def test_unknown_scenario_option_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "r.sqlite"
    code, _, err = _run(["run", "--methods", "vca", "--scenarios", "file[ykey=data]", "--scene-file",
                         str(_hysupp_file(tmp_path / "a.mat")), "--store", str(store)], capsys)
    assert code == 2 and err.count("\n") == 1 and "'ykey'" in err and "y_key" in err
    assert not store.exists()
    code, _, err = _run(["run", "--methods", "vca", "--scenarios", "file[y_key]", "--store", str(store)], capsys)
    assert code == 2 and err.startswith("hubench run: error: --scenarios:") and not store.exists()


def test_python_api_make_scene_and_load_scene(tmp_path: Path) -> None:
    data = _data_dir()
    samson = hubench.make_scene("samson", seed=0, data_dir=data)
    assert samson.Y.shape == (9025, 156) and samson.A.shape == (9025, 3) and samson.E.shape == (3, 156)
    assert samson.weak.tolist() == [False, False, True]
    again = hubench.make_scene("samson", seed=5, data_dir=data)
    assert np.array_equal(samson.Y, again.Y) and again.seed == 5  # the seed does not change a real scene
    with pytest.raises(hubench.ParameterError, match="real scene"):
        hubench.make_scene("samson", seed=0, data_dir=data, snr_db=20)

    tiny = _tiny()
    mine = hubench.load_scene(_hysupp_file(tmp_path / "mine.mat"), weak=[2], name="mine", seed=3)
    assert mine.name == "mine" and mine.seed == 3 and mine.image_shape == SHAPE
    assert np.allclose(mine.Y, tiny["Y"].T) and np.allclose(mine.A, tiny["A"].T) and np.allclose(mine.E, tiny["E"].T)
    assert mine.weak.tolist() == [False, False, True]
    est = hubench.get_method("vca+fcls", random_state=0).fit(mine.observation())
    assert hubench.score(mine, est)["armse"] < 1e-6


def test_scene_file_alone_runs_only_that_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scene_file = _hysupp_file(tmp_path / "mine.mat")
    store = tmp_path / "r.sqlite"
    code, out, err = _run(["run", "--methods", "vca+fcls", "--scene-file", str(scene_file), "--seeds", "1",
                           "--profile", "ci", "--jobs", "1", "--store", str(store), "--no-progress"], capsys)
    assert code == 0, err
    assert "1 cells: 1 run now" in out
    with ResultStore(store, readonly=True) as opened:
        assert [r["scenario"] for r in opened.rows()] == ["file"]
