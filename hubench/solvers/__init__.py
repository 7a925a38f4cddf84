"""Numerical solvers shared by several methods.

``fcls`` (batched exact least squares on the probability simplex) is used by the
``fcls``, ``vca`` and ``vca+fcls`` methods and is the abundance initialisation of
DEQ-Unmix; ``project_simplex`` is the Euclidean projection onto the simplex.
"""

from hubench.solvers.simplex_ls import (
    SimplexLSResult,
    fcls,
    fcls_gram,
    kkt_residual,
    kkt_residual_gram,
    project_simplex,
)

__all__ = ["SimplexLSResult", "fcls", "fcls_gram", "kkt_residual", "kkt_residual_gram", "project_simplex"]
