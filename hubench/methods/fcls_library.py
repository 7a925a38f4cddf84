"""FCLS over the whole library: the no-sparsity reference of the library task.

Every pixel solves ``min |y - L^T a|^2`` s.t. ``a >= 0``, ``sum(a) = 1`` over all the
library's atoms, exactly, with the batched active-set solver of ``fcls``
(:mod:`hubench.solvers.simplex_ls`; a library with more atoms than bands makes the Gram
matrix singular, which that solver handles with the pseudo-inverse). No sparsity term:
it shows what the sparse methods gain. It is ranked with the other library methods (it
sees the same library, nothing more).
"""

from __future__ import annotations

from typing import ClassVar

from hubench.method import register_method
from hubench.methods._library import library_of
from hubench.methods.fcls import FCLS, solve_fcls
from hubench.scene import Estimate, Observation


@register_method
class FCLSLibrary(FCLS):
    """Fully constrained least squares over every atom of the observation's library.

    Parameters
    ----------
    tol, max_iter
        As for ``fcls`` (its hyperparameters, rules and presets are inherited).
    """

    name: ClassVar[str] = "fcls-library"
    task: ClassVar[str] = "library"
    description: ClassVar[str] = (
        "FCLS (Heinz & Chang 2001) over the whole library, no sparsity term: the "
        "reference of the library task"
    )

    def _fit(self, observation: Observation) -> Estimate:
        library = library_of(observation, self.name)
        A, info = solve_fcls(library, observation.Y, tol=self.tol, max_iter=self.max_iter,
                             progress=self._block_progress())
        return Estimate(A=A, E=library, info=info)
