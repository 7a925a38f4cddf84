"""CLSUnSAL: collaborative (joint) sparse unmixing over the library (library task).

Iordache, Bioucas-Dias & Plaza, "Collaborative sparse regression for hyperspectral
unmixing", IEEE TGRS 52(1), 2014. The abundances of all pixels solve
``min 1/2 |Y - X L|_F^2 + lam_paper sum_j |X[:, j]|_2`` s.t. ``X >= 0``: the l2,1 norm
makes an atom active in all pixels or in none, so the image is explained by few atoms.
Solved by the two-block ADMM of :mod:`hubench.solvers.sparse_regression` (same objective
as the paper's three-way split; one image product per iteration).

``lam`` here is per pixel: ``lam_paper = lam * sqrt(n_pixels)``, so that a column of
constant abundance ``c`` costs ``lam * n_pixels * c`` as under SUnSAL's l1 term with the
same ``lam`` and the value does not depend on the image size (the paper's objective has
no such scaling: its lambda was tuned per image). ``info['lam_paper']`` records the
weight used. Inferred (docs/guide/methods.md): this normalisation, the default ``lam``
(measured on the library scenarios, docs/dev/library.md), the stopping rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

from hubench.method import register_method
from hubench.methods._library import WEIGHT, AdmmLibraryMethod, admm_estimate, library_of
from hubench.params import Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.sparse_regression import clsunsal


@register_method
class CLSUnSAL(AdmmLibraryMethod):
    """CLSUnSAL over the observation's library.

    Parameters
    ----------
    lam : float
        Per-pixel weight of the l2,1 norm (``lam_paper = lam * sqrt(n_pixels)``).
    mu, tol, max_iter
        ADMM settings, as for ``sunsal``.
    """

    name: ClassVar[str] = "clsunsal"
    description: ClassVar[str] = (
        "CLSUnSAL (Iordache et al. 2014): collaborative l2,1 row-sparse non-negative "
        "regression over the library by ADMM"
    )
    param_rules: ClassVar[Mapping[str, Rule]] = {"lam": WEIGHT}

    def __init__(
        self, *, lam: float = 1e-3, mu: float = 0.01, tol: float = 1e-4, max_iter: int = 1000
    ) -> None:
        self.lam = lam
        self.mu = mu
        self.tol = tol
        self.max_iter = max_iter

    def _fit(self, observation: Observation) -> Estimate:
        library = library_of(observation, self.name)
        lam_paper = self.lam * math.sqrt(observation.n_pixels)
        result = clsunsal(
            library, observation.Y, lam_paper, mu=self.mu, tol=self.tol, max_iter=self.max_iter
        )
        return admm_estimate(library, result, lam_paper=lam_paper)
