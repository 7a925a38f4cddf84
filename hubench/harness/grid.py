"""Grid expansion: parse method/scenario/SNR/seed requests into cells with stable keys.

A run is the grid methods x scenarios x SNRs x seeds. Everything is resolved here, in
the driver, before anything runs or is written: unknown names, malformed values and
bad parameters fail as one :class:`~hubench.errors.HubenchError` naming what is wrong.

Method specs are ``name`` or ``name[k=v,k2=v2]``; values are read as int, float, bool
(``true``/``false``), ``None`` or, failing those, a string. ``all`` is every
registered method that can run here.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hubench.errors import ParameterError, UnknownNameError, suggest
from hubench.plugins import PLUGINS_ENV, load_plugins  # noqa: F401  (re-exported: harness, tests)

DEFAULT_SCENARIOS = ("standard", "rare", "weak", "no-pure-pixels")
DEFAULT_SEEDS = 3
_SPEC = re.compile(r"^\s*([A-Za-z0-9_.+\-]+)\s*(?:\[(.*)\])?\s*$", re.DOTALL)


def parse_value(text: str) -> Any:
    """Read a command-line hyperparameter value: int, float, bool, None or str."""
    raw = text.strip()
    low = raw.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(raw)
        except ValueError:
            pass
    return raw


def split_top_level(text: str, what: str) -> list[str]:
    """Split on commas outside ``[...]``; refuse empty items and unbalanced brackets."""
    items, depth, current = [], 0, ""
    for char in text:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise ParameterError(f"{what}: unbalanced ']' in {text!r}")
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
        else:
            current += char
    if depth:
        raise ParameterError(f"{what}: unbalanced '[' in {text!r}")
    items.append(current.strip())
    if any(not item for item in items):
        raise ParameterError(f"{what}: empty item in {text!r}; separate names with single commas")
    return items


@dataclass(frozen=True)
class MethodRequest:
    """One method asked for on the command line, with its overrides."""

    name: str
    overrides: dict[str, Any] = field(default_factory=dict)


def parse_method_spec(text: str) -> MethodRequest:
    """``"fcls[tol=1e-9,max_iter=50]"`` -> ``MethodRequest("fcls", {...})``.

    A bare item after ``key=value`` extends that value into a list:
    ``"jasper[weak=water,road]"`` gives ``weak=["water", "road"]``.
    """
    match = _SPEC.match(text)
    if not match:
        raise ParameterError(f"--methods: cannot read {text!r}; write name or name[key=value,...]")
    name, inner = match.group(1), match.group(2)
    overrides: dict[str, Any] = {}
    last: str | None = None
    if inner is not None and inner.strip():
        for item in inner.split(","):
            key, sep, value = item.partition("=")
            if not sep and last is not None and item.strip():
                # A bare item after key=value continues that value as a list:
                # jasper[weak=water,road] -> weak=["water", "road"]
                previous = overrides[last]
                overrides[last] = [*(previous if isinstance(previous, list) else [previous]),
                                   parse_value(item)]
                continue
            if not sep or not key.strip() or not value.strip():
                raise ParameterError(
                    f"--methods: cannot read {item.strip()!r} in {text!r}; write key=value"
                )
            last = key.strip()
            overrides[last] = parse_value(value)
    return MethodRequest(name, overrides)


def parse_scenario_spec(text: str) -> tuple[str, dict[str, Any]]:
    """``"file[y_key=data,pixel_order=C]"`` -> ``("file", {...})``: a scenario with
    parameter overrides (the same syntax as a method spec), checked against the
    scenario's parameters when the grid is expanded."""
    try:
        request = parse_method_spec(text)
    except ParameterError as exc:
        raise ParameterError(str(exc).replace("--methods:", "--scenarios:", 1)) from None
    return request.name, request.overrides


