"""hubench: a benchmark suite for hyperspectral unmixing, weak and rare endmembers first.

Public API::

    scene = hubench.make_scene("weak", seed=0, snr_db=20)
    method = hubench.get_method("vca+fcls", random_state=0)
    estimate = method.fit(scene.observation())
    hubench.score(scene, estimate)   # {"armse": ..., "msad": ..., "weak_recall": ...}

Your own image (docs/guide/your-data.md)::

    scene = hubench.load_scene("mine.mat")                 # with whatever reference it has
    scene = hubench.load_scene("cube.hdr", n_endmembers=4)  # ENVI/GeoTIFF/.mat/.npz, no reference
    scene.reference                                        # "A+E", "E", "A" or "none"
    estimate = hubench.unmix("cube.hdr", method="vca+fcls", n_endmembers=4)   # an Estimate
"""

from __future__ import annotations

import importlib
from typing import Any

from hubench.errors import (
    DataError,
    HubenchError,
    ParameterError,
    StoreError,
    UnavailableError,
    UnknownNameError,
    ValidationError,
)
from hubench.scene import Estimate, Observation, Scene

# Imported on first use, so that `import hubench.scene` (and worker start-up) does not
# pay for the method registry (torch) or the metrics.
_LAZY = {
    "make_scene": "hubench.datasets",
    "list_scenarios": "hubench.datasets",
    "load_scene": "hubench.datasets",
    "Method": "hubench.methods",
    "get_method": "hubench.methods",
    "list_methods": "hubench.methods",
    "register_method": "hubench.methods",
    "evaluate": "hubench.metrics",
    "score": "hubench.metrics",
    "list_metrics": "hubench.metrics",
    "unmix": "hubench.unmixing",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hubench' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "DataError",
    "Estimate",
    "HubenchError",
    "Method",
    "Observation",
    "ParameterError",
    "Scene",
    "StoreError",
    "UnavailableError",
    "UnknownNameError",
    "ValidationError",
    "__version__",
    "evaluate",
    "get_method",
    "list_methods",
    "list_metrics",
    "list_scenarios",
    "make_scene",
    "register_method",
    "score",
    "unmix",
]
