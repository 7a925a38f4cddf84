"""The weak-endmember rule for real scenes (docs/guide/your-data.md, "Weak endmembers by rule").

Real scenes have no weak endmembers "by construction", so they are chosen by rule:
endmember ``k`` is weak when

- its mean reference abundance ``mean_i A[i, k]`` is below ``0.15`` (rare), or
- its signal energy ``mean_i A[i, k] * |e_k|`` is below ``25%`` of the strongest
  endmember's (low albedo).

The energy needs the reference spectra on the scale of ``Y``. When they are normalised
(Samson's are scaled to a maximum of 1 each), they are first rescaled by the
non-negative least-squares fit ``Y ~= A diag(s) E``, ``s >= 0``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from hubench.errors import DataError

RARE_MEAN_ABUNDANCE = 0.15
LOW_ENERGY_FRACTION = 0.25
NORMALISED_TOL = 0.01  # Samson's published water spectrum peaks at 0.99904
# A value within this fraction of its threshold is *marginal*: a slightly different
# reference (another release of the file, another scaling) could flip the rule.
MARGINAL_FRACTION = 0.10


@dataclass(frozen=True)
class WeakRuleResult:
    """Outcome of :func:`weak_by_rule`, one entry per endmember (length ``p``).

    ``scales`` are the NNLS factors ``s`` when the references were rescaled, else None;
    ``energy_fraction[k]`` is endmember ``k``'s energy over the strongest one's.
    """

    weak: np.ndarray
    rare: np.ndarray
    low_energy: np.ndarray
    mean_abundance: np.ndarray
    energy_fraction: np.ndarray
    scales: np.ndarray | None
    rare_threshold: float = RARE_MEAN_ABUNDANCE
    energy_threshold: float = LOW_ENERGY_FRACTION

    @property
    def marginal(self) -> np.ndarray:
        """Endmembers whose mean abundance or energy share lies within
        :data:`MARGINAL_FRACTION` (10%) of its threshold: the rule's verdict is fragile."""
        near_rare = np.abs(self.mean_abundance - self.rare_threshold) <= MARGINAL_FRACTION * self.rare_threshold
        near_energy = (np.abs(self.energy_fraction - self.energy_threshold)
                       <= MARGINAL_FRACTION * self.energy_threshold)
        return np.asarray(near_rare | near_energy)

    def as_params(self) -> dict[str, object]:
        """JSON-friendly summary for ``Scene.params``."""
        return {
            "mean_abundance": [round(float(v), 6) for v in self.mean_abundance],
            "energy_fraction": [round(float(v), 6) for v in self.energy_fraction],
            "scales": None if self.scales is None else [float(v) for v in self.scales],
            "rare_threshold": self.rare_threshold,
            "energy_threshold": self.energy_threshold,
            "rare": [bool(v) for v in self.rare],
            "low_energy": [bool(v) for v in self.low_energy],
            "weak_by_rule": [bool(v) for v in self.weak],
            "marginal": [bool(v) for v in self.marginal],
        }


def is_normalised(E: np.ndarray, tol: float = NORMALISED_TOL) -> bool:
    """True when every endmember (row of ``E``, shape ``(p, n_bands)``) peaks at 1 (within ``tol``)."""
    return bool(np.all(np.abs(np.max(E, axis=1) - 1.0) <= tol))


def nnls_scales(Y: np.ndarray, A: np.ndarray, E: np.ndarray) -> np.ndarray:
    """Non-negative ``s`` (shape ``(p,)``) minimising ``|Y - A diag(s) E|_F``.

    Parameters
    ----------
    Y : ndarray, shape (n_pixels, n_bands)
    A : ndarray, shape (n_pixels, p)
    E : ndarray, shape (p, n_bands)

    Notes
    -----
    ``|Y - sum_k s_k a_k e_k^T|^2 = s^T G s - 2 b^T s + const`` with
    ``G = (A^T A) * (E E^T)`` (elementwise) and ``b_k = a_k^T Y e_k``, so the problem is
    solved in ``p`` dimensions without forming the ``n_pixels * n_bands`` design matrix:
    with ``G = R^T R`` it is the NNLS problem ``min |R s - R^{-T} b|``.
    """
    gram = (A.T @ A) * (E @ E.T)
    rhs = np.einsum("ik,ik->k", A, Y @ E.T)
    w, V = np.linalg.eigh(gram)
    keep = w > w.max() * 1e-12
    if not np.any(keep):
        raise DataError("weak rule: reference abundances or endmembers are all zero")
    sqrt_w = np.sqrt(w[keep])
    R = sqrt_w[:, None] * V[:, keep].T
    target = (V[:, keep].T @ rhs) / sqrt_w
    s, _ = nnls(R, target)
    return np.asarray(s, dtype=np.float64)


def weak_by_rule(
    Y: np.ndarray,
    A: np.ndarray,
    E: np.ndarray,
    *,
    normalised: bool | None = None,
    rare_threshold: float = RARE_MEAN_ABUNDANCE,
    energy_threshold: float = LOW_ENERGY_FRACTION,
) -> WeakRuleResult:
    """Apply the design's weak-endmember rule to a reference scene.

    Parameters
    ----------
    Y : ndarray, shape (n_pixels, n_bands)
    A : ndarray, shape (n_pixels, p)
        Reference abundances.
    E : ndarray, shape (p, n_bands)
        Reference endmembers.
    normalised : bool or None
        Whether ``E``'s rows were scaled independently of ``Y`` (then they are rescaled
        by :func:`nnls_scales` first). None detects it: every row peaks at 1
        within 1% (:func:`is_normalised`).
    """
    if normalised is None:
        normalised = is_normalised(E)
    scales = nnls_scales(Y, A, E) if normalised else None
    E_scaled = E if scales is None else scales[:, None] * E
    mean_abundance = A.mean(axis=0)
    energy = mean_abundance * np.linalg.norm(E_scaled, axis=1)
    if energy.max() <= 0:
        raise DataError("weak rule: every endmember has zero energy; check the reference A and E")
    fraction = energy / energy.max()
    rare = mean_abundance < rare_threshold
    low = fraction < energy_threshold
    return WeakRuleResult(
        weak=rare | low,
        rare=rare,
        low_energy=low,
        mean_abundance=mean_abundance,
        energy_fraction=fraction,
        scales=scales,
        rare_threshold=rare_threshold,
        energy_threshold=energy_threshold,
    )
