"""Metrics of the library task: abundances over every atom, and which atoms are detected.

A library estimate has one abundance column per library atom. Its truth is the scene's
abundances put in the columns of the scene's atoms (``scene.library_index``) and zero in
every other (:meth:`hubench.scene.Scene.library_abundances`). Definitions
(docs/guide/metrics.md, "Library metrics"):

- ``lib_sre``, ``lib_armse``: SRE and abundance RMSE over all pixels and atoms;
- an atom is **detected** when its abundance is at least ``tau`` (0.05 by default, the
  presence threshold of the weak metrics) in at least :data:`MIN_PIXELS` pixels: a
  fixed count rather than a share, so that a rare material (2% of the pixels: 5 pixels in
  the ``ci`` scenes) can be detected at every image size, and a single noisy pixel does
  not count;
- ``lib_recall``: share of the scene's materials whose atom is detected;
  ``lib_precision``: share of detected atoms that are the scene's (NaN when nothing is
  detected); ``lib_weak_recall``: ``lib_recall`` over the weak and rare materials only
  (NaN when the scene has none); ``lib_active``: the number of detected atoms.
"""

from __future__ import annotations

import numpy as np

from hubench.metrics.abundance import armse, sre

MIN_PIXELS = 3
NAN = float("nan")

LIBRARY_METRICS = ("lib_sre", "lib_armse", "lib_recall", "lib_precision", "lib_weak_recall", "lib_active")


def detected_atoms(X_hat: np.ndarray, tau: float, min_pixels: int = MIN_PIXELS) -> np.ndarray:
    """Bool per atom: abundance ``>= tau`` in at least ``min_pixels`` pixels.

    Parameters
    ----------
    X_hat : ndarray, shape (n_pixels, n_atoms)
    """
    return np.count_nonzero(X_hat >= tau, axis=0) >= min(min_pixels, X_hat.shape[0])


def library_metrics(
    X: np.ndarray, X_hat: np.ndarray, index: np.ndarray, weak: np.ndarray, tau: float
) -> dict[str, float]:
    """Every ``lib_*`` metric.

    Parameters
    ----------
    X, X_hat : ndarray, shape (n_pixels, n_atoms)
        True (zero outside the scene's atoms) and estimated abundances over the atoms.
    index : ndarray of int, shape (p,)
        The atom of each of the scene's materials.
    weak : ndarray of bool, shape (p,)
        Which materials are weak or rare.
    """
    found = detected_atoms(X_hat, tau)
    hits = found[index]
    n_found = int(found.sum())
    return {
        "lib_sre": sre(X, X_hat),
        "lib_armse": armse(X, X_hat),
        "lib_recall": float(hits.mean()),
        "lib_precision": float(hits.sum() / n_found) if n_found else NAN,
        "lib_weak_recall": float(hits[weak].mean()) if np.any(weak) else NAN,
        "lib_active": float(n_found),
    }
