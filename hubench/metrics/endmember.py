"""Endmember errors on already-aligned spectra (row ``k`` of the estimate is matched
to true endmember ``k``; see :mod:`hubench.metrics.alignment`)."""

from __future__ import annotations

import numpy as np

from hubench.errors import ValidationError

UNRECOVERED_SAD = float(np.pi / 2)
"""The SAD given to a true endmember that no estimated endmember was matched to: an
unrecovered endmember counts as maximally wrong (orthogonal), not as missing."""


def sad(E: np.ndarray, E_hat: np.ndarray) -> np.ndarray:
    """Spectral angle distance of each endmember, in radians.

    Parameters
    ----------
    E, E_hat : ndarray, shape (n_endmembers, n_bands)
        True and aligned estimated spectra.

    Returns
    -------
    ndarray, shape (n_endmembers,)
        ``arccos(<e, e_hat> / (|e| |e_hat|))`` (cosine clipped to ``[-1, 1]``, computed
        stably by :func:`spectral_angle`); ``pi / 2`` when either spectrum is zero.
    """
    E = np.asarray(E, dtype=np.float64)
    E_hat = np.asarray(E_hat, dtype=np.float64)
    if E.shape != E_hat.shape or E.ndim != 2:
        raise ValidationError(
            f"E_hat: aligned endmembers have shape {E_hat.shape} but the truth has {E.shape}"
        )
    return spectral_angle(E, E_hat)


def spectral_angle(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Angle between ``U[..., :]`` and ``V[..., :]`` along the last axis (broadcasting).

    Mathematically ``arccos(clip(<u, v> / (|u| |v|), -1, 1))``; computed as Kahan's
    ``2 atan2(|u' - v'|, |u' + v'|)`` on the unit vectors ``u'``, ``v'``, which is the
    same angle without ``arccos``'s loss of accuracy near 0 (``arccos`` returns about
    1.5e-8 rad for identical spectra). ``pi / 2`` when either vector is zero.
    """
    nu = np.linalg.norm(U, axis=-1, keepdims=True)
    nv = np.linalg.norm(V, axis=-1, keepdims=True)
    u = U / np.where(nu > 0, nu, 1.0)
    v = V / np.where(nv > 0, nv, 1.0)
    angle = 2.0 * np.arctan2(np.linalg.norm(u - v, axis=-1), np.linalg.norm(u + v, axis=-1))
    degenerate = (nu[..., 0] == 0) | (nv[..., 0] == 0)
    return np.where(degenerate, np.pi / 2, angle)


def sad_aligned(E: np.ndarray, E_hat: np.ndarray, alignment: tuple[int, ...]) -> np.ndarray:
    """Per-true-endmember SAD given an alignment; unmatched endmembers get ``pi / 2``.

    Parameters
    ----------
    E : ndarray, shape (p_true, n_bands)
    E_hat : ndarray, shape (p_hat, n_bands)
    alignment : tuple of int, length p_true
        ``alignment[k]`` is the row of ``E_hat`` matched to ``E[k]``, ``-1`` if none.

    Returns
    -------
    ndarray, shape (p_true,)
    """
    idx = np.asarray(alignment, dtype=np.int64)
    matched = idx >= 0
    out = np.full(idx.size, UNRECOVERED_SAD)
    if np.any(matched):
        out[matched] = sad(np.asarray(E)[matched], np.asarray(E_hat)[idx[matched]])
    return out


def msad(E: np.ndarray, E_hat: np.ndarray) -> float:
    """Mean SAD over endmembers, in radians.

    Parameters
    ----------
    E, E_hat : ndarray, shape (n_endmembers, n_bands)
    """
    return float(np.mean(sad(E, E_hat)))
