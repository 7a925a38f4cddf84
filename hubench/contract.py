"""The method contract, as checks that any registered method can be put through.

``hubench test-method NAME`` and ``tests/test_registry_generic.py`` both run
:func:`run_checks`, so a built-in method and a plug-in from another package are held to
the same contract (docs/guide/adding-a-method.md), as ``benchopt test`` does for a solver.

The checks, in order (each is PASS, FAIL with the reason, or SKIP with the reason):

``metadata``
    registered under its own ``name``; ``task`` is ``blind``, ``supervised``, ``priors`` or ``library``; a
    description; ``version`` a non-empty string; ``relaxes_asc`` and ``deterministic``
    booleans; ``requires`` a tuple of strings.
``hyperparameters``
    every ``__init__`` parameter is keyword-only with a default; ``__init__`` stores each
    under its own name and nothing else (``get_params() == defaults()``); every
    hyperparameter has a rule (``param_rules`` of the class or a base), and the class's own
    ``param_rules`` names no non-parameter.
``presets``
    every profile's preset names only hyperparameters and passes ``validate_params``
    (also with ``random_state=0``, as the harness resolves seeds).
``bad-values``
    ``validate_params`` refuses a misspelt name with a close-match suggestion and, for
    every hyperparameter, a value its rule refuses, with a ``ParameterError`` naming the
    method and the parameter; ``fit`` refuses such a value before fitting.
``estimate``
    ``fit`` on a noise-free ``standard`` scene of the profile's size (seed 0, two pure
    pixels per endmember), with the profile's preset, returns an ``Estimate`` with ``A``
    of shape (n_pixels, p), ``E`` of shape (p, n_bands) when blind, ``Y_hat`` like ``Y``
    when given. A ``library`` method is fitted on a noise-free ``library-exact`` scene (its
    library holds the scene's spectra exactly; 30 atoms at least 10 degrees apart) and returns ``A`` of shape (n_pixels,
    n_atoms) and ``E`` = the library.
``abundances``
    ``A >= -1e-6`` and every row sums to one within 1e-6, unless the method declares
    ``relaxes_asc = True``.
``endmembers``
    (blind) ``E >= -1e-6 * max(Y)`` and no all-zero spectrum (finite values are
    guaranteed by ``Estimate``).
``side-effects``
    ``fit`` leaves the observation and the hyperparameters as they were.
``deterministic``
    a second fit with the same hyperparameters (``random_state=0``) gives bit-identical
    ``A``, ``E`` and ``Y_hat``; skipped when the method declares ``deterministic = False``.
``recovery``
    on that noise-free scene with pure pixels, the method beats a trivial estimate by
    :data:`RECOVERY_MARGIN`: a blind method's ``msad`` is at most half that of every
    endmember set to the mean pixel, and the estimate is not degenerate
    (hubench/harness/degenerate.py); a supervised method's ``armse`` is at most half
    that of uniform abundances ``1/p``; a library method's ``lib_armse`` is at most half
    that of uniform abundances ``1/n_atoms`` over the library.

The ``ci`` profile takes a few seconds per built-in method on one CPU thread. Abundance
recovery of blind methods is reported but not required: with their ``ci`` presets the
deep methods train too briefly to beat uniform abundances, though they recover the
endmembers.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from hubench.errors import ParameterError

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
ATOL = 1e-6
#: a method's error must be at most this fraction of the trivial estimate's
RECOVERY_MARGIN = 0.5
SCENARIO = "standard"
LIBRARY_SCENARIO = "library-exact"
# A well-posed library (30 atoms at least 10 degrees apart): recovery measures the method,
# not the conditioning of a near-singular library.
LIBRARY_KNOBS = {"library_size": 30, "library_min_angle_deg": 10.0}
SEED = 0
CHECKS = ("metadata", "hyperparameters", "presets", "bad-values", "estimate", "abundances",
          "endmembers", "side-effects", "deterministic", "recovery")

# Values tried, in order, until a rule refuses one (a string is refused by every numeric
# and boolean rule, NaN by a Choice with a pattern that matches any string).
_CANDIDATES: tuple[Any, ...] = ("<not a valid value>", math.nan, -(10**12), 10**12, object())


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``status`` is PASS, FAIL or SKIP; ``detail`` says why."""

    check: str
    status: str
    detail: str

    def line(self) -> str:
        return f"{self.status}  {self.check:<16} {self.detail}"


