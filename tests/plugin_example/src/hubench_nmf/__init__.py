"""NMF by multiplicative updates (Lee & Seung 2001), started from VCA: a hubench plug-in."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from hubench import Estimate, Observation
from hubench.methods import Method, register_method
from hubench.methods.vca import vca
from hubench.params import Int, Real, Rule

EPS = 1e-12


@register_method
class NMFMU(Method):
    name: ClassVar[str] = "nmf-mu"
    description: ClassVar[str] = ("NMF by multiplicative updates (Lee & Seung 2001) from VCA "
                                  "endmembers; sum-to-one by an augmented row, then normalised")
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"n_iter": 100}, "quick": {"n_iter": 300}, "full": {"n_iter": 1000}}
    param_rules: ClassVar[dict[str, Rule]] = {
        "n_iter": Int(min=1), "delta": Real(0, open_lo=True),
        "random_state": Int(min=0, none_ok=True)}

    def __init__(self, *, n_iter: int = 300, delta: float = 1.0,
                 random_state: int | None = None) -> None:
        self.n_iter = n_iter
        self.delta = delta
        self.random_state = random_state

    def _fit(self, observation: Observation) -> Estimate:
        Y, p = np.clip(observation.Y, 0.0, None), observation.n_endmembers
        E = np.clip(vca(Y, p, random_state=self.random_state).E, EPS, None)
        A = np.clip(np.linalg.lstsq(E.T, Y.T, rcond=None)[0].T, 1e-3, None)  # MU keeps a 0 at 0
        A /= A.sum(axis=1, keepdims=True)
        Y_aug = np.hstack([Y, np.full((Y.shape[0], 1), self.delta)])  # the sum-to-one row
        for _ in range(self.n_iter):
            E_aug = np.hstack([E, np.full((p, 1), self.delta)])
            A *= (Y_aug @ E_aug.T) / (A @ (E_aug @ E_aug.T) + EPS)
            E *= (A.T @ Y) / ((A.T @ A) @ E + EPS)
        A /= A.sum(axis=1, keepdims=True)  # the row pulls sums near 1; this makes them exact
        return Estimate(A=A, E=E, info={"n_iter": self.n_iter, "delta": self.delta})
