"""Collapsed estimates: an estimate that has lost an endmember is not an ``ok`` cell.

An estimate is *degenerate* when an endmember has collapsed:

- its abundance is below :data:`MIN_ABUNDANCE` (1e-3) in every pixel (the method put
  that material nowhere: all abundance went to the others), or
- two estimated endmember spectra are within :data:`MIN_ANGLE_RAD` (0.01 rad) of each
  other (two outputs found the same material, so another one is missing).

Such a cell gets status ``degenerate``: its metrics are still stored (they say how bad
it is), but leaderboards count it apart from the ``ok`` cells (docs/dev/harness.md).
"""

from __future__ import annotations

import numpy as np

MIN_ABUNDANCE = 1e-3
MIN_ANGLE_RAD = 0.01


def degeneracy(A: np.ndarray, E: np.ndarray | None) -> str | None:
    """The reason ``(A, E)`` is degenerate, or None. ``A`` is ``(n_pixels, p)``, ``E``
    ``(p, n_bands)`` or None (supervised methods: the endmembers are given)."""
    peak = np.max(A, axis=0)
    empty = np.flatnonzero(peak < MIN_ABUNDANCE)
    if empty.size:
        return (f"endmember(s) {', '.join(map(str, empty.tolist()))} collapsed: abundance below "
                f"{MIN_ABUNDANCE:g} in every pixel (max {peak[empty].max():.2g})")
    if E is None or E.shape[0] < 2:
        return None
    norms = np.linalg.norm(E, axis=1)
    if np.any(norms == 0):
        zero = np.flatnonzero(norms == 0)
        return f"endmember(s) {', '.join(map(str, zero.tolist()))} collapsed: all-zero spectrum"
    from hubench.metrics.alignment import sad_matrix  # the metrics' stable angle (worker-side)

    i, j = np.triu_indices(E.shape[0], k=1)
    angles = sad_matrix(E, E)[i, j]
    k = int(np.argmin(angles))
    if angles[k] < MIN_ANGLE_RAD:
        return (f"endmembers {int(i[k])} and {int(j[k])} collapsed onto one spectrum: "
                f"{angles[k]:.2g} rad apart (< {MIN_ANGLE_RAD:g})")
    return None
