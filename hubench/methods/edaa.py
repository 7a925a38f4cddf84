"""EDAA (Zouaoui et al., IEEE TIP 2023), blind: archetypal analysis by entropic descent.

The solver is :func:`hubench.solvers.edaa.edaa` (the model, the mirror steps, the step
sizes and the model selection over runs, what is known and what is inferred, are
documented there). EDAA returns its own abundances (on the simplex by construction), so
no FCLS follows; ``info`` records the kept run and the objective at its start and end.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from hubench.method import Method, register_method
from hubench.params import Int, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.edaa import edaa


@register_method
class EDAA(Method):
    """Entropic descent archetypal analysis: endmembers are convex combinations of pixels.

    Parameters
    ----------
    n_runs : int
        Random runs (each with its own start and step-size factor); the paper's model
        selection keeps one (50 in the paper).
    n_outer : int
        Outer iterations of each run (100 in the paper).
    a_steps, b_steps : int
        Entropic steps on the abundances, then on the archetype weights, per outer
        iteration (5 and 5 in the paper).
    random_state : int or None
        Seed of every run's start and step-size factor.
    """

    name: ClassVar[str] = "edaa"
    task: ClassVar[str] = "blind"
    description: ClassVar[str] = (
        "EDAA (Zouaoui et al. 2023): archetypal analysis Y ~ A B^T Y by entropic (mirror) "
        "descent over several runs, with the paper's model selection"
    )
    version: ClassVar[str] = "1"
    deterministic: ClassVar[bool] = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"n_runs": 3, "n_outer": 40},
        "quick": {"n_runs": 4, "n_outer": 50},
        "full": {"n_runs": 50, "n_outer": 100},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "n_runs": Int(min=1),
        "n_outer": Int(min=1),
        "a_steps": Int(min=1),
        "b_steps": Int(min=1),
        "random_state": Int(min=0, none_ok=True),
    }

    def __init__(
        self,
        *,
        n_runs: int = 50,
        n_outer: int = 100,
        a_steps: int = 5,
        b_steps: int = 5,
        random_state: int | None = None,
    ) -> None:
        self.n_runs = n_runs
        self.n_outer = n_outer
        self.a_steps = a_steps
        self.b_steps = b_steps
        self.random_state = random_state

    def _fit(self, observation: Observation) -> Estimate:
        found = edaa(
            observation.Y,
            observation.n_endmembers,
            n_runs=self.n_runs,
            n_outer=self.n_outer,
            a_steps=self.a_steps,
            b_steps=self.b_steps,
            random_state=self.random_state,
        )
        k = found.chosen
        info = {
            "edaa_chosen_run": k,
            "edaa_objective_start": float(found.objective_start[k]),
            "edaa_objective_end": float(found.objective_end[k]),
            "edaa_max_correlation": float(found.max_correlation[k]),
        }
        return Estimate(A=found.A, E=found.E, info=info)
