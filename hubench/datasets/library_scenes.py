"""Library scenes: a synthetic scene plus a spectral library that holds its materials.

The ``library`` task (semi-supervised sparse unmixing, docs/dev/library.md) hands a
method the image and a library of USGS spectra (``atoms x bands``, with names); the
scene's materials are among the atoms, next to distractors. :func:`generate_library_scene`
draws, from ``numpy.random.default_rng(seed)`` in this order:

1. the scene's materials and, per material, the sample in the library and the sample in
   the scene (a material is the first word of a USGS name, ``"Alunite GDS84 Na03"`` is
   alunite). With ``mismatch="sample"`` the two are different samples of the material,
   so the library never holds the scene's spectrum; with ``"none"`` or ``"perturb"``
   they are the same sample. The scene's spectra are pairwise at least
   ``min_angle_deg`` apart, as in the other scenarios;
2. the distractors: ``library_size - p`` spectra of other materials (no second sample
   of a scene material, so each material has exactly one atom and the truth over the
   atoms is defined), from the USGS library pruned to ``library_min_angle_deg`` (4.44
   degrees as in the sparse-unmixing literature's pruned library; 0 keeps the highly
   similar spectra);
3. the atom order (a permutation);
4. then the rest of the scene exactly as the synthetic scenarios do
   (:func:`~hubench.datasets.synthetic.compose`: roles, abundances, noise).

Afterwards, from their own streams: a weak material is dark in the library too (its
atom carries ``weak_albedo``), and as large a share of the distractors is darkened
the same way, so that dark atoms give nothing away (``default_rng([seed, 31])``); with
``mismatch="perturb"`` each true atom is multiplied by ``exp(s c(lambda))``, ``c`` a
smooth curve of unit RMS over the bands (linear through 8 normal knots) and ``s =
mismatch_strength`` (``default_rng([seed, 32])``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from hubench.datasets.synthetic import compose, validate_knobs
from hubench.datasets.synthetic_params import SyntheticParams
from hubench.datasets.usgs import angle_matrix, library_on_grid, load_usgs, pruned_indices
from hubench.errors import ParameterError, suggest
from hubench.scene import Scene

MISMATCH_KINDS = ("none", "sample", "perturb")
PERTURB_KNOTS = 8


@dataclass(frozen=True)
class LibraryKnobs:
    """The knobs of the library (docs/guide/scenarios.md, "Library scenarios")."""

    library_size: int = 120
    library_min_angle_deg: float = 4.44
    mismatch: str = "sample"
    mismatch_strength: float = 0.02

    @classmethod
    def knob_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_knobs(cls, **knobs: Any) -> LibraryKnobs:
        raw = {**dataclasses.asdict(cls()), **knobs}
        size = raw["library_size"]
        if isinstance(size, bool) or not isinstance(size, (int, np.integer, float)) or float(size) != int(size):
            raise ParameterError(f"library_size: expected an integer number of atoms, got {size!r}")
        angle = raw["library_min_angle_deg"]
        if isinstance(angle, bool) or not isinstance(angle, (int, float)) or not 0 <= float(angle) < 90:
            raise ParameterError(f"library_min_angle_deg: must be in [0, 90) degrees, got {angle!r}")
        if raw["mismatch"] not in MISMATCH_KINDS:
            raise ParameterError(
                f"mismatch: unknown kind {raw['mismatch']!r}{suggest(str(raw['mismatch']), MISMATCH_KINDS)}; "
                f"choose one of {', '.join(MISMATCH_KINDS)}"
            )
        strength = raw["mismatch_strength"]
        if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not 0 <= float(strength) <= 1:
            raise ParameterError(f"mismatch_strength: must be in [0, 1], got {strength!r}")
        return cls(int(size), float(angle), str(raw["mismatch"]), float(strength))


def material(name: str) -> str:
    """The material of a USGS sample name: its first word (``"Alunite GDS84 Na03"`` -> ``"Alunite"``)."""
    return name.split()[0]


@lru_cache(maxsize=8)
def _groups(n_bands: int, min_angle_deg: float) -> dict[str, tuple[int, ...]]:
    """Material -> its samples in the library pool pruned to ``min_angle_deg``."""
    names = load_usgs().names
    out: dict[str, list[int]] = {}
    for i in pruned_indices(n_bands, min_angle_deg):
        out.setdefault(material(names[int(i)]), []).append(int(i))
    return {m: tuple(v) for m, v in out.items()}


def validate_library_knobs(**knobs: Any) -> tuple[SyntheticParams, LibraryKnobs]:
    """Every check made before drawing: the scene's knobs, the library's, and whether
    the pool holds enough distractors whatever materials are drawn."""
    names = set(LibraryKnobs.knob_names())
    params = validate_knobs(**{k: v for k, v in knobs.items() if k not in names})
    lib = LibraryKnobs.from_knobs(**{k: v for k, v in knobs.items() if k in names})
    p = params.n_endmembers
    groups = _groups(params.n_bands, lib.library_min_angle_deg)
    pool = sum(len(v) for v in groups.values())
    # The p largest materials may be drawn, and their other samples leave the pool.
    worst = sum(sorted((len(v) for v in groups.values()), reverse=True)[:p]) - p
    largest = pool - worst
    if not p < lib.library_size <= largest:
        raise ParameterError(
            f"library_size: must be between {p + 1} (more atoms than the {p} materials) and "
            f"{largest} (the USGS spectra {lib.library_min_angle_deg:g} degrees apart on "
            f"{params.n_bands} bands, less the other samples of the scene's materials), got "
            f"{lib.library_size}; change library_size or library_min_angle_deg"
        )
    return params, lib


def _draw_materials(
    rng: np.random.Generator, params: SyntheticParams, lib: LibraryKnobs, spectra: np.ndarray
) -> tuple[list[int], list[int], list[str]]:
    """Per scene material: its library sample, its scene sample; and the materials."""
    groups = _groups(params.n_bands, lib.library_min_angle_deg)
    by_material = _all_samples()
    eligible = sorted(
        m for m in groups if lib.mismatch != "sample" or len(by_material[m]) > 1
    )
    library_atoms: list[int] = []
    scene_samples: list[int] = []
    chosen: list[str] = []
    for m in (eligible[int(i)] for i in rng.permutation(len(eligible))):
        atom = int(rng.choice(groups[m]))
        others = [s for s in by_material[m] if s != atom]
        sample = int(rng.choice(others)) if lib.mismatch == "sample" else atom
        angles = angle_matrix(spectra[[*scene_samples, sample]])[-1, :-1]
        if np.all(angles >= params.min_angle_deg):
            library_atoms.append(atom)
            scene_samples.append(sample)
            chosen.append(m)
            if len(chosen) == params.n_endmembers:
                return library_atoms, scene_samples, chosen
    raise ParameterError(
        f"min_angle_deg={params.min_angle_deg:g}: only {len(chosen)} USGS materials "
        f"{'with two samples ' if lib.mismatch == 'sample' else ''}are that far apart on "
        f"{params.n_bands} bands, fewer than n_endmembers={params.n_endmembers}; lower one of them"
    )


@lru_cache(maxsize=1)
def _all_samples() -> dict[str, tuple[int, ...]]:
    out: dict[str, list[int]] = {}
    for i, name in enumerate(load_usgs().names):
        out.setdefault(material(name), []).append(i)
    return {m: tuple(v) for m, v in out.items()}


def _smooth_curves(rng: np.random.Generator, n: int, n_bands: int) -> np.ndarray:
    """``n`` curves over the bands, linear between ``PERTURB_KNOTS`` normal knots, unit RMS."""
    knots = rng.standard_normal((n, PERTURB_KNOTS))
    grid = np.linspace(0.0, PERTURB_KNOTS - 1.0, n_bands)
    left = np.minimum(grid.astype(int), PERTURB_KNOTS - 2)
    frac = grid - left
    curves = knots[:, left] * (1 - frac) + knots[:, left + 1] * frac
    return curves / np.sqrt(np.mean(curves**2, axis=1, keepdims=True))


def generate_library_scene(seed: int, *, name: str = "library", **knobs: Any) -> Scene:
    """One library scene: a synthetic scene with ``library``, ``library_names`` and
    ``library_index`` set (module docstring for the draws). Knobs: every synthetic knob
    and those of :class:`LibraryKnobs`; bad values raise :class:`ParameterError`."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed: expected a non-negative integer, got {seed!r}")
    seed = int(seed)
    params, lib = validate_library_knobs(**knobs)
    spectra, wavelengths = library_on_grid(params.n_bands)
    usgs_names = load_usgs().names
    rng = np.random.default_rng(seed)
    atoms, samples, materials = _draw_materials(rng, params, lib, spectra)
    taken = set(materials)
    groups = _groups(params.n_bands, lib.library_min_angle_deg)
    pool = np.array(sorted(i for m, v in groups.items() if m not in taken for i in v))
    n_distract = lib.library_size - len(atoms)
    distractors = rng.choice(pool, size=n_distract, replace=False)
    order = rng.permutation(lib.library_size)  # atom j of the library is members[order[j]]
    members = np.concatenate([np.asarray(atoms), distractors])[order]
    library_index = np.argsort(order)[: len(atoms)]

    scene, _ = compose(
        rng, seed, params, spectra[samples], tuple(usgs_names[i] for i in samples),
        name=name, wavelengths=wavelengths, chosen=np.asarray(samples),
    )
    library = np.array(spectra[members], dtype=np.float64)
    dark = np.flatnonzero(~np.all(spectra[samples] == scene.E, axis=1))
    library[library_index[dark]] *= params.weak_albedo
    extra = np.random.default_rng([seed, 31])
    n_dark = round(n_distract * dark.size / len(atoms))
    distractor_atoms = np.setdiff1d(np.arange(lib.library_size), library_index)
    library[extra.choice(distractor_atoms, size=n_dark, replace=False)] *= params.weak_albedo
    if lib.mismatch == "perturb" and lib.mismatch_strength > 0:
        curves = _smooth_curves(np.random.default_rng([seed, 32]), len(atoms), params.n_bands)
        library[library_index] *= np.exp(lib.mismatch_strength * curves)
    return dataclasses.replace(
        scene,
        params={**scene.params, **dataclasses.asdict(lib)},
        library=library,
        library_names=tuple(usgs_names[int(i)] for i in members),
        library_index=library_index,
    )


def mismatch_angles_deg(scene: Scene) -> np.ndarray:
    """Spectral angle (degrees) between each endmember and its library atom: how far
    the library is from exact (0 with ``mismatch="none"``)."""
    if scene.library is None or scene.library_index is None or scene.E is None:
        raise ParameterError(f"scene {scene.name!r} has no spectral library")
    a, b = scene.E, scene.library[scene.library_index]
    cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


__all__ = [
    "MISMATCH_KINDS",
    "LibraryKnobs",
    "generate_library_scene",
    "material",
    "mismatch_angles_deg",
    "validate_library_knobs",
]
