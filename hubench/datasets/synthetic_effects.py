"""Endmember variability, nonlinear mixing and sensor effects of synthetic scenes.

The definitions are in docs/guide/scenarios.md ("Variability, nonlinear mixing and sensor effects").
In short, for pixel ``n``, band ``b`` and the scene's reference endmembers ``E``:

- spectral variability: pixel ``n`` sees material ``k`` as ``e_nk = E_k * m_nk``,
  ``m_nk = sum_j M_nkj w_j`` a smooth positive curve over the bands that interpolates
  lognormal values ``M_nkj`` (mean 1) at knots spread over the band range
  (:func:`band_weights`), scaled so that its RMS relative deviation from 1 is ``s``;
  scaling: the pixel is multiplied by ``psi_n = exp(s * z_n - s^2 / 2)``, ``z`` a
  standardised smooth field;
- mixing: ``x_n = sum_k a_nk e_nk`` plus, for ``fan`` and ``gbm``,
  ``sum_{i<j} c_nij a_ni a_nj e_ni * e_nj`` (:func:`bilinear_term`,
  :func:`bilinear_mixture`), or for ``ppnm`` ``x_n + b_n x_n^2`` (elementwise);
- sensor (:func:`apply_sensor`): a smooth band gain, column stripes, impulses,
  saturated and dead bands, applied to the noisy image.

Every effect draws from its own stream ``numpy.random.default_rng([seed, STREAM])``
(:func:`effect_rng`), never from the scene's main generator: with every effect off a
scene is bit for bit what it was before the effects existed, and turning one effect on
changes neither ``A``, ``E``, the Gaussian noise draw nor another effect's draw.
Everything is vectorised over pixels (endmember pairs are index arrays, not loops).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter

from hubench.datasets.synthetic_params import SyntheticParams

# One stream per effect (the second entry of the seed sequence [seed, STREAM]).
STREAM_SCALING = 1
STREAM_SPECTRAL = 2
STREAM_MIXING = 3
STREAM_BANDS = 4
STREAM_STRIPES = 5
STREAM_IMPULSE = 6
STREAM_GAIN = 7
# Smooth curves over the bands interpolate values at knots spaced evenly over the band
# range (VARIABILITY_KNOTS or GAIN_KNOTS of them from the first band to the last, plus
# GUARD_KNOTS beyond each end so that the curve is equally variable at every band):
# spectral variability varies over about a seventh of the range, the gain drift a third.
VARIABILITY_KNOTS = 8
GAIN_KNOTS = 4
GUARD_KNOTS = 2


def effect_rng(seed: int, stream: int) -> np.random.Generator:
    """The generator of one effect: ``default_rng([seed, stream])``, independent of the
    scene's ``default_rng(seed)``."""
    return np.random.default_rng([seed, stream])


def smooth_fields(
    rng: np.random.Generator, n_fields: int, image_shape: tuple[int, int], length_scale: float
) -> np.ndarray:
    """Standardised Gaussian random fields, shape ``(n_fields, H * W)``.

    White noise smoothed by a Gaussian of standard deviation ``length_scale`` pixels
    (0 = no smoothing), then shifted and scaled to zero mean and unit variance per field
    (a constant field, e.g. one pixel, is left at zero).
    """
    fields = rng.standard_normal((n_fields, *image_shape))
    if length_scale > 0:
        fields = gaussian_filter(fields, sigma=(0.0, length_scale, length_scale), mode="reflect")
    fields = fields.reshape(n_fields, -1)
    fields -= fields.mean(axis=1, keepdims=True)
    std = fields.std(axis=1, keepdims=True)
    return fields / np.where(std > 0, std, 1.0)


def band_weights(n_bands: int, n_knots: int) -> np.ndarray:
    """Weights that interpolate values at knots into a smooth curve over the bands.

    The knots sit at ``t_j = j d`` for ``j = -GUARD_KNOTS .. n_knots - 1 + GUARD_KNOTS``
    with ``d = 1 / (n_knots - 1)`` (``t = 0`` the first band, ``t = 1`` the last), band
    ``b`` at ``t_b = b / (n_bands - 1)``; ``w_j(b)`` is proportional to
    ``exp(-(t_b - t_j)^2 / (2 d^2))`` and the weights of each band sum to one (a
    normalised Gaussian kernel smoother). A curve ``sum_j v_j w_j`` of values ``v_j`` is
    positive when they are, has their mean when they share one, and with independent
    values of variance ``V`` has variance ``V sum_j w_j(b)^2``, the same at every band
    to within 1% thanks to the guard knots.

    Returns
    -------
    ndarray, shape (n_knots + 2 * GUARD_KNOTS, n_bands)
    """
    t = np.arange(n_bands) / max(n_bands - 1, 1)
    d = 1.0 / (n_knots - 1)
    knots = d * np.arange(-GUARD_KNOTS, n_knots + GUARD_KNOTS)
    kernel = np.exp(-((t[None, :] - knots[:, None]) ** 2) / (2 * d**2))
    return kernel / kernel.sum(axis=0, keepdims=True)


