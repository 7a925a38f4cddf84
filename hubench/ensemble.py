"""Ensembles: fit a method K times and report the spread of its abundances.

Every method gets an uncertainty without changes of its own. How the K members differ
depends on the method's class attribute ``ensemble_mode``:

``"seeds"`` (deep methods, whose result depends on their random start and batches)
    member k is the method fitted with ``random_state = member_seed(seed, k)`` on the
    observation as given; K fits.
``"bootstrap"`` (classic methods, which are deterministic or nearly so)
    a residual bootstrap of the pixels' noise: the method is fitted once, its
    reconstruction ``Y_hat`` and residuals ``R = Y - Y_hat`` kept; member k is fitted
    on ``Y_hat + R[idx_k]``, with ``idx_k`` drawn with replacement over the pixels
    (each pixel gets another pixel's whole residual spectrum, so the band-to-band
    correlation of the noise is kept; its spatial correlation is not). K + 1 fits.

Blind members' endmembers are matched to each other before averaging (Hungarian
assignment on spectral angles): first to member 0, then, once, to the mean of the
matched members, so the result does not hinge on member 0 alone. Supervised members
share the given endmembers and need no matching.

The estimate returned holds the member mean of ``A`` (and of ``E``, ``Y_hat``) and an
:class:`~hubench.scene.AbundanceUncertainty` with the members' standard deviation,
their 5% and 95% quantiles (the central 90% interval) and the share of members in
which each abundance reaches ``presence_tau`` (the probability of presence).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hubench.errors import ParameterError
from hubench.method import Method
from hubench.metrics.alignment import align
from hubench.scene import AbundanceUncertainty, Estimate, Observation

ENSEMBLE_MODES = ("seeds", "bootstrap")
MAX_MEMBERS = 100
PRESENCE_TAU = 0.05


def member_seed(seed: int | None, k: int) -> int:
    """The ``random_state`` of member ``k``: a fixed function of the cell's seed."""
    return int(np.random.SeedSequence([0 if seed is None else int(seed), k]).generate_state(1)[0])


def ensemble_mode(method: Method | type[Method]) -> str:
    """The mode the method's class asks for (``seeds`` when it says nothing and has a
    ``random_state`` and ``deterministic = False``; else ``bootstrap``)."""
    mode = getattr(method, "ensemble_mode", None)
    if mode in ENSEMBLE_MODES:
        return str(mode)
    return "bootstrap"


def _match(reference: np.ndarray, E: np.ndarray) -> np.ndarray:
    order = np.asarray(align(reference, E))
    if (order < 0).any():  # same method, same p: cannot happen; be explicit anyway
        raise ValueError("ensemble members have different numbers of endmembers")
    return order


def combine(members: list[Estimate], *, tau: float = PRESENCE_TAU) -> Estimate:
    """Match the members' endmembers, then average; the spread goes to ``uncertainty``.

    Parameters
    ----------
    members : list of Estimate
        Two or more fits of one method to one scene (same ``A`` shape).
    tau : float
        The presence threshold of the probability of presence.
    """
    if len(members) < 2:
        raise ValueError("an ensemble needs at least two members")
    spectra = [m.E for m in members if m.E is not None]
    blind = len(spectra) == len(members)
    orders = [np.arange(members[0].A.shape[1])] * len(members)
    E = None
    if blind:
        orders = [_match(spectra[0], Ek) for Ek in spectra]
        mean_E = np.mean([Ek[o] for Ek, o in zip(spectra, orders, strict=True)], axis=0)
        orders = [_match(mean_E, Ek) for Ek in spectra]
        E = np.mean([Ek[o] for Ek, o in zip(spectra, orders, strict=True)], axis=0)
    A = np.stack([m.A[:, o] for m, o in zip(members, orders, strict=True)])  # (K, n, p)
    decoded = [m.Y_hat for m in members if m.Y_hat is not None]
    Y_hat = np.mean(decoded, axis=0) if len(decoded) == len(members) else None
    lower, upper = np.quantile(A, [0.05, 0.95], axis=0)
    uncertainty = AbundanceUncertainty(
        lower=lower, upper=upper, std=A.std(axis=0), presence=np.mean(tau <= A, axis=0),
        presence_tau=tau, nominal=0.90, members=len(members),
    )
    return Estimate(A=A.mean(axis=0), E=E, Y_hat=Y_hat, uncertainty=uncertainty)


def fit_ensemble(
    make_method: Callable[[int | None], Method],
    observation: Observation,
    members: int,
    *,
    seed: int | None,
    mode: str | None = None,
    tau: float = PRESENCE_TAU,
) -> Estimate:
    """Fit ``members`` ensemble members and combine them (see the module docstring).

    Parameters
    ----------
    make_method : callable
        ``make_method(random_state)`` builds the method with that ``random_state`` (the
        harness passes its cell's hyperparameters); called once per fit.
    observation : Observation
    members : int
        K, at least 2 and at most :data:`MAX_MEMBERS`.
    seed : int or None
        The cell's seed: the members' seeds and the bootstrap draws derive from it.
    mode : {"seeds", "bootstrap"}, optional
        Default: the method's own (:func:`ensemble_mode`).

    Returns
    -------
    Estimate
        ``info["ensemble"]`` records the mode, K, the number of fits and their seconds.
    """
    if not 2 <= int(members) <= MAX_MEMBERS:
        raise ParameterError(f"--ensemble: {members} members; use 2 to {MAX_MEMBERS} (or 1 for none)")
    method0 = make_method(seed)
    mode = mode or ensemble_mode(method0)
    if mode not in ENSEMBLE_MODES:
        raise ParameterError(f"ensemble mode {mode!r}; use one of {', '.join(ENSEMBLE_MODES)}")
    seconds: list[float] = []

    def timed_fit(method: Method, obs: Observation) -> Estimate:
        start = time.perf_counter()
        estimate = method.fit(obs)
        seconds.append(time.perf_counter() - start)
        return estimate

    fits: list[Estimate] = []
    if mode == "seeds":
        for k in range(members):
            fits.append(timed_fit(make_method(member_seed(seed, k)), observation))
    else:
        base = timed_fit(method0, observation)
        Y_hat = base.reconstruction()
        if Y_hat is None:  # supervised: the given endmembers reconstruct
            Y_hat = base.A @ observation.E
        residual = observation.Y - Y_hat
        rng = np.random.default_rng(np.random.SeedSequence([0 if seed is None else int(seed), 7919]))
        for _ in range(members):
            pick = rng.integers(0, observation.n_pixels, observation.n_pixels)
            resampled = _with_Y(observation, Y_hat + residual[pick])
            fits.append(timed_fit(make_method(seed), resampled))
    estimate = combine(fits, tau=tau)
    info: dict[str, Any] = dict(fits[0].info)
    info["ensemble"] = {
        "mode": mode, "members": int(members), "fits": len(seconds),
        "member_seconds": [round(s, 6) for s in seconds],
    }
    return Estimate(A=estimate.A, E=estimate.E, Y_hat=estimate.Y_hat, info=info,
                    uncertainty=estimate.uncertainty)


def _with_Y(observation: Observation, Y: np.ndarray) -> Observation:
    """The observation with its pixels replaced (everything else kept)."""
    import dataclasses

    return dataclasses.replace(observation, Y=Y)


__all__ = ["ENSEMBLE_MODES", "MAX_MEMBERS", "combine", "ensemble_mode", "fit_ensemble", "member_seed"]
