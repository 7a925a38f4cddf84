"""FCLS: fully constrained least squares (Heinz & Chang, IEEE TGRS 2001), supervised.

Given the endmembers ``E``, every pixel's abundances solve
``min |y - E^T a|^2  s.t.  a >= 0, sum(a) = 1`` exactly. Reference implementations run
one QP per pixel in a Python loop; hubench solves all pixels at once with the batched
active-set solver of :mod:`hubench.solvers.simplex_ls` (one product ``Y @ E.T``, then
O(p^2) work per pixel and iteration), see docs/dev/classic-methods.md. ``info`` records the
iterations and the largest KKT residual, so that exactness is checked on every run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from hubench.errors import ValidationError
from hubench.method import Method, register_method
from hubench.params import Int, Real, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.simplex_ls import BLOCK_PIXELS, fcls_gram, kkt_residual_gram

# The FCLS solver settings, shared by every method that solves FCLS (vca, vca+fcls).
SOLVER_RULES: Mapping[str, Rule] = {
    "tol": Real(0, 1, open_lo=True, open_hi=True, hint="such as 1e-12"),
    "max_iter": Int(min=1, none_ok="automatic"),
}


def solve_fcls(
    E: np.ndarray, Y: np.ndarray, *, tol: float, max_iter: int | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """FCLS abundances (n_pixels, p) of ``Y`` (n_pixels, n_bands) on ``E`` (p, n_bands),
    and the solver record for ``Estimate.info`` (iterations, max KKT residual...);
    ``progress(done, total)`` after each pixel block (see :func:`fcls_gram`)."""
    G = E @ E.T
    B = Y @ E.T  # the one pass over the image; the KKT check reuses it
    result = fcls_gram(G, B, tol=tol, max_iter=max_iter, progress=progress)
    info = {
        "fcls_iterations": result.iterations,
        "fcls_converged": result.converged,
        "fcls_unconverged_pixels": result.n_unconverged,
        "fcls_stalled_pixels": result.n_stalled,
        "fcls_max_kkt_residual": max(  # in pixel blocks: the check's temporaries stay small
            float(kkt_residual_gram(G, B[i:i + BLOCK_PIXELS], result.A[i:i + BLOCK_PIXELS]).max())
            for i in range(0, B.shape[0], BLOCK_PIXELS)),
    }
    return result.A, info


@register_method
class FCLS(Method):
    """Fully constrained least squares given the endmembers: exact, batched over pixels.

    Parameters
    ----------
    tol : float
        Multiplier tolerance in abundance units (multipliers divided by the largest
        eigenvalue of ``E E^T``): the active-set search stops when every fixed abundance
        has multiplier >= -tol.
    max_iter : int or None
        Active-set iteration cap (None: ``10 p + 50``, never reached in practice).
    """

    name: ClassVar[str] = "fcls"
    task: ClassVar[str] = "supervised"
    description: ClassVar[str] = (
        "Fully constrained least squares (Heinz & Chang 2001) given E: exact batched "
        "active-set solver over all pixels, KKT residual reported"
    )
    version: ClassVar[str] = "1"
    deterministic: ClassVar[bool] = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {"ci": {}, "quick": {}, "full": {}}
    param_rules: ClassVar[Mapping[str, Rule]] = SOLVER_RULES

    def __init__(self, *, tol: float = 1e-12, max_iter: int | None = None) -> None:
        self.tol = tol
        self.max_iter = max_iter

    def _fit(self, observation: Observation) -> Estimate:
        E = observation.E
        if E is None:  # Method.fit already refuses this; kept for direct _fit callers
            raise ValidationError("E: fcls is supervised; use scene.observation(supervised=True)")
        A, info = solve_fcls(E, observation.Y, tol=self.tol, max_iter=self.max_iter,
                             progress=self._block_progress())
        return Estimate(A=A, info=info)
