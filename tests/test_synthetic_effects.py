"""Endmember variability, nonlinear mixing and sensor effects, each against its definition.

The definitions are in docs/guide/scenarios.md ("Variability, nonlinear mixing and sensor
effects"). Where a property can be seen in the scene itself it is measured there
(scale factors from the pixels, spectral variability from pure pixels, gains and
stripes from the residual of a noiseless scene); the mixing models are recomputed
pixel by pixel with explicit loops over endmembers, pairs and bands.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import hubench
from hubench.datasets import list_scenarios
from hubench.datasets.synthetic import (
    generate,
    generate_with_parts,
    measured_snr_db,
    validate_knobs,
)
from hubench.datasets.usgs import library_on_grid, load_usgs
from hubench.errors import ParameterError

CI = {"image_shape": (16, 16), "n_bands": 60}
QUICK = {"image_shape": (50, 50), "n_bands": 99}
NOISELESS = {"snr_db": math.inf}
SENSOR_OFF = {"gain_drift": 0.0, "stripe_bands": 0.0, "dead_bands": 0.0, "saturated_bands": 0.0, "impulse": 0.0}
EVERY_EFFECT = {
    "variability": "both", "variability_strength": 0.1, "mixing": "gbm", "nonlinearity": 1.0,
    "gain_drift": 0.05, "stripe_bands": 0.1, "dead_bands": 0.05, "saturated_bands": 0.05, "impulse": 0.01,
}


def snr_db(clean: np.ndarray, noise: np.ndarray) -> float:
    return 10 * math.log10(float(np.sum(clean**2)) / float(np.sum(noise**2)))


def weights_by_formula(n_bands: int, n_knots: int, guard: int = 2) -> list[list[float]]:
    """docs/guide/scenarios.md: knots at j d, j = -2 .. K + 1, d = 1 / (K - 1); Gaussian weights of
    width d, normalised per band. Written with loops, apart from the module's version."""
    d = 1.0 / (n_knots - 1)
    knots = [j * d for j in range(-guard, n_knots + guard)]
    columns = []
    for b in range(n_bands):
        t = b / (n_bands - 1)
        raw = [math.exp(-((t - tj) ** 2) / (2 * d * d)) for tj in knots]
        columns.append([r / sum(raw) for r in raw])
    return [[columns[b][j] for b in range(n_bands)] for j in range(len(knots))]


# --- no effect: the scenes of before ---------------------------------------------------


@pytest.mark.parametrize("name", ["standard", "spatial", "rare", "weak", "no-pure-pixels"])
def test_effect_free_values_give_the_plain_scene_bit_for_bit(name: str) -> None:
    """Every effect at a value that turns it off draws nothing and changes nothing."""
    for seed in (0, 3):
        plain = hubench.make_scene(name, seed=seed, noise="colored", **CI)
        for knobs in (
            {"variability": "none", "mixing": "linear", **SENSOR_OFF},
            {"variability": "both", "variability_strength": 0.0},
            {"mixing": "fan", "nonlinearity": 0.0},
            {"mixing": "gbm", "nonlinearity": 0.0},
            {"mixing": "ppnm", "nonlinearity": 0.0},
            {"stripe_amplitude": 0.3, "variability_length_scale": 0.0},  # settings of effects left off
        ):
            scene = hubench.make_scene(name, seed=seed, noise="colored", **CI, **knobs)
            for field in ("Y", "A", "E"):
                np.testing.assert_array_equal(getattr(scene, field), getattr(plain, field), err_msg=str(knobs))


def test_plain_scene_is_linear_mixture_plus_exact_snr_noise() -> None:
    scene, parts = generate_with_parts(2, snr_db=17.0, **CI)
    np.testing.assert_array_equal(parts.clean, scene.A @ scene.E)
    np.testing.assert_array_equal(scene.Y, parts.clean + parts.noise)
    assert parts.knots is None and parts.scale is None and parts.coefficients is None and parts.sensor is None


