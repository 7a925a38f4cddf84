"""The method contract (scikit-learn style) and the method registry.

A method is a class with keyword-only hyperparameters stored in ``__init__`` under their
own names and nothing else; ``fit(observation) -> Estimate`` validates and runs.
Class-level metadata says what the method is (``name``, ``task``, ``requires``,
``description``), holds per-profile presets (``ci``, ``quick``, ``full``) and declares
one rule per hyperparameter (``param_rules``, see :mod:`hubench.params`), which
:meth:`Method.validate_params` checks in the driver and again in ``fit``.

This module is the home of the contract. It sits below both :mod:`hubench.methods`
(which registers the built-in methods by importing them) and :mod:`hubench.deep`
(whose ``DeepMethod`` derives from :class:`Method`), and imports only
:mod:`hubench.errors`, :mod:`hubench.params`, :mod:`hubench.registry` and
:mod:`hubench.scene`. Importing it registers nothing: use :mod:`hubench.methods` (or
``hubench.get_method``) to look up the built-in methods. ``hubench.methods.base``
re-exports it for plug-ins written against that path.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

from hubench.errors import (
    ParameterError,
    UnavailableError,
    ValidationError,
    check_param_names,
    suggest,
)
from hubench.params import Rule, check_params, owned_by
from hubench.registry import Registry
from hubench.scene import Estimate, Observation

PROFILES = ("ci", "quick", "full")
TASKS = ("blind", "supervised", "priors", "library")


class Method:
    """Base class of every unmixing method.

    Subclasses set the class attributes below, define ``__init__`` with keyword-only
    hyperparameters (``random_state`` among them when the method is random), give each
    hyperparameter a rule in ``param_rules`` (merged with the rules of the base
    classes; a subclass's rule for a name replaces its base's), optionally override
    :meth:`check_param_combinations` for checks that need several values, and
    implement :meth:`_fit`.
    """

    name: ClassVar[str] = ""
    task: ClassVar[str] = "blind"
    description: ClassVar[str] = ""
    requires: ClassVar[tuple[str, ...]] = ()
    version: ClassVar[str] = "1"
    relaxes_asc: ClassVar[bool] = False
    deterministic: ClassVar[bool] = True
    #: How ``--ensemble K`` makes its members differ (see :mod:`hubench.ensemble`):
    #: ``"bootstrap"`` (residual bootstrap of the pixels' noise) or ``"seeds"``.
    ensemble_mode: ClassVar[str] = "bootstrap"
    #: ``progress(step, total, value)``: set by ``hubench unmix`` (never by the harness) to
    #: follow a long fit; deep methods call it per epoch (value: the loss), the FCLS step
    #: of the classic methods per pixel block (value: NaN). It changes no result.
    progress: Any = None
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    param_rules: ClassVar[Mapping[str, Rule]] = {}

    # ---- parameters -------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        sig = inspect.signature(cls.__init__)
        return {
            name: sig.parameters[name].default
            for name in cls.param_names()
            if sig.parameters[name].default is not inspect.Parameter.empty
        }

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    @classmethod
    def check_param_names(cls, params: dict[str, Any]) -> None:
        check_param_names(f"method {cls.name!r}", params, cls.param_names())

    @classmethod
    def rules(cls) -> dict[str, Rule]:
        """The rule of every hyperparameter: ``param_rules`` of the class and its bases."""
        merged: dict[str, Rule] = {}
        for klass in reversed(cls.__mro__):
            merged.update(vars(klass).get("param_rules", {}))
        return merged

    @classmethod
    def validate_params(cls, params: Mapping[str, Any] | None = None) -> None:
        """Check hyperparameters without building or fitting anything.

        ``params`` may name any subset of the hyperparameters; the others take the
        class defaults. The names are checked, then every value against its rule in
        :meth:`rules`, then :meth:`check_param_combinations` on the complete set.
        Nothing is converted or stored. Raises :class:`ParameterError` (or, for a
        device this machine lacks, :class:`UnavailableError`) whose message starts
        with ``method '<name>': ``. The driver calls it once per distinct resolved
        parameter set before any cell runs; :meth:`fit` calls it on ``get_params()``.
        """
        given = dict(params or {})
        cls.check_param_names(given)
        complete = {**cls.defaults(), **given}
        owner = f"method {cls.name!r}"
        check_params(owner, complete, cls.rules())
        with owned_by(owner):
            cls.check_param_combinations(complete)

    @classmethod
    def check_param_combinations(cls, params: Mapping[str, Any]) -> None:
        """Hook for checks that need several hyperparameters (or the machine).

        Called by :meth:`validate_params` with the complete set, after every value
        passed its own rule; raise :class:`ParameterError` (``"name: what is wrong"``,
        the method's name is added). An override calls ``super()`` first.
        """

    @classmethod
    def preset(cls, profile: str) -> dict[str, Any]:
        if profile not in PROFILES:
            raise ParameterError(f"unknown profile {profile!r}{suggest(profile, PROFILES)}; use one of {', '.join(PROFILES)}")
        return dict(cls.presets.get(profile, {}))

    # ---- availability -------------------------------------------------------------
    @classmethod
    def availability(cls) -> tuple[bool, str]:
        """``(True, "")`` when the method can run here, else ``(False, reason)``."""
        for req in cls.requires:
            if req == "cuda":
                try:
                    import torch
                except ImportError:
                    return False, "needs torch with CUDA; torch is not installed"
                if not torch.cuda.is_available():
                    return False, "needs a CUDA GPU; none is available"
            elif importlib.util.find_spec(req) is None:
                return False, f"needs the package {req!r}; install it with pip"
        return True, ""

    @classmethod
    def prepare(cls) -> None:
        """One-time set-up of this process that no fit should be charged for, such as
        loading compiled kernels; idempotent. The harness calls it before a cell's clock
        starts; a plain ``fit`` does the same work lazily on first use. Default: nothing."""

    # ---- fitting ------------------------------------------------------------------
    def fit(self, observation: Observation) -> Estimate:
        """Validate the hyperparameters and the observation, run the method and return
        an :class:`Estimate`."""
        ok, reason = self.availability()
        if not ok:
            raise UnavailableError(f"method {self.name!r} cannot run here: {reason}")
        self.validate_params(self.get_params())
        if not isinstance(observation, Observation):
            raise ValidationError(f"observation: expected an Observation, got {type(observation).__name__}")
        if self.task == "supervised" and observation.E is None:
            raise ValidationError(
                f"E: method {self.name!r} is supervised and needs the endmembers; "
                "use scene.observation(supervised=True)"
            )
        if self.task == "priors" and observation.priors is None:
            raise ValidationError(
                f"priors: method {self.name!r} needs the prior spectra of the suspected weak "
                "materials; use scene.observation(priors=True), or give the scene a priors= option"
            )
        if self.task == "library" and observation.library is None:
            raise ValidationError(
                f"library: method {self.name!r} unmixes over a spectral library and needs one; "
                "use scene.observation(library=True) on a library scenario"
            )
        estimate = self._fit(observation)
        # A library method returns one abundance column per library atom.
        columns = observation.n_atoms if self.task == "library" else observation.n_endmembers
        if estimate.A.shape != (observation.n_pixels, columns):
            raise ValidationError(
                f"A: method {self.name!r} returned shape {estimate.A.shape}, expected "
                f"{(observation.n_pixels, columns)}"
            )
        return estimate

    def _block_progress(self) -> Any:
        """``progress(done, total)`` for a pixel-block solver, or None (see ``progress``)."""
        hook = self.progress
        if hook is None:
            return None
        return lambda done, total: hook(done, total, float("nan"))

    def _fit(self, observation: Observation) -> Estimate:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


METHODS: Registry[type[Method]] = Registry("method")


def register_method(cls: type[Method]) -> type[Method]:
    """Class decorator: validate the metadata and add the class to the registry."""
    if not cls.name:
        raise TypeError(f"{cls.__name__} has no registry name")
    if cls.task not in TASKS:
        raise TypeError(f"{cls.__name__}.task must be one of {TASKS}, got {cls.task!r}")
    for profile, params in cls.presets.items():
        if profile not in PROFILES:
            raise TypeError(f"{cls.__name__}: unknown preset profile {profile!r}")
        cls.check_param_names(params)
    METHODS.add(cls.name, cls)
    return cls


def get_method(name: str, *, profile: str | None = None, **params: Any) -> Method:
    """Build a registered method: preset of ``profile`` (if any) overridden by ``params``."""
    cls = METHODS.get(name)
    cls.check_param_names(params)
    merged = cls.preset(profile) if profile is not None else {}
    merged.update(params)
    return cls(**merged)


def list_methods(pattern: str = "*") -> list[str]:
    return METHODS.names(pattern)
