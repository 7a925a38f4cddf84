"""Synthetic scenes: USGS endmembers, controlled abundances and exact-SNR noise.

:func:`generate` turns a :class:`SyntheticParams` (every knob of docs/guide/scenarios.md,
"Synthetic scenarios") and a seed into a :class:`~hubench.scene.Scene`. It is a pure
function of both: the scene's randomness comes from ``numpy.random.default_rng(seed)``,
drawn in a fixed order (endmembers, roles, rare blobs, abundances, pure pixels, noise),
so the same seed gives the same ``A`` and ``E`` at every ``snr_db``. The optional effects
(endmember variability, nonlinear mixing, sensor effects; :mod:`.synthetic_effects`)
each draw from their own stream ``default_rng([seed, k])``, so they leave that order,
and every scene made without them, untouched. Everything is vectorised over pixels.
The choices (band averaging, mixing toward an interior point for ceilings, top-k blobs
for rare endmembers, the colored-noise profile, the effects) are in docs/guide/scenarios.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from hubench.datasets.priors import synthetic_priors
from hubench.datasets.synthetic_effects import (
    SensorParts,
    apply_sensor,
    knot_factors,
    mix,
    mixing_coefficients,
    pixel_spectra,
    scaling_factors,
    smooth_fields,
)
from hubench.datasets.synthetic_params import SyntheticParams
from hubench.datasets.usgs import library_on_grid, load_usgs, pruned_indices
from hubench.errors import ParameterError
from hubench.scene import Scene

__all__ = [
    "SceneParts",
    "SyntheticParams",
    "add_noise",
    "cap_abundances",
    "compose",
    "generate",
    "generate_with_parts",
    "measured_snr_db",
    "smooth_fields",
    "validate_knobs",
]


def cap_abundances(A: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Enforce ``A[:, k] <= caps[k]`` while staying on the simplex.

    Each offending pixel is mixed toward the interior point ``v = caps / sum(caps)``:
    ``a' = lam * a + (1 - lam) * v`` with the largest ``lam`` in [0, 1] that meets every
    ceiling. Pixels within their ceilings are left untouched. With equal ceilings ``v``
    is the uniform vector. Needs ``sum(caps) >= 1``.

    Parameters
    ----------
    A : ndarray, shape (n_pixels, n_endmembers)
        Rows on the simplex.
    caps : ndarray, shape (n_endmembers,)

    Returns
    -------
    ndarray, shape (n_pixels, n_endmembers)
    """
    caps = np.asarray(caps, dtype=np.float64)
    v = caps / caps.sum()
    over = caps < A
    if not over.any():
        return A
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(over, (caps - v) / (A - v), np.inf)
    lam = np.minimum(1.0, ratio.min(axis=1))[:, None]
    mixed = lam * A + (1.0 - lam) * v
    return np.minimum(mixed, caps)  # the ceiling holds exactly, not just up to rounding


def base_abundances(rng: np.random.Generator, params: SyntheticParams, n_common: int) -> np.ndarray:
    """Abundances of the common (non-rare) endmembers, shape ``(n_pixels, n_common)``."""
    n_pixels = params.image_shape[0] * params.image_shape[1]
    if params.abundance == "dirichlet":
        return rng.dirichlet(np.full(n_common, params.alpha), size=n_pixels)
    logits = smooth_fields(rng, n_common, params.image_shape, params.length_scale).T
    logits = logits / params.temperature
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    return weights / weights.sum(axis=1, keepdims=True)


def rare_layers(
    rng: np.random.Generator, params: SyntheticParams
) -> tuple[np.ndarray, np.ndarray]:
    """Disjoint compact blobs for the rare endmembers and their abundances.

    Each blob is the top ``params.rare_pixels`` pixels of a smooth random field (length
    scale ``rare_length_scale``), among pixels no earlier blob took; within it the rare
    abundance is uniform in ``rare_abundance``.

    Returns
    -------
    values : ndarray, shape (n_pixels, n_rare)
        Rare abundances, zero outside each blob.
    taken : ndarray of bool, shape (n_pixels,)
        Pixels inside some blob.
    """
    n_pixels = params.image_shape[0] * params.image_shape[1]
    values = np.zeros((n_pixels, params.n_rare))
    taken = np.zeros(n_pixels, dtype=bool)
    if params.n_rare == 0:
        return values, taken
    fields = smooth_fields(rng, params.n_rare, params.image_shape, params.rare_length_scale)
    lo, hi = params.rare_abundance
    for j in range(params.n_rare):  # a few rare endmembers, each one vectorised over pixels
        score = np.where(taken, -np.inf, fields[j])
        blob = np.argsort(-score, kind="stable")[: params.rare_pixels]
        values[blob, j] = rng.uniform(lo, hi, size=blob.size)
        taken[blob] = True
    return values, taken