class _Skip(Exception):
    """Raised inside a check: SKIP with this reason."""


class _Fail(Exception):
    """Raised inside a check: FAIL with this reason."""


def _require(ok: Any, reason: str) -> None:
    """FAIL the running check with ``reason`` unless ``ok`` (not ``assert``: the checks
    must hold under ``python -O`` too)."""
    if not ok:
        raise _Fail(reason)


class _Context:
    """What the checks share: the class, the parameters, the scene, the fits."""

    def __init__(self, name: str, profile: str, overrides: Mapping[str, Any]) -> None:
        import hubench
        from hubench.methods import METHODS

        self.name = name
        self.cls = METHODS.get(name)
        self.profile = profile
        self.overrides = dict(overrides)
        self.cls.preset(profile)  # unknown profile -> ParameterError
        if self.overrides:  # the user's input: refused here, not reported as the method's fault
            self.cls.validate_params(self.overrides)
        params = {**self.cls.preset(profile), **self.overrides}
        if "random_state" in self.cls.param_names() and "random_state" not in params:
            params["random_state"] = 0
        self.params = params
        self.available, self.unavailable_reason = self.cls.availability()
        self.library = self.cls.task == "library"
        self.scenario = LIBRARY_SCENARIO if self.library else SCENARIO
        knobs = LIBRARY_KNOBS if self.library else {}
        self.scene = hubench.make_scene(self.scenario, seed=SEED, profile=profile, snr_db=math.inf, **knobs)
        self.supervised = self.cls.task == "supervised"
        self.estimate: Any = None
        self.fit_error = ""
        self.fit_seconds = math.nan
        self.side_effects: list[str] = []

    def observation(self) -> Any:
        return self.scene.observation(supervised=self.supervised, priors=self.cls.task == "priors",
                                      library=self.library)

    def fit(self) -> Any:
        """Fit once with ``self.params`` (remembering the outcome)."""
        if not self.available:
            raise _Skip(f"the method cannot run here: {self.unavailable_reason}")
        if self.estimate is None and not self.fit_error:
            method = self.cls(**self.params)
            before = method.get_params()
            obs = self.observation()
            Y0 = obs.Y.copy()
            E0 = None if obs.E is None else obs.E.copy()
            start = time.perf_counter()
            try:
                self.estimate = method.fit(obs)
            except Exception as exc:
                self.fit_error = f"fit raised {type(exc).__name__}: {exc}"
                raise _Fail(self.fit_error) from None
            finally:
                self.fit_seconds = time.perf_counter() - start
            if not np.array_equal(obs.Y, Y0):
                self.side_effects.append("fit modified the observation's Y")
            if E0 is not None and not np.array_equal(obs.E, E0):
                self.side_effects.append("fit modified the observation's E")
            after = method.get_params()
            changed = [k for k in before if not _same(before[k], after.get(k))]
            if changed:
                self.side_effects.append(f"fit changed hyperparameters {changed} (keep fitted "
                                         "state in other attributes)")
        if self.fit_error:
            raise _Skip(f"no estimate ({self.fit_error})")
        return self.estimate


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) or (a is b)
    except Exception:  # arrays and other objects without a plain ==
        return a is b


def _shape(x: Any) -> str:
    return "x".join(str(n) for n in np.shape(x))


# ---- the checks -------------------------------------------------------------------------
def _metadata(ctx: _Context) -> str:
    from hubench.methods.base import TASKS

    cls = ctx.cls
    problems = []
    if cls.name != ctx.name:
        problems.append(f"registered as {ctx.name!r} but its name is {cls.name!r}")
    if cls.task not in TASKS:
        problems.append(f"task {cls.task!r} is not one of {TASKS}")
    if not (isinstance(cls.description, str) and cls.description.strip()):
        problems.append("no description")
    if not (isinstance(cls.version, str) and cls.version):
        problems.append(f"version must be a non-empty string, got {cls.version!r}")
    for flag in ("relaxes_asc", "deterministic"):
        if not isinstance(getattr(cls, flag), bool):
            problems.append(f"{flag} must be True or False, got {getattr(cls, flag)!r}")
    if not (isinstance(cls.requires, tuple) and all(isinstance(r, str) for r in cls.requires)):
        problems.append(f"requires must be a tuple of strings, got {cls.requires!r}")
    _require(not problems, "; ".join(problems))
    return f"{cls.task} method {cls.name!r} version {cls.version}"


