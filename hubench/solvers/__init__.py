"""Numerical solvers shared by several methods.

``fcls`` (batched exact least squares on the probability simplex) is used by the
``fcls``, ``vca`` and ``vca+fcls`` methods and is the abundance initialisation of
DEQ-Unmix; ``project_simplex`` is the Euclidean projection onto the simplex. ``vca``
(VCA's vertex search, endmembers only) serves the ``vca`` and ``vca+fcls`` methods and
the deep methods' decoder initialisation.
"""

from hubench.solvers.simplex_ls import (
    SimplexLSResult,
    fcls,
    fcls_gram,
    kkt_residual,
    kkt_residual_gram,
    project_simplex,
)
from hubench.solvers.vca import VCAResult, estimate_snr, vca

__all__ = [
    "SimplexLSResult",
    "VCAResult",
    "estimate_snr",
    "fcls",
    "fcls_gram",
    "kkt_residual",
    "kkt_residual_gram",
    "project_simplex",
    "vca",
]
