"""The library scenarios (task ``library``): synthetic scenes with a spectral library.

Each accepts every synthetic knob and the library knobs of
:class:`~hubench.datasets.library_scenes.LibraryKnobs`; only the defaults differ. They
draw the spatial abundance maps of the default scenarios. Profiles as for the other
synthetic scenarios, with 60 atoms in ``ci``. ``LIBRARY_VERSION`` is their version (part
of each cell's key; ``tests/test_scene_checksums.py`` watches it).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from hubench.datasets.base import register_scenario
from hubench.datasets.library_scenes import (
    LibraryKnobs,
    generate_library_scene,
    validate_library_knobs,
)
from hubench.datasets.scenarios import PRESETS, SPATIAL
from hubench.datasets.synthetic_params import SyntheticParams
from hubench.scene import Scene

LIBRARY_VERSION = "1"
LIBRARY_PRESETS: dict[str, dict[str, Any]] = {
    "ci": {**PRESETS["ci"], "library_size": 60},
    "quick": dict(PRESETS["quick"]),
    "full": dict(PRESETS["full"]),
}

_SIGNATURE = inspect.Signature(
    [inspect.Parameter("seed", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=int)]
    + [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=getattr(defaults, name))
        for defaults in (SyntheticParams(), LibraryKnobs())
        for name in type(defaults).knob_names()
    ],
    return_annotation=Scene,
)


def _register(name: str, description: str, **defaults: Any) -> Callable[..., Scene]:
    def build(seed: int, **knobs: Any) -> Scene:
        return generate_library_scene(seed, name=name, **knobs)

    build.__name__ = build.__qualname__ = f"build_{name.replace('-', '_')}"
    build.__doc__ = f"Scenario {name!r}: {description}"
    setattr(build, "__signature__", _SIGNATURE)  # the registry reads the knobs from it  # noqa: B010

    def validate(params: dict[str, Any]) -> None:
        validate_library_knobs(**params)

    return register_scenario(
        name, description=description, defaults={**SPATIAL, "n_pure": 2, **defaults},
        presets=LIBRARY_PRESETS, validate=validate, version=LIBRARY_VERSION, library=True,
    )(build)


build_library = _register(
    "library",
    "5 materials among 120 USGS atoms at least 4.44 degrees apart; the library holds another "
    "sample of each material than the scene (never exact); spatial abundances",
)
build_library_weak = _register(
    "library-weak",
    "library plus one weak material (reflectance x0.25 in the scene and in the library, "
    "abundance at most 0.5)",
    n_weak=1,
    weak_albedo=0.25,
    weak_max_abundance=0.5,
)
build_library_rare = _register(
    "library-rare",
    "library plus one rare material in compact blobs covering 2% of the pixels",
    n_rare=1,
    rare_prevalence=0.02,
    rare_abundance=(0.2, 0.6),
)
build_library_similar = _register(
    "library-similar",
    "library of 240 atoms from the unpruned USGS library (highly similar atoms, down to "
    "fractions of a degree apart)",
    library_size=240,
    library_min_angle_deg=0.0,
)
build_library_exact = _register(
    "library-exact",
    "library whose atoms are the scene's spectra exactly (the model of sparse regression holds)",
    mismatch="none",
)
build_library_perturbed = _register(
    "library-perturbed",
    "library whose atoms are the scene's spectra times a smooth curve (5% RMS)",
    mismatch="perturb",
    mismatch_strength=0.05,
)
