"""Reading scenes from files: the HySUPP ``.mat`` layout and a generic ``.mat``/``.npz`` reader.

Axis letters follow HySUPP: ``L`` bands, ``N`` pixels, ``p`` endmembers, ``H``/``W``
image rows/columns. A flat pixel axis is in ``pixel_order`` ``"F"`` (column-major, what
MATLAB's ``Y(:, :)`` gives: pixel ``j`` is at row ``j % H``, column ``j // H``) or ``"C"``
(row-major); it is converted to hubench's row-major order at this boundary.
Defaults: generic ``.mat`` files are read as ``"F"``, ``.npz`` files as ``"C"``, and the
HySUPP layout as ``"C"`` (HySUPP reshapes its arrays with numpy's C order).

Every problem with a file is a :class:`~hubench.errors.DataError` naming the file and
the fix: unreadable/truncated files, missing keys, shapes that disagree, NaN/Inf values,
more endmembers than bands, reference abundances off the simplex, an image size that is
not positive, and a file whose arrays would exceed :func:`max_scene_bytes` once read
(judged from the file's own directory and headers, before anything is decompressed).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hubench.datasets.fetch import sha256_file
from hubench.datasets.image_files import read_image
from hubench.datasets.size_limit import (  # noqa: F401  (re-exported: formats is where callers look)
    DEFAULT_MAX_SCENE_BYTES,
    MAX_SCENE_BYTES_ENV,
    check_declared_size,
    max_scene_bytes,
)
from hubench.datasets.weak_rule import weak_by_rule
from hubench.errors import DataError, HubenchError, suggest
from hubench.scene import Scene

HYSUPP_KEYS = ("Y", "E", "A", "H", "W", "p", "L")
_SHAPE_KEYS = (("H", "W"), ("nRow", "nCol"), ("lines", "samples"))

# Bytes per element of each MATLAB class once loaded (char becomes 4-byte unicode).
# Cell, struct and object arrays count 8 bytes per element: their contents are not listed.
_MAT_ITEMSIZE = {
    "double": 8, "single": 4, "int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4,
    "uint32": 4, "int64": 8, "uint64": 8, "logical": 1, "char": 4, "sparse": 0,
}  # fmt: skip


def _npz_sizes(path: Path) -> list[tuple[str, int]]:
    """Bytes each member of an ``.npz`` takes once read: the larger of its uncompressed
    size in the zip directory and, for ``.npy`` members, shape x itemsize from the array
    header (only the header's bytes are decompressed)."""
    import zipfile

    from numpy.lib import format as npy

    sizes = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            size = info.file_size
            if info.filename.endswith(".npy"):
                with zf.open(info) as fh:
                    version = npy.read_magic(fh)
                    if version == (1, 0):
                        shape, _, dtype = npy.read_array_header_1_0(fh)
                    elif version == (2, 0):
                        shape, _, dtype = npy.read_array_header_2_0(fh)
                    else:
                        shape, _, dtype = npy._read_array_header(fh, version)  # type: ignore[attr-defined]  # (3, 0)
                size = max(size, math.prod(shape) * dtype.itemsize)
            sizes.append((info.filename.removesuffix(".npy"), size))
    return sizes


def read_arrays(path: str | os.PathLike[str]) -> dict[str, Any]:
    """All variables of a ``.mat`` (MATLAB v5/v7) or ``.npz`` file, by name."""
    p = Path(path)
    if p.is_dir():
        raise DataError(f"{p}: is a folder; pass a .mat or .npz file")
    if not p.is_file():
        raise DataError(f"{p}: no such file; check the path (or run `hubench data fetch NAME`)")
    suffix = p.suffix.lower()
    if suffix == ".mat":
        import scipy.io

        try:
            listing = scipy.io.whosmat(p)  # names, shapes and classes from the headers
            check_declared_size(p, [
                (name, math.prod(shape) * _MAT_ITEMSIZE.get(cls, 8)) for name, shape, cls in listing
            ])  # fmt: skip
            raw = scipy.io.loadmat(p)
        except HubenchError:  # the size check's own errors
            raise
        except NotImplementedError:
            raise DataError(
                f"{p}: MATLAB v7.3 (HDF5) files are not read; re-save with `save(..., '-v7')` "
                "or convert to .npz"
            ) from None
        except Exception as exc:  # any parse failure means a corrupt or truncated file
            raise DataError(f"{p}: cannot read as a .mat file, truncated or corrupt ({exc})") from None
        return {k: v for k, v in raw.items() if not k.startswith("__")}
    if suffix == ".npz":
        try:
            check_declared_size(p, _npz_sizes(p))
            with np.load(p, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except HubenchError:  # the size check's own errors
            raise
        except Exception as exc:
            raise DataError(f"{p}: cannot read as a .npz file, truncated or corrupt ({exc})") from None
    raise DataError(f"{p}: unsupported file type {suffix!r}; hubench reads .mat, .npz, "
                    "ENVI (.hdr) and GeoTIFF (.tif, .tiff)")


def _owns_memory(array: np.ndarray) -> bool:
    """Whether ``array``'s memory is an ordinary numpy buffer (not a file mapping, not a
    foreign buffer), so that changing it in place changes nothing outside this call."""
    base: Any = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return isinstance(base, np.ndarray) and not isinstance(base, np.memmap)


def numeric(value: Any, key: str, path: Path) -> np.ndarray:
    """``value`` as a finite float64 array, or a DataError naming ``key`` in ``path``."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{path}: {key!r} is not a numeric array (dtype {arr.dtype})")
    arr = arr.astype(np.float64, copy=False)  # a float64 image is not copied (large scenes)
    bad = arr.size - int(np.count_nonzero(np.isfinite(arr)))
    if bad:
        raise DataError(f"{path}: {key!r} holds {bad} NaN/Inf values; clean or mask them first")
    if arr.size == 0:
        raise DataError(f"{path}: {key!r} is empty (shape {arr.shape})")
    return arr


def as_names(value: Any, key: str, path: Path) -> tuple[str, ...]:
    """Names from a MATLAB cell array, a char matrix or a numpy string array."""
    arr = np.asarray(value)
    if arr.dtype.kind == "O":
        return tuple(str(np.asarray(v).ravel()[0]).strip() if np.size(v) else "" for v in arr.ravel())
    if arr.dtype.kind in "US":  # loadmat turns a char matrix into one string per row
        return tuple(str(v).strip() for v in arr.astype(str).ravel())
    raise DataError(f"{path}: {key!r} does not hold names (dtype {arr.dtype})")


def to_row_major(X: np.ndarray, image_shape: tuple[int, int], order: str, path: Path) -> np.ndarray:
    """Rows of ``X`` (n_pixels, k) from a flat pixel axis in ``order`` to row-major order."""
    H, W = image_shape
    if X.shape[0] != H * W:
        raise DataError(f"{path}: image_shape {image_shape} holds {H * W} pixels, the data has {X.shape[0]}")
    if order == "C":
        return X
    if order != "F":
        raise DataError(f"pixel_order must be 'F' or 'C', got {order!r}")
    # grid[r, c] = r + c * H is the column-major index of pixel (r, c); C-raveled, it
    # lists the source row of each row-major pixel r * W + c.
    return X[np.arange(H * W).reshape((H, W), order="F").ravel()]


def check_references(Y: np.ndarray, A: np.ndarray, E: np.ndarray, source: str) -> np.ndarray:
    """Shape checks of oriented references; returns ``A`` put exactly on the simplex.

    Rows within 1e-3 of the simplex (HySUPP's tolerance; files store rounded values) are
    clipped and renormalised, anything further is an error.
    """
    n_pixels, n_bands = Y.shape
    p = E.shape[0]
    if p >= n_bands:
        raise DataError(f"{source}: {p} endmembers but only {n_bands} bands; need fewer endmembers than bands")
    if A.shape != (n_pixels, p) or E.shape != (p, n_bands):
        raise DataError(
            f"{source}: shapes disagree: Y {Y.shape} (pixels, bands), A {A.shape} "
            f"(expected {(n_pixels, p)}), E {E.shape} (expected {(p, n_bands)})"
        )
    worst_neg = float(min(A.min(), 0.0))
    worst_sum = float(np.max(np.abs(A.sum(axis=1) - 1.0)))
    if worst_neg < -1e-3 or worst_sum > 1e-3:
        raise DataError(
            f"{source}: reference abundances are not on the simplex (min {worst_neg:.3g}, "
            f"row sums off by up to {worst_sum:.3g}); they must be >= 0 and sum to one per pixel"
        )
    A = np.clip(A, 0.0, None)
    return A / A.sum(axis=1, keepdims=True)


def _check_axes(*, a_axes: str, e_axes: str) -> None:
    if a_axes not in ("auto", "pN", "Np", "HWp", "pHW"):
        raise DataError(f"a_axes must be 'auto', 'pN', 'Np' (a matrix) or 'HWp', 'pHW' (a cube), got {a_axes!r}")
    if e_axes not in ("auto", "Lp", "pL"):
        raise DataError(f"e_axes must be 'auto', 'Lp' or 'pL', got {e_axes!r}")


def _get(arrays: dict[str, Any], key: str, path: Path, option: str | None = None) -> Any:
    """``arrays[key]``, or a DataError naming the variables present and, when ``option``
    (the ``file`` scenario's parameter that chose ``key``) is given, the exact option
    that picks another: ``--scenarios 'file[e_key=NAME]' --scene-file FILE``."""
    if key not in arrays:
        have = ", ".join(sorted(arrays)) or "none"
        how = (f"name the right one with --scenarios 'file[{option}=NAME]' --scene-file FILE"
               if option else "pass the right key name")
        raise DataError(
            f"{path}: has no variable {key!r}{suggest(key, arrays)} (it holds: {have}); {how}"
        )
    return arrays[key]


def _scalar_int(arrays: dict[str, Any], key: str, path: Path) -> int:
    value = numeric(_get(arrays, key, path), key, path)
    if value.size != 1 or value.ravel()[0] != round(float(value.ravel()[0])):
        raise DataError(f"{path}: {key!r} should be one integer, got {value.ravel()[:4]}")
    return int(value.ravel()[0])


def positive_shape(shape: Sequence[Any], what: str, path: Path) -> tuple[int, int]:
    """``(H, W)`` as two positive ints, or a DataError naming where they came from."""
    try:
        H, W = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise DataError(f"{path}: {what} should be two integers (H, W), got {shape!r}") from None
    if H < 1 or W < 1 or tuple(shape) != (H, W):
        raise DataError(
            f"{path}: {what} gives an image of {tuple(shape)}; both sizes must be positive "
            "integers (fix the file, or pass image_shape=(H, W))"
        )
    return H, W


def _image_shape(arrays: dict[str, Any], n_pixels: int, path: Path) -> tuple[int, int]:
    for hk, wk in _SHAPE_KEYS:
        if hk in arrays and wk in arrays:
            shape = (_scalar_int(arrays, hk, path), _scalar_int(arrays, wk, path))
            return positive_shape(shape, f"{hk!r} x {wk!r}", path)
    side = math.isqrt(n_pixels)
    if side * side == n_pixels:
        return (side, side)
    raise DataError(
        f"{path}: cannot tell the image size of {n_pixels} pixels (no H/W keys, not square); "
        "pass image_shape=(H, W)"
    )


def _orient_y(Y: np.ndarray, axes: str, path: Path) -> tuple[np.ndarray, tuple[int, int] | None]:
    """Y as (pixels, bands) plus the image shape when Y was a cube."""
    if Y.ndim == 3:
        axes = "HWL" if axes == "auto" else axes
        if axes == "HWL":
            return Y.reshape(-1, Y.shape[2]), (Y.shape[0], Y.shape[1])
        if axes == "LHW":
            return Y.reshape(Y.shape[0], -1).T, (Y.shape[1], Y.shape[2])
    elif Y.ndim == 2:
        if axes == "auto":
            if Y.shape[0] == Y.shape[1]:
                raise DataError(f"{path}: Y is square {Y.shape}; pass y_axes='LN' or 'NL'")
            axes = "LN" if Y.shape[0] < Y.shape[1] else "NL"  # images have more pixels than bands
        if axes == "LN":
            return Y.T, None
        if axes == "NL":
            return Y, None
    raise DataError(
        f"{path}: cannot read Y of shape {Y.shape} with y_axes={axes!r}; "
        "use 'LN'/'NL' for a matrix, 'HWL'/'LHW' for a cube"
    )


def _abundance_cube(
    A: np.ndarray, axes: str, n_pixels: int, y_shape: tuple[int, int] | None, key: str, path: Path
) -> tuple[np.ndarray, tuple[int, int]]:
    """An abundance cube ``(H, W, p)`` (``HWp``) or ``(p, H, W)`` (``pHW``) -> ``(H*W, p)``
    in row-major pixel order, and ``(H, W)``. ``auto`` picks the layout whose two image
    axes hold the image's pixels (and match Y's cube, when Y is one)."""
    def fits(layout: str) -> bool:
        h, w = (A.shape[0], A.shape[1]) if layout == "HWp" else (A.shape[1], A.shape[2])
        return h * w == n_pixels and (y_shape is None or (h, w) == tuple(y_shape))

    if axes == "auto":
        layouts = [layout for layout in ("HWp", "pHW") if fits(layout)]
        if len(layouts) != 1:
            why = "both" if layouts else "neither"
            raise DataError(f"{path}: {key!r} is a cube {A.shape}; {why} of HWp and pHW fit(s) the image of "
                            f"{n_pixels} pixels; pass a_axes='HWp' or 'pHW'")
        axes = layouts[0]
    elif axes not in ("HWp", "pHW") or not fits(axes):
        raise DataError(f"{path}: {key!r} is a cube {A.shape}, which does not give {n_pixels} pixels "
                        f"with a_axes={axes!r}; use a_axes='HWp' or 'pHW'")
    cube = A if axes == "HWp" else np.moveaxis(A, 0, -1)
    return cube.reshape(-1, cube.shape[2]), (cube.shape[0], cube.shape[1])


def _orient(X: np.ndarray, axes: str, size: int, letter: str, key: str, path: Path) -> np.ndarray:
    """A 2-D array with one axis of length ``size`` -> shape (size, other)."""
    if X.ndim != 2:
        raise DataError(f"{path}: {key!r} should be a matrix, got shape {X.shape}")
    if axes == "auto":
        fits = [ax for ax in (0, 1) if X.shape[ax] == size]
        if not fits:
            raise DataError(
                f"{path}: {key!r} has shape {X.shape} but no axis of length {size} ({letter}); "
                "the shapes of Y, A and E do not match"
            )
        if len(fits) == 2:
            raise DataError(f"{path}: {key!r} is square {X.shape}; pass its axes explicitly")
        return X if fits[0] == 0 else X.T
    out = X if axes.startswith(letter) else X.T
    if out.shape[0] != size:
        raise DataError(
            f"{path}: {key!r} has shape {X.shape}, which does not give {size} along {letter} "
            f"with axes {axes!r}; the shapes of Y, A and E do not match"
        )
    return out


def scene_from_arrays(
    Y: np.ndarray,
    A: np.ndarray | None,
    E: np.ndarray | None,
    image_shape: tuple[int, int],
    *,
    name: str,
    source: str,
    params: dict[str, Any] | None = None,
    seed: int | None = None,
    wavelengths: np.ndarray | None = None,
    endmember_names: Sequence[str] | None = None,
    weak: Sequence[int | str] | None = None,
    normalised: bool | None = None,
    n_endmembers: int | None = None,
) -> Scene:
    """Check reference arrays already in hubench's orientation and build a real Scene.

    ``Y`` (n_pixels, n_bands), ``A`` (n_pixels, p), ``E`` (p, n_bands), pixels row-major.
    Either reference may be None (a partial reference; with neither, ``n_endmembers``
    gives ``p``). ``weak`` (indices or names) overrides the rule of
    :mod:`hubench.datasets.weak_rule`, whose numbers are kept in ``params["weak_rule"]``;
    the rule needs both references, so a partial reference has no weak endmember
    unless ``weak`` names them.
    """
    p = A.shape[1] if A is not None else E.shape[0] if E is not None else n_endmembers
    if p is None:
        raise DataError(f"{source}: no reference A or E; pass n_endmembers=P (the number to unmix)")
    if n_endmembers is not None and int(n_endmembers) != p:
        raise DataError(f"{source}: n_endmembers={n_endmembers} but the reference has {p} endmembers; "
                        "leave n_endmembers out or fix it")
    if A is not None and E is not None:
        A = check_references(Y, A, E, source)
        rule = weak_by_rule(Y, A, E, normalised=normalised)
        flags = rule.weak
    else:
        A = None if A is None else _check_partial_abundances(Y, A, source)
        _check_partial_endmembers(Y, E, p, source)
        rule, flags = None, np.zeros(p, dtype=bool)
    names = tuple(endmember_names) if endmember_names is not None else None
    if isinstance(weak, (str, int)):  # one endmember given alone: file[weak=water]
        weak = [weak]
    if weak is not None:
        flags = np.zeros(p, dtype=bool)
        for item in weak:
            if isinstance(item, str):
                if names is None or item not in names:
                    raise DataError(f"{source}: weak endmember {item!r} is not among {names}")
                flags[names.index(item)] = True
            elif 0 <= int(item) < p:
                flags[int(item)] = True
            else:
                raise DataError(f"{source}: weak index {item} out of range 0..{p - 1}")
    meta = dict(params or {})
    if rule is not None:
        meta["weak_rule"] = rule.as_params()
    meta["weak_source"] = "given" if weak is not None else "rule" if rule is not None else "none"
    return Scene(
        Y=Y, A=A, E=E, image_shape=image_shape, weak=flags, name=name, params=meta,
        seed=seed, wavelengths=wavelengths, endmember_names=names, endmember_count=p,
    )


def _check_partial_abundances(Y: np.ndarray, A: np.ndarray, source: str) -> np.ndarray:
    """Reference abundances without endmembers: the shape and simplex checks of
    :func:`check_references` (which needs ``E``) on ``A`` alone."""
    if A.shape[0] != Y.shape[0] or A.shape[1] >= Y.shape[1]:
        raise DataError(f"{source}: reference abundances {A.shape} do not fit Y {Y.shape} "
                        "(pixels, bands): need one row per pixel and fewer endmembers than bands")
    return check_references(Y, A, np.zeros((A.shape[1], Y.shape[1])), source)


def _check_partial_endmembers(Y: np.ndarray, E: np.ndarray | None, p: int, source: str) -> None:
    n_bands = Y.shape[1]
    if p >= n_bands:
        raise DataError(f"{source}: {p} endmembers but only {n_bands} bands; need fewer endmembers than bands")
    if E is not None and E.shape != (p, n_bands):
        raise DataError(f"{source}: reference endmembers {E.shape}, expected {(p, n_bands)} (endmembers, bands)")


def _reference(
    arrays: dict[str, Any], key: str | None, path: Path, option: str, optional: bool
) -> np.ndarray | None:
    """The reference array ``key`` of ``arrays``: None when ``key`` is None, or when it is
    absent and ``optional`` (``n_endmembers`` was given); else as :func:`_get`."""
    if key is None or (optional and key not in arrays):
        return None
    if key not in arrays:
        have = ", ".join(sorted(arrays)) or "none"
        raise DataError(
            f"{path}: has no variable {key!r}{suggest(key, arrays)} (it holds: {have}); name the "
            f"right one with --scenarios 'file[{option}=NAME]' --scene-file FILE (or {option}=none "
            "if the file has no such reference)"
        )
    return numeric(arrays[key], key, path)


def _read_image_y(p: Path, arrays: dict[str, Any] | None, y_key: str, y_axes: str) -> tuple[
    np.ndarray, tuple[int, int] | None, np.ndarray | None, dict[str, Any] | None
]:
    """Y (pixels, bands), its cube shape, wavelengths and georeference, from an image file
    (ENVI, GeoTIFF) or the arrays of a ``.mat``/``.npz``."""
    if arrays is None:
        image = read_image(p)
        H, W, L = image.cube.shape
        return image.cube.reshape(H * W, L), (H, W), image.wavelengths, image.georeference
    Y, cube_shape = _orient_y(numeric(_get(arrays, y_key, p, "y_key"), y_key, p), y_axes, p)
    return Y, cube_shape, None, None


def load_scene(
    path: str | os.PathLike[str],
    *,
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
    name: str | None = None,
    seed: int | None = None,
    reference: str | os.PathLike[str] | None = None,
    n_endmembers: int | None = None,
) -> Scene:
    """Load a scene, with whatever reference it has, from a file.

    Parameters
    ----------
    path : path-like
        ``.mat`` (MATLAB v5/v7) or ``.npz`` holding ``Y`` and, usually, references; or an
        image alone: ENVI (the ``.hdr``) or GeoTIFF (``.tif``/``.tiff``), see
        :mod:`hubench.datasets.image_files` (wavelengths from the file).
    layout : {"auto", "hysupp", "generic"}
        ``hysupp``: keys ``Y`` (L, N), ``E`` (L, p), ``A`` (p, N), ``H``, ``W``, ``p``,
        ``L``, optional ``N`` and ``labels``, pixels row-major. ``auto`` picks it when the
        file holds all of ``Y E A H W p L``, else ``generic`` (the options below).
    y_key, a_key, e_key : str
        Variable names of the image, reference abundances and reference endmembers.
        ``a_key=None`` / ``e_key=None`` (``a_key=none`` on the command line): the file has
        no such reference (a partial reference, scored with the metrics it allows).
    y_axes : {"auto", "LN", "NL", "HWL", "LHW"}
        Y as bands x pixels, pixels x bands, or a cube. ``auto`` takes a cube as ``HWL``
        and a matrix's longer axis as the pixels.
    a_axes : {"auto", "pN", "Np", "HWp", "pHW"}; e_axes : {"auto", "Lp", "pL"}
        ``auto`` finds the axis whose length matches the pixels (bands); an abundance cube
        (``HWp`` or ``pHW``, e.g. a published ``label`` of shape (H, W, p)) is read as it is.
    image_shape : (H, W), optional
        Else from ``H``/``W`` or ``nRow``/``nCol`` keys, a cube, or a square pixel count.
    pixel_order : {"F", "C"}, optional
        Order of a flat pixel axis; default ``"F"`` for generic ``.mat``, else ``"C"``.
    y_divisor : float or str, optional
        Divide Y by this number or by the scalar variable of this name (Jasper: ``maxValue``).
    names_key, wavelengths_key : str, optional
        Variables holding endmember names and band wavelengths (nm).
    weak : sequence of int or str, optional
        Weak endmembers by index or name; default: the rule of docs/guide/your-data.md
        ("Weak endmembers by rule"), which needs both references (else none is weak).
    references_normalised : bool, optional
        Whether E was scaled per endmember (then the weak rule rescales it by NNLS);
        default: detected (every endmember peaks at 1 within 1%).
    name : str, optional
        Scene name; default the file's stem.
    reference : path-like, optional
        A separate ``.mat``/``.npz`` holding the references (``a_key``, ``e_key``,
        ``names_key``); ``path`` then gives only the image.
    n_endmembers : int, optional
        The number of endmembers when there is no reference; given, a reference key
        absent from the file means the file has no such reference (no error).

    Returns
    -------
    Scene
        ``Y`` (H*W, L) in row-major pixel order, ``A`` (H*W, p) or None, ``E`` (p, L) or None.
    """
    from hubench.datasets.image_files import IMAGE_SUFFIXES

    p = Path(path)
    is_image = p.suffix.lower() in IMAGE_SUFFIXES
    arrays = None if is_image else read_arrays(p)
    ref_path = Path(reference) if reference is not None else p
    if arrays is not None and reference is None and layout == "auto":
        layout = "hysupp" if all(k in arrays for k in HYSUPP_KEYS) else "generic"
    if layout == "hysupp":
        if arrays is None or reference is not None:
            raise DataError(f"{p}: layout='hysupp' needs one .mat/.npz holding image and references")
        return _load_hysupp(p, arrays, weak=weak, name=name, seed=seed, normalised=references_normalised)
    if layout not in ("generic", "auto"):
        raise DataError(f"layout must be 'auto', 'hysupp' or 'generic', got {layout!r}")
    Y, cube_shape, image_wl, georef = _read_image_y(p, arrays, y_key, y_axes)
    if y_divisor is not None:
        if isinstance(y_divisor, str) and arrays is None:
            raise DataError(f"{p}: y_divisor names a variable, but an image file has none; pass a number")
        divisor = float(numeric(_get(arrays or {}, y_divisor, p), y_divisor, p).ravel()[0]) \
            if isinstance(y_divisor, str) else float(y_divisor)
        if not divisor > 0:
            raise DataError(f"{p}: y_divisor must be positive, got {divisor}")
        if Y.flags.writeable and _owns_memory(Y):  # in place: read for this call only, not a file map
            Y /= divisor
        else:
            Y = Y / divisor
    n_pixels, n_bands = Y.shape
    _check_axes(a_axes=a_axes, e_axes=e_axes)
    if reference is not None:
        ref_arrays = read_arrays(ref_path)
    elif arrays is None:  # an image file holds no reference
        ref_arrays, a_key, e_key = {}, None, None
    else:
        ref_arrays = arrays
    optional = n_endmembers is not None
    if not optional and reference is None and a_key not in ref_arrays and e_key not in ref_arrays:
        optional = True  # no reference under either name: the error below says what to pass
    A_raw = _reference(ref_arrays, a_key, ref_path, "a_key", optional)
    E_raw = _reference(ref_arrays, e_key, ref_path, "e_key", optional)
    if A_raw is None and E_raw is None and n_endmembers is None:
        raise DataError(f"{p}: no reference abundances or endmembers; to unmix it without one, pass "
                        "n_endmembers=P (--scenarios 'file[n_endmembers=P]' --scene-file FILE), "
                        "or give the references with reference=FILE")
    A, a_cube_shape = None, None
    if A_raw is not None and A_raw.ndim == 3:  # an abundance cube: pixels row-major already
        A, a_cube_shape = _abundance_cube(A_raw, a_axes, n_pixels, cube_shape, str(a_key), ref_path)
    elif A_raw is not None:
        A = _orient(A_raw, a_axes, n_pixels, "N", str(a_key), ref_path)
    E = None if E_raw is None else _orient(E_raw, e_axes, n_bands, "L", str(e_key), ref_path).T
    if cube_shape is not None:
        shape = cube_shape
    elif a_cube_shape is not None:
        shape = a_cube_shape
    elif image_shape is not None:
        shape = positive_shape(image_shape, "image_shape", p)
    else:
        shape = _image_shape({**ref_arrays, **(arrays or {})}, n_pixels, p)
    order = pixel_order or ("F" if p.suffix.lower() == ".mat" else "C")
    ref_order = pixel_order or ("F" if ref_path.suffix.lower() == ".mat" else "C")
    if cube_shape is None:
        Y = to_row_major(Y, shape, order, p)
    if A is not None and a_cube_shape is None:
        A = to_row_major(A, shape, ref_order, ref_path)
    names = as_names(_get(ref_arrays, names_key, ref_path), names_key, ref_path) if names_key else None
    wl = image_wl
    if wavelengths_key:
        source_arrays = arrays if arrays is not None and wavelengths_key in arrays else ref_arrays
        wl = numeric(_get(source_arrays, wavelengths_key, p), wavelengths_key, p).ravel()
    params: dict[str, Any] = {
        "path": str(p), "sha256": sha256_file(p), "layout": "generic", "y_key": y_key,
        "a_key": a_key, "e_key": e_key, "pixel_order": order, "y_divisor": y_divisor,
    }
    if reference is not None:
        params.update(reference=str(ref_path), reference_sha256=sha256_file(ref_path))
    if georef is not None:
        params["georeference"] = georef
    return scene_from_arrays(
        Y, A, E, shape, name=name or p.stem, source=str(p), params=params, seed=seed,
        wavelengths=wl, endmember_names=names, weak=weak, normalised=references_normalised,
        n_endmembers=n_endmembers,
    )


def _load_hysupp(
    p: Path, arrays: dict[str, Any], *, weak: Sequence[int | str] | None, name: str | None,
    seed: int | None, normalised: bool | None,
) -> Scene:
    H, W, n_end, L = (_scalar_int(arrays, k, p) for k in ("H", "W", "p", "L"))
    H, W = positive_shape((H, W), "'H' x 'W'", p)
    N = _scalar_int(arrays, "N", p) if "N" in arrays else H * W
    if N != H * W:
        raise DataError(f"{p}: N = {N} but H * W = {H} * {W} = {H * W}; the sizes disagree")
    if n_end >= L:
        raise DataError(f"{p}: p = {n_end} endmembers but only L = {L} bands; need p < L")
    expect = {"Y": (L, N), "E": (L, n_end), "A": (n_end, N)}
    got = {k: numeric(arrays[k], k, p) for k in expect}
    for key, shape in expect.items():
        if got[key].shape != shape:
            raise DataError(
                f"{p}: {key!r} has shape {got[key].shape}, expected {shape} from H, W, p, L"
            )
    names = as_names(arrays["labels"], "labels", p) if "labels" in arrays else None
    params = {"path": str(p), "sha256": sha256_file(p), "layout": "hysupp"}
    return scene_from_arrays(
        got["Y"].T, got["A"].T, got["E"].T, (H, W), name=name or p.stem, source=str(p),
        params=params, seed=seed, endmember_names=names, weak=weak, normalised=normalised,
    )
