"""The USGS 1995 spectral library (498 minerals on the 224 AVIRIS channels), packaged.

The package file ``data/usgs_1995.npz`` is written by ``scripts/convert_usgs.py`` from
``USGS_1995_Library.mat`` (public domain; provenance in ``docs/dev/data.md``). Its channels
are sorted by wavelength; the loader drops the water-absorption bands (1350-1450 nm and
1800-1960 nm, 26 channels) and the 16 channel rows whose channel number is the
source's fill value (2359-2508 nm) unless told otherwise, leaving 182 channels.

:func:`prune_library` keeps a subset of spectra that are pairwise at least a given
spectral angle apart, so that sampled endmembers are distinguishable.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from hubench.errors import DataError, ParameterError

DATA_FILE = "usgs_1995.npz"
_KEYS = ("spectra", "names", "wavelengths_nm", "fwhm_nm", "channel", "keep", "water_bands_nm")


@dataclass(frozen=True, eq=False)
class UsgsLibrary:
    """A spectral library on a wavelength-sorted channel grid (arrays are read-only).

    Attributes
    ----------
    spectra : ndarray, shape (n_materials, n_bands)
        Reflectance in [0.0047, 1.018], float64.
    names : tuple of str, length n_materials
        USGS sample names, e.g. ``"Alunite GDS84 Na03"``.
    wavelengths : ndarray, shape (n_bands,)
        Channel centres in nm, strictly increasing (AVIRIS's spectrometers overlap near
        670, 1260 and 1880 nm, so the sorted channel numbers are not monotone there).
    fwhm : ndarray, shape (n_bands,)
        Channel resolution (full width at half maximum) in nm.
    channels : ndarray, shape (n_bands,)
        AVIRIS channel number from the source, -1 where the source holds a fill value.
    water_bands : ndarray, shape (n_ranges, 2)
        The dropped water-absorption ranges ``[lo, hi]`` in nm.
    """

    spectra: np.ndarray
    names: tuple[str, ...]
    wavelengths: np.ndarray
    fwhm: np.ndarray
    channels: np.ndarray
    water_bands: np.ndarray

    @property
    def n_materials(self) -> int:
        return int(self.spectra.shape[0])

    @property
    def n_bands(self) -> int:
        return int(self.spectra.shape[1])


def _read_only(array: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(array)
    array.flags.writeable = False
    return array


@lru_cache(maxsize=4)
def load_usgs(drop_water_bands: bool = True) -> UsgsLibrary:
    """Load the packaged USGS library (cached; the arrays are read-only, copy to modify).

    Parameters
    ----------
    drop_water_bands : bool
        Drop the water-absorption channels and the fill-valued channel rows (182 of 224 channels remain). With False,
        the full sorted 224-channel grid is returned.

    Raises
    ------
    DataError
        When the package file is missing or malformed (reinstall hubench, or rebuild it
        with ``python scripts/convert_usgs.py``).
    """
    path = resources.files("hubench.datasets") / "data" / DATA_FILE
    try:
        with resources.as_file(path) as real_path, np.load(real_path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in _KEYS}
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(
            f"cannot read the USGS library {path} ({exc}); reinstall hubench or rebuild it "
            "with `python scripts/convert_usgs.py`"
        ) from None
    keep = arrays["keep"].astype(bool) if drop_water_bands else np.ones(arrays["keep"].shape, bool)
    spectra = arrays["spectra"].astype(np.float64)[:, keep]
    if not np.all(np.isfinite(spectra)):
        raise DataError(f"the USGS library {path} holds non-finite values; rebuild it")
    return UsgsLibrary(
        spectra=_read_only(spectra),
        names=tuple(str(n) for n in arrays["names"]),
        wavelengths=_read_only(arrays["wavelengths_nm"][keep].astype(np.float64)),
        fwhm=_read_only(arrays["fwhm_nm"][keep].astype(np.float64)),
        channels=_read_only(arrays["channel"][keep].astype(np.int64)),
        water_bands=_read_only(arrays["water_bands_nm"].astype(np.float64)),
    )


def angle_matrix(spectra: np.ndarray) -> np.ndarray:
    """Pairwise spectral angles in degrees.

    Parameters
    ----------
    spectra : ndarray, shape (n, n_bands)

    Returns
    -------
    ndarray, shape (n, n)
        ``angles[i, j] = arccos(<s_i, s_j> / (|s_i| |s_j|))`` in degrees, zero diagonal.
    """
    S = np.asarray(spectra, dtype=np.float64)
    norms = np.linalg.norm(S, axis=1)
    if np.any(norms == 0):
        raise ParameterError("spectra: a spectrum of all zeros has no angle; drop it first")
    unit = S / norms[:, None]
    cosine = np.clip(unit @ unit.T, -1.0, 1.0)
    angles = np.degrees(np.arccos(cosine))
    np.fill_diagonal(angles, 0.0)
    return angles


def prune_library(spectra: np.ndarray, min_angle_deg: float) -> np.ndarray:
    """Indices of a subset of ``spectra`` whose pairwise angles are all >= ``min_angle_deg``.

    Deterministic greedy selection in library order: a spectrum is kept when it is at
    least ``min_angle_deg`` from every spectrum kept before it. The angle matrix is
    computed once, vectorised; the loop runs over library entries, not pixels.

    Parameters
    ----------
    spectra : ndarray, shape (n, n_bands)
    min_angle_deg : float
        In [0, 90).

    Returns
    -------
    ndarray of int, shape (n_kept,)
        Increasing indices into ``spectra``.
    """
    angle = float(min_angle_deg)
    if not 0.0 <= angle < 90.0:
        raise ParameterError(f"min_angle_deg: must be in [0, 90) degrees, got {min_angle_deg!r}")
    angles = angle_matrix(spectra)
    n = angles.shape[0]
    # `compatible` marks the rows still at least `angle` from every row kept so far, so
    # each step is one vector update.
    compatible = np.ones(n, dtype=bool)
    kept: list[int] = []
    for i in range(n):
        if compatible[i]:
            kept.append(i)
            compatible &= angles[i] >= angle
    return np.asarray(kept, dtype=np.int64)


def band_average_matrix(wavelengths: np.ndarray, water_bands: np.ndarray, n_bands: int) -> np.ndarray:
    """Matrix that averages contiguous channels into ``n_bands`` wider bands.

    The channels form contiguous segments between the dropped water ranges; the
    ``n_bands`` output bands are shared among the segments in proportion to their sizes
    (largest remainder), and each segment's channels are split into nearly equal
    contiguous groups that are averaged, so no output band straddles a water gap.

    Parameters
    ----------
    wavelengths : ndarray, shape (n_channels,)
        Sorted channel centres in nm.
    water_bands : ndarray, shape (n_ranges, 2)
        The dropped ``[lo, hi]`` ranges in nm.
    n_bands : int
        Between 1 and ``n_channels``.

    Returns
    -------
    ndarray, shape (n_channels, n_bands)
        Column ``b`` holds ``1/size`` on the channels of band ``b``: ``spectra @ R``
        resamples ``(n, n_channels)`` spectra.
    """
    n_channels = len(wavelengths)
    if not 1 <= n_bands <= n_channels:
        raise ParameterError(f"n_bands: must be between 1 and {n_channels}, got {n_bands}")
    segment = np.sum(np.asarray(wavelengths)[:, None] > np.asarray(water_bands)[None, :, 1], axis=1)
    sizes = np.bincount(segment, minlength=len(water_bands) + 1)
    quotas = n_bands * sizes / n_channels
    counts = np.floor(quotas).astype(int)
    by_remainder = np.argsort(-(quotas - counts), kind="stable")
    counts[by_remainder[: n_bands - counts.sum()]] += 1
    R = np.zeros((n_channels, n_bands))
    band = 0
    for seg, count in enumerate(counts):
        channels = np.flatnonzero(segment == seg)
        for group in np.array_split(channels, count) if count else []:
            R[group, band] = 1.0 / len(group)
            band += 1
    return R


@lru_cache(maxsize=32)
def library_on_grid(n_bands: int) -> tuple[np.ndarray, np.ndarray]:
    """The water-free library band-averaged to ``n_bands`` bands (cached, read-only).

    Returns
    -------
    spectra : ndarray, shape (n_materials, n_bands)
    wavelengths : ndarray, shape (n_bands,)
        Mean channel centre of each band, nm.
    """
    library = load_usgs()
    R = band_average_matrix(library.wavelengths, library.water_bands, n_bands)
    return _read_only(library.spectra @ R), _read_only(library.wavelengths @ R)


@lru_cache(maxsize=32)
def pruned_indices(n_bands: int, min_angle_deg: float) -> np.ndarray:
    """:func:`prune_library` of :func:`library_on_grid` ``(n_bands)`` (cached, read-only)."""
    return _read_only(prune_library(library_on_grid(n_bands)[0], min_angle_deg))