def _hyperparameters(ctx: _Context) -> str:
    cls = ctx.cls
    sig = inspect.signature(cls.__init__)
    names = cls.param_names()
    problems = []
    positional = [p.name for p in sig.parameters.values()
                  if p.name != "self" and p.kind is not p.KEYWORD_ONLY]
    if positional:
        problems.append(f"__init__ parameters {positional} are not keyword-only (put them after *)")
    defaults = cls.defaults()
    missing = [n for n in names if n not in defaults]
    if missing:
        problems.append(f"hyperparameters {missing} have no default")
    else:
        stored = cls().get_params()
        differ = [n for n in names if not _same(stored[n], defaults[n])]
        if differ:
            problems.append(f"__init__ does not store {differ} unchanged under their own names")
    rules = cls.rules()
    no_rule = [n for n in names if n not in rules]
    if no_rule:
        problems.append(f"no rule in param_rules for {no_rule} (hubench/params.py)")
    stale = [n for n in vars(cls).get("param_rules", {}) if n not in names]  # a base's may be unused
    if stale:
        problems.append(f"param_rules names {stale}, which are not hyperparameters")
    _require(not problems, "; ".join(problems))
    return f"{len(names)} keyword-only, with defaults and rules: {', '.join(names) or 'none'}"


def _presets(ctx: _Context) -> str:
    from hubench.methods import PROFILES

    cls = ctx.cls
    for profile in PROFILES:
        preset = cls.preset(profile)
        try:
            cls.validate_params(preset)
            if "random_state" in cls.param_names():
                cls.validate_params({**preset, "random_state": 0})
        except ParameterError as exc:
            raise _Fail(f"the {profile!r} preset is refused: {exc}") from None
    return f"{', '.join(PROFILES)} presets validate"


def _refused_value(rule: Any) -> Any:
    for value in _CANDIDATES:
        try:
            rule.check("x", value)
        except ParameterError:
            return value
    return None


def _bad_values(ctx: _Context) -> str:
    cls = ctx.cls
    owner = f"method {cls.name!r}: "
    names = cls.param_names()
    problems = []
    misspelt = names[0] + "x" if names else "no_such_parameter"
    try:
        cls.validate_params({misspelt: 1})
        problems.append(f"validate_params accepted the unknown parameter {misspelt!r}")
    except ParameterError as exc:
        if names and "did you mean" not in str(exc):
            problems.append(f"no suggestion for the misspelt {misspelt!r}: {exc}")
    rules = cls.rules()
    tried: dict[str, Any] = {}
    for name in names:
        if name not in rules:
            continue  # reported by the hyperparameters check
        bad = _refused_value(rules[name])
        if bad is None:
            continue
        tried[name] = bad
        try:
            cls.validate_params({name: bad})
            problems.append(f"validate_params accepted {name}={bad!r}")
        except ParameterError as exc:
            if not (str(exc).startswith(owner) and name in str(exc)):
                problems.append(f"the refusal of {name}={bad!r} does not name the method and "
                                f"the parameter: {exc}")
        except Exception as exc:
            problems.append(f"{name}={bad!r}: validate_params raised {type(exc).__name__} "
                            f"instead of ParameterError: {exc}")
    fit_note = ""
    if tried and ctx.available:
        name, bad = next(iter(tried.items()))
        try:
            method = cls(**{**ctx.params, name: bad})
            method.fit(ctx.observation())
            problems.append(f"fit ran with {name}={bad!r} instead of refusing it")
        except ParameterError:
            fit_note = "; fit refuses it too"
        except Exception as exc:
            problems.append(f"fit with {name}={bad!r} raised {type(exc).__name__} instead of "
                            f"ParameterError (call Method.fit's validation): {exc}")
    _require(not problems, "; ".join(problems))
    if not tried:
        return f"refuses {misspelt!r}; no rule refused the probe values, so no value was tried"
    name, bad = next(iter(tried.items()))
    return (f"refuses {misspelt!r} and a value its rule refuses for each of {len(tried)} "
            f"hyperparameter(s), naming the method and the parameter (e.g. {name}={bad!r})"
            f"{fit_note}")


