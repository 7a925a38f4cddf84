"""The scenario registry: named, seeded scene builders (synthetic and real).

A scenario is a function ``build(seed, **params) -> Scene`` registered with its
defaults, a one-line description, its kind (``synthetic`` or ``real``), per-profile
parameter presets (``ci`` = tiny scenes for the regression check) and, optionally, a
``validate(params)`` function that checks parameter values without building the scene
(the harness runs it in the driver before anything runs).
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hubench.errors import ParameterError, check_param_names
from hubench.params import owned_by
from hubench.registry import Registry
from hubench.scene import Scene

KINDS = ("synthetic", "real")


@dataclass(frozen=True)
class ScenarioSpec:
    """A registered scenario.

    ``build(seed, **params)`` must be a pure function of its arguments. ``defaults`` are
    the parameters a plain ``make_scene(name, seed=s)`` uses; ``presets[profile]``
    overrides them for a harness profile (``ci``/``quick``/``full``).
    ``accepts_snr`` is False for real scenes (their noise is what it is).

    ``version`` is the version of the scene's generator or loader: bump it whenever the
    same parameters and seed would give a different scene, so stored cells of the old
    scenes are no longer reused (``tests/test_scene_checksums.py`` fails on a change of
    generated scenes without a bump). ``sources(params)`` lists the files a scene is
    read from (real scenes): the harness keys cells on their content (sha256), not on
    their location, and ``location_params`` names the parameters that only say where
    the files are (``path``, ``data_dir``): recorded with the cell, left out of its key.
    ``validator(params)``, when given, checks the values of a resolved parameter dict
    without building the scene (raise :class:`ParameterError`); see :meth:`validate`.
    ``library`` is True when the scenes carry a spectral library (the ``library`` task
    runs only on those).
    """

    name: str
    build: Callable[..., Scene]
    description: str
    kind: str = "synthetic"
    defaults: dict[str, Any] = field(default_factory=dict)
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    accepts_snr: bool = True
    version: str = "1"
    sources: Callable[[dict[str, Any]], list[Path]] | None = None
    location_params: tuple[str, ...] = ()
    validator: Callable[[dict[str, Any]], None] | None = None
    library: bool = False

    def content_sha256(self, params: dict[str, Any]) -> str | None:
        """sha256 of the content the scene is read from (None for generated scenes).

        One file: its own digest; several: the digest of their digests in order.
        """
        if self.sources is None:
            return None
        from hubench.datasets.fetch import sha256_file

        digests = [sha256_file(p) for p in self.sources(params)]
        if len(digests) == 1:
            return digests[0]
        return hashlib.sha256("\n".join(digests).encode()).hexdigest()

    def key_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` without the location parameters (what a cell's key covers)."""
        return {k: v for k, v in params.items() if k not in self.location_params}

    def param_names(self) -> list[str]:
        sig = inspect.signature(self.build)
        return [p for p in sig.parameters if p != "seed"]

    def check_params(self, params: dict[str, Any]) -> None:
        check_param_names(f"scenario {self.name!r}", params, self.param_names())

    def validate(self, params: Mapping[str, Any]) -> None:
        """Check resolved parameters without building the scene: the names, then the
        scenario's ``validator`` (synthetic scenarios: every knob and the library size).
        Errors name the scenario: ``scenario 'standard': snr_db: ...``. Scenarios
        without a validator (the real ones) are checked by loading them
        (``hubench.harness.runner.check_real_scenes``)."""
        self.check_params(dict(params))
        if self.validator is not None:
            with owned_by(f"scenario {self.name!r}"):
                self.validator(dict(params))

    def resolve(self, profile: str | None = None, **params: Any) -> dict[str, Any]:
        """Defaults, then the profile's preset, then ``params``; all names checked."""
        self.check_params(params)
        merged = dict(self.defaults)
        if profile is not None:
            merged.update(self.presets.get(profile, {}))
        merged.update(params)
        return merged


SCENARIOS: Registry[ScenarioSpec] = Registry("scenario")


def register_scenario(
    name: str,
    *,
    description: str,
    kind: str = "synthetic",
    defaults: dict[str, Any] | None = None,
    presets: dict[str, dict[str, Any]] | None = None,
    accepts_snr: bool = True,
    version: str = "1",
    sources: Callable[[dict[str, Any]], list[Path]] | None = None,
    location_params: tuple[str, ...] = (),
    validate: Callable[..., None] | None = None,
    library: bool = False,
) -> Callable[[Callable[..., Scene]], Callable[..., Scene]]:
    """Decorator registering ``build(seed, **params) -> Scene`` as scenario ``name``;
    ``validate(params)`` (optional) checks parameter values without building;
    ``library=True`` says its scenes carry a spectral library."""
    if kind not in KINDS:
        raise TypeError(f"scenario kind must be one of {KINDS}, got {kind!r}")

    def decorator(build: Callable[..., Scene]) -> Callable[..., Scene]:
        spec = ScenarioSpec(
            name=name,
            build=build,
            description=description,
            kind=kind,
            defaults=dict(defaults or {}),
            presets={k: dict(v) for k, v in (presets or {}).items()},
            accepts_snr=accepts_snr,
            version=str(version),
            sources=sources,
            location_params=tuple(location_params),
            validator=validate,
            library=library,
        )
        spec.check_params(spec.defaults)
        for preset in spec.presets.values():
            spec.check_params(preset)
        SCENARIOS.add(name, spec)
        return build

    return decorator


def make_scene(name: str, *, seed: int, profile: str | None = None, **params: Any) -> Scene:
    """Build scenario ``name`` for ``seed``; unknown names and parameters are refused."""
    spec = SCENARIOS.get(name)
    if not spec.accepts_snr and "snr_db" in params:
        raise ParameterError(
            f"scenario {name!r} is a real scene: its noise is fixed, so snr_db does not apply; "
            "drop --snr for it"
        )
    return spec.build(seed, **spec.resolve(profile, **params))


def list_scenarios(pattern: str = "*", kind: str | None = None) -> list[str]:
    return [n for n in SCENARIOS.names(pattern) if kind is None or SCENARIOS.get(n).kind == kind]
