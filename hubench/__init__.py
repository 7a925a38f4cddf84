"""hubench: a benchmark suite for hyperspectral unmixing, weak and rare endmembers first.

Public API::

    scene = hubench.make_scene("weak", seed=0, snr_db=20)
    method = hubench.get_method("vca+fcls", random_state=0)
    estimate = method.fit(scene.observation())
    hubench.score(scene, estimate)   # {"armse": ..., "msad": ..., "weak_recall": ...}
"""

from __future__ import annotations

from hubench.datasets import list_scenarios, make_scene
from hubench.errors import (
    DataError,
    HubenchError,
    ParameterError,
    StoreError,
    UnavailableError,
    UnknownNameError,
    ValidationError,
)
from hubench.methods import Method, get_method, list_methods, register_method
from hubench.metrics import evaluate, list_metrics, score
from hubench.scene import Estimate, Observation, Scene

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
]
