"""The three records every part of hubench agrees on: Scene, Observation, Estimate.

Array conventions (see docs/dev/design.md): ``Y`` is ``(n_pixels, n_bands)``, ``A`` is
``(n_pixels, n_endmembers)``, ``E`` is ``(n_endmembers, n_bands)`` and ``Y ~= A @ E``.
Pixels are in row-major (C) order of ``image_shape = (H, W)``.
Each record validates itself on construction and raises :class:`ValidationError`
naming the offending field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hubench.errors import ValidationError

SIMPLEX_TOL = 1e-8


def _as_matrix(name: str, value: Any, *, dtype: Any = np.float64) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name}: cannot be read as a numeric array ({exc})") from None
    if arr.ndim != 2:
        raise ValidationError(f"{name}: expected a 2-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValidationError(f"{name}: is empty (shape {arr.shape})")
    if not np.all(np.isfinite(arr)):
        bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
        raise ValidationError(f"{name}: holds {bad} NaN/Inf values; clean or mask the input first")
    return arr


def _check_image_shape(image_shape: Any, n_pixels: int) -> tuple[int, int]:
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValidationError(f"image_shape: expected (H, W), got {image_shape!r}") from None
    if len(shape) != 2 or min(shape) < 1:
        raise ValidationError(f"image_shape: expected two positive sizes (H, W), got {shape}")
    if shape[0] * shape[1] != n_pixels:
        raise ValidationError(
            f"image_shape: {shape} holds {shape[0] * shape[1]} pixels but Y has {n_pixels} rows"
        )
    return (shape[0], shape[1])


def _check_wavelengths(wavelengths: Any, n_bands: int) -> np.ndarray | None:
    if wavelengths is None:
        return None
    wl = np.asarray(wavelengths, dtype=np.float64).reshape(-1)
    if wl.shape != (n_bands,):
        raise ValidationError(f"wavelengths: expected {n_bands} values (one per band), got {wl.size}")
    if not np.all(np.isfinite(wl)):
        raise ValidationError("wavelengths: holds NaN/Inf values")
    return wl


def check_simplex(name: str, A: np.ndarray, tol: float = SIMPLEX_TOL) -> None:
    """Raise unless every row of ``A`` is non-negative and sums to one within ``tol``."""
    if A.min() < -tol:
        raise ValidationError(f"{name}: has negative abundances (min {A.min():.3g}); ANC violated")
    worst = float(np.max(np.abs(A.sum(axis=1) - 1.0)))
    if worst > tol:
        raise ValidationError(f"{name}: rows do not sum to one (worst deviation {worst:.3g}); ASC violated")


@dataclass(frozen=True, eq=False)
class Observation:
    """What a method may see: the image, its size, the number of endmembers, for
    supervised methods the endmembers ``E``, and for library methods the spectral
    ``library`` ``(n_atoms, n_bands)`` with its ``library_names``. Never the abundances."""

    Y: np.ndarray
    image_shape: tuple[int, int]
    n_endmembers: int
    wavelengths: np.ndarray | None = None
    E: np.ndarray | None = None
    library: np.ndarray | None = None
    library_names: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        Y = _as_matrix("Y", self.Y)
        object.__setattr__(self, "Y", Y)
        n_pixels, n_bands = Y.shape
        object.__setattr__(self, "image_shape", _check_image_shape(self.image_shape, n_pixels))
        try:
            p = int(self.n_endmembers)
        except (TypeError, ValueError):
            raise ValidationError(f"n_endmembers: expected an integer, got {self.n_endmembers!r}") from None
        if p < 1:
            raise ValidationError(f"n_endmembers: must be at least 1, got {p}")
        if p >= n_bands:
            raise ValidationError(
                f"n_endmembers: {p} endmembers need more than {p} bands, Y has {n_bands}"
            )
        object.__setattr__(self, "n_endmembers", p)
        object.__setattr__(self, "wavelengths", _check_wavelengths(self.wavelengths, n_bands))
        if self.E is not None:
            E = _as_matrix("E", self.E)
            if E.shape != (p, n_bands):
                raise ValidationError(f"E: expected shape ({p}, {n_bands}), got {E.shape}")
            object.__setattr__(self, "E", E)
        if self.library is not None:
            library, names = _check_library(self.library, self.library_names, n_bands)
            object.__setattr__(self, "library", library)
            object.__setattr__(self, "library_names", names)

    @property
    def n_pixels(self) -> int:
        return int(self.Y.shape[0])

    @property
    def n_bands(self) -> int:
        return int(self.Y.shape[1])

    @property
    def n_atoms(self) -> int:
        """Spectra in the library (0 without one)."""
        return 0 if self.library is None else int(self.library.shape[0])


def _check_library(
    library: Any, names: Any, n_bands: int
) -> tuple[np.ndarray, tuple[str, ...] | None]:
    """A spectral library ``(n_atoms, n_bands)`` and its names (one per atom, or None)."""
    lib = _as_matrix("library", library)
    if lib.shape[1] != n_bands:
        raise ValidationError(f"library: has {lib.shape[1]} bands but Y has {n_bands}")
    if names is None:
        return lib, None
    names = tuple(str(n) for n in names)
    if len(names) != lib.shape[0]:
        raise ValidationError(f"library_names: expected {lib.shape[0]} names (one per atom), got {len(names)}")
    return lib, names


@dataclass(frozen=True, eq=False)
class Scene:
    """The truth of one generated or loaded image.

    ``weak[k]`` is True when endmember ``k`` is weak or rare (by construction for
    synthetic scenes, by the documented rule for real ones). ``params`` holds everything
    needed to regenerate the scene with :func:`hubench.make_scene`.

    Library scenes (docs/dev/library.md) also carry a spectral ``library``
    ``(n_atoms, n_bands)`` with ``library_names``, and ``library_index[k]``: the atom that
    holds material ``k`` (another sample of it, or a perturbed copy, unless the scene
    says the library is exact). Every other atom is a distractor.
    """

    Y: np.ndarray
    A: np.ndarray
    E: np.ndarray
    image_shape: tuple[int, int]
    weak: np.ndarray
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    wavelengths: np.ndarray | None = None
    endmember_names: tuple[str, ...] | None = None
    library: np.ndarray | None = None
    library_names: tuple[str, ...] | None = None
    library_index: np.ndarray | None = None

    def __post_init__(self) -> None:
        Y = _as_matrix("Y", self.Y)
        A = _as_matrix("A", self.A)
        E = _as_matrix("E", self.E)
        n_pixels, n_bands = Y.shape
        if A.shape[0] != n_pixels:
            raise ValidationError(f"A: has {A.shape[0]} rows but Y has {n_pixels} pixels")
        p = A.shape[1]
        if E.shape != (p, n_bands):
            raise ValidationError(f"E: expected shape ({p}, {n_bands}) from A and Y, got {E.shape}")
        if p >= n_bands:
            raise ValidationError(f"E: {p} endmembers need more than {p} bands, Y has {n_bands}")
        check_simplex("A", A)
        weak = np.asarray(self.weak, dtype=bool).reshape(-1)
        if weak.shape != (p,):
            raise ValidationError(f"weak: expected {p} flags (one per endmember), got {weak.size}")
        if self.endmember_names is not None and len(self.endmember_names) != p:
            raise ValidationError(
                f"endmember_names: expected {p} names, got {len(self.endmember_names)}"
            )
        if not isinstance(self.name, str) or not self.name:
            raise ValidationError("name: must be a non-empty string")
        for key, value in (("Y", Y), ("A", A), ("E", E), ("weak", weak)):
            object.__setattr__(self, key, value)
        object.__setattr__(self, "image_shape", _check_image_shape(self.image_shape, n_pixels))
        object.__setattr__(self, "wavelengths", _check_wavelengths(self.wavelengths, n_bands))
        object.__setattr__(self, "params", dict(self.params))
        self._set_library(n_bands, p)

    def _set_library(self, n_bands: int, p: int) -> None:
        if self.library is None:
            if self.library_index is not None or self.library_names is not None:
                raise ValidationError("library_index, library_names: given without a library")
            return
        library, names = _check_library(self.library, self.library_names, n_bands)
        if self.library_index is None:
            raise ValidationError("library_index: a scene with a library must say which atom holds each endmember")
        index = np.asarray(self.library_index).reshape(-1)
        if index.shape != (p,) or not np.issubdtype(index.dtype, np.integer):
            raise ValidationError(f"library_index: expected {p} integer atom indices, got {self.library_index!r}")
        if index.min() < 0 or index.max() >= library.shape[0] or np.unique(index).size != p:
            raise ValidationError(
                f"library_index: needs {p} distinct atoms in [0, {library.shape[0]}), got {index.tolist()}"
            )
        object.__setattr__(self, "library", library)
        object.__setattr__(self, "library_names", names)
        object.__setattr__(self, "library_index", index.astype(np.int64))

    @property
    def n_pixels(self) -> int:
        return int(self.Y.shape[0])

    @property
    def n_bands(self) -> int:
        return int(self.Y.shape[1])

    @property
    def n_endmembers(self) -> int:
        return int(self.A.shape[1])

    def library_abundances(self) -> np.ndarray:
        """The true abundances over the library atoms, ``(n_pixels, n_atoms)``: column
        ``library_index[k]`` is ``A[:, k]``, every distractor column is zero."""
        if self.library is None or self.library_index is None:
            raise ValidationError(f"scene {self.name!r} has no spectral library")
        X = np.zeros((self.n_pixels, self.library.shape[0]))
        X[:, self.library_index] = self.A
        return X

    def observation(self, supervised: bool = False, library: bool = False) -> Observation:
        """What a method may see; ``supervised=True`` also hands over the true ``E``,
        ``library=True`` the scene's spectral library (library methods)."""
        if library and self.library is None:
            raise ValidationError(
                f"library: scene {self.name!r} has no spectral library; library methods run on "
                "the library scenarios (hubench list scenarios 'library*')"
            )
        return Observation(
            Y=self.Y,
            image_shape=self.image_shape,
            n_endmembers=self.n_endmembers,
            wavelengths=self.wavelengths,
            E=self.E if supervised else None,
            library=self.library if library else None,
            library_names=self.library_names if library else None,
        )


