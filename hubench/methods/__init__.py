"""The method registry. Importing this package registers every built-in method.

The contract and the registry itself live in :mod:`hubench.method`; this package
re-exports them and fills the registry.

Every module (or subpackage) in this folder whose name does not start with ``_`` and
is not ``base`` (a re-export of :mod:`hubench.method` kept for plug-ins) is imported
once, so that its ``@register_method`` decorator runs: adding a method is adding one
file. A module must import optional packages
(``mamba_ssm``...) lazily inside ``fit`` so that it still registers and is listed as
unavailable with the reason. A module that fails to import at all is recorded in
``IMPORT_ERRORS`` and reported by ``hubench list methods``.

Then the installed plug-ins of entry-point group ``hubench.methods`` are loaded
(:mod:`hubench.plugins`): a method from another package is registered wherever this
registry is.
"""

from __future__ import annotations

import importlib
import pkgutil

from hubench.method import (
    METHODS,
    PROFILES,
    Method,
    get_method,
    list_methods,
    register_method,
)
from hubench.plugins import load_group

IMPORT_ERRORS: dict[str, str] = {}


def _import_builtin_methods() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        try:
            importlib.import_module(f"{__name__}.{info.name}")
        except ImportError as exc:
            IMPORT_ERRORS[info.name] = f"{type(exc).__name__}: {exc}"


_import_builtin_methods()
load_group("hubench.methods", METHODS)

__all__ = [
    "IMPORT_ERRORS",
    "METHODS",
    "PROFILES",
    "Method",
    "get_method",
    "list_methods",
    "register_method",
]
