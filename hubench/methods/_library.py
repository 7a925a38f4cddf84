"""What the library methods share: the ADMM methods' base class (task, presets, rules),
and the estimate they return.

A library method (task ``library``, docs/dev/library.md) returns abundances over every
atom of ``observation.library`` (``A`` ``(n_pixels, n_atoms)``) with ``E`` = the
library, and records its solver's iterations, convergence and residuals in ``info``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from hubench.errors import ValidationError
from hubench.method import Method
from hubench.params import Int, Real, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.sparse_regression import AdmmResult

#: Rules of the ADMM settings every ADMM library method has.
ADMM_RULES: Mapping[str, Rule] = {
    "mu": Real(0, 1e6, open_lo=True, hint="(initial ADMM penalty, adapted), such as 0.01"),
    "tol": Real(0, 1, open_lo=True, open_hi=True, hint="(relative residual tolerance) such as 1e-4"),
    "max_iter": Int(min=1),
}
#: A regularisation weight: finite and non-negative.
WEIGHT = Real(0, 1e6, hint="(regularisation weight) such as 1e-3")


class AdmmLibraryMethod(Method):
    """Base of the ADMM library methods (SUnSAL, CLSUnSAL, SUnSAL-TV): task ``library``,
    deterministic, sum-to-one not enforced, the same profile presets and ADMM rules
    (merged with a subclass's own ``param_rules`` by :meth:`Method.rules`)."""

    task: ClassVar[str] = "library"
    version: ClassVar[str] = "1"
    deterministic: ClassVar[bool] = True
    relaxes_asc: ClassVar[bool] = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"tol": 1e-4, "max_iter": 500},
        "quick": {},
        "full": {"tol": 1e-5, "max_iter": 2000},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = ADMM_RULES


def library_of(observation: Observation, method: str) -> np.ndarray:
    """The observation's library, or a ValidationError for direct ``_fit`` callers."""
    if observation.library is None:
        raise ValidationError(
            f"library: {method} needs a spectral library; use scene.observation(library=True)"
        )
    return observation.library


def admm_estimate(library: np.ndarray, result: AdmmResult, **extra: Any) -> Estimate:
    """The Estimate of an ADMM solve: abundances over the atoms, ``E`` the library."""
    info = {
        "iterations": result.iterations,
        "converged": result.converged,
        "primal_residual": result.primal_residual,
        "dual_residual": result.dual_residual,
        "final_mu": result.mu,
        **extra,
    }
    return Estimate(A=result.X, E=library, info=info)
