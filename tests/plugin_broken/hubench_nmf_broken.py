"""A deliberately broken method, for the failing ``hubench test-method`` test.

Loaded through ``HUBENCH_PLUGINS`` by ``tests/test_plugins.py``; never install it. Two
bugs met in practice: the abundances are not put on the simplex (no sum-to-one), and the
start is drawn from a generator that is not seeded from ``random_state``, so two fits
with the same seed differ.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hubench import Estimate, Observation
from hubench.methods import Method, register_method
from hubench.params import Int, Rule


@register_method
class BrokenNMF(Method):
    name: ClassVar[str] = "nmf-broken"
    description: ClassVar[str] = "deliberately broken NMF (tests): off the simplex, random_state ignored"
    presets: ClassVar[dict[str, dict[str, Any]]] = {"ci": {"n_iter": 50}}
    param_rules: ClassVar[dict[str, Rule]] = {"n_iter": Int(min=1), "random_state": Int(min=0, none_ok=True)}

    def __init__(self, *, n_iter: int = 100, random_state: int | None = None) -> None:
        self.n_iter = n_iter
        self.random_state = random_state

    def _fit(self, observation: Observation) -> Estimate:
        Y, p = np.clip(observation.Y, 0.0, None), observation.n_endmembers
        rng = np.random.default_rng()  # bug: not seeded from self.random_state
        E = Y[rng.choice(len(Y), p, replace=False)] + 1e-9
        A = rng.random((len(Y), p))
        for _ in range(self.n_iter):  # bug: nothing keeps the rows of A summing to one
            A *= (Y @ E.T) / (A @ (E @ E.T) + 1e-12)
            E *= (A.T @ Y) / ((A.T @ A) @ E + 1e-12)
        return Estimate(A=A, E=E)