def add_noise(
    rng: np.random.Generator, X: np.ndarray, snr_db: float, kind: str, width: float
) -> np.ndarray:
    """Zero-mean Gaussian noise rescaled so that ``10 log10(sum X^2 / sum N^2) == snr_db``.

    ``kind="colored"`` gives band ``b`` of ``n_bands`` the variance profile
    ``exp(-(b - (n_bands - 1) / 2)^2 / (2 eta^2))`` with ``eta = width * n_bands`` (the
    bell shape of the VCA paper's experiments). ``snr_db = inf`` returns zeros.

    Returns
    -------
    ndarray, shape of ``X``
    """
    if np.isinf(snr_db):
        return np.zeros_like(X)
    noise = rng.standard_normal(X.shape)
    if kind == "colored":
        bands = np.arange(X.shape[1])
        eta = width * X.shape[1]
        noise *= np.sqrt(np.exp(-((bands - (X.shape[1] - 1) / 2) ** 2) / (2 * eta**2)))
    target = np.sum(X**2) / 10 ** (snr_db / 10)
    return noise * np.sqrt(target / np.sum(noise**2))


def measured_snr_db(X: np.ndarray, Y: np.ndarray) -> float:
    """``10 log10(sum X^2 / sum (Y - X)^2)`` in dB (``inf`` when ``Y == X``)."""
    energy = float(np.sum((Y - X) ** 2))
    return float("inf") if energy == 0 else float(10 * np.log10(np.sum(X**2) / energy))


def validate_knobs(**knobs: Any) -> SyntheticParams:
    """Every check :func:`generate` makes before drawing, without building the scene:
    the knobs (:meth:`SyntheticParams.from_knobs`) and the size of the pruned library
    (:meth:`SyntheticParams.check_library`). Raises :class:`ParameterError`."""
    params = SyntheticParams.from_knobs(**knobs)
    params.check_library(len(pruned_indices(params.n_bands, params.min_angle_deg)))
    return params


@dataclass(frozen=True, eq=False)
class SceneParts:
    """The pieces of a synthetic scene that its :class:`Scene` does not hold.

    ``clean`` is the noise-free signal (after variability and mixing): the reference of
    the SNR, ``10 log10(sum clean^2 / sum noise^2) == snr_db``. ``noise`` is the
    Gaussian noise; without sensor effects ``Y == clean + noise``. ``E`` is the scene's
    reference spectra; ``knots`` the lognormal knot values ``(n_pixels, p, n_knots)``
    of spectral variability (else None; :attr:`spectra` gives the per-pixel spectra),
    ``scale`` the per-pixel factors of scaling variability (else None),
    ``coefficients`` the GBM gammas ``(n_pixels, n_pairs)`` or PPNM ``b (n_pixels,)``
    (else None), ``sensor`` what the sensor stage did (else None).
    """

    clean: np.ndarray
    noise: np.ndarray
    E: np.ndarray
    knots: np.ndarray | None = None
    scale: np.ndarray | None = None
    coefficients: np.ndarray | None = None
    sensor: SensorParts | None = None

    @cached_property
    def spectra(self) -> np.ndarray | None:
        """Per-pixel endmember spectra ``(n_pixels, p, n_bands)`` under spectral
        variability (before the per-pixel scaling), else None."""
        return None if self.knots is None else pixel_spectra(self.E, self.knots)


def generate(seed: int, *, name: str = "synthetic", **knobs: Any) -> Scene:
    """Build one synthetic scene.

    Parameters
    ----------
    seed : int
        Seed of ``numpy.random.default_rng``.
    name : str
        The scene's name (the scenario that built it).
    **knobs
        Any field of :class:`SyntheticParams`; unknown names and impossible values raise
        :class:`~hubench.errors.ParameterError`.

    Returns
    -------
    Scene
        ``Y = A @ E + N`` with ``A (H*W, p)``, ``E (p, n_bands)`` (with the effects on,
        ``Y`` is the variable, nonlinear, sensor-distorted image and ``A``, ``E`` stay
        the linear abundances and reference spectra; docs/guide/scenarios.md); ``weak`` flags the
        weak and rare endmembers; ``params`` holds every resolved knob
        (JSON-serialisable).
    """
    return generate_with_parts(seed, name=name, **knobs)[0]