@pytest.mark.parametrize(
    "knobs",
    [
        {"variability": "both"},
        {"mixing": "gbm"},
        {"mixing": "ppnm", "nonlinearity": 0.3},
        {"gain_drift": 0.1, "stripe_bands": 0.2, "impulse": 0.01},
        EVERY_EFFECT,
    ],
)
def test_effects_keep_truth_and_gaussian_draw(knobs: dict[str, object]) -> None:
    """A and E are the scene's truth whatever the effects; the Gaussian noise is the same
    draw, rescaled to the new signal."""
    _, plain = generate_with_parts(4, snr_db=20.0, **CI)
    plain_scene = generate(4, snr_db=20.0, **CI)
    scene, parts = generate_with_parts(4, snr_db=20.0, **CI, **knobs)
    np.testing.assert_array_equal(scene.A, plain_scene.A)
    np.testing.assert_array_equal(scene.E, plain_scene.E)
    ratio = parts.noise / plain.noise
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-12)


@pytest.mark.parametrize("noise", ["white", "colored"])
@pytest.mark.parametrize("snr", [0.0, 10.0, 30.0])
def test_gaussian_snr_is_exact_with_every_effect(noise: str, snr: float) -> None:
    """snr_db is the Gaussian noise against the clean, variable, nonlinear signal."""
    _, parts = generate_with_parts(1, snr_db=snr, noise=noise, **QUICK, **EVERY_EFFECT)
    assert abs(snr_db(parts.clean, parts.noise) - snr) < 1e-9


def test_snr_is_measured_on_the_image_without_sensor_effects() -> None:
    knobs = {k: v for k, v in EVERY_EFFECT.items() if k not in SENSOR_OFF}
    scene, parts = generate_with_parts(1, snr_db=15.0, **CI, **knobs)
    np.testing.assert_array_equal(scene.Y, parts.clean + parts.noise)
    assert abs(measured_snr_db(parts.clean, scene.Y) - 15.0) < 1e-9
    # against the linear mixture of the truth it is not 15 dB: the effects are signal, not noise
    assert abs(measured_snr_db(scene.A @ scene.E, scene.Y) - 15.0) > 1.0


# --- endmember variability ---------------------------------------------------------------


@pytest.mark.parametrize("strength", [0.05, 0.2, 0.5])
def test_scaling_factors_have_the_requested_spread(strength: float) -> None:
    """Scaling only, no noise: every pixel is psi_n times its linear mixture, with
    std(log psi) = strength and mean(log psi) = -strength^2 / 2 exactly."""
    scene = hubench.make_scene(
        "standard", seed=5, variability="scaling", variability_strength=strength, **NOISELESS, **QUICK
    )
    X = scene.A @ scene.E
    psi = np.sum(scene.Y * X, axis=1) / np.sum(X * X, axis=1)  # least squares per pixel
    np.testing.assert_allclose(scene.Y, psi[:, None] * X, rtol=1e-12)  # a pure rescaling
    assert abs(np.std(np.log(psi)) - strength) < 1e-9
    assert abs(np.mean(np.log(psi)) + strength**2 / 2) < 1e-9


def test_scaling_is_spatially_smooth_at_its_length_scale() -> None:
    def neighbour_correlation(length: float) -> float:
        scene = hubench.make_scene(
            "standard", seed=0, variability="scaling", variability_length_scale=length, **NOISELESS, **QUICK
        )
        X = scene.A @ scene.E
        log_psi = np.log(np.sum(scene.Y * X, axis=1) / np.sum(X * X, axis=1)).reshape(50, 50)
        return float(np.corrcoef(log_psi[:, :-1].ravel(), log_psi[:, 1:].ravel())[0, 1])

    assert neighbour_correlation(5.0) > 0.9
    assert abs(neighbour_correlation(0.0)) < 0.1