def _estimate(ctx: _Context) -> str:
    from hubench.scene import Estimate

    est = ctx.fit()
    scene = ctx.scene
    n, p, bands = scene.n_pixels, scene.n_endmembers, scene.n_bands
    if ctx.library:  # one column per atom, E = the library
        p = scene.library.shape[0]
    _require(isinstance(est, Estimate), f"fit returned {type(est).__name__}, not an Estimate")
    problems = []
    if est.A.shape != (n, p):
        problems.append(f"A has shape {est.A.shape}, expected {(n, p)}")
    if ctx.cls.task in ("blind", "priors") and est.E is None:
        problems.append(f"a {ctx.cls.task} method must return E")
    if est.E is not None and est.E.shape != (p, bands):
        problems.append(f"E has shape {est.E.shape}, expected {(p, bands)}")
    if est.Y_hat is not None and est.Y_hat.shape != scene.Y.shape:
        problems.append(f"Y_hat has shape {est.Y_hat.shape}, expected {scene.Y.shape} like Y")
    _require(not problems, "; ".join(problems))
    parts = [f"A {_shape(est.A)}"] + ([f"E {_shape(est.E)}"] if est.E is not None else [])
    return (f"{', '.join(parts)} on {ctx.scenario!r} ({ctx.profile} size, noise-free, seed {SEED}) "
            f"in {ctx.fit_seconds:.2f} s")


def _abundances(ctx: _Context) -> str:
    A = ctx.fit().A
    low = float(A.min())
    _require(low >= -ATOL, f"negative abundances: min {low:.3g} at pixel "
                           f"{int(np.argmin(A.min(axis=1)))} (allowed: >= {-ATOL:g})")
    if ctx.cls.relaxes_asc:
        return f"A >= {-ATOL:g} (sum to one not required: relaxes_asc = True)"
    error = np.abs(A.sum(axis=1) - 1.0)
    worst = int(np.argmax(error))
    _require(error[worst] <= ATOL, (
        f"abundances do not sum to one: max |sum - 1| = {error[worst]:.3g} at pixel {worst} "
        f"(allowed {ATOL:g}); enforce it, or declare relaxes_asc = True"))
    return f"A >= {-ATOL:g} and every row sums to 1 within {ATOL:g} (max |sum - 1| {error[worst]:.2g})"


def _endmembers(ctx: _Context) -> str:
    if ctx.supervised:
        raise _Skip("supervised: E is given")
    if ctx.library:
        raise _Skip("library: E is the library it was given")
    E = ctx.fit().E
    floor = -ATOL * max(1.0, float(np.abs(ctx.scene.Y).max()))
    _require(E.min() >= floor, f"negative endmember values: min {E.min():.3g} (allowed >= {floor:.3g})")
    zero = np.flatnonzero(~np.any(E, axis=1))
    _require(not zero.size, f"endmember(s) {zero.tolist()} are all zero")
    return f"E >= 0, finite, no zero spectrum (min {E.min():.3g})"


def _side_effects(ctx: _Context) -> str:
    ctx.fit()
    _require(not ctx.side_effects, "; ".join(ctx.side_effects))
    return "fit left the observation and the hyperparameters unchanged"


def _deterministic(ctx: _Context) -> str:
    first = ctx.fit()
    if not ctx.cls.deterministic:
        raise _Skip("the method declares deterministic = False")
    again = ctx.cls(**ctx.params).fit(ctx.observation())
    seed = f"random_state={ctx.params['random_state']}" if "random_state" in ctx.params else \
        "the same hyperparameters"
    problems = []
    for field in ("A", "E", "Y_hat"):
        a, b = getattr(first, field), getattr(again, field)
        if (a is None) != (b is None):
            problems.append(f"{field} returned once only")
        elif a is not None and not np.array_equal(a, b):
            diff = float(np.max(np.abs(a - b))) if a.shape == b.shape else math.inf
            problems.append(f"{field} differs (max |difference| {diff:.3g})")
    _require(not problems, f"two fits with {seed} differ: {'; '.join(problems)}; draw every "
                           "random number from random_state (or declare deterministic = False)")
    return f"two fits with {seed} are bit-identical"


