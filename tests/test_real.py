"""Samson and Jasper Ridge from the shared reference files (skipped where they are absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.io

from hubench.datasets import SCENARIOS, make_scene
from hubench.datasets.fetch import DATASETS, candidate_data_dirs, resolve_data_dir
from hubench.datasets.formats import load_scene
from hubench.datasets.real import aviris_wavelengths
from hubench.errors import DataError, ParameterError


def _data_dir(name: str) -> Path:
    try:
        return resolve_data_dir(name)
    except DataError:
        pytest.skip(f"{name} files not found in {candidate_data_dirs()}")


@pytest.fixture(scope="module")
def samson_scene():
    return make_scene("samson", seed=0, data_dir=_data_dir("samson"))


@pytest.fixture(scope="module")
def jasper_scene():
    return make_scene("jasper", seed=0, data_dir=_data_dir("jasper"))


def test_real_scenarios_are_registered_as_real() -> None:
    for name in ("samson", "jasper", "file"):
        spec = SCENARIOS.get(name)
        assert spec.kind == "real" and not spec.accepts_snr


def test_samson_shapes_and_reference(samson_scene) -> None:
    s = samson_scene
    assert (s.Y.shape, s.A.shape, s.E.shape, s.image_shape) == ((9025, 156), (9025, 3), (3, 156), (95, 95))
    np.testing.assert_allclose(s.A.sum(axis=1), 1.0, atol=1e-12)
    assert s.endmember_names == ("soil", "tree", "water")
    assert s.wavelengths is not None and (s.wavelengths[0], s.wavelengths[-1]) == (401.0, 889.0)
    assert s.seed == 0 and s.params["files"]["samson/samson_dataset.mat"].startswith("1e8c96dc")


def test_samson_pixel_orientation(samson_scene) -> None:
    raw = scipy.io.loadmat(_data_dir("samson") / "samson/samson_dataset.mat")
    H = 95
    for r, c in ((0, 0), (10, 70), (94, 3), (57, 94)):
        column = r + c * H  # MATLAB stores pixel (r, c) of an H-row image in column r + c*H
        np.testing.assert_array_equal(samson_scene.Y[r * 95 + c], raw["Y"][:, column])
        np.testing.assert_allclose(samson_scene.A[r * 95 + c], raw["A"][:, column], atol=1e-12)


def test_samson_endmembers_are_rescaled_published_ones(samson_scene) -> None:
    raw = scipy.io.loadmat(_data_dir("samson") / "samson/samson_dataset.mat")
    M = raw["M"].T
    scales = np.asarray(samson_scene.params["endmember_scales"])
    np.testing.assert_allclose(samson_scene.E, scales[:, None] * M)
    cos = np.sum(samson_scene.E * M, axis=1) / np.linalg.norm(samson_scene.E, axis=1) / np.linalg.norm(M, axis=1)
    np.testing.assert_allclose(cos, 1.0)  # same spectral angles as the published reference
    # the rescaled references explain Y at least as well as the max-normalised ones
    err = np.linalg.norm(samson_scene.Y - samson_scene.A @ samson_scene.E)
    assert err < np.linalg.norm(samson_scene.Y - samson_scene.A @ M)


def test_samson_weak_is_water(samson_scene) -> None:
    assert samson_scene.weak.tolist() == [False, False, True]
    rule = samson_scene.params["weak_rule"]
    assert rule["energy_fraction"][2] < 0.25 and min(rule["mean_abundance"]) > 0.15


def test_jasper_shapes_and_reference(jasper_scene) -> None:
    s = jasper_scene
    assert (s.Y.shape, s.A.shape, s.E.shape, s.image_shape) == ((10000, 198), (10000, 4), (4, 198), (100, 100))
    np.testing.assert_allclose(s.A.sum(axis=1), 1.0, atol=1e-12)
    assert s.endmember_names == ("tree", "water", "dirt", "road")
    assert s.Y.min() >= 0.0 and s.Y.max() < 1.1  # uint16 / maxValue (5000)
    rel = np.linalg.norm(s.Y - s.A @ s.E) / np.linalg.norm(s.Y)
    assert rel < 0.2  # the README's "within about 17%"


def test_jasper_pixel_orientation(jasper_scene) -> None:
    folder = _data_dir("jasper")
    raw = scipy.io.loadmat(folder / "jasper/jasperRidge2_R198.mat")
    ref = scipy.io.loadmat(folder / "jasper/end4.mat")
    H = 100
    for r, c in ((0, 0), (12, 81), (99, 5)):
        column = r + c * H
        np.testing.assert_array_equal(jasper_scene.Y[r * 100 + c], raw["Y"][:, column] / 5000.0)
        np.testing.assert_allclose(jasper_scene.A[r * 100 + c], ref["A"][:, column], atol=1e-12)


def test_jasper_weak_is_water_and_road(jasper_scene) -> None:
    assert jasper_scene.weak.tolist() == [False, True, False, True]
    rule = jasper_scene.params["weak_rule"]
    assert rule["energy_fraction"][1] < 0.25 and rule["mean_abundance"][3] < 0.15


def test_jasper_wavelengths_follow_selected_aviris_channels(jasper_scene) -> None:
    table = aviris_wavelengths()
    if table is None:
        pytest.skip("USGS library grid not available")
    assert np.all(np.diff(table[:30]) > 0) and 380 < table[0] < 390 and 2490 < table[-1] < 2520
    raw = scipy.io.loadmat(_data_dir("jasper") / "jasper/jasperRidge2_R198.mat")
    channels = raw["SlectBands"].ravel().astype(int)
    np.testing.assert_array_equal(jasper_scene.wavelengths, table[channels - 1])


def test_seed_does_not_change_a_real_scene(samson_scene) -> None:
    other = make_scene("samson", seed=7, data_dir=_data_dir("samson"))
    assert other.seed == 7
    np.testing.assert_array_equal(other.Y, samson_scene.Y)


def test_snr_is_refused_for_real_scenes() -> None:
    with pytest.raises(ParameterError, match="real scene"):
        make_scene("samson", seed=0, snr_db=20)


def test_missing_data_dir_says_how_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="hubench data fetch jasper"):
        make_scene("jasper", seed=0, data_dir=tmp_path)


def test_generic_reader_reads_samson_like_the_loader(samson_scene) -> None:
    path = _data_dir("samson") / DATASETS["samson"].files[0].relpath
    scene = load_scene(path, e_key="M", image_shape=(95, 95))
    np.testing.assert_array_equal(scene.Y, samson_scene.Y)
    np.testing.assert_allclose(scene.A, samson_scene.A, atol=1e-15)
    assert scene.weak.tolist() == samson_scene.weak.tolist()  # normalised M detected and rescaled
    assert scene.params["weak_rule"]["scales"] == pytest.approx(samson_scene.params["endmember_scales"])
