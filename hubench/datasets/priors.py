"""Prior spectra of the materials suspected to be present weakly (docs/dev/priors.md).

A method of task ``priors`` (HyperWeak) is given, besides the image, the spectra of the
materials a user suspects are in the scene at low abundance. Here is where a scene gets
them:

- synthetic scenes (:func:`synthetic_priors`): one prior per weak or rare endmember,
  made from the scene's own spectrum with a mismatch chosen by the knob
  ``prior_mismatch``:

  - ``perturbed`` (default): the true spectrum times a smooth positive curve of mean 1
    whose RMS relative deviation is ``prior_error`` (the construction of the spectral
    variability effect, :func:`~hubench.datasets.synthetic_effects.knot_factors`, with
    one curve per prior), drawn from its own stream ``default_rng([seed, 8])``, so the
    scene itself (``Y``, ``A``, ``E``) does not change;
  - ``sample``: another USGS sample of the same mineral (same first word of the sample
    name, the one of smallest spectral angle to the true one), scaled to the true
    spectrum's mean (the scene's albedo); a material with a single sample in the library
    falls back to ``perturbed`` and the prior's ``source`` says so;
  - ``exact``: the true spectrum (the model holds exactly: tests, upper bounds);

- real scenes (:func:`reference_priors`): reference endmembers named by the ``priors``
  option (default: the ones flagged weak), or spectra read from a file
  (:func:`read_priors_file`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hubench.datasets.synthetic_effects import band_weights, effect_rng, knot_log_std
from hubench.errors import DataError, ParameterError
from hubench.scene import NamedSpectra, Scene

PRIOR_MISMATCHES = ("perturbed", "sample", "exact")
STREAM_PRIORS = 8
PRIOR_KNOTS = 8


def material(name: str) -> str:
    """The mineral of a USGS sample name: its first word (``"Alunite GDS84 Na03"`` ->
    ``"Alunite"``)."""
    return name.split()[0] if name.split() else name


def perturb(rng: np.random.Generator, spectra: np.ndarray, error: float) -> np.ndarray:
    """``spectra (k, n_bands)`` times smooth lognormal curves of mean 1 and RMS relative
    deviation ``error`` (one curve per spectrum; ``error = 0`` returns a copy)."""
    spectra = np.asarray(spectra, dtype=np.float64)
    if error == 0 or spectra.shape[0] == 0:
        return spectra.copy()
    weights = band_weights(spectra.shape[1], PRIOR_KNOTS)
    sigma = knot_log_std(error, weights)
    logs = sigma * rng.standard_normal((spectra.shape[0], weights.shape[0])) - sigma**2 / 2
    return spectra * (np.exp(logs) @ weights)


def sibling_sample(index: int, library: np.ndarray, names: Sequence[str]) -> int | None:
    """Index of the other sample of ``names[index]``'s mineral closest in spectral angle
    to it, or None when the library has no other sample of that mineral."""
    mineral = material(names[index])
    siblings = [j for j, n in enumerate(names) if j != index and material(n) == mineral]
    if not siblings:
        return None
    target = library[index] / np.linalg.norm(library[index])
    others = library[siblings]
    cosine = others @ target / np.linalg.norm(others, axis=1)
    return siblings[int(np.argmax(cosine))]


def synthetic_priors(
    seed: int,
    mismatch: str,
    error: float,
    E: np.ndarray,
    flagged: np.ndarray,
    chosen: np.ndarray,
    library: np.ndarray,
    names: Sequence[str],
) -> NamedSpectra:
    """The priors of a synthetic scene: one per flagged (weak or rare) endmember.

    Parameters
    ----------
    seed : int
        The scene's seed (the perturbation draws from ``default_rng([seed, 8])``).
    mismatch : {"perturbed", "sample", "exact"}
    error : float
        RMS relative deviation of the perturbation.
    E : ndarray, shape (p, n_bands)
        The scene's spectra (weak ones already scaled by their albedo).
    flagged : ndarray of bool, shape (p,)
    chosen : ndarray of int, shape (p,)
        Library index of each endmember.
    library : ndarray, shape (n_materials, n_bands)
        The library on the scene's band grid.
    names : sequence of str
        Library sample names.
    """
    rows = np.flatnonzero(flagged)
    spectra = np.asarray(E, dtype=np.float64)[rows].copy()
    labels = tuple(names[int(chosen[k])] for k in rows)
    if mismatch == "exact":
        return NamedSpectra(spectra, labels, source="exact")
    rng = effect_rng(seed, STREAM_PRIORS)
    perturbed = perturb(rng, spectra, error)  # drawn for every prior: one stream, one order
    if mismatch == "perturbed":
        return NamedSpectra(perturbed, labels, source=f"perturbed {error:g}")
    sources = []
    for i, k in enumerate(rows):  # a few priors; the spectra are whole vectors
        other = sibling_sample(int(chosen[k]), library, names)
        if other is None:
            spectra[i] = perturbed[i]
            sources.append(f"{labels[i]}: perturbed {error:g} (no other sample)")
        else:
            spectra[i] = library[other] * (spectra[i].mean() / library[other].mean())
            sources.append(f"{labels[i]}: sample {names[other]}")
    return NamedSpectra(spectra, labels, source="; ".join(sources))


def read_priors_file(path: str | os.PathLike[str], n_bands: int) -> NamedSpectra:
    """Prior spectra from a file: ``.npz`` with ``spectra`` ``(k, n_bands)`` and optional
    ``names``, or ``.csv`` with one spectrum per row, the first column its name."""
    target = Path(path).expanduser()
    if not target.is_file():
        raise DataError(f"priors file {path}: does not exist; check the priors= option")
    try:
        if target.suffix.lower() == ".npz":
            with np.load(target, allow_pickle=False) as npz:
                if "spectra" not in npz:
                    raise DataError(f"priors file {path}: has no array 'spectra' (k x {n_bands})")
                spectra = np.atleast_2d(np.asarray(npz["spectra"], dtype=np.float64))
                names = [str(n) for n in npz["names"]] if "names" in npz else \
                    [f"prior{i}" for i in range(spectra.shape[0])]
        elif target.suffix.lower() == ".csv":
            lines = [ln.split(",") for ln in target.read_text().splitlines() if ln.strip()]
            names = [ln[0].strip() for ln in lines]
            spectra = np.array([[float(v) for v in ln[1:]] for ln in lines], dtype=np.float64)
        else:
            raise DataError(f"priors file {path}: expected a .npz or .csv file")
    except (OSError, ValueError) as exc:
        raise DataError(f"priors file {path}: cannot be read ({exc})") from None
    if spectra.ndim != 2 or spectra.shape[1] != n_bands:
        raise DataError(f"priors file {path}: spectra have shape {spectra.shape}, the scene has "
                        f"{n_bands} bands")
    return NamedSpectra(spectra, tuple(names), source=f"file {target.name}")


def reference_priors(scene: Scene, priors: Any) -> NamedSpectra:
    """The priors of a real scene: ``None`` = the reference endmembers flagged weak;
    a sequence of names or indices = those reference endmembers; a path (``str`` ending
    in ``.npz`` or ``.csv``) = spectra read from that file."""
    if isinstance(priors, (str, os.PathLike)) and str(priors).lower().endswith((".npz", ".csv")):
        return read_priors_file(priors, scene.n_bands)
    names = list(scene.endmember_names or [str(k) for k in range(scene.n_endmembers)])
    if priors is None:
        rows = np.flatnonzero(scene.weak).tolist()
    else:
        wanted = [priors] if isinstance(priors, (str, int)) else list(priors)
        rows = []
        for item in wanted:
            if isinstance(item, (int, np.integer)) or str(item).isdigit():
                k = int(item)
                if not 0 <= k < scene.n_endmembers:
                    raise ParameterError(f"priors: index {k} is not an endmember of {scene.name!r} "
                                         f"(0..{scene.n_endmembers - 1})")
            elif item in names:
                k = names.index(item)
            else:
                raise ParameterError(f"priors: {item!r} is not an endmember of {scene.name!r}; "
                                     f"use one of {', '.join(names)} or a .npz/.csv file")
            rows.append(k)
    if scene.E is None:
        if priors is None:  # no reference spectra, none asked for: no priors
            return NamedSpectra(np.zeros((0, scene.n_bands)), (), source="none (no reference endmembers)")
        raise ParameterError(f"priors: scene {scene.name!r} has no reference endmembers to take "
                             "priors from; give the priors as a .npz/.csv file")
    return NamedSpectra(scene.E[rows], tuple(names[k] for k in rows),
                        source="reference endmembers (exact)")
