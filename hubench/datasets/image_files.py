"""Hyperspectral image files in the field's formats: ENVI (``.hdr`` + binary) and GeoTIFF.

ENVI is read and written with the ``spectral`` package (``pip install spectral``):
every interleave (``bsq``, ``bil``, ``bip``) and data type it supports; the band
centres come from the header's ``wavelength`` (converted to nm when ``wavelength units``
says micrometres) and the names from ``band names``. GeoTIFF is read and written with
``rasterio`` (``pip install rasterio``, or ``pip install "hubench[geo]"``); its affine
transform and CRS are kept (:attr:`ImageData.georeference`) so that results can be
written on the same grid. Each band's description, when it parses as a number, is
taken as its wavelength (nm).

Both packages are optional: a missing one is a :class:`~hubench.errors.UnavailableError`
whose message is the ``pip install`` line. An image's declared size is checked against
:func:`hubench.datasets.formats.max_scene_bytes` before its pixels are read.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hubench.datasets.size_limit import check_declared_size
from hubench.errors import DataError, HubenchError, UnavailableError

#: File suffixes read as images (no reference inside them).
ENVI_SUFFIXES = (".hdr",)
GEOTIFF_SUFFIXES = (".tif", ".tiff")
IMAGE_SUFFIXES = ENVI_SUFFIXES + GEOTIFF_SUFFIXES


@dataclass(frozen=True)
class ImageData:
    """An image cube ``(H, W, L)`` (float64) with what its file says about the bands.

    ``georeference`` is ``{"crs": WKT text or None, "transform": [a, b, c, d, e, f]}``
    (rasterio's affine order) for a GeoTIFF, None otherwise.
    """

    cube: np.ndarray
    wavelengths: np.ndarray | None = None
    band_names: tuple[str, ...] | None = None
    georeference: dict[str, Any] | None = None


def _require(module: str, package: str, extra: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise UnavailableError(
            f"reading and writing {extra} files needs the {package!r} package: "
            f"pip install {package}"
            + (' (or pip install "hubench[geo]")' if package == "rasterio" else "")
        ) from None


def _finite(cube: np.ndarray, path: Path) -> np.ndarray:
    cube = np.asarray(cube, dtype=np.float64)
    bad = cube.size - int(np.count_nonzero(np.isfinite(cube)))
    if bad:
        raise DataError(f"{path}: the image holds {bad} NaN/Inf values (no-data pixels?); mask or fill them first")
    return cube


def _check_size(path: Path, shape: tuple[int, ...]) -> None:
    check_declared_size(path, [("image", math.prod(shape) * 8)])


def _wavelengths_nm(values: Any, units: str | None) -> np.ndarray | None:
    try:
        wl = np.asarray([float(v) for v in values], dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if wl.size == 0 or not np.all(np.isfinite(wl)):
        return None
    unit = (units or "").strip().lower()
    if unit in ("micrometers", "micrometer", "microns", "micron", "um", "µm"):
        wl = wl * 1000.0
    return wl


def read_envi(path: str | os.PathLike[str]) -> ImageData:
    """An ENVI image from its header ``path`` (``.hdr``; the data file beside it)."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file; pass the ENVI header (.hdr) beside its data file")
    envi = _require("spectral.io.envi", "spectral", "ENVI")
    try:
        header = envi.read_envi_header(str(p))
        shape = tuple(int(header[k]) for k in ("lines", "samples", "bands"))
        _check_size(p, shape)
        img = envi.open(str(p))
        cube = np.asarray(img.load())
    except HubenchError:
        raise
    except Exception as exc:  # spectral raises its own types for bad headers and missing data
        raise DataError(f"{p}: cannot read as an ENVI image ({type(exc).__name__}: {exc})") from None
    cube = _finite(cube.reshape(shape), p)
    wl = _wavelengths_nm(header["wavelength"], header.get("wavelength units")) if "wavelength" in header else None
    names = tuple(str(n) for n in header["band names"]) if "band names" in header else None
    if wl is not None and wl.size != shape[2]:
        wl = None
    if names is not None and len(names) != shape[2]:
        names = None
    return ImageData(cube=cube, wavelengths=wl, band_names=names)


def read_geotiff(path: str | os.PathLike[str]) -> ImageData:
    """A GeoTIFF image: bands become the spectral axis; transform and CRS are kept."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file; check the path")
    rasterio = _require("rasterio", "rasterio", "GeoTIFF")
    try:
        with rasterio.open(p) as src:
            _check_size(p, (src.height, src.width, src.count))
            data = src.read()  # (bands, rows, columns)
            descriptions = src.descriptions
            crs = src.crs.to_wkt() if src.crs is not None else None
            transform = list(src.transform)[:6]
    except HubenchError:
        raise
    except Exception as exc:
        raise DataError(f"{p}: cannot read as a GeoTIFF ({type(exc).__name__}: {exc})") from None
    cube = _finite(np.moveaxis(data, 0, -1), p)
    wl = _wavelengths_nm(descriptions, None) if all(descriptions) else None
    names = tuple(str(d) for d in descriptions) if all(descriptions) else None
    return ImageData(cube=cube, wavelengths=wl, band_names=names,
                     georeference={"crs": crs, "transform": transform})


def read_image(path: str | os.PathLike[str]) -> ImageData:
    """An image by its suffix: ``.hdr`` (ENVI) or ``.tif``/``.tiff`` (GeoTIFF)."""
    suffix = Path(path).suffix.lower()
    if suffix in ENVI_SUFFIXES:
        return read_envi(path)
    if suffix in GEOTIFF_SUFFIXES:
        return read_geotiff(path)
    raise DataError(f"{path}: not an image file (.hdr, .tif, .tiff)")


def write_envi(
    path: str | os.PathLike[str], cube: np.ndarray, *, wavelengths: Any = None,
    band_names: Any = None, description: str = "",
) -> None:
    """Write ``cube`` (H, W, bands) as ENVI (``path`` is the ``.hdr``; the data file is
    ``path`` without ``.hdr`` plus ``.img``), float32, ``bsq``."""
    envi = _require("spectral.io.envi", "spectral", "ENVI")
    metadata: dict[str, Any] = {"interleave": "bsq", "description": description or "hubench"}
    if wavelengths is not None:
        metadata["wavelength"] = [f"{float(v):.6g}" for v in wavelengths]
        metadata["wavelength units"] = "Nanometers"
    if band_names is not None:
        metadata["band names"] = [str(n) for n in band_names]
    envi.save_image(str(path), np.asarray(cube, dtype=np.float32), metadata=metadata,
                    ext=".img", force=True, interleave="bsq")


def write_geotiff(
    path: str | os.PathLike[str], cube: np.ndarray, *, georeference: dict[str, Any] | None,
    band_names: Any = None,
) -> None:
    """Write ``cube`` (H, W, bands) as a float32 GeoTIFF on ``georeference``'s grid."""
    rasterio = _require("rasterio", "rasterio", "GeoTIFF")
    from affine import Affine

    geo = georeference or {}
    H, W, n = cube.shape
    profile: dict[str, Any] = {
        "driver": "GTiff", "height": H, "width": W, "count": n, "dtype": "float32",
    }
    if geo.get("transform") is not None:
        profile["transform"] = Affine(*geo["transform"][:6])
    if geo.get("crs"):
        profile["crs"] = rasterio.crs.CRS.from_wkt(geo["crs"])
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(np.moveaxis(np.asarray(cube, dtype=np.float32), -1, 0))
        if band_names is not None:
            for i, name in enumerate(band_names, start=1):
                dst.set_band_description(i, str(name))
