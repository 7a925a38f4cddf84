"""Writing an unmixing result: the format is chosen by the output file's extension.

Every format holds the abundances as an ``H x W x p`` cube and the endmembers with the
band wavelengths (band indices when the image had none):

- ``.npz``: ``A`` (H, W, p), ``E`` (p, L), ``wavelengths`` (L,), ``method``, ``params``
  (JSON text), ``image`` (the input path);
- ``.mat``: HySUPP's estimate layout (its ``save_estimates``: ``Ehat`` L x p, ``Ahat``
  p x N with pixels row-major, ``H``, ``W``) plus ``A_cube`` (H, W, p), ``wavelengths``,
  ``method`` and ``params``;
- ``.hdr`` (ENVI): the abundance cube as a float32 ``bsq`` image (``.hdr`` + ``.img``,
  bands named ``EM 0``...) and the endmembers beside it as ``<stem>-endmembers.csv``;
- ``.tif``/``.tiff`` (GeoTIFF, only for a georeferenced input): the abundance cube on the
  input's grid (transform and CRS kept) and ``<stem>-endmembers.csv``.

Beside it: ``<stem>-abundances.png`` (one map per endmember, colour scale 0-1) and
``<stem>-endmembers.png`` (the spectra). Each file is written to a temporary name in
the same folder and renamed into place only when all of them are written, so a failure
leaves nothing half-written.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from hubench.errors import DataError, ParameterError
from hubench.scene import Estimate

FORMATS = (".npz", ".mat", ".hdr", ".tif", ".tiff")


def output_files(out: Path, has_endmembers: bool = True) -> list[Path]:
    """Every file that writing to ``out`` creates (the main file first)."""
    suffix = out.suffix.lower()
    if suffix not in FORMATS:
        raise ParameterError(f"--out: unsupported extension {out.suffix!r}; use one of {', '.join(FORMATS)}")
    stem = out.with_suffix("")
    files = [out]
    if suffix == ".hdr":
        files.append(stem.with_suffix(".img"))
    if suffix in (".hdr", ".tif", ".tiff") and has_endmembers:
        files.append(Path(f"{stem}-endmembers.csv"))
    files.append(Path(f"{stem}-abundances.png"))
    if has_endmembers:
        files.append(Path(f"{stem}-endmembers.png"))
    return files


def check_output(out: Path, *, force: bool, georeferenced: bool) -> None:
    """Refuse before any work: an unsupported extension, a missing folder, a GeoTIFF
    output for an input without georeferencing, or files that exist (without ``force``)."""
    files = output_files(out)
    if out.suffix.lower() in (".tif", ".tiff") and not georeferenced:
        raise ParameterError(f"--out {out}: GeoTIFF output keeps the input's georeferencing, and this "
                             "input has none; write .npz, .mat or .hdr instead")
    if not out.parent.is_dir():
        raise ParameterError(f"--out {out}: folder {out.parent} does not exist; create it first")
    existing = [str(f) for f in files if f.exists()]
    if existing and not force:
        raise ParameterError(f"--out: {', '.join(existing)} already exist(s); pass --force to replace, "
                             "or choose another --out")


def _cube(estimate: Estimate, shape: tuple[int, int]) -> np.ndarray:
    H, W = shape
    return estimate.A.reshape(H, W, estimate.A.shape[1])


def _x_axis(n_bands: int, wavelengths: np.ndarray | None) -> np.ndarray:
    return np.asarray(wavelengths, dtype=float) if wavelengths is not None else np.arange(n_bands, dtype=float)


def _write_main(path: Path, suffix: str, estimate: Estimate, shape: tuple[int, int],
                wavelengths: np.ndarray | None, meta: dict[str, str],
                georeference: dict[str, Any] | None) -> None:
    from hubench.datasets import image_files

    cube = _cube(estimate, shape)
    p = cube.shape[2]
    names = [f"EM {k}" for k in range(p)]
    if suffix == ".npz":
        arrays: dict[str, Any] = {"A": cube, **meta}
        if estimate.E is not None:
            arrays["E"] = estimate.E
            arrays["wavelengths"] = _x_axis(estimate.E.shape[1], wavelengths)
        with open(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)
    elif suffix == ".mat":
        import scipy.io

        mat: dict[str, Any] = {"Ahat": estimate.A.T, "A_cube": cube, "H": shape[0], "W": shape[1],
                               "p": p, **meta}
        if estimate.E is not None:
            mat["Ehat"] = estimate.E.T
            mat["wavelengths"] = _x_axis(estimate.E.shape[1], wavelengths)
            mat["L"] = estimate.E.shape[1]
        scipy.io.savemat(path, mat)
    elif suffix == ".hdr":
        image_files.write_envi(path, cube, band_names=names, description=f"hubench unmix: {meta['method']}")
    else:
        image_files.write_geotiff(path, cube, georeference=georeference, band_names=names)


def _write_csv(path: Path, estimate: Estimate, wavelengths: np.ndarray | None) -> None:
    assert estimate.E is not None
    x = _x_axis(estimate.E.shape[1], wavelengths)
    head = "wavelength_nm" if wavelengths is not None else "band"
    table = np.column_stack([x, estimate.E.T])
    header = ",".join([head, *(f"EM {k}" for k in range(estimate.E.shape[0]))])
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt="%.8g")


def _abundance_png(path: Path, estimate: Estimate, shape: tuple[int, int], title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cube = _cube(estimate, shape)
    p = cube.shape[2]
    ncols = min(p, 4)
    nrows = -(-p // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.6 * ncols + 0.8, 2.6 * nrows + 0.6),
                             squeeze=False, layout="constrained")
    image: Any = None
    for k in range(nrows * ncols):
        ax = axes[k // ncols, k % ncols]
        if k >= p:
            ax.set_visible(False)
            continue
        image = ax.imshow(cube[:, :, k], vmin=0.0, vmax=1.0, cmap="viridis", interpolation="nearest")
        ax.set_title(f"EM {k}")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=axes, shrink=0.7, label="abundance (0-1)")
    fig.suptitle(title)
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def _endmember_png(path: Path, estimate: Estimate, wavelengths: np.ndarray | None, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    assert estimate.E is not None
    x = _x_axis(estimate.E.shape[1], wavelengths)
    fig, ax = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    for k, spectrum in enumerate(estimate.E):
        ax.plot(x, spectrum, linewidth=1.5, label=f"EM {k}")
    ax.set_xlabel("wavelength (nm)" if wavelengths is not None else "band index")
    ax.set_ylabel("reflectance (image units)")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    ax.set_title(title)
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


def write_result(
    out: Path, estimate: Estimate, image_shape: tuple[int, int], *,
    wavelengths: np.ndarray | None, method: str, params: dict[str, Any], source: str,
    georeference: dict[str, Any] | None = None,
) -> list[Path]:
    """Write ``estimate`` to ``out`` and its sidecars (:func:`output_files`); returns them.

    All files are first written under temporary names beside their targets and renamed
    into place at the end; on any error the temporary files are removed and nothing is
    left (earlier files of the same names are untouched).
    """
    suffix = out.suffix.lower()
    targets = output_files(out, estimate.E is not None)
    meta = {"method": method, "params": json.dumps(params, sort_keys=True, default=str), "image": source}
    title = f"{method} on {Path(source).name}"
    folder = out.parent
    temps: dict[Path, Path] = {}

    def temp_for(target: Path) -> Path:
        # ENVI names its data file after the header: keep the pair's names matched.
        fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=folder)
        os.close(fd)
        temps[target] = Path(name)
        return Path(name)

    try:
        main = temp_for(out)
        if suffix == ".hdr":
            os.unlink(main)  # spectral writes the header and <name>.img itself
            temps[out.with_suffix(".img")] = main.with_suffix(".img")
        _write_main(main, suffix, estimate, image_shape, wavelengths, meta, georeference)
        writers: list[tuple[Path, Callable[[Path], None]]] = []
        for target in targets[1:]:
            if target.name.endswith("-endmembers.csv"):
                writers.append((target, lambda t: _write_csv(t, estimate, wavelengths)))
            elif target.name.endswith("-abundances.png"):
                writers.append((target, lambda t: _abundance_png(t, estimate, image_shape, title)))
            elif target.name.endswith("-endmembers.png"):
                writers.append((target, lambda t: _endmember_png(t, estimate, wavelengths, title)))
        for target, write in writers:
            write(temp_for(target))
        if suffix == ".hdr":
            _check_envi_pair(temps[out], out)
    except BaseException:
        for temp in temps.values():
            with contextlib.suppress(OSError):
                os.unlink(temp)
        raise
    umask = os.umask(0)
    os.umask(umask)
    for target in targets:  # mkstemp made them private: give them the usual mode
        os.chmod(temps[target], 0o666 & ~umask)
        os.replace(temps[target], target)
    return targets


def _check_envi_pair(header: Path, final: Path) -> None:
    """ENVI readers find the data file by the header's name (nothing inside names it):
    check that spectral wrote it beside the header."""
    if not header.with_suffix(".img").is_file():
        raise DataError(f"{final}: the ENVI data file was not written")
