"""Scenes: synthetic scenarios, the USGS library, real-scene loaders.

Every module of this package that defines scenarios is imported here so that its
``@register_scenario`` decorators run; then the installed plug-ins of entry-point
group ``hubench.scenarios`` are loaded (:mod:`hubench.plugins`).
"""

from __future__ import annotations

import importlib
import pkgutil

from hubench.datasets.base import (
    SCENARIOS,
    ScenarioSpec,
    list_scenarios,
    make_scene,
    register_scenario,
)
from hubench.datasets.formats import load_scene
from hubench.plugins import load_group


def _import_scenario_modules() -> None:
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_") and info.name != "base":
            importlib.import_module(f"{__name__}.{info.name}")


_import_scenario_modules()
load_group("hubench.scenarios", SCENARIOS)

__all__ = ["SCENARIOS", "ScenarioSpec", "list_scenarios", "load_scene", "make_scene", "register_scenario"]