def parse_methods(text: str | Sequence[str]) -> list[MethodRequest]:
    """Parse a method list (a string or already-split items); ``all`` stays a name."""
    items = split_top_level(text, "--methods") if isinstance(text, str) else list(text)
    return [parse_method_spec(item) for item in items]


def parse_snrs(text: str) -> list[float]:
    """``"10,20,30"`` -> ``[10.0, 20.0, 30.0]``; ``inf`` means noiseless."""
    values = []
    for item in split_top_level(text, "--snr"):
        try:
            value = float(item)
        except ValueError:
            raise ParameterError(f"--snr: {item!r} is not a number; write e.g. --snr 10,20,30 or inf") from None
        if math.isnan(value) or value == -math.inf:
            raise ParameterError(f"--snr: {item!r} is not a usable SNR in dB")
        values.append(value)
    return list(dict.fromkeys(values))


# A seed is stored in an SQLite INTEGER (signed 64-bit) and passed to
# numpy.random.default_rng (any int >= 0) and torch.manual_seed (up to 2**64 - 1).
MAX_SEED = 2**63 - 1
MAX_SEED_COUNT = 100_000


def _clip_text(text: str, width: int = 40) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def check_seeds(seeds: Any, option: str = "--seeds") -> list[int]:
    """Seeds as a list: a count ``N`` -> ``[0, ..., N-1]``, or a sequence of seeds
    (duplicates dropped, order kept).

    Raises
    ------
    ParameterError
        For a count below 1 or above :data:`MAX_SEED_COUNT`, a seed that is not an
        integer, negative, or above :data:`MAX_SEED` (SQLite's largest integer).
    """
    if isinstance(seeds, (bool, str, bytes)):
        raise ParameterError(f"{option}: expected a count or a list of integer seeds, got {seeds!r}")
    if not isinstance(seeds, Iterable):
        try:
            count = operator.index(seeds)
        except TypeError:
            raise ParameterError(
                f"{option}: expected a count or a list of integer seeds, got {_clip_text(repr(seeds))}"
            ) from None
        if count < 1:
            raise ParameterError(f"{option}: needs at least one seed, got {count}")
        if count > MAX_SEED_COUNT:
            raise ParameterError(
                f"{option}: {_clip_text(str(count))} seeds is more than the limit of {MAX_SEED_COUNT}; "
                "ask for fewer (a count N runs seeds 0..N-1)"
            )
        return list(range(count))
    out: dict[int, None] = {}
    for item in seeds:
        try:
            if isinstance(item, bool):
                raise TypeError
            seed = operator.index(item)
        except TypeError:
            raise ParameterError(f"{option}: {_clip_text(repr(item))} is not an integer seed") from None
        if seed < 0:
            raise ParameterError(f"{option}: seeds must be >= 0, got {seed}")
        if seed > MAX_SEED:
            raise ParameterError(
                f"{option}: seed {_clip_text(str(seed))} is too large; seeds must be at most "
                f"2**63 - 1 = {MAX_SEED} (the largest integer the results store holds)"
            )
        out[seed] = None
        if len(out) > MAX_SEED_COUNT:
            raise ParameterError(f"{option}: more than {MAX_SEED_COUNT} seeds; ask for fewer")
    if not out:
        raise ParameterError(f"{option}: needs at least one seed, got an empty list")
    return list(out)


def parse_seeds(text: str) -> list[int]:
    """``"3"`` -> ``[0, 1, 2]`` (a count); ``"0,3,7"`` or ``"7,"`` -> that list of seeds.

    Limits (:func:`check_seeds`): at most :data:`MAX_SEED_COUNT` seeds, each in
    ``0..MAX_SEED``; anything else is one :class:`~hubench.errors.ParameterError`.
    """
    raw = text.strip()
    if "," not in raw:
        try:
            count = int(raw)
        except ValueError:
            raise ParameterError(
                f"--seeds: {_clip_text(raw)!r} is not a count; write N or a list like 0,3,7"
            ) from None
        return check_seeds(count)
    items = raw[:-1].split(",") if raw.endswith(",") else raw.split(",")
    seeds = []
    for item in items:
        try:
            seed = int(item)
        except ValueError:
            raise ParameterError(
                f"--seeds: {_clip_text(item.strip())!r} is not an integer seed in {_clip_text(raw)!r}"
            ) from None
        seeds.append(seed)
    return check_seeds(seeds)


