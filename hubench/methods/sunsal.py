"""SUnSAL: sparse unmixing by variable splitting and augmented Lagrangian (library task).

Bioucas-Dias & Figueiredo, "Alternating direction algorithms for constrained sparse
regression: application to hyperspectral unmixing", WHISPERS 2010. Every pixel's
abundances over the library solve ``min 1/2 |y - L^T x|^2 + lam |x|_1`` s.t. ``x >= 0``
(and ``sum(x) = 1`` with ``asc``); all pixels at once by the ADMM of
:mod:`hubench.solvers.sparse_regression` (one atoms x atoms inverse per value of the
penalty, one matrix product over the image per iteration).

From the paper: the objective, the split ``x = z``, the prox steps, the optional
sum-to-one by affine projection, the penalty adaptation. Inferred (docs/guide/methods.md):
the default ``lam`` (chosen within the sparse-unmixing papers' range 1e-4..1e-1 by a
measurement on the library scenarios, docs/dev/library.md), ``asc=False`` by default (with
sum-to-one and non-negativity the l1 norm is the constant 1, so the sparsity term does
nothing; Iordache et al. 2011 drop the sum-to-one for that reason), the stopping rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from hubench.method import register_method
from hubench.methods._library import WEIGHT, AdmmLibraryMethod, admm_estimate, library_of
from hubench.params import Bool, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.sparse_regression import sunsal


@register_method
class SUnSAL(AdmmLibraryMethod):
    """SUnSAL over the observation's library.

    Parameters
    ----------
    lam : float
        Weight of the l1 norm of the abundances (per pixel, the data term summed over bands).
    asc : bool
        Also impose sum-to-one (the l1 term is then constant; see the module docstring).
    mu : float
        Initial ADMM penalty (adapted every 10 iterations by residual balancing).
    tol : float
        Relative tolerance on the primal and dual residuals.
    max_iter : int
        ADMM iteration cap (``info['converged']`` says whether the tolerance was met).
    """

    name: ClassVar[str] = "sunsal"
    description: ClassVar[str] = (
        "SUnSAL (Bioucas-Dias & Figueiredo 2010): l1-sparse non-negative regression over "
        "the library by ADMM, all pixels at once"
    )
    param_rules: ClassVar[Mapping[str, Rule]] = {"lam": WEIGHT, "asc": Bool()}

    def __init__(
        self, *, lam: float = 1e-2, asc: bool = False, mu: float = 0.01, tol: float = 1e-4,
        max_iter: int = 1000,
    ) -> None:
        self.lam = lam
        self.asc = asc
        self.mu = mu
        self.tol = tol
        self.max_iter = max_iter

    def _fit(self, observation: Observation) -> Estimate:
        library = library_of(observation, self.name)
        result = sunsal(
            library, observation.Y, self.lam, asc=self.asc, mu=self.mu, tol=self.tol,
            max_iter=self.max_iter,
        )
        return admm_estimate(library, result)