@pytest.mark.parametrize("strength", [0.05, 0.1, 0.3])
def test_spectral_variability_has_the_requested_rms_relative_deviation(strength: float) -> None:
    """Measured on pure pixels (Y_n = e_nk there): RMS of e_nk / E_k - 1 is the
    strength, the mean factor is 1 (E is the expected spectrum), every factor is
    positive, and the curves are smooth over the bands."""
    scene = hubench.make_scene(
        "standard", seed=6, variability="spectral", variability_strength=strength,
        variability_length_scale=0.0, n_pure=150, **NOISELESS, **QUICK,
    )
    pure = np.flatnonzero(scene.A.max(axis=1) == 1.0)
    assert pure.size == 750
    factors = scene.Y[pure] / scene.E[scene.A[pure].argmax(axis=1)]
    assert factors.min() > 0
    rms = float(np.sqrt(np.mean((factors - 1) ** 2)))
    assert abs(rms - strength) < 0.05 * strength
    assert abs(factors.mean() - 1) < 0.05 * strength  # about 4 standard errors (seeds 0-3: < 0.025)
    per_band = np.sqrt(np.mean((factors - 1) ** 2, axis=0))
    assert per_band.min() > 0.8 * strength and per_band.max() < 1.2 * strength  # every band alike
    roughness = np.sqrt(np.mean(np.diff(np.log(factors), axis=1) ** 2))
    assert roughness < 0.15 * np.std(np.log(factors))  # white noise over bands would give ~1.4


def test_spectral_variability_is_spatially_smooth_and_per_material() -> None:
    def adjacent_correlation(length: float) -> tuple[float, float]:
        scene, parts = generate_with_parts(
            0, variability="spectral", variability_length_scale=length, **NOISELESS, **QUICK
        )
        assert parts.spectra is not None
        f = (parts.spectra / scene.E)[:, :, 40].reshape(50, 50, -1)  # one band, every material
        across_pixels = np.corrcoef(f[:, :-1, 0].ravel(), f[:, 1:, 0].ravel())[0, 1]
        across_materials = np.corrcoef(f[..., 0].ravel(), f[..., 1].ravel())[0, 1]
        return float(across_pixels), float(across_materials)

    smooth, independent = adjacent_correlation(5.0)
    assert smooth > 0.9 and abs(independent) < 0.2
    rough, _ = adjacent_correlation(0.0)
    assert abs(rough) < 0.1


def test_pixel_spectra_follow_their_formula() -> None:
    """e_nk(b) = E_k(b) sum_j M_nkj w_j(b), recomputed with loops and the weights written
    from the documented formula."""
    scene, parts = generate_with_parts(3, variability="spectral", n_bands=12, image_shape=(4, 5))
    assert parts.knots is not None and parts.spectra is not None
    w = weights_by_formula(12, 8)
    assert parts.knots.shape == (20, 5, len(w))
    for n in (0, 7, 19):
        for k in range(5):
            for b in range(12):
                value = scene.E[k, b] * sum(parts.knots[n, k, j] * w[j][b] for j in range(len(w)))
                assert math.isclose(parts.spectra[n, k, b], value, rel_tol=1e-12)


def test_variability_truth_is_the_reference_library_spectrum() -> None:
    scene = hubench.make_scene("variability", seed=7, n_weak=1, **CI)
    spectra, _ = library_on_grid(60)
    names = load_usgs().names
    assert scene.endmember_names is not None
    for k, name in enumerate(scene.endmember_names):
        factor = 0.25 if scene.weak[k] else 1.0
        np.testing.assert_allclose(scene.E[k], factor * spectra[names.index(name)], rtol=1e-12)


# --- nonlinear mixing --------------------------------------------------------------------


