"""VCA: vertex component analysis (Nascimento & Bioucas-Dias, IEEE TGRS 2005), blind.

The vertex search itself (projection, SNR estimate, random directions, restarts) is
:func:`hubench.solvers.vca.vca`, documented there. The method needs abundances to be
scored: they come from the exact batched FCLS on the found endmembers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from hubench.method import Method, register_method
from hubench.methods.fcls import SOLVER_RULES, solve_fcls
from hubench.params import Choice, Int, Real, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.vca import SOURCES, vca


@register_method
class VCA(Method):
    """Vertex component analysis; abundances by exact FCLS on the found endmembers.

    Parameters
    ----------
    snr_input : float or None
        SNR in dB that chooses the projection (None: estimate it from the data).
    n_restarts : int
        Independent runs of the random vertex search; the largest simplex is kept.
    endmember_source : {"projected", "pixels"}
        Return the denoised (projected) pixels, as the authors do, or the raw pixels.
    tol, max_iter : float, int or None
        FCLS solver settings for the abundances (see ``fcls``).
    random_state : int or None
        Seed of the random directions.
    """

    name: ClassVar[str] = "vca"
    task: ClassVar[str] = "blind"
    description: ClassVar[str] = (
        "Vertex component analysis (Nascimento & Bioucas-Dias 2005); abundances from "
        "exact batched FCLS on the extracted endmembers"
    )
    version: ClassVar[str] = "1"
    deterministic: ClassVar[bool] = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"n_restarts": 1},
        "quick": {"n_restarts": 3},
        "full": {"n_restarts": 10},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "snr_input": Real(finite=False, hint="in dB", none_ok="estimate it from the data"),
        "n_restarts": Int(min=1),
        "endmember_source": Choice(*SOURCES),
        **SOLVER_RULES,
        "random_state": Int(min=0, none_ok=True),
    }

    def __init__(
        self,
        *,
        snr_input: float | None = None,
        n_restarts: int = 1,
        endmember_source: str = "projected",
        tol: float = 1e-12,
        max_iter: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.snr_input = snr_input
        self.n_restarts = n_restarts
        self.endmember_source = endmember_source
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit(self, observation: Observation) -> Estimate:
        found = vca(
            observation.Y,
            observation.n_endmembers,
            snr_input=self.snr_input,
            n_restarts=self.n_restarts,
            endmember_source=self.endmember_source,
            random_state=self.random_state,
        )
        A, info = solve_fcls(found.E, observation.Y, tol=self.tol, max_iter=self.max_iter,
                             progress=self._block_progress())
        info.update(
            vca_indices=found.indices.tolist(),
            vca_snr_db=found.snr_db,
            vca_branch=found.branch,
            vca_volume=found.volume,
        )
        return Estimate(A=A, E=found.E, info=info)