def canonical(value: Any) -> Any:
    """A strict-JSON-ready copy: tuples -> lists, numpy scalars/arrays -> Python.

    Non-finite floats become the strings ``"inf"``, ``"-inf"`` and ``"nan"`` (strict
    JSON has no such numbers; every reader of parameters turns the strings back into
    floats, e.g. ``snr_db="inf"``). Keys are sorted by :func:`to_json`.
    """
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return canonical(value.tolist())
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def to_json(value: Any) -> str:
    """Canonical strict JSON (sorted keys; non-finite floats as strings, see :func:`canonical`)."""
    return json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), allow_nan=False)


def cell_key(
    method: str, method_version: str, method_params: dict[str, Any],
    scenario: str, scenario_params: dict[str, Any], seed: int, *,
    scenario_version: str = "1", scene_sha256: str | None = None, threads: int = 1,
    ensemble: int = 1,
) -> str:
    """Stable 20-hex-digit key of one cell: the sha256 of its canonical JSON.

    It covers everything that determines the cell's numbers: the method's name, version
    and hyperparameters; the scenario's name, generator version and parameters (SNR
    among them; for a file scene not its location, which is recorded but not keyed,
    but ``scene_sha256``, the digest of its content); the seed; the threads per worker;
    the ensemble size ``ensemble`` when above 1 (one fit keeps the keys it always had).
    """
    parts: list[Any] = [method, str(method_version), method_params, scenario, str(scenario_version),
                        scenario_params, scene_sha256, int(seed), int(threads)]
    if int(ensemble) > 1:
        parts.append({"ensemble": int(ensemble)})
    payload = to_json(parts)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class Cell:
    """One (method, scenario parameters, seed) run, fully resolved."""

    key: str
    method: str
    method_version: str
    method_params: dict[str, Any]
    task: str
    scenario: str
    scenario_kind: str
    scenario_params: dict[str, Any]
    snr_db: float
    seed: int
    profile: str
    threads: int = 1
    scenario_version: str = "1"
    scene_sha256: str | None = None
    ensemble: int = 1

    @property
    def label(self) -> str:
        snr = "" if math.isnan(self.snr_db) else f"@{self.snr_db:g}dB"
        k = f"x{self.ensemble}" if self.ensemble > 1 else ""
        return f"{self.method}{k}/{self.scenario}{snr}/s{self.seed}"


@dataclass
class Grid:
    """The expanded grid: the cells to consider and the methods skipped with a reason."""

    cells: list[Cell]
    skipped_methods: list[tuple[str, str]]


def _resolve_methods(requests: Iterable[MethodRequest]) -> tuple[list[tuple[Any, dict[str, Any]]], list[tuple[str, str]]]:
    from hubench.methods import IMPORT_ERRORS, METHODS

    chosen: list[tuple[Any, dict[str, Any]]] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    for req in requests:
        if req.name == "all":
            if req.overrides:
                raise ParameterError("--methods: 'all' takes no [overrides]; name the method instead")
            names = list(METHODS)
            skipped.extend((m, f"import failed: {why}") for m, why in IMPORT_ERRORS.items())
        else:
            if req.name not in METHODS and req.name in IMPORT_ERRORS:
                raise UnknownNameError(f"method {req.name!r} failed to import: {IMPORT_ERRORS[req.name]}")
            METHODS.get(req.name)  # unknown -> UnknownNameError with suggestions
            names = [req.name]
        for name in names:
            cls = METHODS.get(name)
            cls.check_param_names(req.overrides)
            ok, reason = cls.availability()
            if not ok:
                skipped.append((name, reason))
                continue
            tag = name + to_json(req.overrides)
            if tag not in seen:
                seen.add(tag)
                chosen.append((cls, dict(req.overrides)))
    return chosen, skipped