@dataclass(frozen=True, eq=False)
class Estimate:
    """What a method returns: abundances ``A`` (required), endmembers ``E`` (blind
    methods), ``Y_hat`` for methods whose decoder is not ``A @ E``, and ``info``."""

    A: np.ndarray
    E: np.ndarray | None = None
    Y_hat: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        A = _as_matrix("A", self.A)
        object.__setattr__(self, "A", A)
        if self.E is not None:
            E = _as_matrix("E", self.E)
            if E.shape[0] != A.shape[1]:
                raise ValidationError(
                    f"E: has {E.shape[0]} endmembers but A has {A.shape[1]} columns"
                )
            object.__setattr__(self, "E", E)
        if self.Y_hat is not None:
            Y_hat = _as_matrix("Y_hat", self.Y_hat)
            if Y_hat.shape[0] != A.shape[0]:
                raise ValidationError(f"Y_hat: has {Y_hat.shape[0]} rows but A has {A.shape[0]}")
            object.__setattr__(self, "Y_hat", Y_hat)
        object.__setattr__(self, "info", dict(self.info))

    def reconstruction(self) -> np.ndarray | None:
        """``Y_hat`` if the method returned one, else ``A @ E`` when ``E`` is known."""
        if self.Y_hat is not None:
            return self.Y_hat
        if self.E is not None:
            return self.A @ self.E
        return None
