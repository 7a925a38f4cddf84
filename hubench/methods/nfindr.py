"""N-FINDR (Winter 1999), blind: maximum-volume pixels, then exact batched FCLS.

The vertex search is :func:`hubench.solvers.nfindr.nfindr` (PCA to p-1 dimensions,
vectorised volume updates by cofactors, documented there); the abundances are the exact
FCLS on the found pixels.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from hubench.method import Method, register_method
from hubench.methods.fcls import SOLVER_RULES, solve_fcls
from hubench.params import Choice, Int, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.nfindr import SOURCES, nfindr


@register_method
class NFINDR(Method):
    """N-FINDR endmembers (largest simplex of pixels); abundances by exact FCLS.

    Parameters
    ----------
    n_restarts : int
        Independent random starts; the largest simplex is kept.
    max_sweeps : int
        Cap on the replacement sweeps of one start (a sweep tries every vertex position).
    endmember_source : {"projected", "pixels"}
        The chosen pixels projected on the PCA affine set (denoised), or the raw pixels.
    tol, max_iter : float, int or None
        FCLS solver settings for the abundances (see ``fcls``).
    random_state : int or None
        Seed of the starting pixels.
    """

    name: ClassVar[str] = "n-findr"
    task: ClassVar[str] = "blind"
    description: ClassVar[str] = (
        "N-FINDR (Winter 1999): the pixels of largest simplex volume in the PCA subspace; "
        "abundances from exact batched FCLS"
    )
    version: ClassVar[str] = "1"
    deterministic: ClassVar[bool] = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"n_restarts": 1},
        "quick": {"n_restarts": 3},
        "full": {"n_restarts": 10},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "n_restarts": Int(min=1),
        "max_sweeps": Int(min=1),
        "endmember_source": Choice(*SOURCES),
        **SOLVER_RULES,
        "random_state": Int(min=0, none_ok=True),
    }

    def __init__(
        self,
        *,
        n_restarts: int = 1,
        max_sweeps: int = 50,
        endmember_source: str = "projected",
        tol: float = 1e-12,
        max_iter: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.n_restarts = n_restarts
        self.max_sweeps = max_sweeps
        self.endmember_source = endmember_source
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit(self, observation: Observation) -> Estimate:
        found = nfindr(
            observation.Y,
            observation.n_endmembers,
            n_restarts=self.n_restarts,
            max_sweeps=self.max_sweeps,
            endmember_source=self.endmember_source,
            random_state=self.random_state,
        )
        A, info = solve_fcls(found.E, observation.Y, tol=self.tol, max_iter=self.max_iter,
                             progress=self._block_progress())
        info.update(nfindr_indices=found.indices.tolist(), nfindr_volume=found.volume,
                    nfindr_sweeps=found.sweeps)
        return Estimate(A=A, E=found.E, info=info)