def generate_with_parts(seed: int, *, name: str = "synthetic", **knobs: Any) -> tuple[Scene, SceneParts]:
    """:func:`generate`, also returning the :class:`SceneParts` (clean signal, noise,
    per-pixel spectra and factors, mixing coefficients, sensor stage)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed: expected a non-negative integer, got {seed!r}")
    seed = int(seed)
    params = validate_knobs(**knobs)
    candidates = pruned_indices(params.n_bands, params.min_angle_deg)
    spectra, wavelengths = library_on_grid(params.n_bands)
    rng = np.random.default_rng(seed)

    chosen = rng.choice(candidates, size=params.n_endmembers, replace=False)
    names = load_usgs().names
    return compose(
        rng, seed, params, spectra[chosen], tuple(names[i] for i in chosen),
        name=name, wavelengths=wavelengths, chosen=chosen,
    )


def _library_and_names(n_bands: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """The USGS library on the scene's band grid and its sample names."""
    return library_on_grid(n_bands)[0], tuple(load_usgs().names)


def compose(
    rng: np.random.Generator,
    seed: int,
    params: SyntheticParams,
    spectra: np.ndarray,
    names: tuple[str, ...],
    *,
    name: str,
    wavelengths: np.ndarray,
    chosen: np.ndarray,
) -> tuple[Scene, SceneParts]:
    """The scene of :func:`generate_with_parts` once its endmember ``spectra``
    ``(p, n_bands)`` (before the weak albedo) are drawn: roles, abundances, effects and
    noise, drawn from ``rng`` in that order. The library scenes
    (:mod:`hubench.datasets.library_scenes`) draw their endmembers their own way and
    share the rest. ``chosen``: the USGS index of each endmember (the priors' ``sample``
    mismatch looks for other samples of the same material)."""
    p = params.n_endmembers
    roles = rng.permutation(p)
    rare = np.sort(roles[: params.n_rare])
    weak = np.sort(roles[params.n_rare : params.n_rare + params.n_weak])
    common = np.setdiff1d(np.arange(p), rare)

    rare_values, taken = rare_layers(rng, params)
    caps = np.where(np.isin(common, weak), params.weak_ceiling, params.max_purity)
    base = cap_abundances(base_abundances(rng, params, common.size), caps)
    pure_columns = np.flatnonzero(caps >= 1.0) if params.n_pure else np.empty(0, dtype=int)
    if pure_columns.size:
        free = np.flatnonzero(~taken)
        pixels = rng.choice(free, size=(pure_columns.size, params.n_pure), replace=False)
        base[pixels] = 0.0
        base[pixels, pure_columns[:, None]] = 1.0

    A = np.zeros((base.shape[0], p))
    A[:, rare] = rare_values
    A[:, common] = base * (1.0 - rare_values.sum(axis=1, keepdims=True))
    E = np.array(spectra, dtype=np.float64)
    E[weak] *= params.weak_albedo

    # The effects draw from their own streams; the main generator is left for the noise.
    knots = knot_factors(seed, params, p) if params.spectral_variability else None
    coefficients = mixing_coefficients(seed, params, A.shape[0], p)
    X = mix(A, E, knots, params.mixing, params.nonlinearity, coefficients)  # A @ E without effects
    scale = scaling_factors(seed, params) if params.scaling_variability else None
    if scale is not None:
        X *= scale[:, None]
    N = add_noise(rng, X, params.snr_db, params.noise, params.noise_width)
    Y = X + N
    sensor = None
    if params.sensor_effects:
        Y, sensor = apply_sensor(seed, params, X, Y)

    flags = np.zeros(p, dtype=bool)
    flags[rare] = True
    flags[weak] = True
    scene = Scene(
        Y=Y,
        A=A,
        E=E,
        image_shape=params.image_shape,
        weak=flags,
        name=name,
        params=params.to_dict(),
        seed=seed,
        wavelengths=wavelengths,
        endmember_names=names,
        priors=synthetic_priors(seed, params.prior_mismatch, params.prior_error, E, flags,
                                np.asarray(chosen), *_library_and_names(params.n_bands)),
    )
    return scene, SceneParts(
        clean=X, noise=N, E=E, knots=knots, scale=scale, coefficients=coefficients, sensor=sensor
    )