def _recovery(ctx: _Context) -> str:
    from hubench.harness.degenerate import degeneracy
    from hubench.metrics import score
    from hubench.scene import Estimate

    est = ctx.fit()
    scene = ctx.scene
    p = scene.n_endmembers
    uniform = np.full((scene.n_pixels, p), 1.0 / p)
    got = score(scene, est)
    if ctx.library:
        atoms = scene.library.shape[0]
        flat = Estimate(A=np.full((scene.n_pixels, atoms), 1.0 / atoms), E=scene.library)
        trivial = score(scene, flat)["lib_armse"]
        limit = RECOVERY_MARGIN * trivial
        _require(got["lib_armse"] <= limit, (
            f"lib_armse {got['lib_armse']:.3g} is above {RECOVERY_MARGIN:g} x {trivial:.3g} (uniform "
            f"abundances over the atoms) on a noise-free scene whose library is exact"))
        return (f"lib_armse {got['lib_armse']:.3g} <= {RECOVERY_MARGIN:g} x {trivial:.3g} of uniform "
                f"abundances over the {atoms} atoms (lib_sre {got['lib_sre']:.3g} dB)")
    if ctx.supervised:
        trivial = score(scene, Estimate(A=uniform))["armse"]
        limit = RECOVERY_MARGIN * trivial
        _require(got["armse"] <= limit, (
            f"armse {got['armse']:.3g} is above {RECOVERY_MARGIN:g} x {trivial:.3g} (uniform "
            f"abundances 1/p) on a noise-free scene with the endmembers given"))
        return f"armse {got['armse']:.3g} <= {RECOVERY_MARGIN:g} x {trivial:.3g} of uniform abundances"
    mean_pixel = np.repeat(scene.Y.mean(axis=0, keepdims=True), p, axis=0)
    trivial_scores = score(scene, Estimate(A=uniform, E=mean_pixel))
    trivial, limit = trivial_scores["msad"], RECOVERY_MARGIN * trivial_scores["msad"]
    _require(got["msad"] <= limit, (
        f"msad {got['msad']:.3g} rad is above {RECOVERY_MARGIN:g} x {trivial:.3g} rad (every "
        f"endmember = the mean pixel) on a noise-free scene with pure pixels"))
    collapsed = degeneracy(est.A, est.E)
    _require(collapsed is None, f"degenerate estimate: {collapsed}")
    return (f"msad {got['msad']:.3g} rad <= {RECOVERY_MARGIN:g} x {trivial:.3g} rad of the mean "
            f"pixel, not degenerate (armse {got['armse']:.3g}; uniform abundances: "
            f"{trivial_scores['armse']:.3g})")


_FUNCTIONS: dict[str, Callable[[_Context], str]] = {
    "metadata": _metadata,
    "hyperparameters": _hyperparameters,
    "presets": _presets,
    "bad-values": _bad_values,
    "estimate": _estimate,
    "abundances": _abundances,
    "endmembers": _endmembers,
    "side-effects": _side_effects,
    "deterministic": _deterministic,
    "recovery": _recovery,
}


def run_checks(name: str, *, profile: str = "ci",
               overrides: Mapping[str, Any] | None = None) -> Iterator[CheckResult]:
    """Put registered method ``name`` through every check of :data:`CHECKS`, yielding
    each result as it is known (a fit is shared by the checks that need it).

    ``overrides`` are hyperparameters set on top of the ``profile``'s preset. Raises
    :class:`~hubench.errors.UnknownNameError` for a name that is not registered and
    :class:`~hubench.errors.ParameterError` for a bad profile or override (name or
    value), before any check runs.
    """
    ctx = _Context(name, profile, overrides or {})
    for check in CHECKS:
        try:
            detail = _FUNCTIONS[check](ctx)
        except _Skip as why:
            yield CheckResult(check, SKIP, str(why))
        except _Fail as failure:
            yield CheckResult(check, FAIL, str(failure))
        except Exception as exc:  # the method's own fault, reported as the check's failure
            yield CheckResult(check, FAIL, f"raised {type(exc).__name__}: {exc}")
        else:
            yield CheckResult(check, PASS, detail)


def check_method(name: str, *, profile: str = "ci",
                 overrides: Mapping[str, Any] | None = None) -> list[CheckResult]:
    """Every result of :func:`run_checks`, as a list."""
    return list(run_checks(name, profile=profile, overrides=overrides))


__all__ = ["ATOL", "CHECKS", "FAIL", "PASS", "RECOVERY_MARGIN", "SKIP", "CheckResult",
           "check_method", "run_checks"]
