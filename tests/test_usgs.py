"""The packaged USGS library, its conversion, band averaging and angle pruning."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from hubench.datasets.usgs import (
    band_average_matrix,
    library_on_grid,
    load_usgs,
    prune_library,
    pruned_indices,
)
from hubench.errors import ParameterError

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT.parent / "shared/data/usgs/USGS_1995_Library.mat"
WATER = [(1350.0, 1450.0), (1800.0, 1960.0)]


def pairwise_angles_deg(S: np.ndarray) -> np.ndarray:
    """Angles by the half-chord formula 2 atan2(|u - v|, |u + v|): independent of arccos."""
    U = S / np.linalg.norm(S, axis=1, keepdims=True)
    return np.degrees(2 * np.arctan2(cdist(U, U), cdist(U, -U)))


@pytest.fixture(scope="module")
def library_angles() -> np.ndarray:
    return pairwise_angles_deg(load_usgs().spectra)


def test_loader_shapes_sorted_and_clean() -> None:
    lib = load_usgs()
    assert lib.spectra.shape == (498, 182)
    assert lib.spectra.dtype == np.float64
    assert len(lib.names) == 498 and len(set(lib.names)) == 498
    assert all(n == n.strip() and n for n in lib.names)
    assert np.all(np.diff(lib.wavelengths) > 0)
    assert np.all(np.isfinite(lib.spectra))
    assert lib.spectra.min() > 0.004 and lib.spectra.max() < 1.02  # no -1.23e34 fill
    for lo, hi in WATER:
        assert not np.any((lib.wavelengths >= lo) & (lib.wavelengths <= hi))
    assert 380 < lib.wavelengths[0] < 390 and 2340 < lib.wavelengths[-1] < 2355
    assert np.all(lib.channels >= 0)  # fill-valued channel rows dropped


def test_loader_full_grid_and_cache() -> None:
    full = load_usgs(drop_water_bands=False)
    assert full.spectra.shape == (498, 224)
    assert np.all(np.diff(full.wavelengths) > 0)
    assert load_usgs() is load_usgs()
    with pytest.raises(ValueError):
        load_usgs().spectra[0, 0] = 1.0  # shared cached arrays are read-only
    kept = np.isin(full.wavelengths, load_usgs().wavelengths)
    assert kept.sum() == 182
    np.testing.assert_array_equal(full.spectra[:, kept], load_usgs().spectra)


@pytest.mark.skipif(not SOURCE.exists(), reason="shared USGS .mat not present")
def test_package_file_matches_source() -> None:
    import scipy.io

    mat = scipy.io.loadmat(SOURCE)
    datalib = mat["datalib"]
    order = np.argsort(datalib[:, 0])
    full = load_usgs(drop_water_bands=False)
    np.testing.assert_array_equal(full.wavelengths, datalib[order, 0] * 1000)
    np.testing.assert_array_equal(full.spectra, datalib[order, 3:].T)
    assert full.names[0] == bytes(mat["names"][3]).decode("latin-1").strip()


@pytest.mark.skipif(not SOURCE.exists(), reason="shared USGS .mat not present")
def test_conversion_is_reproducible(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import convert_usgs
    finally:
        sys.path.pop(0)
    out = tmp_path / "usgs.npz"
    convert_usgs.write_npz(convert_usgs.convert(SOURCE), out)
    packaged = ROOT / "hubench/datasets/data/usgs_1995.npz"
    assert out.read_bytes() == packaged.read_bytes()


@pytest.mark.parametrize("angle", [0.0, 1.0, 5.0, 10.0, 20.0])
def test_prune_guarantee_and_maximality(angle: float, library_angles: np.ndarray) -> None:
    spectra = load_usgs().spectra
    kept = prune_library(spectra, angle)
    assert np.all(np.diff(kept) > 0)
    angles = library_angles
    sub = angles[np.ix_(kept, kept)]
    off_diagonal = sub[~np.eye(len(kept), dtype=bool)]
    assert off_diagonal.min() >= angle - 1e-9
    dropped = np.setdiff1d(np.arange(len(spectra)), kept)
    if angle > 0:  # greedy: every dropped spectrum is too close to an earlier kept one
        for i in dropped:
            assert np.min(angles[i, kept[kept < i]]) < angle + 1e-9
    else:
        assert dropped.size == 0
    np.testing.assert_array_equal(prune_library(spectra, angle), kept)


def test_prune_refuses_bad_angles() -> None:
    spectra = load_usgs().spectra[:10]
    for bad in (-1.0, 90.0, float("nan")):
        with pytest.raises(ParameterError, match="min_angle_deg"):
            prune_library(spectra, bad)
    with pytest.raises(ParameterError, match="zeros"):
        prune_library(np.zeros((2, 5)), 1.0)


def test_pruning_on_resampled_grid() -> None:
    spectra, _ = library_on_grid(60)
    kept = pruned_indices(60, 10.0)
    angles = pairwise_angles_deg(spectra[kept])
    assert angles[~np.eye(len(kept), dtype=bool)].min() >= 10.0 - 1e-9


@pytest.mark.parametrize("n_bands", [2, 7, 60, 91, 182])
def test_band_average_matrix(n_bands: int) -> None:
    lib = load_usgs()
    R = band_average_matrix(lib.wavelengths, lib.water_bands, n_bands)
    assert R.shape == (182, n_bands)
    np.testing.assert_allclose(R.sum(axis=0), 1.0)
    assert np.all((R > 0).sum(axis=1) <= 1)  # every channel in at most one band
    segment = np.sum(lib.wavelengths[:, None] > lib.water_bands[None, :, 1], axis=1)
    for b in range(n_bands):
        assert np.unique(segment[R[:, b] > 0]).size == 1  # no band straddles a water gap
    spectra, wavelengths = library_on_grid(n_bands)
    assert spectra.shape == (498, n_bands)
    assert np.all(np.diff(wavelengths) > 0)
    if n_bands == 182:
        np.testing.assert_array_equal(R, np.eye(182))
    if n_bands == 99:  # each band is the mean of two adjacent channels
        np.testing.assert_allclose(spectra[:, 0], lib.spectra[:, :2].mean(axis=1))


def test_band_average_refuses_bad_sizes() -> None:
    lib = load_usgs()
    for bad in (0, 199):
        with pytest.raises(ParameterError, match="n_bands"):
            band_average_matrix(lib.wavelengths, lib.water_bands, bad)
