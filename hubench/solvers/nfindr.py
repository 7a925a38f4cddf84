"""N-FINDR (Winter, SPIE 1999): the p pixels spanning the simplex of largest volume.

Known (the paper): reduce the data to p-1 dimensions (PCA here), start from p pixels,
and replace, one vertex position at a time, the vertex by the pixel that most enlarges
the simplex volume ``|det [1 ... 1; x_1 ... x_p]| / (p-1)!``; stop when a full sweep
replaces nothing.

Vectorised over pixels: the determinant is linear in the column being replaced, so with
the cofactor vector ``c`` of that column the volume with pixel ``x`` in it is
``|c . [1; x]|`` for every pixel at once (one product of the (n, p) coordinates with
``c``). The cofactors are p determinants of p x p matrices (the column replaced by the
unit vectors), which stays exact when the current simplex is flat.

Inferred (each exposed or stated): the start is p distinct pixels drawn with
``random_state`` (Winter starts from a random set); ``n_restarts`` reruns from new
draws and keeps the largest volume; a replacement must grow the volume by a relative
1e-12 (rounding cannot make it cycle); ``max_sweeps`` caps the sweeps (never reached in
the tests: 2-4 sweeps); the endmembers are the chosen pixels projected on the PCA affine
set (``endmember_source="projected"``, the default: denoised, as VCA returns them) or the
raw pixels (``"pixels"``; at 20 dB their noise alone costs about 0.1 rad of spectral
angle on the default scenes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hubench.solvers.affine import affine_set, check_data

GROWTH = 1e-12
SOURCES = ("projected", "pixels")


@dataclass(frozen=True)
class NFINDRResult:
    """``E`` (p, L) the chosen pixels' spectra (projected or raw), their ``indices`` (p,), the simplex
    ``volume`` (|det| in PCA coordinates) and the ``sweeps`` of the kept restart."""

    E: np.ndarray
    indices: np.ndarray
    volume: float
    sweeps: int


def _cofactors(T: np.ndarray, column: int) -> np.ndarray:
    """``c`` with ``det(T with column replaced by v) = c . v`` for every v (p,)."""
    p = T.shape[0]
    stack = np.repeat(T[None], p, axis=0)
    stack[:, :, column] = np.eye(p)
    return np.linalg.det(stack)


def _search(X1: np.ndarray, start: np.ndarray, max_sweeps: int) -> tuple[np.ndarray, float, int]:
    """Vertex replacement from the pixel indices ``start`` on lifted coordinates X1 (n, p)."""
    indices = start.copy()
    p = indices.size
    volume = abs(float(np.linalg.det(X1[indices].T)))
    sweeps = 0
    while sweeps < max_sweeps:
        sweeps += 1
        changed = False
        for i in range(p):
            T = X1[indices].T  # columns [1; x_j]
            candidate = np.abs(X1 @ _cofactors(T, i))
            best = int(np.argmax(candidate))
            if candidate[best] > volume * (1.0 + GROWTH) and best not in indices:
                indices[i] = best
                volume = float(candidate[best])
                changed = True
        if not changed:
            break
    return indices, volume, sweeps


def nfindr(
    Y: np.ndarray,
    n_endmembers: int,
    *,
    n_restarts: int = 1,
    max_sweeps: int = 50,
    endmember_source: str = "projected",
    random_state: int | np.random.Generator | None = None,
) -> NFINDRResult:
    """Extract ``n_endmembers`` pixels of ``Y`` (n_pixels, n_bands) with N-FINDR."""
    p = int(n_endmembers)
    Y = check_data(Y, p, "N-FINDR")
    rng = np.random.default_rng(random_state)
    space = affine_set(Y, p, spherize=False)
    coords = space.coordinates(Y)
    X1 = np.hstack([np.ones((Y.shape[0], 1)), coords])
    best: tuple[np.ndarray, float, int] | None = None
    for _ in range(n_restarts):
        start = rng.choice(Y.shape[0], size=p, replace=False)
        found = _search(X1, start, max_sweeps)
        if best is None or found[1] > best[1]:
            best = found
    assert best is not None
    indices, volume, sweeps = best
    E = space.to_spectra(coords[indices]) if endmember_source == "projected" else Y[indices].copy()
    return NFINDRResult(E, indices, volume, sweeps)
