"""SISAL (Bioucas-Dias 2009), blind: minimum-volume simplex with soft (hinge)
positivity, then exact batched FCLS.

The simplex search is :func:`hubench.solvers.sisal.sisal` (affine projection, VCA start,
sequence of augmented-Lagrangian subproblems; what is known and what is inferred is
documented there). It handles scenes without pure pixels, where VCA and N-FINDR fall
inside the true simplex.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from hubench.method import Method, register_method
from hubench.methods.fcls import SOLVER_RULES, solve_fcls
from hubench.params import Bool, Int, Real, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.sisal import sisal


@register_method
class SISAL(Method):
    """Simplex identification via split augmented Lagrangian; abundances by exact FCLS.

    Parameters
    ----------
    tau : float
        Weight of the hinge (soft positivity) term; larger is closer to hard constraints.
    mu : float or None
        Augmented-Lagrangian weight (None: the authors' ``1000 p / n_pixels``).
    mm_iters : int
        Subproblems (linearisations of ``-log|det Q|``).
    al_iters : int
        ADMM iterations per subproblem.
    spherize : bool
        Whiten the affine coordinates first (the authors' default).
    tol, max_iter : float, int or None
        FCLS solver settings for the abundances (see ``fcls``).
    random_state : int or None
        Seed of the VCA start.
    """

    name: ClassVar[str] = "sisal"
    task: ClassVar[str] = "blind"
    description: ClassVar[str] = (
        "SISAL (Bioucas-Dias 2009): minimum-volume simplex with hinge soft constraints, "
        "for scenes without pure pixels; abundances from exact batched FCLS"
    )
    version: ClassVar[str] = "1"
    deterministic: ClassVar[bool] = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"mm_iters": 200},
        "quick": {"mm_iters": 250},
        "full": {"mm_iters": 500},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "tau": Real(0, open_lo=True),
        "mu": Real(0, open_lo=True, none_ok="1000 p / n_pixels"),
        "mm_iters": Int(min=1),
        "al_iters": Int(min=1),
        "spherize": Bool(),
        **SOLVER_RULES,
        "random_state": Int(min=0, none_ok=True),
    }

    def __init__(
        self,
        *,
        tau: float = 1.0,
        mu: float | None = None,
        mm_iters: int = 80,
        al_iters: int = 4,
        spherize: bool = True,
        tol: float = 1e-12,
        max_iter: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.tau = tau
        self.mu = mu
        self.mm_iters = mm_iters
        self.al_iters = al_iters
        self.spherize = spherize
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit(self, observation: Observation) -> Estimate:
        found = sisal(
            observation.Y,
            observation.n_endmembers,
            tau=self.tau,
            mu=self.mu,
            mm_iters=self.mm_iters,
            al_iters=self.al_iters,
            spherize=self.spherize,
            random_state=self.random_state,
        )
        A, info = solve_fcls(found.E, observation.Y, tol=self.tol, max_iter=self.max_iter,
                             progress=self._block_progress())
        info.update(sisal_objective=float(found.objective[-1]),
                    sisal_max_violation=found.max_violation)
        return Estimate(A=A, E=found.E, info=info)
