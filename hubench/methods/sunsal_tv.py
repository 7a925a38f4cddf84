"""SUnSAL-TV: sparse unmixing with total-variation spatial regularisation (library task).

Iordache, Bioucas-Dias & Plaza, "Total variation spatial regularization for sparse
hyperspectral unmixing", IEEE TGRS 50(11), 2012. The abundances solve
``min 1/2 |Y - X L|_F^2 + lam |X|_1 + lam_tv TV(X)`` s.t. ``X >= 0``, ``TV`` the
anisotropic total variation (absolute horizontal and vertical differences of each
atom's abundance map over the image grid), by the ADMM of :mod:`hubench.solvers.sunsal_tv`
(exact X step by an eigendecomposition of ``L L^T`` and the 2-D DCT).

From the paper: the objective, ADMM. Inferred or changed (docs/guide/methods.md): the
boundary (non-periodic differences, the paper's are cyclic), fewer splits (same
minimiser), the defaults of ``lam`` and ``lam_tv`` (the paper tunes both per SNR in
1e-4..1e-1; ours measured on the library scenarios, docs/dev/library.md), the stopping rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from hubench.method import register_method
from hubench.methods._library import WEIGHT, AdmmLibraryMethod, admm_estimate, library_of
from hubench.params import Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.sunsal_tv import sunsal_tv


@register_method
class SUnSALTV(AdmmLibraryMethod):
    """SUnSAL-TV over the observation's library and image grid.

    Parameters
    ----------
    lam : float
        Weight of the l1 norm of the abundances.
    lam_tv : float
        Weight of the anisotropic total variation of the abundance maps.
    mu, tol, max_iter
        ADMM settings, as for ``sunsal``.
    """

    name: ClassVar[str] = "sunsal-tv"
    description: ClassVar[str] = (
        "SUnSAL-TV (Iordache et al. 2012): l1-sparse non-negative regression over the "
        "library with anisotropic total variation of the abundance maps, by ADMM"
    )
    param_rules: ClassVar[Mapping[str, Rule]] = {"lam": WEIGHT, "lam_tv": WEIGHT}

    def __init__(
        self, *, lam: float = 1e-3, lam_tv: float = 1e-2, mu: float = 0.01, tol: float = 1e-4,
        max_iter: int = 1000,
    ) -> None:
        self.lam = lam
        self.lam_tv = lam_tv
        self.mu = mu
        self.tol = tol
        self.max_iter = max_iter

    def _fit(self, observation: Observation) -> Estimate:
        library = library_of(observation, self.name)
        result = sunsal_tv(
            library, observation.Y, observation.image_shape, self.lam, self.lam_tv, mu=self.mu,
            tol=self.tol, max_iter=self.max_iter,
        )
        return admm_estimate(library, result)