def mixture_by_loops(scene: hubench.Scene, parts, n: int, mixing: str, beta: float) -> list[float]:  # type: ignore[no-untyped-def]
    """One pixel of the Fan / GBM / PPNM model, every sum written out."""
    p, n_bands = scene.E.shape
    a = scene.A[n]

    def e(k: int, b: int) -> float:
        return float(parts.spectra[n, k, b]) if parts.spectra is not None else float(scene.E[k, b])

    out = []
    for b in range(n_bands):
        linear = sum(a[k] * e(k, b) for k in range(p))
        if mixing == "ppnm":
            value = linear + parts.coefficients[n] * linear * linear
        else:
            value, q = linear, 0
            for i in range(p):
                for j in range(i + 1, p):
                    gamma = beta if mixing == "fan" else parts.coefficients[n, q]
                    value += gamma * a[i] * a[j] * e(i, b) * e(j, b)
                    q += 1
        out.append(value * (parts.scale[n] if parts.scale is not None else 1.0))
    return out


@pytest.mark.parametrize("mixing", ["fan", "gbm", "ppnm"])
@pytest.mark.parametrize("variability", ["none", "both"])
def test_nonlinear_models_follow_their_formulas(mixing: str, variability: str) -> None:
    beta = 0.7
    scene, parts = generate_with_parts(
        8, mixing=mixing, nonlinearity=beta, variability=variability, **NOISELESS, **CI
    )
    np.testing.assert_array_equal(scene.Y, parts.clean)
    for n in (0, 17, 255):
        np.testing.assert_allclose(scene.Y[n], mixture_by_loops(scene, parts, n, mixing, beta), rtol=1e-12)


@pytest.mark.parametrize("mixing", ["fan", "gbm", "ppnm"])
@pytest.mark.parametrize("variability", ["none", "both"])
def test_nonlinearity_zero_is_the_linear_model_exactly(mixing: str, variability: str) -> None:
    linear = hubench.make_scene("rare", seed=2, variability=variability, snr_db=20.0, **CI)
    zero = hubench.make_scene("rare", seed=2, variability=variability, snr_db=20.0, mixing=mixing,
                              nonlinearity=0.0, **CI)
    np.testing.assert_array_equal(zero.Y, linear.Y)


def test_fan_term_scales_with_the_strength_and_spares_pure_pixels() -> None:
    def term(beta: float) -> tuple[np.ndarray, hubench.Scene]:
        scene = hubench.make_scene("standard", seed=9, mixing="fan", nonlinearity=beta, **NOISELESS, **CI)
        return scene.Y - scene.A @ scene.E, scene

    full, scene = term(1.0)
    half, _ = term(0.5)
    np.testing.assert_allclose(half, 0.5 * full, rtol=1e-10, atol=1e-15)
    assert full.min() >= 0 and full.max() > 0.01  # products of reflectances add energy
    pure = scene.A.max(axis=1) == 1.0
    assert pure.sum() >= 2 * scene.n_endmembers
    np.testing.assert_array_equal(full[pure], 0.0)  # a_i a_j = 0 in a pure pixel


@pytest.mark.parametrize("beta", [0.3, 1.0])
def test_gbm_gammas_and_ppnm_b_are_uniform_in_their_range(beta: float) -> None:
    _, gbm = generate_with_parts(0, mixing="gbm", nonlinearity=beta, **QUICK)
    assert gbm.coefficients is not None and gbm.coefficients.shape == (2500, 10)
    assert gbm.coefficients.min() >= 0 and gbm.coefficients.max() <= beta
    assert abs(gbm.coefficients.mean() - beta / 2) < 0.02 * beta
    assert abs(gbm.coefficients.std() - beta / math.sqrt(12)) < 0.02 * beta
    _, ppnm = generate_with_parts(0, mixing="ppnm", nonlinearity=beta, **QUICK)
    assert ppnm.coefficients is not None and ppnm.coefficients.shape == (2500,)
    assert ppnm.coefficients.min() >= -beta and ppnm.coefficients.max() <= beta
    assert abs(ppnm.coefficients.mean()) < 0.05 * beta
    assert abs(ppnm.coefficients.std() - 2 * beta / math.sqrt(12)) < 0.05 * beta


# --- sensor effects ----------------------------------------------------------------------


