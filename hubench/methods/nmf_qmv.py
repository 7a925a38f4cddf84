"""NMF-QMV (Zhuang et al., IEEE TGRS 2019), blind: minimum-volume NMF with a quadratic
volume regulariser and sum-to-one abundances.

Chosen over MVC-NMF (Miao & Qi 2007): its volume term is quadratic, so both blocks of
the alternating minimisation are solved exactly (a p x p linear system for the
endmembers, the exact batched FCLS for the abundances) and the objective provably never
increases, where MVC-NMF's determinant penalty needs projected-gradient steps with an
Armijo search and a hand-set weight; NMF-QMV also comes with a rule that selects its
weight ``beta`` from the data. The solver is :func:`hubench.solvers.nmf_qmv.nmf_qmv`
(known and inferred choices documented there). The abundances are the S-step's
(FCLS with a proximal term); ``info`` records the selected beta.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from hubench.errors import ParameterError
from hubench.method import Method, register_method
from hubench.params import Choice, Int, Real, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.nmf_qmv import TERMS, nmf_qmv


@register_method
class NMFQMV(Method):
    """Minimum-volume NMF with a quadratic volume term; beta selected from the data.

    Parameters
    ----------
    term : {"center", "boundary", "totalVar"}
        The quadratic volume term (HySUPP's comparison used "center").
    beta : float or None
        Weight of the volume term; None selects it among ``10^k`` for k from
        ``beta_exp_lo`` to ``beta_exp_hi`` by the paper's boundary-distance criterion.
    beta_exp_lo, beta_exp_hi : int
        The exponents of the candidate grid (the paper: -5 to 5).
    n_iter : int
        Proximal alternating iterations per candidate (100 in the paper).
    vca_restarts : int
        VCA runs for the start (largest volume kept; the authors use 30).
    tol : float
        FCLS multiplier tolerance of the abundance step.
    random_state : int or None
        Seed of the VCA start and of the boundary-pixel projections (p > 6).
    """

    name: ClassVar[str] = "nmf-qmv"
    task: ClassVar[str] = "blind"
    description: ClassVar[str] = (
        "NMF-QMV (Zhuang et al. 2019): minimum-volume NMF with a quadratic volume term, "
        "exact alternating blocks (FCLS abundances), beta selected from the data"
    )
    version: ClassVar[str] = "1"
    deterministic: ClassVar[bool] = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"beta_exp_lo": -3, "beta_exp_hi": 1, "n_iter": 30},
        "quick": {"beta_exp_lo": -3, "beta_exp_hi": 1, "n_iter": 50},
        "full": {"beta_exp_lo": -5, "beta_exp_hi": 5, "n_iter": 100},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "term": Choice(*TERMS),
        "beta": Real(0, open_lo=True, none_ok="select it from the data"),
        "beta_exp_lo": Int(min=-12, max=12),
        "beta_exp_hi": Int(min=-12, max=12),
        "n_iter": Int(min=1),
        "vca_restarts": Int(min=1),
        "tol": Real(0, 1, open_lo=True, open_hi=True, hint="such as 1e-12"),
        "random_state": Int(min=0, none_ok=True),
    }

    def __init__(
        self,
        *,
        term: str = "center",
        beta: float | None = None,
        beta_exp_lo: int = -5,
        beta_exp_hi: int = 5,
        n_iter: int = 100,
        vca_restarts: int = 1,
        tol: float = 1e-12,
        random_state: int | None = None,
    ) -> None:
        self.term = term
        self.beta = beta
        self.beta_exp_lo = beta_exp_lo
        self.beta_exp_hi = beta_exp_hi
        self.n_iter = n_iter
        self.vca_restarts = vca_restarts
        self.tol = tol
        self.random_state = random_state

    @classmethod
    def check_param_combinations(cls, params: Mapping[str, Any]) -> None:
        super().check_param_combinations(params)
        if params["beta_exp_lo"] > params["beta_exp_hi"]:
            raise ParameterError(
                f"beta_exp_lo: {params['beta_exp_lo']} is above beta_exp_hi "
                f"{params['beta_exp_hi']}; give lo <= hi"
            )

    def _fit(self, observation: Observation) -> Estimate:
        if self.beta is None:
            betas = tuple(10.0**k for k in range(self.beta_exp_lo, self.beta_exp_hi + 1))
        else:
            betas = (float(self.beta),)
        found = nmf_qmv(
            observation.Y,
            observation.n_endmembers,
            term=self.term,
            betas=betas,
            n_iter=self.n_iter,
            vca_restarts=self.vca_restarts,
            tol=self.tol,
            random_state=self.random_state,
        )
        info = {
            "qmv_beta": found.beta,
            "qmv_objective_start": float(found.objective[0]),
            "qmv_objective_end": float(found.objective[-1]),
            "qmv_iterations": int(found.objective.size - 1),
        }
        return Estimate(A=found.A, E=found.E, info=info)