def scaling_factors(seed: int, params: SyntheticParams) -> np.ndarray:
    """Per-pixel factors ``psi = exp(s z - s^2 / 2)``, shape ``(n_pixels,)``.

    ``z`` is one standardised smooth field (:func:`smooth_fields`, length scale
    ``variability_length_scale``), so ``log psi`` has mean ``-s^2/2`` and standard
    deviation ``s = variability_strength`` exactly over the image, and ``E[psi] = 1``.
    """
    s = params.variability_strength
    z = smooth_fields(effect_rng(seed, STREAM_SCALING), 1, params.image_shape, params.variability_length_scale)
    return np.exp(s * z[0] - s**2 / 2)


def knot_log_std(strength: float, weights: np.ndarray) -> float:
    """The standard deviation ``sigma`` of the log knot values for which the curves
    ``m = sum_j M_j w_j``, ``M_j = exp(sigma c_j - sigma^2 / 2)``, ``c_j`` independent
    standard normal, have RMS relative deviation ``strength``: ``E[(m - 1)^2]`` averaged
    over the bands is ``(exp(sigma^2) - 1) mean_b sum_j w_j(b)^2 = strength^2``."""
    spread = float(np.mean(np.sum(weights**2, axis=0)))
    return float(np.sqrt(np.log1p(strength**2 / spread)))


def knot_factors(seed: int, params: SyntheticParams, n_endmembers: int) -> np.ndarray:
    """The lognormal knot values ``M``, shape ``(n_pixels, p, n_knots)`` (guards included).

    ``M_nkj = exp(sigma c_nkj - sigma^2 / 2)`` with ``sigma`` from :func:`knot_log_std`;
    each ``c_.kj`` is a standardised smooth field over the image (length scale
    ``variability_length_scale``; 0 = independent pixels). The spectrum of material
    ``k`` at pixel ``n`` is ``E_k * (M_nk @ band_weights)`` (:func:`pixel_spectra`): a
    smooth positive curve of mean 1, so the reference ``E_k`` is the expected spectrum.
    """
    weights = band_weights(params.n_bands, VARIABILITY_KNOTS)
    n_knots = weights.shape[0]
    sigma = knot_log_std(params.variability_strength, weights)
    fields = smooth_fields(
        effect_rng(seed, STREAM_SPECTRAL), n_endmembers * n_knots, params.image_shape,
        params.variability_length_scale,
    )  # (p * knots, n_pixels): field k * n_knots + j is c_.kj
    logs = np.ascontiguousarray(fields.T).reshape(-1, n_endmembers, n_knots)
    logs *= sigma
    logs -= sigma**2 / 2
    return np.exp(logs, out=logs)


