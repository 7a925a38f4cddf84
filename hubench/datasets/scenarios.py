"""Named synthetic scenarios: presets of the generator's knobs, registered by decorator.

Each scenario accepts every knob of :class:`~hubench.datasets.synthetic_params.SyntheticParams`
(the registry reads them from the builder's signature, so a misspelt knob is refused);
only its defaults differ. Profiles: ``ci`` is tiny (16 x 16 pixels, 60 bands), ``quick``
is the defaults (50 x 50 pixels, 99 bands, 5 endmembers, 30 dB), ``full`` is 100 x 100
pixels on all 182 clean bands.

Adding a scenario is one call to :func:`_register` below.

``GENERATOR_VERSION`` is every synthetic scenario's version (part of each cell's key):
bump it with any change to :func:`~hubench.datasets.synthetic.generate` that changes
the scene drawn for the same knobs and seed. ``tests/test_scene_checksums.py`` compares
fingerprints of a fixed set of generated scenes with ``tests/data/scene_checksums.json``
and fails when the scenes changed but the version did not.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from hubench.datasets.base import register_scenario
from hubench.datasets.synthetic import generate, validate_knobs
from hubench.datasets.synthetic_params import SyntheticParams
from hubench.scene import Scene

GENERATOR_VERSION = "1"

PRESETS: dict[str, dict[str, Any]] = {
    "ci": {"image_shape": (16, 16), "n_bands": 60, "snr_db": 30.0},
    "quick": {},
    "full": {"image_shape": (100, 100), "n_bands": 182},
}

_DEFAULTS = SyntheticParams()
_SIGNATURE = inspect.Signature(
    [inspect.Parameter("seed", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=int)]
    + [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=getattr(_DEFAULTS, name))
        for name in SyntheticParams.knob_names()
    ],
    return_annotation=Scene,
)


def _register(name: str, description: str, *, version: Any = GENERATOR_VERSION, **defaults: Any) -> Callable[..., Scene]:
    """Register scenario ``name``: the generator with these ``defaults`` (and a version of
    its own when its defaults changed the scenes it draws)."""

    def build(seed: int, **knobs: Any) -> Scene:
        return generate(seed, name=name, **knobs)

    build.__name__ = build.__qualname__ = f"build_{name.replace('-', '_')}"
    build.__doc__ = f"Scenario {name!r}: {description}"
    setattr(build, "__signature__", _SIGNATURE)  # the registry reads the knobs from it  # noqa: B010
    def validate(params: dict[str, Any]) -> None:
        validate_knobs(**params)

    return register_scenario(
        name, description=description, defaults=defaults, presets=PRESETS, validate=validate,
        version=str(version),
    )(build)


# The named scenarios of the default grid draw spatially smooth abundance maps (Gaussian
# random fields of length scale 5 px through a softmax of temperature 0.3): real images
# have spatial structure, and the methods built on it (CNNAEU's patches, DEQ-Unmix's
# superpixel prox, SMILE's super-resolution guidance) are then judged where their
# premise holds. Version 2 marks the change from i.i.d. Dirichlet draws (version 1);
# the i.i.d. scene stays available as `dirichlet` (and as `abundance=dirichlet` on any
# scenario). docs/guide/scenarios.md explains the choice per scenario.
SPATIAL = {"abundance": "spatial", "length_scale": 5.0, "temperature": 0.3}
SPATIAL_VERSION = "2"

build_standard = _register(
    "standard",
    "smooth spatial abundance maps (Gaussian fields, length scale 5 px, softmax), "
    "2 pure pixels per endmember, white noise",
    version=SPATIAL_VERSION,
    n_pure=2,
    **SPATIAL,
)
build_dirichlet = _register(
    "dirichlet",
    "i.i.d. Dirichlet(1) abundances per pixel (no spatial structure), 2 pure pixels per "
    "endmember, white noise (the `standard` scene of version 1)",
    n_pure=2,
)
build_spatial = _register(
    "spatial",
    "smooth spatial abundance maps (Gaussian fields, softmax), white noise",
    abundance="spatial",
    n_pure=2,
)
build_rare = _register(
    "rare",
    "standard plus one rare endmember in compact blobs covering 2% of the pixels",
    version=SPATIAL_VERSION,
    n_pure=2,
    n_rare=1,
    rare_prevalence=0.02,
    rare_abundance=(0.2, 0.6),
    **SPATIAL,
)
build_weak = _register(
    "weak",
    "standard plus one weak endmember: reflectance x0.25, abundance at most 0.5",
    version=SPATIAL_VERSION,
    n_pure=2,
    n_weak=1,
    weak_albedo=0.25,
    weak_max_abundance=0.5,
    **SPATIAL,
)
build_no_pure_pixels = _register(
    "no-pure-pixels",
    "smooth spatial abundance maps with no abundance above 0.8 (no pure pixels)",
    version=SPATIAL_VERSION,
    max_purity=0.8,
    **SPATIAL,
)
build_variability = _register(
    "variability",
    "standard with endmember variability: per-pixel scaling and smooth spectral variability, "
    "both at strength 0.1 (scores use the linear abundances and the reference spectra)",
    version=SPATIAL_VERSION,
    n_pure=2,
    variability="both",
    variability_strength=0.1,
    variability_length_scale=5.0,
    **SPATIAL,
)
build_nonlinear = _register(
    "nonlinear",
    "standard mixed by the generalized bilinear model (GBM), gammas uniform in [0, 1] "
    "(scores use the linear abundances)",
    version=SPATIAL_VERSION,
    n_pure=2,
    mixing="gbm",
    nonlinearity=1.0,
    **SPATIAL,
)
build_sensor = _register(
    "sensor",
    "standard seen by a faulty sensor: 5% gain drift, stripes in 10% of the bands, 2% dead "
    "and 2% saturated bands, 0.5% impulse noise (on top of the Gaussian noise)",
    version=SPATIAL_VERSION,
    n_pure=2,
    gain_drift=0.05,
    stripe_bands=0.1,
    stripe_amplitude=0.05,
    dead_bands=0.02,
    saturated_bands=0.02,
    impulse=0.005,
    **SPATIAL,
)
