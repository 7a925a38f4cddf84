"""Real scenes: Samson, Jasper Ridge, and any user file, registered as scenarios.

Provenance, shapes and the weak-endmember results are in docs/guide/your-data.md. The files
are found as described in :mod:`hubench.datasets.fetch` (``data_dir`` argument,
``HUBENCH_DATA_DIR``, ``./data``, ``../shared/data``). A real scene does not depend on
the seed (it only varies the methods' randomness) but stores it; SNR options are refused.

- Samson's reference endmembers are published scaled to a maximum of 1 each, so the
  scene's ``E`` is rescaled by the NNLS fit ``Y ~= A diag(s) E`` (the same fit the
  weak rule uses); SAD is scale-invariant, so scores match the published reference.
- Jasper Ridge's image is uint16 and is divided by its ``maxValue`` (5000), the scale of
  its reference endmembers, which are kept as published.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hubench.datasets.base import register_scenario
from hubench.datasets.fetch import get_dataset, resolve_data_dir, sha256_file
from hubench.datasets.formats import (
    as_names,
    load_scene,
    numeric,
    read_arrays,
    scene_from_arrays,
    to_row_major,
)
from hubench.datasets.priors import reference_priors
from hubench.datasets.weak_rule import nnls_scales
from hubench.errors import DataError, ParameterError
from hubench.scene import Scene

SAMSON_SHAPE = (95, 95)
SAMSON_NAMES = ("soil", "tree", "water")
AVIRIS_CHANNELS = 224

PathLike = str | os.PathLike[str]


def samson_wavelengths() -> np.ndarray:
    """Samson's 156 band centres in nm: 401 to 889 nm, assumed evenly spaced (3.15 nm)."""
    return np.linspace(401.0, 889.0, 156)


def aviris_wavelengths() -> np.ndarray | None:
    """Centre wavelength (nm) of AVIRIS channels 1..224, shape (224,), or None.

    Taken from the USGS library's AVIRIS grid (the 1995 calibration, so within a few nm
    of any given flight's). The packaged grid is wavelength-sorted and lacks channel
    numbers for its last 16 rows, which are channels 209-224 in order (they lie past
    every overlap between AVIRIS's spectrometers).
    """
    try:
        from hubench.datasets.usgs import load_usgs

        lib = load_usgs(drop_water_bands=False)
    except (ImportError, DataError):
        return None
    channels = np.array(lib.channels, dtype=np.int64)
    missing = channels < 1
    channels[missing] = np.arange(AVIRIS_CHANNELS - int(missing.sum()) + 1, AVIRIS_CHANNELS + 1)
    if sorted(channels.tolist()) != list(range(1, AVIRIS_CHANNELS + 1)):
        return None
    out = np.empty(AVIRIS_CHANNELS)
    out[channels - 1] = lib.wavelengths
    return out


def _files(name: str, data_dir: PathLike | None) -> tuple[list[Path], dict[str, str]]:
    paths = _files_only(name, data_dir)
    return paths, {f.relpath: sha256_file(p) for f, p in zip(get_dataset(name).files, paths, strict=True)}


def _dataset_sources(name: str) -> Any:
    """``sources`` hook of a published dataset's scenario: its files in the data dir."""

    def sources(params: dict[str, Any]) -> list[Path]:
        return [p.resolve() for p in _files_only(name, params.get("data_dir"))]

    return sources


def _files_only(name: str, data_dir: PathLike | None) -> list[Path]:
    folder = resolve_data_dir(name, data_dir)
    return [folder / f.relpath for f in get_dataset(name).files]


def _scene_file_sources(params: dict[str, Any]) -> list[Path]:
    """``sources`` hook of the ``file`` scenario: the file itself (resolved)."""
    path = params.get("path")
    if path is None:
        raise ParameterError("scenario 'file' needs path=FILE (on the command line: --scene-file FILE)")
    target = Path(path).expanduser()
    if not target.is_file():
        raise DataError(f"scene file {path}: {'is a folder, not a file' if target.is_dir() else 'does not exist'}; "
                        "check the path given to --scene-file or file[path=...]")
    found = [target.resolve()]
    reference = params.get("reference")
    if reference is not None:
        ref = Path(reference).expanduser()
        if not ref.is_file():
            raise DataError(f"reference file {reference}: {'is a folder, not a file' if ref.is_dir() else 'does not exist'}; "
                            "check the path given to --reference or file[reference=...]")
        found.append(ref.resolve())
    return found


def _with_priors(scene: Scene, priors: Sequence[int | str] | str | None) -> Scene:
    """``scene`` carrying the prior spectra chosen by the ``priors`` option
    (:func:`hubench.datasets.priors.reference_priors`)."""
    return dataclasses.replace(scene, priors=reference_priors(scene, priors))


def _matrix(arrays: dict, key: str, path: Path, shape: tuple[int, int]) -> np.ndarray:
    if key not in arrays:
        raise DataError(f"{path}: has no variable {key!r}; is this the published file?")
    value = numeric(arrays[key], key, path)
    if value.shape != shape:
        raise DataError(f"{path}: {key!r} has shape {value.shape}, expected {shape}")
    return value