def pixel_spectra(E: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Per-pixel spectra ``e_nk = E_k * (M_nk @ w)``, shape ``(n_pixels, p, n_bands)``."""
    n_pixels, p, n_knots = knots.shape
    weights = band_weights(E.shape[1], n_knots - 2 * GUARD_KNOTS)
    spectra = (knots.reshape(-1, n_knots) @ weights).reshape(n_pixels, p, -1)
    spectra *= E
    return spectra


def endmember_pairs(n_endmembers: int) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``i < j`` in lexicographic order (the column order of the GBM gammas)."""
    i, j = np.triu_indices(n_endmembers, k=1)
    return i, j


def linear_mixture(A: np.ndarray, spectra: np.ndarray) -> np.ndarray:
    """``x_n = sum_k a_nk e_nk``: ``A @ spectra`` for shared spectra ``(p, bands)``, a
    batched product for per-pixel spectra ``(n, p, bands)``."""
    if spectra.ndim == 2:
        return A @ spectra
    return np.matmul(A[:, None, :], spectra)[:, 0, :]


def variable_linear_mixture(A: np.ndarray, E: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """``sum_k a_nk E_k * (M_nk @ w)`` without forming the per-pixel spectra:
    ``sum_{k,j} (a_nk M_nkj) (E_k w_j)``, one product of ``(n, p * knots)`` by
    ``(p * knots, bands)``."""
    n_pixels, p, n_knots = knots.shape
    weights = band_weights(E.shape[1], n_knots - 2 * GUARD_KNOTS)
    left = (A[:, :, None] * knots).reshape(n_pixels, p * n_knots)
    right = (E[:, None, :] * weights[None, :, :]).reshape(p * n_knots, -1)
    return left @ right


def bilinear_term(A: np.ndarray, spectra: np.ndarray, coefficients: np.ndarray | float) -> np.ndarray:
    """``sum_{i<j} c_nij a_ni a_nj e_ni * e_nj`` for shared spectra, shape ``(n_pixels, n_bands)``.

    Parameters
    ----------
    A : ndarray, shape (n_pixels, p)
    spectra : ndarray, shape (p, n_bands)
    coefficients : float or ndarray, shape (n_pixels, n_pairs)
        One coefficient for every pixel and pair (Fan's scale) or one per pixel and pair
        (GBM's gammas), pairs in :func:`endmember_pairs` order.
    """
    i, j = endmember_pairs(A.shape[1])
    weights = coefficients * A[:, i] * A[:, j]  # (n_pixels, n_pairs)
    return weights @ (spectra[i] * spectra[j])


def bilinear_mixture(A: np.ndarray, spectra: np.ndarray, coefficients: np.ndarray | float) -> np.ndarray:
    """``sum_k a_nk e_nk + sum_{i<j} c_nij a_ni a_nj e_ni * e_nj`` for per-pixel spectra
    ``(n_pixels, p, n_bands)`` (coefficients as in :func:`bilinear_term`).

    With the strictly upper-triangular ``U_n[i, j] = c_nij a_ni a_nj`` the pixel is
    ``sum_k e_nk * (a_nk + (U_n @ S_n)[k])``: one batched product over the pixels.
    """
    n_pixels, p = A.shape
    i, j = endmember_pairs(p)
    U = np.zeros((n_pixels, p, p))
    U[:, i, j] = coefficients * A[:, i] * A[:, j]
    partners = np.matmul(U, spectra)
    partners += A[:, :, None]
    return np.einsum("nkb,nkb->nb", spectra, partners)


def mixing_coefficients(seed: int, params: SyntheticParams, n_pixels: int, n_endmembers: int) -> np.ndarray | None:
    """The random coefficients of the mixing model: GBM ``gamma ~ U(0, beta)`` per pixel
    and pair ``(n_pixels, n_pairs)``, PPNM ``b ~ U(-beta, beta)`` per pixel
    ``(n_pixels,)``; None for linear and Fan (whose scale is ``beta`` itself) and when
    ``beta = 0`` (linear mixing)."""
    beta = params.nonlinearity
    if beta == 0:
        return None
    if params.mixing == "gbm":
        n_pairs = n_endmembers * (n_endmembers - 1) // 2
        return effect_rng(seed, STREAM_MIXING).uniform(0.0, beta, size=(n_pixels, n_pairs))
    if params.mixing == "ppnm":
        return effect_rng(seed, STREAM_MIXING).uniform(-beta, beta, size=n_pixels)
    return None


def mix(
    A: np.ndarray, E: np.ndarray, knots: np.ndarray | None, mixing: str, beta: float,
    coefficients: np.ndarray | None,
) -> np.ndarray:
    """The noise-free pixels under ``mixing`` (linear, fan, gbm or ppnm) of the reference
    spectra ``E``, or of the per-pixel spectra ``E_k * (M_nk @ w)`` when ``knots`` (the
    :func:`knot_factors`) are given. ``beta = 0`` or linear mixing is the linear model,
    computed as ``A @ E`` (bit for bit the scene without effects) or
    :func:`variable_linear_mixture`."""
    if mixing == "linear" or beta == 0:
        return A @ E if knots is None else variable_linear_mixture(A, E, knots)
    if mixing == "ppnm":
        assert coefficients is not None
        linear = A @ E if knots is None else variable_linear_mixture(A, E, knots)
        return linear + coefficients[:, None] * linear**2
    scale = beta if mixing == "fan" else coefficients
    assert scale is not None
    if knots is None:
        return A @ E + bilinear_term(A, E, scale)
    return bilinear_mixture(A, pixel_spectra(E, knots), scale)


@dataclass(frozen=True, eq=False)
class SensorParts:
    """What the sensor stage did (:func:`apply_sensor`); band indices are sorted.

    ``gain`` (n_bands,) multiplies every band; ``striped`` bands get
    ``stripe_offsets[s, c]`` added to every pixel of image column ``c``; ``impulse_rows``
    and ``impulse_bands`` are the impulse entries, set to ``impulse_values`` (0 or
    ``full_scale``); ``saturated`` bands are clipped at ``saturation_levels``; ``dead``
    bands read 0.
    """

    gain: np.ndarray
    dead: np.ndarray
    saturated: np.ndarray
    striped: np.ndarray
    stripe_offsets: np.ndarray
    impulse_rows: np.ndarray
    impulse_bands: np.ndarray
    impulse_values: np.ndarray
    full_scale: float
    saturation_levels: np.ndarray


def gain_curve(seed: int, params: SyntheticParams) -> np.ndarray:
    """``1 + gain_drift * h`` with ``h`` a smooth curve (standard normal values at
    :data:`GAIN_KNOTS` knots, :func:`band_weights`) scaled to ``max |h| = 1``: the
    largest deviation from 1 is exactly ``gain_drift``."""
    if params.gain_drift == 0:
        return np.ones(params.n_bands)
    weights = band_weights(params.n_bands, GAIN_KNOTS)
    h = effect_rng(seed, STREAM_GAIN).standard_normal(weights.shape[0]) @ weights
    return 1.0 + params.gain_drift * h / np.abs(h).max()


def apply_sensor(seed: int, params: SyntheticParams, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, SensorParts]:
    """The sensor stage on the noisy image ``Y`` (``X`` is the clean signal), in order:

    1. gain: band ``b`` is multiplied by ``gain[b]`` (:func:`gain_curve`);
    2. stripes: each striped band gets one offset per image column, standardised over
       the columns to zero mean and standard deviation ``stripe_amplitude`` times the
       band's RMS clean signal ``sqrt(mean_n X[n, b]^2)``;
    3. impulses: ``params.impulse_count`` distinct entries of the live bands (neither
       dead nor saturated) are set to 0 or to the full scale ``max X`` (a fair coin);
    4. saturation: each saturated band is clipped at its median over the pixels (the
       brighter half of the pixels reads one value);
    5. dead bands read 0.

    Dead, saturated and striped bands are disjoint: one permutation of the bands gives
    first the dead, then the saturated, then the striped ones.
    """
    n_pixels, n_bands = Y.shape
    order = effect_rng(seed, STREAM_BANDS).permutation(n_bands)
    n_dead, n_sat, n_stripe = params.dead_band_count, params.saturated_band_count, params.stripe_band_count
    dead = np.sort(order[:n_dead])
    saturated = np.sort(order[n_dead : n_dead + n_sat])
    striped = np.sort(order[n_dead + n_sat : n_dead + n_sat + n_stripe])

    gain = gain_curve(seed, params)
    Y = Y * gain

    width = params.image_shape[1]
    offsets = np.zeros((striped.size, width))
    if striped.size:
        raw = effect_rng(seed, STREAM_STRIPES).standard_normal((striped.size, width))
        raw -= raw.mean(axis=1, keepdims=True)
        std = raw.std(axis=1, keepdims=True)
        rms = np.sqrt(np.mean(X[:, striped] ** 2, axis=0))[:, None]
        offsets = raw / np.where(std > 0, std, 1.0) * params.stripe_amplitude * rms
        columns = np.arange(n_pixels) % width
        Y[:, striped] += offsets[:, columns].T

    full_scale = float(X.max())
    live = np.setdiff1d(np.arange(n_bands), np.concatenate([dead, saturated]))
    rows = bands = np.empty(0, dtype=np.int64)
    values = np.empty(0)
    if params.impulse_count:
        rng = effect_rng(seed, STREAM_IMPULSE)
        flat = rng.choice(n_pixels * live.size, size=params.impulse_count, replace=False)
        rows, bands = flat // live.size, live[flat % live.size]
        values = np.where(rng.random(flat.size) < 0.5, 0.0, full_scale)
        Y[rows, bands] = values

    levels = np.median(Y[:, saturated], axis=0)
    Y[:, saturated] = np.minimum(Y[:, saturated], levels)
    Y[:, dead] = 0.0
    return Y, SensorParts(
        gain=gain, dead=dead, saturated=saturated, striped=striped, stripe_offsets=offsets,
        impulse_rows=rows, impulse_bands=bands, impulse_values=values, full_scale=full_scale,
        saturation_levels=levels,
    )
