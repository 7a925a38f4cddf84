"""EDAA: entropic descent archetypal analysis (Zouaoui, Muhawenayo, Rasti, Chanussot,
Mairal, IEEE TIP 2023).

Archetypal analysis: ``Y ~ A E`` with ``E = B^T Y`` (p, L), every endmember a convex
combination of pixels (the columns of ``B`` (n, p) on the simplex) and every pixel's
abundances (the rows of ``A`` (n, p)) on the simplex; minimise
``f(A, B) = 1/2 |Y - A B^T Y|_F^2``.

Known (the paper and the authors' code): alternating entropic (mirror, exponentiated
gradient) steps, ``A <- A * exp(-eta_A grad_A f)`` renormalised per pixel and
``B <- B * exp(-eta_B grad_B f)`` renormalised per endmember; ``T = 100`` outer
iterations of ``K1 = 5`` A-steps then ``K2 = 5`` B-steps; start ``A = 1/p`` and ``B``
the per-column softmax of ``0.1 u`` with u uniform in [0, 1); step sizes
``eta_A = 2^k / sigma_max(Y^T B)^2`` with k drawn uniformly in {-3, ..., 3} per run and
``eta_B = eta_A sqrt(p / n)``; M = 50 runs; model selection: among the runs whose l1
residual ``|Y - A E|_1`` is within 5% (relative) of the smallest, keep the one whose
endmembers are least correlated (smallest largest off-diagonal Pearson correlation).

Here: the gradients ``grad_A = A (E E^T) - Y E^T`` and
``grad_B = Y (E^T A^T A - Y^T A)`` reuse the products that do not change within a block
of steps, so an A-step costs O(n p^2) and a B-step two (n, L) x (L, p) products; all
runs advance together (their B matrices side by side in one product with ``Y``), and
the iterates are kept as logarithms (the update is a log-domain softmax, so no weight
underflows to an unrecoverable zero). Inferred: ``random_state`` seeds one generator
for every run's draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hubench.solvers.affine import check_data

STEP_EXPONENTS = np.arange(-3, 4)
FIT_TOLERANCE = 0.05
EXP_CAP = 300.0


@dataclass(frozen=True)
class EDAAResult:
    """The kept run: ``E`` (p, L), ``A`` (n, p), ``B`` (n, p); per run the squared-error
    objective at the start and end (``objective_start``, ``objective_end``), the l1
    residual ``fit_l1``, the largest endmember correlation ``max_correlation``; ``chosen``
    the kept run's index."""

    E: np.ndarray
    A: np.ndarray
    B: np.ndarray
    objective_start: np.ndarray
    objective_end: np.ndarray
    fit_l1: np.ndarray
    max_correlation: np.ndarray
    chosen: int


def _mirror_step(logX: np.ndarray, step: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """One entropic step ``X <- X exp(-step) / sum`` along ``axis``, in logarithms:
    returns the new ``log X`` and ``X``. ``log X <= 0`` before the step, so an exponent
    above ``EXP_CAP`` means a diverging step: it is capped (no overflow) instead of
    paying a max-reduction on every step."""
    logits = np.minimum(logX - step, EXP_CAP)
    X = np.exp(logits)
    total = np.maximum(X.sum(axis=axis, keepdims=True), np.finfo(float).tiny)
    X /= total
    logits -= np.log(total)
    return logits, X


def _per_run(flat: np.ndarray, runs: int) -> np.ndarray:
    """(rows, M p) -> (M, rows, p)."""
    return flat.reshape(flat.shape[0], runs, -1).transpose(1, 0, 2)


def _flat(stacked: np.ndarray) -> np.ndarray:
    """(M, rows, p) -> (rows, M p): every run side by side, for one product with Y."""
    runs, rows, p = stacked.shape
    return stacked.transpose(1, 0, 2).reshape(rows, runs * p)


def _objective(Y: np.ndarray, A: np.ndarray, Et: np.ndarray) -> np.ndarray:
    """1/2 |Y - A E|^2 per run; ``Et`` (M, L, p) holds each run's E transposed."""
    return np.array([0.5 * float(np.sum((Y - a @ e.T) ** 2)) for a, e in zip(A, Et, strict=True)])


def _max_correlation(E: np.ndarray) -> float:
    p = E.shape[0]
    if p < 2:
        return 0.0
    C = np.corrcoef(E)
    return float(np.max(np.nan_to_num(C, nan=1.0) - 2.0 * np.eye(p)))


def edaa(
    Y: np.ndarray,
    n_endmembers: int,
    *,
    n_runs: int = 50,
    n_outer: int = 100,
    a_steps: int = 5,
    b_steps: int = 5,
    random_state: int | np.random.Generator | None = None,
) -> EDAAResult:
    """Archetypal analysis of ``Y`` (n_pixels, n_bands) by entropic descent, best of runs."""
    p = int(n_endmembers)
    Y = check_data(Y, p, "EDAA")
    n = Y.shape[0]
    rng = np.random.default_rng(random_state)
    runs = n_runs
    logB, B = _mirror_step(np.zeros((runs, n, p)), -0.1 * rng.random((runs, n, p)), axis=1)
    logA = np.full((runs, n, p), -np.log(p))
    factors = 2.0 ** rng.choice(STEP_EXPONENTS, size=runs)
    A = np.exp(logA)
    Et = _per_run(Y.T @ _flat(B), runs)  # (M, L, p): E^T = Y^T B per run
    top = np.array([np.linalg.norm(e, 2) for e in Et])  # sigma_max(Y^T B)
    eta_A = (factors / np.maximum(top, 1e-300) ** 2)[:, None, None]
    eta_B = eta_A * np.sqrt(p / n)
    start = _objective(Y, A, Et)
    for _ in range(n_outer):
        EEt = Et.transpose(0, 2, 1) @ Et  # (M, p, p)
        YEt = _per_run(Y @ _flat(Et), runs)  # (M, n, p)
        for _ in range(a_steps):
            logA, A = _mirror_step(logA, eta_A * (A @ EEt - YEt), axis=2)
        AtA = A.transpose(0, 2, 1) @ A  # (M, p, p)
        YtA = _per_run(Y.T @ _flat(A), runs)  # (M, L, p)
        for _ in range(b_steps):
            grad = _per_run(Y @ _flat(Et @ AtA - YtA), runs)  # (M, n, p)
            logB, B = _mirror_step(logB, eta_B * grad, axis=1)
            Et = _per_run(Y.T @ _flat(B), runs)
    end = _objective(Y, A, Et)
    fit = np.array([float(np.abs(Y - a @ e.T).sum()) for a, e in zip(A, Et, strict=True)])
    corr = np.array([_max_correlation(e.T) for e in Et])
    close = np.flatnonzero(np.abs(fit - fit.min()) <= FIT_TOLERANCE * np.abs(fit))
    chosen = int(close[np.argmin(corr[close])])
    return EDAAResult(Et[chosen].T.copy(), A[chosen].copy(), B[chosen].copy(), start, end, fit, corr, chosen)