@pytest.mark.parametrize(("fraction", "expected"), [(0.001, 1), (0.05, 3), (0.2, 12)])
def test_dead_and_saturated_band_counts(fraction: float, expected: int) -> None:
    scene, parts = generate_with_parts(
        3, dead_bands=fraction, saturated_bands=fraction, snr_db=25.0, **CI
    )
    assert parts.sensor is not None
    dead = np.flatnonzero(np.all(scene.Y == 0.0, axis=0))
    assert dead.size == expected
    at_max = np.mean(scene.Y.max(axis=0) == scene.Y, axis=0)
    saturated = np.flatnonzero((at_max >= 0.5) & ~np.all(scene.Y == 0.0, axis=0))
    assert saturated.size == expected
    assert not set(dead) & set(saturated)
    np.testing.assert_array_equal(dead, parts.sensor.dead)
    np.testing.assert_array_equal(saturated, parts.sensor.saturated)
    recorded = parts.clean + parts.noise
    for b in saturated:  # clipped at the band's median, nothing else touched
        level = np.median(recorded[:, b])
        np.testing.assert_array_equal(scene.Y[:, b], np.minimum(recorded[:, b], level))
    others = np.setdiff1d(np.arange(60), np.concatenate([dead, saturated]))
    np.testing.assert_array_equal(scene.Y[:, others], recorded[:, others])


@pytest.mark.parametrize("amplitude", [0.02, 0.2])
def test_stripes_are_column_offsets_of_the_requested_amplitude(amplitude: float) -> None:
    H, W = 20, 30
    scene = hubench.make_scene(
        "standard", seed=1, stripe_bands=0.1, stripe_amplitude=amplitude, image_shape=(H, W),
        n_bands=60, **NOISELESS,
    )
    X = scene.A @ scene.E
    residual = scene.Y - X
    striped = np.flatnonzero(np.any(residual != 0, axis=0))
    assert striped.size == 6
    for b in striped:
        image = residual[:, b].reshape(H, W)
        np.testing.assert_allclose(image, np.broadcast_to(image[0], (H, W)), atol=1e-14)  # per column
        offsets = image[0]
        assert abs(offsets.mean()) < 1e-14
        rms = math.sqrt(np.mean(X[:, b] ** 2))
        assert abs(offsets.std() - amplitude * rms) < 1e-12


@pytest.mark.parametrize("fraction", [0.001, 0.02])
def test_impulse_fraction_and_values(fraction: float) -> None:
    knobs = {"dead_bands": 0.05, "saturated_bands": 0.05, **NOISELESS, **QUICK}
    base, base_parts = generate_with_parts(2, **knobs)
    scene, parts = generate_with_parts(2, impulse=fraction, **knobs)
    assert parts.sensor is not None and base_parts.sensor is not None
    live = 99 - 5 - 5
    expected = round(fraction * 2500 * live)
    changed = scene.Y != base.Y
    assert changed.sum() in (expected, expected - 1)  # a salt may land on the maximum itself
    assert parts.sensor.impulse_rows.size == expected
    full_scale = (scene.A @ scene.E).max()
    assert set(np.unique(scene.Y[changed])) <= {0.0, full_scale}
    hit_bands = np.unique(np.flatnonzero(changed.any(axis=0)))
    assert not set(hit_bands) & set(parts.sensor.dead) and not set(hit_bands) & set(parts.sensor.saturated)
    zeros = np.mean(parts.sensor.impulse_values == 0.0)
    assert 0.35 < zeros < 0.65


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_gain_drift_has_the_requested_amplitude_and_is_smooth(seed: int) -> None:
    scene = hubench.make_scene("standard", seed=seed, gain_drift=0.08, **NOISELESS, **CI)
    X = scene.A @ scene.E
    gain = scene.Y / X
    np.testing.assert_allclose(gain, np.broadcast_to(gain[0], gain.shape), rtol=1e-12)  # per band
    g = gain[0]
    assert abs(np.max(np.abs(g - 1)) - 0.08) < 1e-12
    roughness = math.sqrt(np.mean(np.diff(g, 2) ** 2)) / np.std(g)
    assert roughness < 0.05  # white noise over bands gives about 2


