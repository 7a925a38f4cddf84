"""Exact least squares on the probability simplex for many pixels at once (batched FCLS).

Per pixel ``y`` (a row of ``Y``) the fully constrained least-squares problem
(Heinz & Chang 2001) is::

    min_a |y - E^T a|^2   s.t.  a >= 0,  sum(a) = 1

With the Gram matrix ``G = E E^T`` (p x p, shared by all pixels) and ``b = E y`` (one
row of ``B = Y @ E.T``) it is the quadratic programme ``min 0.5 a^T G a - b^T a`` on the
simplex, so after the single product ``Y @ E.T`` every pixel costs O(p^2) per iteration.

The solver works on all pixels in lock-step and never loops over pixels in Python:

1. Start from the sum-to-one least-squares solution (one affine map of ``b``). It is
   optimal wherever it is non-negative, so pixels inside the simplex finish here.
2. A few block-pivoting sweeps (Kim & Park's idea for NNLS): free every fixed index with
   a negative multiplier and fix every free index that went negative, all at once. A
   pixel whose equality-constrained solution meets every KKT condition is final.
3. The rest run a primal active-set method (Nocedal & Wright, Alg. 16.3), which cannot
   cycle: a feasible point (the simplex projection of the last iterate) and a free set;
   each iteration solves the equality-constrained problem on the free set and either
   moves to its solution and frees the index with the most negative multiplier, or
   steps to the boundary and fixes the index that reaches zero.

Every equality-constrained problem is a bordered KKT system ``[G_FF 1; 1^T 0]``. For
p <= 10 the solution operators of all ``2^p - 1`` faces are computed once per call and
each pixel gathers its own by the bit code of its free set; for larger p the faces present
are solved once each, or each pixel solves its own small system (batched LU). Singular
systems (duplicate or affinely dependent endmembers) get the pseudo-inverse. The result is
the exact optimum up to rounding; ``kkt_residual`` (:mod:`hubench.solvers.simplex`) measures how close a result is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hubench.errors import ValidationError
from hubench.solvers.simplex import (
    check_inputs,
    image_product,
    kkt_residual,
    kkt_residual_gram,
    lipschitz,
    project_simplex,
)


@dataclass(frozen=True)
class SimplexLSResult:
    """Result of :func:`fcls`.

    Attributes
    ----------
    A : (n_pixels, n_endmembers) abundances, non-negative, rows summing to one.
    iterations : block-pivoting sweeps plus active-set iterations run (maximum over pixels).
    n_unconverged : pixels that hit ``max_iter`` before meeting the KKT conditions.
    n_stalled : pixels stopped because rounding made a freed index non-positive again
        (their multiplier violation is below rounding level of the KKT system).
    """

    A: np.ndarray
    iterations: int
    n_unconverged: int
    n_stalled: int

    @property
    def converged(self) -> bool:
        return self.n_unconverged == 0


def _solve_stack(K: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve the symmetric systems ``K[i] x[i] = rhs[i]`` (m, k, k) x (m, k).

    LU first; a system whose residual exceeds ``1e-12 (1 + |rhs|)`` is (numerically)
    singular, which happens with duplicate or affinely dependent endmembers, and gets
    the minimum-norm solution from the pseudo-inverse instead (its KKT system is
    consistent, so that solution is still a minimiser).
    """
    try:
        x = np.linalg.solve(K, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        x = np.full_like(rhs, np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        residual = np.abs(np.einsum("nij,nj->ni", K, x) - rhs).max(axis=1)
    bad = ~(residual <= 1e-12 * (1.0 + np.abs(rhs).max(axis=1)))
    if bad.any():
        Kp = np.linalg.pinv(K[bad], hermitian=True)
        x[bad] = np.einsum("nij,nj->ni", Kp, rhs[bad])
    return x


def _pattern_operators(G: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Solution operators of the equality-constrained problems, one per free-set mask.

    For mask ``m`` the bordered KKT system ``[G_FF 1; 1^T 0] [a_F; mu] = [b_F; 1]`` is
    embedded in a (p+1) x (p+1) matrix with identity rows for fixed indices; the returned
    operator ``T`` (masks.shape[0], p+1, p+1) gives ``[a; mu] = T @ [b; 1]`` with ``a`` zero
    off ``F``. Singular systems get the pseudo-inverse (minimum-norm solutions, which are
    minimisers because the KKT systems are consistent).
    """
    u, p = masks.shape
    mf = masks.astype(np.float64)
    K = np.zeros((u, p + 1, p + 1))
    K[:, :p, :p] = G[None] * mf[:, :, None] * mf[:, None, :]
    idx = np.arange(p)
    K[:, idx, idx] += 1.0 - mf
    K[:, :p, p] = mf
    K[:, p, :p] = mf
    try:
        T = np.linalg.inv(K)
    except np.linalg.LinAlgError:
        T = np.full_like(K, np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        residual = np.abs(K @ T - np.eye(p + 1)).max(axis=(1, 2))
    bad = ~(residual <= 1e-8)
    if bad.any():
        T[bad] = np.linalg.pinv(K[bad], hermitian=True)
    T[:, :, :p] *= mf[:, None, :]  # fixed indices see no data ...
    T[:, :p, :] *= mf[:, :, None]  # ... and stay exactly zero
    return T


def _solve_per_pixel(G: np.ndarray, free: np.ndarray, B1: np.ndarray) -> np.ndarray:
    """Same as :meth:`_FaceSolver.solve`, one small system per pixel, bucketed by |F|."""
    m, p = free.shape
    sizes = free.sum(axis=1)
    order = np.argsort(~free, axis=1, kind="stable")  # free indices first
    out = np.zeros((m, p + 1))
    for k in np.unique(sizes):  # at most p buckets
        rows = np.flatnonzero(sizes == k)
        idx = order[rows, :k]
        K = np.ones((rows.size, k + 1, k + 1))
        K[:, :k, :k] = G[idx[:, :, None], idx[:, None, :]]
        K[:, k, k] = 0.0
        rhs = np.ones((rows.size, k + 1))
        rhs[:, :k] = np.take_along_axis(B1[rows, :p], idx, axis=1)
        x = _solve_stack(K, rhs)
        out[rows[:, None], idx] = x[:, :k]
        out[rows, p] = x[:, k]
    return out


def _gather_apply(T: np.ndarray, which: np.ndarray, B1: np.ndarray) -> np.ndarray:
    """``T[which[i]] @ B1[i]`` for every row, without materialising ``T[which]``."""
    columns = np.ascontiguousarray(T.transpose(2, 0, 1))  # (p+1, n_ops, p+1)
    out = np.take(columns[0], which, axis=0)  # B1[:, 0] is b_0; the last column is 1
    out *= B1[:, :1]
    for q in range(1, B1.shape[1]):  # loop over the p+1 operator columns, not pixels
        term = np.take(columns[q], which, axis=0)
        if q < B1.shape[1] - 1:
            term *= B1[:, q : q + 1]
        out += term
    return out


class _FaceSolver:
    """Solves every pixel's equality-constrained problem on its free set (a face).

    For p <= ``TABLE_MAX_P`` the operators of all ``2^p - 1`` faces are computed once and
    each pixel gathers its own by the bit code of its free set; for larger p the faces
    present are solved once each when few, else each pixel solves its (|F|+1)-sized system.
    """

    TABLE_MAX_P = 10

    def __init__(self, G: np.ndarray) -> None:
        self.G = G
        p = G.shape[0]
        self.powers = np.int64(1) << np.arange(min(p, 62), dtype=np.int64)
        self.table: np.ndarray | None = None
        if p <= self.TABLE_MAX_P:
            codes = np.arange(2**p, dtype=np.int64)
            masks = (codes[:, None] & self.powers) != 0
            masks[0] = True  # code 0 (no free index) never occurs; keep its system regular
            self.table = _pattern_operators(G, masks)

    def solve(self, free: np.ndarray, B1: np.ndarray) -> np.ndarray:
        """``[a; mu]`` (m, p+1) for free sets ``free`` (m, p) and ``B1 = [b, 1]`` (m, p+1)."""
        if free.shape[1] > 62:  # bit codes would overflow int64
            return _solve_per_pixel(self.G, free, B1)
        codes = free @ self.powers
        if self.table is not None:
            return _gather_apply(self.table, codes, B1)
        uniq, inverse = np.unique(codes, return_inverse=True)
        if uniq.size * 16 > free.shape[0]:
            return _solve_per_pixel(self.G, free, B1)
        masks = (uniq[:, None] & self.powers) != 0
        return _gather_apply(_pattern_operators(self.G, masks), inverse, B1)


def _block_pivoting(
    faces: _FaceSolver, G: np.ndarray, A: np.ndarray, work: np.ndarray, s: np.ndarray,
    B1: np.ndarray, tol: float, pivots: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """A few block-pivoting sweeps (Kim & Park style) from the sum-to-one LS solution ``s``.

    Each sweep frees every fixed index with a negative multiplier and fixes every free one
    that went negative, all at once; a pixel whose equality solution meets every KKT
    condition is final (written to ``A``) and leaves the working set. Block pivoting can
    cycle, so after ``pivots`` sweeps the rest go to the primal active-set method, which
    cannot. Returns the remaining ``work``, their last solutions, ``B1`` and the sweeps run.
    """
    p = G.shape[0]
    free = s > 0.0
    sweeps = 0
    for _ in range(pivots):
        sweeps += 1
        sol = faces.solve(free, B1)
        s, mu = sol[:, :p], sol[:, p]
        lam = s @ G - B1[:, :p] + mu[:, None]
        negative = free & (s < 0.0)
        entering = ~free & (lam < -tol)
        optimal = ~(negative.any(axis=1) | entering.any(axis=1))
        A[work[optimal]] = s[optimal]
        keep = ~optimal
        work, s, B1 = work[keep], s[keep], B1[keep]
        free = (free[keep] & ~negative[keep]) | entering[keep]
        if not work.size:
            break
    return work, s, B1, sweeps


BLOCK_PIXELS = 65536  # pixels solved together: bounds the solver's working arrays


def fcls_gram(
    G: np.ndarray, B: np.ndarray, *, tol: float = 1e-12, max_iter: int | None = None,
    pivots: int = 3, block: int | None = BLOCK_PIXELS,
    progress: Callable[[int, int], None] | None = None,
) -> SimplexLSResult:
    """Batched FCLS from the Gram form: ``min 0.5 a^T G a - b^T a`` on the simplex.

    Parameters
    ----------
    G : (p, p) symmetric positive semi-definite matrix, ``E @ E.T``.
    B : (n_pixels, p) linear terms, ``Y @ E.T``.
    tol : multiplier tolerance in abundance units (multipliers divided by the largest
        eigenvalue of ``G``): a fixed index is optimal when its multiplier >= -tol.
    max_iter : active-set iteration cap (default ``10 * p + 50``).
    pivots : block-pivoting sweeps tried before the active-set method (0: none). They
        only change the speed: a pixel leaves them only when it meets the KKT conditions.
    block : the pixels outside the simplex after the start are solved ``block`` at a
        time (None: all at once), so the working arrays (about twenty of ``block`` x
        (p + 1) floats) stay small whatever the image's size. Every pixel's iterations
        depend on its own row only, so for p <= 10 (one operator table for all blocks)
        the result is bit-identical to ``block=None``; for larger p a block may solve a
        face by LU where the whole image used a shared operator, a rounding-level change.
    progress : ``progress(done, total)`` after each block, in pixels of those outside the
        simplex after the start (``hubench unmix`` shows it on large images); it sees
        counts only and changes nothing.
    """
    G = np.asarray(G, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    n, p = B.shape
    if G.shape != (p, p):
        raise ValidationError(f"G: expected shape ({p}, {p}) to match B, got {G.shape}")
    if tol <= 0:
        raise ValidationError(f"tol: must be positive, got {tol}")
    if block is not None and block < 1:
        raise ValidationError(f"block: must be a positive number of pixels, got {block}")
    if max_iter is None:
        max_iter = 10 * p + 50
    if p == 1:
        return SimplexLSResult(np.ones((n, 1)), 0, 0, 0)
    scale = lipschitz(G)
    G = (G + G.T) / (2.0 * scale)  # multipliers come out in abundance units
    # Start: sum-to-one LS solution; optimal wherever it is non-negative, else projected.
    T0 = _pattern_operators(G, np.ones((1, p), dtype=bool))[0]
    A = B @ (T0[:p, :p].T / scale)
    A += T0[:p, p]
    touched = np.flatnonzero(A.min(axis=1) < 0.0)
    faces = _FaceSolver(G) if touched.size else None
    step = touched.size if block is None else block
    iterations = unconverged = stalled = 0
    for start in range(0, touched.size, max(step, 1)):
        assert faces is not None
        it, left, st = _solve_touched(faces, G, A, B, touched[start:start + step], scale, tol,
                                      max_iter, pivots)
        iterations, unconverged, stalled = max(iterations, it), unconverged + left, stalled + st
        if progress is not None:
            progress(min(start + step, touched.size), touched.size)
    np.maximum(A, 0.0, out=A)
    A /= A.sum(axis=1, keepdims=True)  # ASC to rounding, whatever the operator's size
    return SimplexLSResult(A, iterations, unconverged, stalled)


def _solve_touched(
    faces: _FaceSolver, G: np.ndarray, A: np.ndarray, B: np.ndarray, work: np.ndarray, scale: float,
    tol: float, max_iter: int, pivots: int,
) -> tuple[int, int, int]:
    """Solve the pixels ``work`` (rows of ``A`` outside the simplex) in place; return the
    iterations run, the pixels left unconverged and the stalled ones."""
    p = G.shape[0]
    B1 = np.ones((work.size, p + 1))  # [b, 1] of the pixels still being solved
    B1[:, :p] = B[work] / scale
    s = A[work]
    sweeps = 0
    if pivots:
        work, s, B1, sweeps = _block_pivoting(faces, G, A, work, s, B1, tol, pivots)
    a = project_simplex(s)
    free = a > 0.0
    just_freed = np.full(work.size, -1)
    rows_all = np.arange(work.size)
    n_stalled = 0
    iterations = 0
    while work.size and iterations < max_iter:
        iterations += 1
        rows = rows_all[: work.size]
        sol = faces.solve(free, B1)
        s, mu = sol[:, :p], sol[:, p]
        blocking = free & (s <= 0.0)
        infeasible = blocking.any(axis=1)
        done = np.zeros(work.size, dtype=bool)

        # Feasible: move to s, then free the fixed index with the most negative multiplier.
        ok = ~infeasible
        a[ok] = s[ok]
        lam = a[ok] @ G - B1[ok, :p] + mu[ok, None]
        lam[free[ok]] = np.inf
        j = np.argmin(lam, axis=1)
        enter = lam[rows[: j.size], j] < -tol
        done[ok] = ~enter
        ok_idx = np.flatnonzero(ok)
        free[ok_idx[enter], j[enter]] = True
        just_freed[ok_idx] = np.where(enter, j, -1)

        # Infeasible: step towards s until the first free index reaches zero, fix it.
        bad = np.flatnonzero(infeasible)
        ab, sb = a[bad], s[bad]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(blocking[bad], ab / (ab - sb), np.inf)
        ratio[np.isnan(ratio)] = 0.0  # a = s = 0: blocked at once
        k = np.argmin(ratio, axis=1)
        alpha = np.clip(ratio[rows[: bad.size], k], 0.0, 1.0)
        stalled = (alpha == 0.0) & (k == just_freed[bad])
        ab = ab + alpha[:, None] * (sb - ab)
        ab[rows[: bad.size], k] = 0.0
        ab[ab < 0.0] = 0.0
        a[bad] = ab
        free[bad] &= ab > 0.0
        just_freed[bad] = -1
        done[bad[stalled]] = True
        n_stalled += int(stalled.sum())

        A[work[done]] = a[done]
        keep = ~done
        work, a, free, just_freed, B1 = work[keep], a[keep], free[keep], just_freed[keep], B1[keep]
    A[work] = a
    return sweeps + iterations, int(work.size), n_stalled


def fcls(
    E: np.ndarray, Y: np.ndarray, *, tol: float = 1e-12, max_iter: int | None = None,
    pivots: int = 3, block: int | None = BLOCK_PIXELS,
    progress: Callable[[int, int], None] | None = None,
) -> SimplexLSResult:
    """Fully constrained least squares for every pixel: ``min |y - E^T a|^2`` on the simplex.

    Parameters
    ----------
    E : (n_endmembers, n_bands) endmembers.
    Y : (n_pixels, n_bands) pixels.
    tol, max_iter, pivots, block, progress : see :func:`fcls_gram`.

    Returns
    -------
    SimplexLSResult with ``A`` of shape (n_pixels, n_endmembers).
    """
    E, Y = check_inputs(E, Y)
    return fcls_gram(E @ E.T, image_product(Y, E), tol=tol, max_iter=max_iter, pivots=pivots,
                     block=block, progress=progress)


__all__ = [
    "BLOCK_PIXELS",
    "SimplexLSResult",
    "fcls",
    "fcls_gram",
    "kkt_residual",
    "kkt_residual_gram",
    "project_simplex",
]