def _resolve_auto_device(params: dict[str, Any]) -> None:
    """``device="auto"`` -> the device it would pick here (``cuda`` or ``cpu``), so that
    the cell's key and row say where it ran: the same cell on a GPU is another cell."""
    if params.get("device") != "auto":
        return
    try:
        import torch

        params["device"] = "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:  # pragma: no cover - torch is a core dependency
        params["device"] = "cpu"


def expand_grid(
    methods: Sequence[MethodRequest],
    scenarios: Sequence[str],
    snrs: Sequence[float] | None,
    seeds: Sequence[int],
    *,
    profile: str = "quick",
    device: str = "auto",
    data_dir: str | None = None,
    scene_file: str | None = None,
    threads: int = 1,
    ensemble: int = 1,
    reference_file: str | None = None,
    scene_profile: str | None = None,
) -> Grid:
    """Resolve every cell (method params, scenario params, key) or raise a HubenchError.

    Method hyperparameters: class defaults < profile preset < ``random_state = seed``
    (when the method has one) < ``device`` (when not ``auto``) < the request's overrides;
    a ``device`` still ``auto`` then becomes the device it picks here. Scenario
    parameters: defaults < preset of ``scene_profile`` (None: ``profile``) < ``name[k=v,...]``
    overrides < ``data_dir`` /
    ``path`` (real scenarios that take them) < ``snr_db`` (synthetic scenarios that
    accept it). A scene read from files is keyed on the sha256 of their content.
    ``threads`` (BLAS/torch threads per worker) is part of every key; so is
    ``ensemble`` (K fits per cell, :mod:`hubench.ensemble`) when above 1.

    Values are validated before any cell is built, once per distinct resolved set:
    each scenario's by :meth:`ScenarioSpec.validate`, each method's by
    :meth:`Method.validate_params`; the error names the scenario or method.
    """
    from hubench.datasets import SCENARIOS
    from hubench.methods import PROFILES

    if profile not in PROFILES:
        raise ParameterError(f"--profile: unknown profile {profile!r}{suggest(profile, PROFILES)}; use one of {', '.join(PROFILES)}")
    if scene_profile is None:
        scene_profile = profile
    elif scene_profile not in PROFILES:
        raise ParameterError(f"--scene-profile: unknown profile {scene_profile!r}{suggest(scene_profile, PROFILES)}; "
                             f"use one of {', '.join(PROFILES)}")
    if device not in ("auto", "cpu", "cuda"):
        raise ParameterError(f"--device: expected auto, cpu or cuda, got {device!r}")
    if not seeds:
        raise ParameterError("--seeds: needs at least one seed")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ParameterError(f"--threads: needs at least one thread per worker, got {threads!r}")
    from hubench.ensemble import MAX_MEMBERS

    if isinstance(ensemble, bool) or not isinstance(ensemble, int) or not 1 <= ensemble <= MAX_MEMBERS:
        raise ParameterError(
            f"--ensemble: expected 1 (one fit) to {MAX_MEMBERS} members per cell, got {ensemble!r}"
        )
    from hubench.datasets.sweeps import expand_sweeps

    # A sweep family name (``weak-sweep``, ``weak-level``, ...) stands for its points.
    wanted = [parse_scenario_spec(text) for text in dict.fromkeys(expand_sweeps(scenarios))]
    if scene_file is not None and all(name != "file" for name, _ in wanted):
        wanted.append(("file", {}))
    specs = [SCENARIOS.get(name) for name, _ in wanted]
    if not specs:
        raise ParameterError("--scenarios: needs at least one scenario")
    if snrs is not None and not any(s.accepts_snr for s in specs):
        raise ParameterError(
            "--snr: every requested scenario is a real scene whose noise is fixed; "
            "drop --snr or add a synthetic scenario"
        )
    chosen, skipped = _resolve_methods(methods)
    validated: set[tuple[str, str]] = set()  # (name, params JSON) already checked
    scenes: list[tuple[Any, dict[str, Any], float, int, str | None]] = []
    digests: dict[str, str | None] = {}
    for spec, (_, overrides) in zip(specs, wanted, strict=True):
        extra: dict[str, Any] = dict(overrides)
        names_ok = spec.param_names()
        if spec.kind == "real" and data_dir is not None and "data_dir" in names_ok:
            extra["data_dir"] = data_dir
        if spec.name == "file" and scene_file is not None:
            extra["path"] = scene_file
        if spec.name == "file" and reference_file is not None:
            extra["reference"] = reference_file
        levels: list[float | None] = list(snrs) if (snrs is not None and spec.accepts_snr) else [None]
        for snr in levels:
            params = dict(extra)
            if snr is not None:
                params["snr_db"] = snr
            resolved = spec.resolve(scene_profile, **params)
            ident = ("scenario " + spec.name, to_json(resolved))
            if ident not in validated:
                spec.validate(resolved)
                validated.add(ident)
            raw_snr = resolved.get("snr_db") if spec.accepts_snr else None
            snr_value = math.nan if raw_snr is None else _snr_number(spec.name, raw_snr)
            source_ident = spec.name + to_json(resolved)
            if source_ident not in digests:
                digests[source_ident] = spec.content_sha256(resolved)
            if spec.sources is not None and "path" in resolved and resolved["path"] is not None:
                resolved["path"] = os.fspath(spec.sources(resolved)[0])
            for seed in seeds:
                scenes.append((spec, resolved, snr_value, int(seed), digests[source_ident]))
    cells: list[Cell] = []
    for spec, sparams, snr_value, seed, digest in scenes:
        for cls, overrides in chosen:
            if cls.task == "library" and not spec.library:
                _skip_pair(skipped, cls.name)
                continue
            params = cls.defaults()
            params.update(cls.preset(profile))
            if "random_state" in params or "random_state" in cls.param_names():
                params["random_state"] = seed
            if device != "auto" and "device" in cls.param_names():
                params["device"] = device
            params.update(overrides)
            _resolve_auto_device(params)
            missing = [p for p in cls.param_names() if p not in params]
            if missing:
                raise ParameterError(f"method {cls.name!r}: required parameters {missing} have no value")
            ident = ("method " + cls.name, to_json(params))
            if ident not in validated:
                cls.validate_params(params)
                validated.add(ident)
            key = cell_key(cls.name, cls.version, params, spec.name, spec.key_params(sparams), seed,
                           scenario_version=spec.version, scene_sha256=digest, threads=threads,
                           ensemble=ensemble)
            cells.append(Cell(
                key=key, method=cls.name, method_version=str(cls.version),
                method_params=params, task=cls.task, scenario=spec.name,
                scenario_kind=spec.kind, scenario_params=sparams, snr_db=snr_value,
                seed=seed, profile=profile, threads=threads, scenario_version=spec.version,
                scene_sha256=digest, ensemble=ensemble,
            ))
    unique = list({c.key: c for c in cells}.values())
    return Grid(cells=unique, skipped_methods=skipped)


def _skip_pair(skipped: list[tuple[str, str]], method: str) -> None:
    """Record once that a library method does not run on a scenario without a library."""
    reason = "needs a spectral library: runs on the library* scenarios only"
    if (method, reason) not in skipped:
        skipped.append((method, reason))


def _snr_number(scenario: str, raw: Any) -> float:
    """The SNR of a resolved scenario as a float, or a ParameterError naming it."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ParameterError(
            f"scenario {scenario!r}: snr_db: expected a number of dB or inf, got {raw!r}"
        ) from None
    if math.isnan(value):
        raise ParameterError(f"scenario {scenario!r}: snr_db: expected a number of dB or inf, got {raw!r}")
    return value