@register_scenario(
    "samson",
    description="Samson (real): 95x95 px, 156 bands, soil/tree/water; weak: water",
    kind="real",
    defaults={"data_dir": None},
    accepts_snr=False,
    sources=_dataset_sources("samson"),
    location_params=("data_dir",),
)
def samson(seed: int, data_dir: PathLike | None = None, weak: Sequence[int | str] | None = None,
           priors: Sequence[int | str] | str | None = None) -> Scene:
    """The Samson scene (``samson/samson_dataset.mat``): Y (9025, 156), A (9025, 3), E (3, 156).

    ``weak`` (names or indices, e.g. ``samson[weak=water]``) replaces the weak rule's choice.
    ``priors`` (names, indices or a .npz/.csv file) are the prior spectra of task
    ``priors``; default: the reference endmembers flagged weak.
    """
    (path,), digests = _files("samson", data_dir)
    arrays = read_arrays(path)
    n_pixels = SAMSON_SHAPE[0] * SAMSON_SHAPE[1]
    Y = to_row_major(_matrix(arrays, "Y", path, (156, n_pixels)).T, SAMSON_SHAPE, "F", path)
    A = to_row_major(_matrix(arrays, "A", path, (3, n_pixels)).T, SAMSON_SHAPE, "F", path)
    M = _matrix(arrays, "M", path, (156, 3)).T
    scales = nnls_scales(Y, A, M)
    params = {"dataset": "samson", "files": digests, "endmember_scales": scales.tolist()}
    return _with_priors(scene_from_arrays(
        Y, A, scales[:, None] * M, SAMSON_SHAPE, name="samson", source=str(path),
        params=params, seed=seed, wavelengths=samson_wavelengths(),
        endmember_names=SAMSON_NAMES, normalised=False, weak=weak,
    ), priors)


@register_scenario(
    "jasper",
    description="Jasper Ridge (real): 100x100 px, 198 bands, tree/water/dirt/road; weak: water, road",
    kind="real",
    defaults={"data_dir": None},
    accepts_snr=False,
    sources=_dataset_sources("jasper"),
    location_params=("data_dir",),
)
def jasper(seed: int, data_dir: PathLike | None = None, weak: Sequence[int | str] | None = None,
           priors: Sequence[int | str] | str | None = None) -> Scene:
    """Jasper Ridge (``jasper/jasperRidge2_R198.mat`` + ``jasper/end4.mat``):
    Y (10000, 198) = raw / maxValue, A (10000, 4), E (4, 198).

    ``weak`` (names or indices, e.g. ``jasper[weak=water,road]``) replaces the weak rule's choice.
    ``priors`` as for :func:`samson`.
    """
    (image_path, ref_path), digests = _files("jasper", data_dir)
    image = read_arrays(image_path)
    ref = read_arrays(ref_path)
    shape = (int(_matrix(image, "nRow", image_path, (1, 1))[0, 0]),
             int(_matrix(image, "nCol", image_path, (1, 1))[0, 0]))
    n_pixels = shape[0] * shape[1]
    bands = _matrix(image, "SlectBands", image_path, (198, 1)).ravel().astype(np.int64)
    max_value = float(_matrix(image, "maxValue", image_path, (1, 1))[0, 0])
    Y = _matrix(image, "Y", image_path, (198, n_pixels)).T / max_value
    A = _matrix(ref, "A", ref_path, (4, n_pixels)).T
    E = _matrix(ref, "M", ref_path, (198, 4)).T
    names = tuple(re.sub(r"^\d+-", "", n) for n in as_names(ref.get("cood", []), "cood", ref_path))
    channel_wl = aviris_wavelengths()
    params = {"dataset": "jasper", "files": digests, "y_divisor": max_value}
    return _with_priors(scene_from_arrays(
        to_row_major(Y, shape, "F", image_path), to_row_major(A, shape, "F", ref_path), E, shape,
        name="jasper", source=str(ref_path), params=params, seed=seed,
        wavelengths=None if channel_wl is None else channel_wl[bands - 1],
        endmember_names=names if len(names) == 4 else None, normalised=False, weak=weak,
    ), priors)


@register_scenario(
    "file",
    description="a scene file of your own (.mat/.npz/ENVI/GeoTIFF, reference optional): "
                "hubench run --scene-file FILE",
    kind="real",
    defaults={"path": None, "reference": None},
    accepts_snr=False,
    sources=_scene_file_sources,
    location_params=("path", "reference"),
)
def file_scene(
    seed: int,
    path: PathLike | None = None,
    layout: str = "auto",
    y_key: str = "Y",
    a_key: str | None = "A",
    e_key: str | None = "E",
    y_axes: str = "auto",
    a_axes: str = "auto",
    e_axes: str = "auto",
    image_shape: Sequence[int] | None = None,
    pixel_order: str | None = None,
    y_divisor: float | str | None = None,
    names_key: str | None = None,
    wavelengths_key: str | None = None,
    weak: Sequence[int | str] | None = None,
    references_normalised: bool | None = None,
    priors: Sequence[int | str] | str | None = None,
    reference: PathLike | None = None,
    n_endmembers: int | None = None,
) -> Scene:
    """Any file :func:`hubench.datasets.formats.load_scene` reads; options as there
    (``priors`` as for :func:`samson`)."""
    if path is None:
        raise ParameterError("scenario 'file' needs path=FILE (on the command line: --scene-file FILE)")
    return _with_priors(load_scene(
        path, layout=layout, y_key=y_key, a_key=a_key, e_key=e_key, y_axes=y_axes,
        a_axes=a_axes, e_axes=e_axes, image_shape=image_shape, pixel_order=pixel_order,
        y_divisor=y_divisor, names_key=names_key, wavelengths_key=wavelengths_key,
        weak=weak, references_normalised=references_normalised, seed=seed,
        reference=reference, n_endmembers=n_endmembers,
    ), priors)
