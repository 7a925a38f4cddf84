"""Synthetic scenes: every knob checked against an independent computation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist

import hubench
from hubench.datasets import list_scenarios
from hubench.datasets.usgs import library_on_grid, load_usgs
from hubench.errors import ParameterError

SYNTHETIC = list_scenarios(kind="synthetic")
CI = {"image_shape": (16, 16), "n_bands": 60}


def snr_of(scene: hubench.Scene) -> float:
    X = scene.A @ scene.E
    return 10 * math.log10(float(np.sum(X**2)) / float(np.sum((scene.Y - X) ** 2)))


def test_named_scenarios_registered() -> None:
    for name in ("standard", "rare", "weak", "no-pure-pixels"):
        assert name in SYNTHETIC


@pytest.mark.parametrize("name", SYNTHETIC)
@pytest.mark.parametrize("profile", ["ci", "quick"])
def test_simplex_and_records(name: str, profile: str) -> None:
    for seed in (0, 1):
        scene = hubench.make_scene(name, seed=seed, profile=profile)
        assert scene.A.min() >= 0.0  # ANC exactly
        np.testing.assert_allclose(scene.A.sum(axis=1), 1.0, rtol=0, atol=1e-10)  # ASC
        assert scene.name == name and scene.seed == seed
        assert scene.wavelengths is not None and np.all(np.diff(scene.wavelengths) > 0)
        assert scene.endmember_names is not None
        assert set(scene.endmember_names) <= set(load_usgs().names)
        params = json.loads(json.dumps(scene.params))
        assert params["n_bands"] == scene.n_bands
        again = hubench.make_scene(name, seed=seed, **params)  # params regenerate the scene
        np.testing.assert_array_equal(again.Y, scene.Y)


def test_profiles_sizes() -> None:
    assert hubench.make_scene("standard", seed=0, profile="ci").Y.shape == (256, 60)
    assert hubench.make_scene("standard", seed=0).Y.shape == (2500, 99)
    assert hubench.make_scene("standard", seed=0, profile="full").Y.shape == (10000, 182)


@pytest.mark.parametrize("noise", ["white", "colored"])
@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 20.0, 30.0, 45.0])
def test_snr_is_exact(noise: str, snr_db: float) -> None:
    scene = hubench.make_scene("rare", seed=3, snr_db=snr_db, noise=noise, **CI)
    assert abs(snr_of(scene) - snr_db) < 0.05
    assert scene.params["snr_db"] == snr_db and scene.params["noise"] == noise


def test_no_noise_and_same_truth_across_snr() -> None:
    clean = hubench.make_scene("weak", seed=5, snr_db=math.inf, **CI)
    np.testing.assert_array_equal(clean.Y, clean.A @ clean.E)
    noisy = hubench.make_scene("weak", seed=5, snr_db=10, **CI)
    np.testing.assert_array_equal(noisy.A, clean.A)
    np.testing.assert_array_equal(noisy.E, clean.E)
    assert json.loads(json.dumps(clean.params))["snr_db"] == math.inf


def test_colored_noise_is_bell_shaped() -> None:
    width = 0.1
    scene = hubench.make_scene(
        "standard", seed=0, image_shape=(60, 60), n_bands=60, noise="colored", noise_width=width
    )
    variance = np.mean((scene.Y - scene.A @ scene.E) ** 2, axis=0)
    bands = np.arange(60)
    profile = np.exp(-((bands - 29.5) ** 2) / (2 * (width * 60) ** 2))
    expected = profile / profile.sum() * variance.sum()
    centre = slice(25, 35)
    np.testing.assert_allclose(variance[centre], expected[centre], rtol=0.15)
    assert variance[:5].max() < 0.01 * variance[centre].min()


@pytest.mark.parametrize("prevalence", [0.01, 0.02, 0.05, 0.3])
@pytest.mark.parametrize("shape", [(16, 16), (40, 50)])
def test_rare_prevalence_and_range(prevalence: float, shape: tuple[int, int]) -> None:
    if prevalence * shape[0] * shape[1] < 2.5:
        pytest.skip("fewer than 2.5 pixels: one pixel is already more than 20% off")
    scene = hubench.make_scene(
        "rare", seed=1, image_shape=shape, n_rare=2, rare_prevalence=prevalence,
        rare_abundance=(0.3, 0.5), n_bands=60,
    )
    rare = np.flatnonzero(scene.weak)
    assert rare.size == 2
    present = scene.A[:, rare] > 0
    realised = present.mean(axis=0)
    assert np.all(np.abs(realised - prevalence) <= 0.2 * prevalence)
    assert not np.any(present.all(axis=1))  # blobs are disjoint
    values = scene.A[:, rare][present]
    assert values.min() >= 0.3 and values.max() <= 0.5


def test_rare_blobs_are_compact() -> None:
    scene = hubench.make_scene("rare", seed=2, image_shape=(50, 50), rare_prevalence=0.04)
    mask = (scene.A[:, scene.weak] > 0).reshape(50, 50)
    padded = np.pad(mask, 1)
    neighbour = padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:]
    assert (neighbour & mask).sum() >= 0.9 * mask.sum()  # almost no isolated pixels


@pytest.mark.parametrize("abundance", ["dirichlet", "spatial"])
def test_max_purity(abundance: str) -> None:
    scene = hubench.make_scene("no-pure-pixels", seed=0, abundance=abundance, **CI)
    assert scene.A.max() <= 0.8
    assert scene.A.max() > 0.75  # the ceiling binds: ceilings are met by mixing, not shrinking
    scene = hubench.make_scene("rare", seed=0, max_purity=0.6, n_pure=0, rare_abundance=(0.1, 0.5), **CI)
    assert scene.A.max() <= 0.6
    np.testing.assert_allclose(scene.A.sum(axis=1), 1.0, atol=1e-10)


def test_pure_pixels_in_standard() -> None:
    scene = hubench.make_scene("standard", seed=4, **CI)
    pure = np.sum(scene.A == 1.0, axis=0)
    assert np.all(pure >= 2)


def test_weak_endmembers() -> None:
    scene = hubench.make_scene("weak", seed=7, n_weak=2, **CI)
    weak = np.flatnonzero(scene.weak)
    assert weak.size == 2
    assert scene.A[:, weak].max() <= 0.5
    spectra, _ = library_on_grid(60)
    names = load_usgs().names
    assert scene.endmember_names is not None
    for k, name in enumerate(scene.endmember_names):
        factor = 0.25 if k in weak else 1.0
        np.testing.assert_allclose(scene.E[k], factor * spectra[names.index(name)], rtol=1e-12)


def test_spatial_abundances_are_smooth() -> None:
    scene = hubench.make_scene("spatial", seed=0, image_shape=(40, 40), length_scale=5.0)
    maps = scene.A.T.reshape(-1, 40, 40)
    step = np.abs(np.diff(maps, axis=2)).mean()
    shuffled = np.random.default_rng(0).permutation(scene.A).T.reshape(-1, 40, 40)
    assert step < 0.5 * np.abs(np.diff(shuffled, axis=2)).mean()


def test_seeds() -> None:
    a = hubench.make_scene("rare", seed=11, **CI)
    b = hubench.make_scene("rare", seed=11, **CI)
    c = hubench.make_scene("rare", seed=12, **CI)
    for field in ("Y", "A", "E"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(a.Y, c.Y) and not np.array_equal(a.A, c.A)


@pytest.mark.parametrize("angle", [5.0, 15.0])
def test_endmembers_are_far_apart(angle: float) -> None:
    for seed in range(5):
        E = hubench.make_scene("standard", seed=seed, n_endmembers=8, min_angle_deg=angle, **CI).E
        U = E / np.linalg.norm(E, axis=1, keepdims=True)
        angles = np.degrees(2 * np.arctan2(cdist(U, U), cdist(U, -U)))
        assert angles[~np.eye(8, dtype=bool)].min() >= angle


@pytest.mark.parametrize(
    ("knobs", "fragment"),
    [
        ({"n_endmembers": 60}, "n_endmembers"),
        ({"n_endmembers": 1}, "n_endmembers"),
        ({"n_endmembers": 20, "min_angle_deg": 40}, "min_angle_deg"),
        ({"n_bands": 199}, "n_bands"),
        ({"image_shape": (0, 5)}, "image_shape"),
        ({"image_shape": (-3, 5)}, "image_shape"),
        ({"image_shape": (4, 4, 4)}, "image_shape"),
        ({"image_shape": "16"}, "image_shape"),
        ({"image_shape": 16}, "image_shape"),
        ({"n_bands": 12.5}, "n_bands"),
        ({"snr_db": "loud"}, "snr_db"),
        ({"snr_db": float("nan")}, "snr_db"),
        ({"noise": "coloured"}, "did you mean 'colored'"),
        ({"abundance": "gaussian"}, "dirichlet, spatial"),
        ({"max_purity": 0.1, "n_pure": 0}, "max_purity"),
        ({"max_purity": 1.2}, "max_purity"),
        ({"max_purity": 0.9}, "n_pure"),
        ({"n_rare": 1, "rare_prevalence": 0.0}, "rare_prevalence"),
        ({"n_rare": 1, "rare_prevalence": 1.5}, "rare_prevalence"),
        ({"n_rare": 1, "rare_abundance": (0.5, 0.2)}, "rare_abundance"),
        ({"n_rare": 3, "rare_prevalence": 0.5, "n_pure": 0}, "n_rare"),
        ({"n_rare": 3, "n_weak": 2}, "n_rare \\+ n_weak"),
        ({"n_weak": 4, "weak_max_abundance": 0.1, "max_purity": 0.3, "n_pure": 0}, "sum to one"),
        ({"alpha": 0}, "alpha"),
        ({"alpha": float("inf")}, "alpha: must be a finite number > 0"),
        ({"abundance": "spatial", "length_scale": float("inf")}, "length_scale"),
        ({"n_rare": 1, "rare_length_scale": float("inf")}, "rare_length_scale"),
        ({"temperature": -1}, "temperature"),
        ({"n_weak": 1, "weak_albedo": 0}, "weak_albedo"),
        ({"n_pure": 100}, "n_pure"),
        ({"n_pure": True}, "n_pure"),
    ],
)
def test_bad_parameters_refused(knobs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ParameterError, match=fragment):
        hubench.make_scene("standard", seed=0, **{**CI, **knobs})


@pytest.mark.parametrize("seed", [-1, 1.5, "0", None])
def test_bad_seed_refused(seed: object) -> None:
    with pytest.raises(ParameterError, match="seed"):
        hubench.make_scene("standard", seed=seed, **CI)  # type: ignore[arg-type]


def test_unknown_knob_refused_with_suggestion() -> None:
    with pytest.raises(ParameterError, match="did you mean 'snr_db'"):
        hubench.make_scene("weak", seed=0, snr=10)


@pytest.mark.parametrize("length", [2.0, 4.0])
def test_spatial_fields_have_the_requested_correlation_length(length: float) -> None:
    """Gaussian smoothing of white noise with standard deviation ``l`` gives a field whose
    correlation at lag ``d`` is ``exp(-d^2 / (4 l^2))`` (the kernel convolved with itself);
    measured away from the borders over many fields, at lags l and 2l. (Each field is
    standardised by its own mean, which biases long lags down on a small image, so the
    image is large against the length.)"""
    from hubench.datasets.synthetic import smooth_fields

    fields = smooth_fields(np.random.default_rng(0), 40, (160, 160), length).reshape(40, 160, 160)
    inner = fields[:, 12:-12, 12:-12]
    inner = (inner - inner.mean()) / inner.std()
    for lag in (int(length), int(2 * length)):
        measured = float(np.mean(inner[:, :, :-lag] * inner[:, :, lag:]))
        expected = math.exp(-(lag**2) / (4 * length**2))
        assert abs(measured - expected) < 0.05, (lag, measured, expected)


def test_rare_prevalence_is_within_one_pixel_of_the_requested_share() -> None:
    for prevalence, shape in [(0.02, (50, 50)), (0.005, (40, 50)), (0.1, (16, 16))]:
        scene = hubench.make_scene("rare", seed=4, image_shape=shape, rare_prevalence=prevalence, n_bands=60)
        n_pixels = shape[0] * shape[1]
        present = int((scene.A[:, np.flatnonzero(scene.weak)] > 0).sum())
        assert abs(present - prevalence * n_pixels) <= 1, (prevalence, present)
