"""Plug-ins: methods, scenarios and metrics from outside the repository.

An installed distribution declares entry points in the groups ``hubench.methods``,
``hubench.scenarios`` and ``hubench.metrics``::

    [project.entry-points."hubench.methods"]
    nmf-mu = "hubench_nmf"

The **value** names a module; importing it registers what it defines with the ordinary
decorators (``@register_method``, ``@register_scenario``, ``register_metric``), exactly
as a built-in method file does. (A ``module:attr`` value is accepted too: the attribute
is looked up after the import, so a typo in it is reported, but hubench registers
nothing by itself.) The entry point's **name** is the registered name: after the import,
a method (scenario, metric) of that name must be in the registry, which catches a
missing decorator or a misspelt ``name``. A module that registers several methods gets
one entry point per name, all with the same value.

When each registry package is first imported (``hubench.methods``, ``hubench.datasets``,
``hubench.metrics``), it loads its group at the end of its own import, so a registry can
never be looked up without its plug-ins, in the driver, in every harness worker and in a
plain Python session alike. Every entry point is loaded at most once per process.

A plug-in that fails (its import raises, or it registered nothing under its name) does
not break the import of hubench: the failure is recorded (:func:`plugin_errors`). Every
command then calls :func:`load_plugins`, which raises one :class:`PluginError` (one line
naming the distribution and the entry point; exit code 2) unless it is told to list the
failures instead (``hubench list``, which shows them as unavailable).

``$HUBENCH_PLUGINS`` (comma-separated module names reachable on ``PYTHONPATH``) is the
uninstalled variant: :func:`load_plugins` imports those modules too, in the driver and in
every worker. The tests use it to register fault-injecting methods without installing a
package.

This module imports nothing from hubench but :mod:`hubench.errors`, so the registry
packages can import it without a cycle.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Protocol

from hubench.errors import PluginError

PLUGINS_ENV = "HUBENCH_PLUGINS"

#: entry-point group -> the registry package that loads it when imported
GROUPS: dict[str, str] = {
    "hubench.methods": "hubench.methods",
    "hubench.scenarios": "hubench.datasets",
    "hubench.metrics": "hubench.metrics",
}
_KINDS = {"hubench.methods": "method", "hubench.scenarios": "scenario", "hubench.metrics": "metric"}


class _Registry(Protocol):
    def __contains__(self, name: object) -> bool: ...


@dataclass(frozen=True)
class PluginFailure:
    """A plug-in that could not be loaded.

    ``group`` is the entry-point group (``None`` for a ``$HUBENCH_PLUGINS`` module),
    ``name`` the entry point's name (the module's name for ``$HUBENCH_PLUGINS``),
    ``source`` who declared it (``distribution hubench-nmf 0.1.0, entry point 'nmf-mu'
    in hubench.methods (= hubench_nmf)``, or ``HUBENCH_PLUGINS``), ``problem`` what went
    wrong (one line).
    """

    group: str | None
    name: str
    source: str
    problem: str

    @property
    def message(self) -> str:
        return f"{self.source}: {self.problem}"


# (group, name, value) of every entry point loaded (or tried) in this process
_DONE: set[tuple[str, str, str]] = set()
_ENV_DONE: set[str] = set()
_FAILURES: list[PluginFailure] = []


def _one_line(exc: BaseException) -> str:
    text = re.sub(r"\s+", " ", str(exc)).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _distribution(ep: metadata.EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "an unknown distribution"
    return f"distribution {dist.name} {dist.version}"


def _initializing(module: str) -> bool:
    spec = getattr(sys.modules.get(module), "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def entry_points(group: str) -> list[metadata.EntryPoint]:
    """The entry points of ``group`` visible on ``sys.path`` now (a ``--target``
    install counts: importlib.metadata reads every ``*.dist-info/entry_points.txt``)."""
    return sorted(metadata.entry_points(group=group), key=lambda ep: (ep.name, ep.value))


def load_group(group: str, registry: _Registry) -> None:
    """Load every entry point of ``group`` not loaded yet; record failures.

    Called by each registry package at the end of its import (``registry`` is its
    registry, where each entry point's name must be registered afterwards). Never raises
    for a plug-in's fault.
    """
    kind = _KINDS[group]
    for ep in entry_points(group):
        key = (group, ep.name, ep.value)
        if key in _DONE or _initializing(ep.module):
            # An entry point whose module is being imported right now (the user imported
            # the plug-in first, and it imported this registry) is checked on the next
            # call, by load_plugins, once its registrations have run.
            continue
        _DONE.add(key)
        source = f"{_distribution(ep)}, entry point {ep.name!r} in {group} (= {ep.value})"
        try:
            ep.load()
        except (Exception, SystemExit) as exc:  # any failure of a user's module is a setup error
            _FAILURES.append(PluginFailure(group, ep.name, source,
                                           f"failed to import: {_one_line(exc)}"))
            continue
        if ep.name not in registry:
            _FAILURES.append(PluginFailure(
                group, ep.name, source,
                f"imported, but registered no {kind} named {ep.name!r} (the entry point's "
                f"name must be the registered name)"))


def _load_env_modules(strict: bool) -> list[str]:
    names = [n.strip() for n in os.environ.get(PLUGINS_ENV, "").split(",") if n.strip()]
    for name in names:
        try:
            importlib.import_module(name)
        except (Exception, SystemExit) as exc:
            problem = (f"cannot import plugin module {name!r} ({_one_line(exc)}); "
                       "check the name and PYTHONPATH")
            if strict:
                raise PluginError(f"{PLUGINS_ENV}: {problem}") from None
            if name not in _ENV_DONE:
                _FAILURES.append(PluginFailure(None, name, PLUGINS_ENV, problem))
        _ENV_DONE.add(name)
    return names


def load_plugins(*, strict: bool = True) -> list[str]:
    """Load every plug-in: the entry points of the three groups, then the modules named
    in ``$HUBENCH_PLUGINS``. Returns the ``$HUBENCH_PLUGINS`` module names.

    A registry package is imported only when its group has entry points (so a command
    that needs no registry does not pay for torch when nothing is installed); importing
    it loads the group. With ``strict`` (every command but ``hubench list``), any plug-in
    failure of this process raises one :class:`PluginError`; otherwise the failures are
    left for :func:`plugin_errors`.
    """
    for group, package in GROUPS.items():
        if entry_points(group):
            module: Any = importlib.import_module(package)
            load_group(group, getattr(module, _REGISTRY_ATTR[group]))  # newly visible ones
    names = _load_env_modules(strict)
    if strict and _FAILURES:
        raise PluginError(_summary(_FAILURES))
    return names


_REGISTRY_ATTR = {"hubench.methods": "METHODS", "hubench.scenarios": "SCENARIOS",
                  "hubench.metrics": "METRICS"}


def _summary(failures: list[PluginFailure]) -> str:
    if len(failures) == 1:
        return f"a plug-in failed to load: {failures[0].message}; fix or uninstall it"
    listed = "; ".join(f.message for f in failures)
    return f"{len(failures)} plug-ins failed to load: {listed}; fix or uninstall them"


def plugin_errors(group: str | None = "*") -> list[PluginFailure]:
    """The plug-in failures of this process; ``group`` narrows to one entry-point group
    (``None``: the ``$HUBENCH_PLUGINS`` modules; ``"*"``: all)."""
    return [f for f in _FAILURES if group == "*" or f.group == group]


__all__ = ["GROUPS", "PLUGINS_ENV", "PluginFailure", "entry_points", "load_group", "load_plugins",
           "plugin_errors"]
