"""The knobs of a synthetic scene, coerced and validated in one place.

Every impossible combination is refused here with a :class:`ParameterError` that names
the knob and says how to fix it, before any random number is drawn.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from hubench.errors import ParameterError, check_param_names, suggest

NOISE_KINDS = ("white", "colored")
ABUNDANCE_KINDS = ("dirichlet", "spatial")
VARIABILITY_KINDS = ("none", "scaling", "spectral", "both")
MIXING_KINDS = ("linear", "fan", "gbm", "ppnm")
PRIOR_MISMATCHES = ("perturbed", "sample", "exact")
LIBRARY_BANDS = 182  # USGS channels left once fill-valued rows and water bands are dropped
# Largest finite SNR. At 200 dB the noise RMS is 1e-10 of the signal's, far above float64
# rounding (about 1e-16 relative): the SNR is met to 1e-7 dB (measured on a ci scene).
# Toward 300 dB the noise reaches rounding level (measured 299.99 dB at 300, 358 dB at
# 340) and 10 ** (snr_db / 10) overflows above about 3080 dB. For no noise use inf.
MAX_SNR_DB = 200.0


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise ParameterError(f"{name}: expected a number, got {value!r}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected a number, got {value!r}") from None


def _integer(name: str, value: Any, minimum: int) -> int:
    number = _number(name, value)
    if not number.is_integer():
        raise ParameterError(f"{name}: expected an integer, got {value!r}")
    if number < minimum:
        raise ParameterError(f"{name}: must be at least {minimum}, got {int(number)}")
    return int(number)


def _in_range(
    name: str, value: Any, lo: float, hi: float, *, open_lo: bool = False, open_hi: bool = False
) -> float:
    """``value`` as a float in the interval; with ``hi = inf`` the number must be finite."""
    number = _number(name, value)
    below = number <= lo if open_lo else number < lo
    above = number >= hi if open_hi else number > hi
    if math.isnan(number) or below or above or math.isinf(number):
        if math.isinf(hi):
            wanted = f"a finite number {'>' if open_lo else '>='} {lo:g}"
        else:
            wanted = f"in {'(' if open_lo else '['}{lo:g}, {hi:g}{')' if open_hi else ']'}"
        raise ParameterError(f"{name}: must be {wanted}, got {value!r}")
    return number


def _snr(name: str, value: Any) -> float:
    """A number of dB up to :data:`MAX_SNR_DB`, or ``inf`` (no noise)."""
    wanted = f"a number of dB up to {MAX_SNR_DB:g}, or inf for no noise"
    try:
        number = _number(name, value)
    except ParameterError:
        raise ParameterError(f"{name}: expected {wanted}, got {value!r}") from None
    if math.isnan(number) or number == -math.inf:
        raise ParameterError(f"{name}: expected {wanted}, got {value!r}")
    if MAX_SNR_DB < number < math.inf:
        raise ParameterError(
            f"{name}: {number:g} dB is above the largest finite SNR, {MAX_SNR_DB:g} dB (near 300 dB "
            "the noise reaches float64 rounding); use inf for a noiseless scene"
        )
    return number


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        hint = suggest(str(value), choices)
        raise ParameterError(f"{name}: unknown kind {value!r}{hint}; choose one of {', '.join(choices)}")
    return str(value)


def _pair(name: str, value: Any) -> tuple[float, float]:
    try:
        lo, hi = (_number(name, v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected a pair (low, high), got {value!r}") from None
    if not 0 < lo <= hi <= 1:
        raise ParameterError(f"{name}: need 0 < low <= high <= 1, got ({lo:g}, {hi:g})")
    return (lo, hi)


@dataclass(frozen=True)
class SyntheticParams:
    """Every knob of a synthetic scene (docs/guide/scenarios.md, "Knobs").

    Sizes: ``n_endmembers``, ``image_shape`` (H, W), ``n_bands`` (band-averaged from the
    182 clean USGS channels). Noise: ``snr_db`` (``inf`` = none), ``noise`` white or
    colored, ``noise_width`` (bell width as a fraction of ``n_bands``). Abundances:
    ``abundance`` dirichlet (``alpha``) or spatial (``length_scale`` pixels, softmax
    ``temperature``); ``max_purity`` ceiling; ``n_pure`` pure pixels per endmember that
    may have them. Library: ``min_angle_deg``. Rare: ``n_rare``, ``rare_prevalence``
    (fraction of pixels), ``rare_abundance`` (range where present),
    ``rare_length_scale`` (blob field). Weak: ``n_weak``, ``weak_albedo`` (spectrum
    scale), ``weak_max_abundance`` (ceiling everywhere).

    Effects (docs/guide/scenarios.md, "Variability, nonlinear mixing and sensor effects"; all off by
    default). Endmember variability: ``variability`` none, scaling (a per-pixel factor),
    spectral (a smooth multiplicative curve per pixel and material) or both, at
    ``variability_strength`` (scaling: standard deviation of the log factor; spectral:
    RMS relative deviation from the reference), spatially smooth over
    ``variability_length_scale`` pixels. Mixing: ``mixing`` linear, fan, gbm or
    ppnm with ``nonlinearity`` (largest bilinear / PPNM coefficient). Sensor, applied
    on top of the Gaussian noise: ``gain_drift`` (largest deviation of a smooth gain
    from 1), ``stripe_bands`` (fraction of bands with column stripes of relative
    amplitude ``stripe_amplitude``), ``dead_bands`` and ``saturated_bands`` (fractions
    of bands), ``impulse`` (fraction of the other bands' entries set to 0 or full scale).

    Priors (what a method of task ``priors`` is given; they never change the scene):
    ``prior_mismatch`` perturbed, sample or exact, ``prior_error`` (RMS relative
    deviation of the perturbation); see :mod:`hubench.datasets.priors`.
    """

    n_endmembers: int = 5
    image_shape: tuple[int, int] = (50, 50)
    n_bands: int = 99
    snr_db: float = 30.0
    noise: str = "white"
    noise_width: float = 0.08
    abundance: str = "dirichlet"
    alpha: float = 1.0
    length_scale: float = 5.0
    temperature: float = 0.3
    max_purity: float = 1.0
    n_pure: int = 0
    min_angle_deg: float = 10.0
    n_rare: int = 0
    rare_prevalence: float = 0.02
    rare_abundance: tuple[float, float] = (0.2, 0.6)
    rare_length_scale: float = 3.0
    n_weak: int = 0
    weak_albedo: float = 0.25
    weak_max_abundance: float = 1.0
    variability: str = "none"
    variability_strength: float = 0.1
    variability_length_scale: float = 5.0
    mixing: str = "linear"
    nonlinearity: float = 1.0
    gain_drift: float = 0.0
    stripe_bands: float = 0.0
    stripe_amplitude: float = 0.05
    dead_bands: float = 0.0
    saturated_bands: float = 0.0
    impulse: float = 0.0
    prior_mismatch: str = "perturbed"
    prior_error: float = 0.05

    @classmethod
    def knob_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_knobs(cls, **knobs: Any) -> SyntheticParams:
        """Coerce and validate ``knobs`` (missing ones take the defaults above)."""
        check_param_names("a synthetic scene", knobs, cls.knob_names())
        raw = {**asdict(cls()), **knobs}
        p = _integer("n_endmembers", raw["n_endmembers"], 2)
        try:
            if isinstance(raw["image_shape"], str):
                raise TypeError
            shape = tuple(_integer("image_shape", s, 1) for s in raw["image_shape"])
        except TypeError:
            raise ParameterError(f"image_shape: expected (H, W), got {raw['image_shape']!r}") from None
        if len(shape) != 2:
            raise ParameterError(f"image_shape: expected two sizes (H, W), got {raw['image_shape']!r}")
        n_bands = _integer("n_bands", raw["n_bands"], 2)
        if n_bands > LIBRARY_BANDS:
            raise ParameterError(
                f"n_bands: at most {LIBRARY_BANDS} (the USGS channels without water bands), got {n_bands}"
            )
        if p >= n_bands:
            raise ParameterError(
                f"n_endmembers: {p} endmembers need more than {p} bands (n_bands={n_bands}); "
                "raise n_bands or lower n_endmembers"
            )
        snr_db = _snr("snr_db", raw["snr_db"])
        params = cls(
            n_endmembers=p,
            image_shape=(shape[0], shape[1]),
            n_bands=n_bands,
            snr_db=snr_db,
            noise=_choice("noise", raw["noise"], NOISE_KINDS),
            noise_width=_in_range("noise_width", raw["noise_width"], 0, math.inf, open_lo=True),
            abundance=_choice("abundance", raw["abundance"], ABUNDANCE_KINDS),
            alpha=_in_range("alpha", raw["alpha"], 0, math.inf, open_lo=True),
            length_scale=_in_range("length_scale", raw["length_scale"], 0, math.inf),
            temperature=_in_range("temperature", raw["temperature"], 0, math.inf, open_lo=True),
            max_purity=_in_range("max_purity", raw["max_purity"], 1.0 / p, 1.0),
            n_pure=_integer("n_pure", raw["n_pure"], 0),
            min_angle_deg=_in_range("min_angle_deg", raw["min_angle_deg"], 0, 90, open_hi=True),
            n_rare=_integer("n_rare", raw["n_rare"], 0),
            rare_prevalence=_in_range("rare_prevalence", raw["rare_prevalence"], 0, 1, open_lo=True),
            rare_abundance=_pair("rare_abundance", raw["rare_abundance"]),
            rare_length_scale=_in_range("rare_length_scale", raw["rare_length_scale"], 0, math.inf),
            n_weak=_integer("n_weak", raw["n_weak"], 0),
            weak_albedo=_in_range("weak_albedo", raw["weak_albedo"], 0, 1, open_lo=True),
            weak_max_abundance=_in_range("weak_max_abundance", raw["weak_max_abundance"], 0, 1, open_lo=True),
            variability=_choice("variability", raw["variability"], VARIABILITY_KINDS),
            variability_strength=_in_range("variability_strength", raw["variability_strength"], 0, 1),
            variability_length_scale=_in_range(
                "variability_length_scale", raw["variability_length_scale"], 0, math.inf
            ),
            mixing=_choice("mixing", raw["mixing"], MIXING_KINDS),
            nonlinearity=_in_range("nonlinearity", raw["nonlinearity"], 0, 1),
            gain_drift=_in_range("gain_drift", raw["gain_drift"], 0, 1, open_hi=True),
            stripe_bands=_in_range("stripe_bands", raw["stripe_bands"], 0, 1, open_hi=True),
            stripe_amplitude=_in_range("stripe_amplitude", raw["stripe_amplitude"], 0, 1),
            dead_bands=_in_range("dead_bands", raw["dead_bands"], 0, 1, open_hi=True),
            saturated_bands=_in_range("saturated_bands", raw["saturated_bands"], 0, 1, open_hi=True),
            impulse=_in_range("impulse", raw["impulse"], 0, 1, open_hi=True),
            prior_mismatch=_choice("prior_mismatch", raw["prior_mismatch"], PRIOR_MISMATCHES),
            prior_error=_in_range("prior_error", raw["prior_error"], 0, 1),
        )
        params._check_combinations()
        return params

    @property
    def n_pixels(self) -> int:
        return self.image_shape[0] * self.image_shape[1]

    @property
    def rare_pixels(self) -> int:
        """Pixels in each rare blob: ``round(rare_prevalence * n_pixels)``, at least 1."""
        return max(1, round(self.rare_prevalence * self.n_pixels))

    @property
    def weak_ceiling(self) -> float:
        return min(self.weak_max_abundance, self.max_purity)

    def _band_count(self, fraction: float) -> int:
        """``round(fraction * n_bands)`` bands, at least one when ``fraction > 0``."""
        return 0 if fraction == 0 else max(1, round(fraction * self.n_bands))

    @property
    def dead_band_count(self) -> int:
        return self._band_count(self.dead_bands)

    @property
    def saturated_band_count(self) -> int:
        return self._band_count(self.saturated_bands)

    @property
    def stripe_band_count(self) -> int:
        return self._band_count(self.stripe_bands)

    @property
    def live_band_count(self) -> int:
        """Bands that are neither dead nor saturated."""
        return self.n_bands - self.dead_band_count - self.saturated_band_count

    @property
    def impulse_count(self) -> int:
        """Impulse entries: ``round(impulse * n_pixels * live bands)``, at least one when
        ``impulse > 0``."""
        entries = self.n_pixels * self.live_band_count
        return 0 if self.impulse == 0 else max(1, round(self.impulse * entries))

    @property
    def spectral_variability(self) -> bool:
        return self.variability in ("spectral", "both") and self.variability_strength > 0

    @property
    def scaling_variability(self) -> bool:
        return self.variability in ("scaling", "both") and self.variability_strength > 0

    @property
    def sensor_effects(self) -> bool:
        """Any sensor effect on (a gain drift, stripes, dead or saturated bands, impulses)."""
        return bool(
            self.gain_drift or self.stripe_band_count or self.dead_band_count
            or self.saturated_band_count or self.impulse_count
        )

    def _check_combinations(self) -> None:
        p = self.n_endmembers
        if self.n_rare + self.n_weak > p - 1:
            raise ParameterError(
                f"n_rare + n_weak: {self.n_rare} + {self.n_weak} leaves no ordinary endmember "
                f"among n_endmembers={p}; lower them or raise n_endmembers"
            )
        n_normal = p - self.n_rare - self.n_weak
        if n_normal * self.max_purity + self.n_weak * self.weak_ceiling < 1 - 1e-12:
            raise ParameterError(
                f"max_purity={self.max_purity:g} and weak_max_abundance={self.weak_max_abundance:g} "
                f"over {n_normal} ordinary and {self.n_weak} weak endmembers cannot sum to one; "
                "raise the ceilings"
            )
        hi = self.rare_abundance[1]
        if self.n_rare and hi > self.max_purity:
            raise ParameterError(
                f"rare_abundance: its high end {hi:g} exceeds max_purity={self.max_purity:g}; lower it"
            )
        if self.n_pure and self.max_purity < 1:
            raise ParameterError(
                f"n_pure={self.n_pure} asks for pure pixels but max_purity={self.max_purity:g} < 1 "
                "forbids them; set n_pure=0 or max_purity=1"
            )
        free = self.n_pixels - self.n_rare * self.rare_pixels
        if free < 0:
            raise ParameterError(
                f"n_rare={self.n_rare} blobs of {self.rare_pixels} pixels do not fit in "
                f"{self.n_pixels} pixels; lower rare_prevalence or n_rare"
            )
        pure_endmembers = n_normal + (self.n_weak if self.weak_ceiling >= 1 else 0)
        if self.n_pure * pure_endmembers > free:
            raise ParameterError(
                f"n_pure={self.n_pure} pure pixels for {pure_endmembers} endmembers do not fit in "
                f"the {free} pixels outside rare blobs; lower n_pure or enlarge image_shape"
            )
        dead, saturated = self.dead_band_count, self.saturated_band_count
        if dead + saturated >= self.n_bands:
            raise ParameterError(
                f"dead_bands={self.dead_bands:g} and saturated_bands={self.saturated_bands:g} take "
                f"{dead} + {saturated} of the {self.n_bands} bands and leave none working; lower them"
            )
        if self.stripe_band_count > self.live_band_count:
            raise ParameterError(
                f"stripe_bands={self.stripe_bands:g} asks for {self.stripe_band_count} striped bands but "
                f"only {self.live_band_count} of the {self.n_bands} bands are neither dead nor "
                "saturated; lower stripe_bands, dead_bands or saturated_bands"
            )

    def check_library(self, n_available: int) -> None:
        """Refuse when the pruned library has fewer spectra than ``n_endmembers``."""
        if n_available < self.n_endmembers:
            raise ParameterError(
                f"min_angle_deg={self.min_angle_deg:g} leaves {n_available} USGS spectra on the "
                f"{self.n_bands}-band grid, fewer than n_endmembers={self.n_endmembers}; "
                "lower min_angle_deg or n_endmembers"
            )

    def to_dict(self) -> dict[str, Any]:
        """All knobs as JSON-serialisable values (tuples become lists)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, np.generic):
                value = value.item()
            out[key] = value
        return out
