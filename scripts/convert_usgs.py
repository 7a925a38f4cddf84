"""Convert the USGS 1995 library (AVIRIS-convolved, 498 spectra) into hubench's package file.

Usage::

    python scripts/convert_usgs.py [SOURCE.mat] [--output hubench/datasets/data/usgs_1995.npz]

The source is ``USGS_1995_Library.mat`` (GitHub ricardoborsoi/MUA_SparseUnmixing, commit
089f5d6; public domain, U.S. Government work). Its ``datalib`` is 224 x 501: column 0 the
channel centre in micrometres (not sorted), column 1 the resolution (FWHM, micrometres),
column 2 the channel number (the fill value -1.23e34 on 16 channels), columns 3..500 the
498 reflectance spectra. ``names`` is 501 x 29 latin-1 bytes; its first 3 rows name the
header columns.

The output keeps the full sorted 224-channel grid (for resampling) and a ``keep`` mask
that drops channel rows whose spectral values are fill values or non-finite, and the
water-absorption bands listed in ``WATER_BANDS_NM``. The run is deterministic: the same
source gives a byte-identical output.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
import scipy.io

DEFAULT_SOURCE = Path(__file__).resolve().parents[1] / "../shared/data/usgs/USGS_1995_Library.mat"
DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "hubench/datasets/data/usgs_1995.npz"
SOURCE_SHA256 = "fe2be84e4da2abf6ab00091b36f30a1a8dd247d18a78146f61235c8b5229da63"
FILL_THRESHOLD = -1e30  # the library's fill value is -1.23e34
# Atmospheric water-vapour absorption: the AVIRIS channels there are noise in real scenes
# (Jasper Ridge drops channels 108-112 and 154-166, i.e. about 1360-1400 and 1820-1940 nm).
WATER_BANDS_NM = np.array([[1350.0, 1450.0], [1800.0, 1960.0]])
N_HEADER_COLUMNS = 3


def convert(source: Path) -> dict[str, np.ndarray]:
    """Read ``source`` and return the arrays written to the package file."""
    raw = source.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SOURCE_SHA256:
        print(f"warning: {source} has sha256 {digest}, expected {SOURCE_SHA256}", file=sys.stderr)
    mat = scipy.io.loadmat(io.BytesIO(raw))
    datalib = np.asarray(mat["datalib"], dtype=np.float64)
    names_raw = np.asarray(mat["names"], dtype=np.uint8)
    if datalib.shape != (224, 501) or names_raw.shape[0] != datalib.shape[1]:
        raise SystemExit(f"unexpected shapes: datalib {datalib.shape}, names {names_raw.shape}")

    order = np.argsort(datalib[:, 0], kind="stable")
    table = datalib[order]
    wavelengths_nm = table[:, 0] * 1000.0
    fwhm_nm = table[:, 1] * 1000.0
    channel = np.where(table[:, 2] > FILL_THRESHOLD, table[:, 2], -1).astype(np.int16)
    spectra = table[:, N_HEADER_COLUMNS:].T  # (498 materials, 224 channels)

    valid = np.all(np.isfinite(spectra) & (spectra > FILL_THRESHOLD), axis=0)
    lo, hi = WATER_BANDS_NM[:, :1], WATER_BANDS_NM[:, 1:]
    water = np.any((wavelengths_nm >= lo) & (wavelengths_nm <= hi), axis=0)
    # Channel rows whose channel number is the fill value (16 channels, 2359-2508 nm)
    # have no AVIRIS channel identity: they are dropped, as the library's users do.
    keep = valid & ~water & (channel >= 0)

    names = [bytes(row).decode("latin-1").strip(" \x00\n\r\t") for row in names_raw[N_HEADER_COLUMNS:]]
    spectra32 = spectra.astype(np.float32)
    if not np.array_equal(spectra32.astype(np.float64), spectra):
        raise SystemExit("spectra are not exactly representable in float32; store float64")
    return {
        "spectra": spectra32,
        "names": np.array(names, dtype=str),
        "wavelengths_nm": wavelengths_nm,
        "fwhm_nm": fwhm_nm,
        "channel": channel,
        "keep": keep,
        "water_bands_nm": WATER_BANDS_NM,
        "source_sha256": np.array(digest),
    }


def write_npz(arrays: dict[str, np.ndarray], output: Path) -> None:
    """Write a compressed ``.npz`` with fixed member timestamps (byte-reproducible)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asanyarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1995, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE.resolve())
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    arrays = convert(args.source)
    write_npz(arrays, args.output)
    keep = arrays["keep"]
    print(
        f"wrote {args.output}: {arrays['spectra'].shape[0]} spectra, "
        f"{keep.size} channels ({int(keep.sum())} kept, "
        f"{int((arrays['channel'] < 0).sum())} with a fill channel number)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