def test_sensor_draws_are_independent_of_each_other() -> None:
    """Turning impulses on changes neither the stripes nor the gain nor the band choice."""
    knobs = {"stripe_bands": 0.2, "gain_drift": 0.05, "dead_bands": 0.05, **CI}
    _, a = generate_with_parts(5, **knobs)
    _, b = generate_with_parts(5, impulse=0.05, **knobs)
    assert a.sensor is not None and b.sensor is not None
    for field in ("gain", "dead", "striped", "stripe_offsets"):
        np.testing.assert_array_equal(getattr(a.sensor, field), getattr(b.sensor, field))


# --- named scenarios, records, validation ------------------------------------------------


def test_named_effect_scenarios() -> None:
    assert {"variability", "nonlinear", "sensor"} <= set(list_scenarios(kind="synthetic"))
    v = hubench.make_scene("variability", seed=0, profile="ci")
    assert v.params["variability"] == "both" and v.params["variability_strength"] == 0.1
    n = hubench.make_scene("nonlinear", seed=0, profile="ci")
    assert n.params["mixing"] == "gbm" and n.params["nonlinearity"] == 1.0
    s = hubench.make_scene("sensor", seed=0, profile="ci")
    assert s.params["gain_drift"] == 0.05 and s.params["impulse"] == 0.005
    for scene in (v, n, s):
        again = hubench.make_scene(scene.name, seed=0, **json.loads(json.dumps(scene.params)))
        np.testing.assert_array_equal(again.Y, scene.Y)


@pytest.mark.parametrize(
    ("knobs", "fragment"),
    [
        ({"variability": "scale"}, "did you mean 'scaling'"),
        ({"variability": True}, "variability: unknown kind"),
        ({"variability_strength": -0.1}, "variability_strength: must be in \\[0, 1\\]"),
        ({"variability_strength": 1.5}, "variability_strength"),
        ({"variability_strength": "high"}, "variability_strength: expected a number"),
        ({"variability_strength": float("nan")}, "variability_strength"),
        ({"variability_strength": True}, "variability_strength: expected a number"),
        ({"variability_length_scale": -1}, "variability_length_scale"),
        ({"variability_length_scale": float("inf")}, "variability_length_scale: must be a finite number"),
        ({"mixing": "bilinear"}, "linear, fan, gbm, ppnm"),
        ({"mixing": "gbmm"}, "did you mean 'gbm'"),
        ({"nonlinearity": 1.5}, "nonlinearity: must be in \\[0, 1\\]"),
        ({"nonlinearity": -0.2}, "nonlinearity"),
        ({"gain_drift": 1.0}, "gain_drift: must be in \\[0, 1\\)"),
        ({"gain_drift": -0.01}, "gain_drift"),
        ({"stripe_bands": 1.0}, "stripe_bands"),
        ({"stripe_amplitude": -0.1}, "stripe_amplitude"),
        ({"stripe_amplitude": 2.0}, "stripe_amplitude"),
        ({"dead_bands": -0.1}, "dead_bands"),
        ({"saturated_bands": 1}, "saturated_bands"),
        ({"impulse": 1.0}, "impulse: must be in \\[0, 1\\)"),
        ({"impulse": "some"}, "impulse: expected a number"),
        ({"dead_bands": 0.6, "saturated_bands": 0.5}, "leave none working"),
        ({"dead_bands": 0.3, "stripe_bands": 0.9}, "striped bands"),
    ],
)
def test_bad_effect_knobs_refused(knobs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ParameterError, match=fragment):
        hubench.make_scene("standard", seed=0, **{**CI, **knobs})
    with pytest.raises(ParameterError, match=fragment):  # the driver's check, without building
        validate_knobs(**{**CI, **knobs})
