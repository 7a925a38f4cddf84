"""HyperWeak: NMF with prior spectra of the weak materials (Shen, Liu, Qin, Ge, Zhou,
"Towards weak signal analysis in hyperspectral data: a semi-supervised unmixing
perspective", IEEE TGRS 2022). Task ``priors``: the observation carries the spectra of
the materials suspected to be present weakly (docs/dev/priors.md).

With ``A`` (n_pixels, p), ``E`` (p, n_bands) whose last ``q`` rows are tied to the priors
``P`` (q, n_bands), the method minimises, alternately over ``E >= 0`` and ``A >= 0``,

    J(A, E; G) = 1/2 |Y - A E|^2 + delta^2/2 |A 1 - 1|^2 + tau/2 |E_Q - P|^2
                 + lam sum(G * A),

- the ``delta`` term is the sum-to-one constraint written as an appended constant row
  (``[Y, delta 1]`` against ``[E, delta 1]``), as the paper does: soft, so the method
  declares ``relaxes_asc``;
- the ``tau`` term ties the prior rows softly to the priors (the paper's "prior
  knowledge degradation" term);
- ``G = 1 / (|wiener_3x3(A_k)| + weight_eps)`` is the re-weighted l1: the weights of
  each abundance map come from the current map after a 3x3 adaptive Wiener filter over
  the image grid (``image_shape``), recomputed before every outer iteration.

Each block is solved by a few steps of accelerated projected gradient, as in the
paper's code (Nesterov / NeNMF-style), here in its monotone form (MFISTA: a step that
would raise the block objective is not taken), with the exact Lipschitz constant of the
block (the largest eigenvalue of a p x p Gram matrix, ``+ tau`` on the prior rows), so
that with the weights fixed ``J`` never increases. The objective and gradients are
written through ``p x p`` and ``n x p`` products: one pass over the image per block.

Inferred (not in the paper): the initialisation (VCA for the free rows, the priors
for the tied rows, exact FCLS abundances), ``weight_eps`` (the paper's code uses
machine epsilon, which freezes any zero abundance for good), the Wiener filter's zero
padding at the image border (as MATLAB's ``wiener2``), the stopping rule on the relative
decrease of ``J`` within an outer iteration, ``delta`` (the code uses the number of
priors as the row value).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np
from scipy.ndimage import uniform_filter
from scipy.optimize import linear_sum_assignment

from hubench.errors import ValidationError
from hubench.method import Method, register_method
from hubench.methods.fcls import solve_fcls
from hubench.params import Bool, Int, Real, Rule
from hubench.scene import Estimate, Observation
from hubench.solvers.vca import vca

PATIENCE = 3  # outer iterations in a row below ``tol`` before stopping
INNER_TOL = 1e-5  # an inner solve stops when its gradient step moves < INNER_TOL relative


def wiener3(maps: np.ndarray) -> np.ndarray:
    """3x3 adaptive (Wiener) filter of each map of ``maps`` (H, W, k), zero-padded.

    Local mean ``m`` and variance ``s2`` over the 3x3 window; the noise power ``v`` is
    the mean of ``s2`` over the map; the output is ``m + max(s2 - v, 0) / max(s2, v) *
    (x - m)`` (a flat map, ``v = 0``, returns its local means).
    """
    size = (3, 3, 1)
    mean = uniform_filter(maps, size=size, mode="constant")
    var = uniform_filter(maps * maps, size=size, mode="constant") - mean**2
    var = np.maximum(var, 0.0)
    noise = var.mean(axis=(0, 1), keepdims=True)
    denom = np.maximum(var, noise)
    gain = np.divide(np.maximum(var - noise, 0.0), denom, out=np.zeros_like(var), where=denom > 0)
    return mean + gain * (maps - mean)


def spatial_weights(A: np.ndarray, image_shape: tuple[int, int], eps: float) -> np.ndarray:
    """Re-weighting ``1 / (|wiener3(A_k)| + eps)`` of every abundance, shape of ``A``."""
    maps = A.reshape(image_shape[0], image_shape[1], A.shape[1])
    return 1.0 / (np.abs(wiener3(maps)).reshape(A.shape) + eps)


def mfista(
    x: np.ndarray,
    gradient: Callable[[np.ndarray], np.ndarray],
    objective: Callable[[np.ndarray], float],
    lipschitz: float,
    max_iter: int,
) -> tuple[np.ndarray, int]:
    """Monotone accelerated projected gradient on ``x >= 0`` (Beck & Teboulle's MFISTA).

    Returns the last accepted point (its objective never above the start's) and the
    number of steps taken.
    """
    fx = objective(x)
    z, t = x, 1.0
    step = 1.0 / lipschitz
    for k in range(max_iter):
        u = np.maximum(z - step * gradient(z), 0.0)
        moved = np.linalg.norm(u - z)
        fu = objective(u)
        t_next = 0.5 * (1.0 + float(np.sqrt(1.0 + 4.0 * t * t)))
        previous = x
        if fu <= fx:
            x, fx = u, fu
        z = x + (t / t_next) * (u - x) + ((t - 1.0) / t_next) * (x - previous)
        t = t_next
        if moved <= INNER_TOL * max(float(np.linalg.norm(u)), 1e-300) and k > 0:
            return x, k + 1
    return x, max_iter


class Problem:
    """The data of one fit and the pieces of ``J`` (see the module docstring)."""

    def __init__(self, Y: np.ndarray, P: np.ndarray, p: int, lam: float, tau: float, delta: float):
        self.Y, self.P, self.lam, self.tau, self.delta = Y, P, lam, tau, delta
        self.q = P.shape[0]
        self.mask = np.zeros((p, 1))
        self.mask[p - self.q:] = 1.0
        self.P_full = np.zeros((p, Y.shape[1]))
        self.P_full[p - self.q:] = P
        self.yy = float(np.sum(Y * Y))

    def objective(self, A: np.ndarray, E: np.ndarray, G: np.ndarray) -> float:
        fit = 0.5 * float(np.sum((self.Y - A @ E) ** 2))
        asc = 0.5 * self.delta**2 * float(np.sum((A.sum(axis=1) - 1.0) ** 2))
        tie = 0.5 * self.tau * float(np.sum(self.mask * (E - self.P_full) ** 2))
        return fit + asc + tie + self.lam * float(np.sum(G * A))

    def update_E(self, A: np.ndarray, E: np.ndarray, inner_iter: int) -> np.ndarray:
        K, R = A.T @ A, A.T @ self.Y
        tie = self.tau * self.mask

        def grad(X: np.ndarray) -> np.ndarray:
            return K @ X - R + tie * (X - self.P_full)

        def obj(X: np.ndarray) -> float:
            return float(0.5 * np.sum(X * (K @ X)) - np.sum(X * R)
                         + 0.5 * np.sum(tie * (X - self.P_full) ** 2))

        L = float(np.linalg.eigvalsh(K + np.diag(tie[:, 0]))[-1])
        return mfista(E, grad, obj, max(L, 1e-12), inner_iter)[0]

    def update_A(self, A: np.ndarray, E: np.ndarray, G: np.ndarray, inner_iter: int) -> np.ndarray:
        d2 = self.delta**2
        K = E @ E.T + d2
        B = self.Y @ E.T + d2 - self.lam * G  # the linear term, weights included

        def grad(X: np.ndarray) -> np.ndarray:
            return X @ K - B

        def obj(X: np.ndarray) -> float:
            return float(0.5 * np.sum(X * (X @ K)) - np.sum(X * B))

        L = float(np.linalg.eigvalsh(K)[-1])
        return mfista(A, grad, obj, max(L, 1e-12), inner_iter)[0]


def initial_endmembers(Y: np.ndarray, P: np.ndarray, p: int, random_state: int | None) -> np.ndarray:
    """Free rows from VCA (the ``p`` VCA endmembers less those matched to the priors by
    spectral angle), then the priors; non-negative."""
    q = P.shape[0]
    if q == p:
        return P.copy()
    found = np.maximum(vca(Y, p, random_state=random_state).E, 0.0)
    if q:
        unit_f = found / np.maximum(np.linalg.norm(found, axis=1, keepdims=True), 1e-300)
        unit_p = P / np.maximum(np.linalg.norm(P, axis=1, keepdims=True), 1e-300)
        _, matched = linear_sum_assignment(-(unit_p @ unit_f.T))
        found = np.delete(found, matched, axis=0)
    return np.vstack([found, P])


@register_method
class HyperWeak(Method):
    """NMF with soft prior endmembers, spatially re-weighted l1 and soft sum-to-one.

    Parameters
    ----------
    lam : float
        Weight of the re-weighted l1 penalty on the abundances.
    tau : float
        Weight tying the prior rows of ``E`` to the priors (0: priors only initialise).
    delta : float
        Value of the appended sum-to-one row (larger: abundances closer to summing to one).
    weight_eps : float
        Added to the filtered abundances before inverting them into weights.
    reweight : bool
        Re-weight from the filtered abundances (False: plain l1, weights 1).
    max_iter : int
        Outer (E then A) iterations at most.
    inner_iter : int
        Accelerated projected-gradient steps per block at most.
    tol : float
        Stop after 3 outer iterations in a row that lower ``J`` by less than ``tol``
        relative.
    random_state : int or None
        Seed of the VCA initialisation.
    """

    name: ClassVar[str] = "hyperweak"
    task: ClassVar[str] = "priors"
    description: ClassVar[str] = (
        "HyperWeak (Shen et al. 2022): NMF with the weak materials' prior spectra, spatially "
        "re-weighted l1 and sum-to-one by an appended row; given priors"
    )
    version: ClassVar[str] = "1"
    relaxes_asc: ClassVar[bool] = True
    deterministic: ClassVar[bool] = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"max_iter": 30, "inner_iter": 20},
        "quick": {"max_iter": 150, "inner_iter": 50},
        "full": {"max_iter": 500, "inner_iter": 200},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "lam": Real(0, 1e3),
        "tau": Real(0, 1e9),
        "delta": Real(0, 1e4),
        "weight_eps": Real(0, 1, open_lo=True),
        "reweight": Bool(),
        "max_iter": Int(min=1),
        "inner_iter": Int(min=1),
        "tol": Real(0, 1, open_lo=True, open_hi=True),
        "random_state": Int(min=0, none_ok=True),
    }

    def __init__(
        self,
        *,
        lam: float = 1e-3,
        tau: float = 500.0,
        delta: float = 5.0,
        weight_eps: float = 1e-2,
        reweight: bool = True,
        max_iter: int = 150,
        inner_iter: int = 50,
        tol: float = 1e-4,
        random_state: int | None = None,
    ) -> None:
        self.lam = lam
        self.tau = tau
        self.delta = delta
        self.weight_eps = weight_eps
        self.reweight = reweight
        self.max_iter = max_iter
        self.inner_iter = inner_iter
        self.tol = tol
        self.random_state = random_state

    def _fit(self, observation: Observation) -> Estimate:
        assert observation.priors is not None  # Method.fit refuses an observation without
        Y, p = observation.Y, observation.n_endmembers
        P = observation.priors.spectra
        if P.shape[0] > p:
            raise ValidationError(
                f"priors: {P.shape[0]} prior spectra but only {p} endmembers; raise "
                "n_endmembers or give fewer priors"
            )
        if np.any(P < 0):
            raise ValidationError("priors: hold negative values; HyperWeak's endmembers are non-negative")
        problem = Problem(Y, P, p, float(self.lam), float(self.tau), float(self.delta))
        E = initial_endmembers(Y, P, p, self.random_state)
        A = solve_fcls(E, Y, tol=1e-10, max_iter=None)[0]
        before: list[float] = []
        after: list[float] = []
        calm, converged = 0, False
        for _ in range(self.max_iter):
            G = (spatial_weights(A, observation.image_shape, self.weight_eps) if self.reweight
                 else np.ones_like(A))
            before.append(problem.objective(A, E, G))
            E = problem.update_E(A, E, self.inner_iter)
            A = problem.update_A(A, E, G, self.inner_iter)
            after.append(problem.objective(A, E, G))
            drop = (before[-1] - after[-1]) / max(abs(before[-1]), 1e-300)
            calm = calm + 1 if drop <= self.tol else 0
            if calm >= PATIENCE:
                converged = True
                break
        info = {
            "iterations": len(after),
            "converged": converged,
            "objective": after,
            "objective_before": before,
            "prior_rows": list(range(p - P.shape[0], p)),
            "prior_names": list(observation.priors.names),
        }
        return Estimate(A=A, E=E, info=info)
