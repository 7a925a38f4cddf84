"""Published datasets: where they live, where they are looked for, and downloading them.

A data directory mirrors the layout ``<dataset>/<file>`` (``samson/samson_dataset.mat``,
``jasper/end4.mat``, ...). Where a dataset is looked for, in order:

1. the ``data_dir`` argument (``--data-dir``), and only there when given;
2. the environment variable ``HUBENCH_DATA_DIR``, and only there when set;
3. ``./data`` (relative to the working directory);
4. ``../shared/data`` beside the repository checkout, when it exists.

:func:`fetch` downloads into the first of 1-3 (never into the shared copy), streaming
into a temporary file in the target folder, checking the sha256, then ``os.replace``:
a failed or interrupted download never leaves a half file under the final name. The
URL base can be overridden (``base_url`` or ``HUBENCH_DATA_URL``) to fetch from a mirror
that has the same ``<dataset>/<file>`` layout; the tests use a local server.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hubench.errors import DataError, UnknownNameError, suggest

DATA_DIR_ENV = "HUBENCH_DATA_DIR"
URL_BASE_ENV = "HUBENCH_DATA_URL"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_CHUNK = 1 << 16


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its place in a data directory, its address and its digest."""

    relpath: str
    url: str
    sha256: str


@dataclass(frozen=True)
class Dataset:
    """A named published dataset made of one or more files."""

    name: str
    description: str
    files: tuple[RemoteFile, ...]


def _raw(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


# Sources and digests as listed in ../shared/data/README.md (see docs/real-data.md).
DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "samson",
            "Samson, 95x95 pixels, 156 bands, 3 endmembers (soil, tree, water)",
            (
                RemoteFile(
                    "samson/samson_dataset.mat",
                    _raw("hanzhu97702/IEEE_TGRS_CyCU-Net", "c4feec2", "data/samson_dataset.mat"),
                    "1e8c96dc7da75443783e91d6ad0305715ab0862e3eb2ed48bc0ccf9c02656f84",
                ),
            ),
        ),
        Dataset(
            "jasper",
            "Jasper Ridge, 100x100 pixels, 198 bands, 4 endmembers (tree, water, dirt, road)",
            (
                RemoteFile(
                    "jasper/jasperRidge2_R198.mat",
                    _raw("ricardoborsoi/MUA_SparseUnmixing", "089f5d6", "real_data/jasperRidge2_R198.mat"),
                    "0e4118a6452f6044978a8ca3762fb0f791115467904936d463c4e111e56e682e",
                ),
                RemoteFile(
                    "jasper/end4.mat",
                    _raw("Ryan21wy/P4SU", "d640efb", "Data/end4.mat"),
                    "eac85858349f359fc1c374d8d0eefadb55e4da8131c86f7231b14c0142460222",
                ),
            ),
        ),
        Dataset(
            "usgs",
            "USGS 1995 spectral library convolved to 224 AVIRIS channels (498 spectra)",
            (
                RemoteFile(
                    "usgs/USGS_1995_Library.mat",
                    _raw("ricardoborsoi/MUA_SparseUnmixing", "089f5d6", "USGS_1995_Library.mat"),
                    "fe2be84e4da2abf6ab00091b36f30a1a8dd247d18a78146f61235c8b5229da63",
                ),
            ),
        ),
    )
}


def get_dataset(name: str) -> Dataset:
    """The catalogue entry ``name``; unknown names fail with close-match hints."""
    try:
        return DATASETS[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown dataset {name!r}{suggest(name, DATASETS)}; known: {', '.join(sorted(DATASETS))}"
        ) from None


def candidate_data_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for data, in order (see the module docstring)."""
    if data_dir is not None:
        return [Path(data_dir)]
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return [Path(env)]
    dirs = [Path("data")]
    shared = _REPO_ROOT.parent / "shared" / "data"
    if shared.is_dir():
        dirs.append(shared)
    return dirs


def fetch_target_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where :func:`fetch` writes: the argument, else ``HUBENCH_DATA_DIR``, else ``./data``."""
    return candidate_data_dirs(data_dir)[0]


def resolve_data_dir(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The first candidate folder that holds every file of dataset ``name``.

    Raises
    ------
    DataError
        When no candidate has them, naming the folders searched and the fix.
    """
    dataset = get_dataset(name)
    dirs = candidate_data_dirs(data_dir)
    for folder in dirs:
        if all((folder / f.relpath).is_file() for f in dataset.files):
            return folder
    searched = ", ".join(str(d) for d in dirs)
    needed = ", ".join(f.relpath for f in dataset.files)
    raise DataError(
        f"dataset {name!r} not found (needs {needed}; searched {searched}); "
        f"run `hubench data fetch {name}`, or pass --data-dir / set {DATA_DIR_ENV}"
    )


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileStatus:
    """Whether one file of a dataset is in a data directory and matches its sha256."""

    dataset: str
    relpath: str
    path: Path
    present: bool
    verified: bool


def dataset_status(name: str, data_dir: str | os.PathLike[str] | None = None) -> list[FileStatus]:
    """Status of each file of ``name`` in the folder :func:`resolve_data_dir` would pick
    (or the first candidate when none holds it)."""
    dataset = get_dataset(name)
    try:
        folder = resolve_data_dir(name, data_dir)
    except DataError:
        folder = candidate_data_dirs(data_dir)[0]
    out = []
    for f in dataset.files:
        path = folder / f.relpath
        present = path.is_file()
        out.append(FileStatus(name, f.relpath, path, present, present and sha256_file(path) == f.sha256))
    return out


def file_url(remote: RemoteFile, base_url: str | None = None) -> str:
    """``remote.url``, or ``<base>/<relpath>`` under ``base_url`` / ``HUBENCH_DATA_URL``."""
    base = base_url if base_url is not None else os.environ.get(URL_BASE_ENV)
    return f"{base.rstrip('/')}/{remote.relpath}" if base else remote.url


def _download(url: str, dest: Path, expected_sha256: str, timeout: float) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise DataError(f"cannot download {url}: {reason}; nothing was written") from None
        got = digest.hexdigest()
        if got != expected_sha256:
            raise DataError(
                f"sha256 mismatch for {url}: got {got}, expected {expected_sha256}; "
                "the download was deleted (wrong or changed source?)"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def fetch(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    base_url: str | None = None,
    force: bool = False,
    timeout: float = 60.0,
    report: Callable[[str], None] | None = None,
) -> list[Path]:
    """Download dataset ``name`` into the data directory; return the paths of its files.

    Files already present with the right sha256 are kept (unless ``force``); a present
    file with a wrong digest is downloaded again. ``report`` receives one line per file.

    Raises
    ------
    DataError
        On a network error or a sha256 mismatch (the partial download is deleted).
    """
    dataset = get_dataset(name)
    folder = fetch_target_dir(data_dir)
    paths = []
    for remote in dataset.files:
        dest = folder / remote.relpath
        if not force and dest.is_file() and sha256_file(dest) == remote.sha256:
            if report:
                report(f"{remote.relpath}: already present, sha256 verified")
        else:
            url = file_url(remote, base_url)
            _download(url, dest, remote.sha256, timeout)
            if report:
                report(f"{remote.relpath}: downloaded from {url}, sha256 verified")
        paths.append(dest)
    return paths
