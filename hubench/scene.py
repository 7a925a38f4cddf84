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
class NamedSpectra:
    """Named spectra on a scene's band grid: ``spectra`` ``(k, n_bands)``, ``names`` (k).

    ``k`` may be zero (shape ``(0, n_bands)``): "no spectra" is an answer, not a missing
    field. ``source`` says in words where they came from (e.g. ``"perturbed 5%"``).
    Used for the prior spectra of the materials suspected to be present weakly
    (:attr:`Observation.priors`; docs/dev/priors.md).
    """

    spectra: np.ndarray
    names: tuple[str, ...]
    source: str = ""

    def __post_init__(self) -> None:
        try:
            arr = np.asarray(self.spectra, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"priors: cannot be read as a numeric array ({exc})") from None
        if arr.ndim != 2 or arr.shape[1] < 1:
            raise ValidationError(f"priors: expected a (k, n_bands) array, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValidationError("priors: holds NaN/Inf values")
        names = tuple(str(n) for n in self.names)
        if len(names) != arr.shape[0]:
            raise ValidationError(f"priors: {arr.shape[0]} spectra but {len(names)} names")
        object.__setattr__(self, "spectra", arr)
        object.__setattr__(self, "names", names)

    def __len__(self) -> int:
        return int(self.spectra.shape[0])

    @property
    def n_bands(self) -> int:
        return int(self.spectra.shape[1])


def _check_priors(priors: Any, n_bands: int) -> NamedSpectra | None:
    if priors is None:
        return None
    if not isinstance(priors, NamedSpectra):
        raise ValidationError(f"priors: expected NamedSpectra, got {type(priors).__name__}")
    if priors.n_bands != n_bands:
        raise ValidationError(f"priors: spectra have {priors.n_bands} bands, Y has {n_bands}")
    return priors


@dataclass(frozen=True, eq=False)
class Observation:
    """What a method may see: the image, its size, the number of endmembers, for
    supervised methods the endmembers ``E``, for methods of task ``priors`` the
    spectra of the materials suspected to be present weakly (``priors``, possibly
    empty), and for library methods the spectral ``library`` ``(n_atoms, n_bands)`` with
    its ``library_names``. Never the abundances."""

    Y: np.ndarray
    image_shape: tuple[int, int]
    n_endmembers: int
    wavelengths: np.ndarray | None = None
    E: np.ndarray | None = None
    priors: NamedSpectra | None = None
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
        object.__setattr__(self, "priors", _check_priors(self.priors, n_bands))
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


def _reference_count(A: np.ndarray | None, E: np.ndarray | None, count: Any) -> int:
    """The number of endmembers: from ``A``'s columns, else ``E``'s rows, else ``count``."""
    if A is not None:
        return int(A.shape[1])
    if E is not None:
        return int(E.shape[0])
    try:
        p = int(count)
    except (TypeError, ValueError):
        raise ValidationError(
            "endmember_count: a scene without reference A or E needs the number of endmembers, "
            f"got {count!r}"
        ) from None
    if p < 1:
        raise ValidationError(f"endmember_count: must be at least 1, got {p}")
    return p


@dataclass(frozen=True, eq=False)
class Scene:
    """The truth of one generated or loaded image.

    ``weak[k]`` is True when endmember ``k`` is weak or rare (by construction for
    synthetic scenes, by the documented rule for real ones). ``params`` holds everything
    needed to regenerate the scene with :func:`hubench.make_scene`. ``priors`` (optional)
    are the prior spectra a method of task ``priors`` is given (docs/dev/priors.md).

    A loaded image may have a **partial reference**: ``A`` None (reference endmembers
    only, e.g. library spectra of the minerals present), ``E`` None (reference abundances
    only), or both None (no reference; then ``endmember_count`` gives the number of
    endmembers to look for). :attr:`reference` says which; the metrics that need a
    missing part do not apply (docs/guide/your-data.md).

    Library scenes (docs/dev/library.md) also carry a spectral ``library``
    ``(n_atoms, n_bands)`` with ``library_names``, and ``library_index[k]``: the atom that
    holds material ``k`` (another sample of it, or a perturbed copy, unless the scene
    says the library is exact). Every other atom is a distractor.
    """

    Y: np.ndarray
    A: np.ndarray | None
    E: np.ndarray | None
    image_shape: tuple[int, int]
    weak: np.ndarray
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    wavelengths: np.ndarray | None = None
    endmember_names: tuple[str, ...] | None = None
    priors: NamedSpectra | None = None
    endmember_count: int | None = None
    library: np.ndarray | None = None
    library_names: tuple[str, ...] | None = None
    library_index: np.ndarray | None = None

    def __post_init__(self) -> None:
        Y = _as_matrix("Y", self.Y)
        A = None if self.A is None else _as_matrix("A", self.A)
        E = None if self.E is None else _as_matrix("E", self.E)
        n_pixels, n_bands = Y.shape
        p = _reference_count(A, E, self.endmember_count)
        if A is not None and A.shape != (n_pixels, p):
            raise ValidationError(f"A: expected shape ({n_pixels}, {p}) from Y and E, got {A.shape}")
        if E is not None and E.shape != (p, n_bands):
            raise ValidationError(f"E: expected shape ({p}, {n_bands}) from A and Y, got {E.shape}")
        if p >= n_bands:
            raise ValidationError(f"E: {p} endmembers need more than {p} bands, Y has {n_bands}")
        if A is not None:
            check_simplex("A", A)
        object.__setattr__(self, "endmember_count", p)
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
        object.__setattr__(self, "priors", _check_priors(self.priors, n_bands))
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
        return int(self.endmember_count or 0)

    def library_abundances(self) -> np.ndarray:
        """The true abundances over the library atoms, ``(n_pixels, n_atoms)``: column
        ``library_index[k]`` is ``A[:, k]``, every distractor column is zero."""
        if self.library is None or self.library_index is None:
            raise ValidationError(f"scene {self.name!r} has no spectral library")
        X = np.zeros((self.n_pixels, self.library.shape[0]))
        X[:, self.library_index] = self.A
        return X

    @property
    def reference(self) -> str:
        """What reference the scene has: ``"A+E"``, ``"E"`` (endmembers only), ``"A"``
        (abundances only) or ``"none"``."""
        parts = [k for k, v in (("A", self.A), ("E", self.E)) if v is not None]
        return "+".join(parts) or "none"

    def observation(self, supervised: bool = False, priors: bool = False,
                    library: bool = False) -> Observation:
        """What a method may see; ``supervised=True`` also hands over the true ``E``,
        ``priors=True`` the scene's prior spectra (None when the scene has none),
        ``library=True`` the scene's spectral library (library methods)."""
        if library and self.library is None:
            raise ValidationError(
                f"library: scene {self.name!r} has no spectral library; library methods run on "
                "the library scenarios (hubench list scenarios 'library*')"
            )
        if supervised and self.E is None:
            raise ValidationError(
                f"scene {self.name!r} has no reference endmembers; a supervised method needs them"
            )
        return Observation(
            Y=self.Y,
            image_shape=self.image_shape,
            n_endmembers=self.n_endmembers,
            wavelengths=self.wavelengths,
            E=self.E if supervised else None,
            priors=self.priors if priors else None,
            library=self.library if library else None,
            library_names=self.library_names if library else None,
        )


@dataclass(frozen=True, eq=False)
class AbundanceUncertainty:
    """How sure a method is of its abundances, per pixel and endmember.

    Either a central ``nominal`` interval (``lower``, ``upper``) or a standard deviation
    ``std`` (then the interval is Gaussian, see :mod:`hubench.metrics.uncertainty`), and
    optionally ``presence``: the probability that each endmember is present
    (abundance >= ``presence_tau``). Every array has the shape of ``Estimate.A``, in
    the estimate's own column order. ``members`` is the ensemble size (0: the method's
    own uncertainty).
    """

    lower: np.ndarray | None = None
    upper: np.ndarray | None = None
    std: np.ndarray | None = None
    presence: np.ndarray | None = None
    presence_tau: float = 0.05
    nominal: float = 0.90
    members: int = 0

    def __post_init__(self) -> None:
        if (self.lower is None) != (self.upper is None):
            raise ValidationError("uncertainty: give both lower and upper, or neither")
        if self.lower is None and self.std is None:
            raise ValidationError("uncertainty: give an interval (lower, upper) or a std")
        for name in ("lower", "upper", "std", "presence"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _as_matrix(f"uncertainty.{name}", value))
        if self.std is not None and (self.std < 0).any():
            raise ValidationError("uncertainty.std: has negative values")
        if self.lower is not None and self.upper is not None and (self.lower > self.upper).any():
            raise ValidationError("uncertainty: lower exceeds upper somewhere")
        if not 0.0 < self.nominal < 1.0:
            raise ValidationError(f"uncertainty.nominal: {self.nominal} is not in (0, 1)")

    def check_shape(self, shape: tuple[int, ...]) -> None:
        for name in ("lower", "upper", "std", "presence"):
            value = getattr(self, name)
            if value is not None and value.shape != shape:
                raise ValidationError(
                    f"uncertainty.{name}: has shape {value.shape}, expected {shape} (that of A)"
                )


@dataclass(frozen=True, eq=False)
class Estimate:
    """What a method returns: abundances ``A`` (required), endmembers ``E`` (blind
    methods), ``Y_hat`` for methods whose decoder is not ``A @ E``, ``info``, and
    optionally ``uncertainty`` (:class:`AbundanceUncertainty`) about ``A``."""

    A: np.ndarray
    E: np.ndarray | None = None
    Y_hat: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)
    uncertainty: AbundanceUncertainty | None = None

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
        if self.uncertainty is not None:
            if not isinstance(self.uncertainty, AbundanceUncertainty):
                raise ValidationError(
                    f"uncertainty: expected an AbundanceUncertainty, got {type(self.uncertainty).__name__}"
                )
            self.uncertainty.check_shape(A.shape)

    def reconstruction(self) -> np.ndarray | None:
        """``Y_hat`` if the method returned one, else ``A @ E`` when ``E`` is known."""
        if self.Y_hat is not None:
            return self.Y_hat
        if self.E is not None:
            return self.A @ self.E
        return None
