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

Each file's download is bounded in time (``timeout`` per network operation, ``deadline``
for the whole file) and in size (:func:`max_download_bytes`, twice the published size
plus 1 MiB). The temporary file ``.<name>.<pid>.<random>.part`` is deleted on any
exception and on SIGTERM/SIGHUP; one left by a killed process (SIGKILL, power loss) is
deleted by the next fetch of that file. A bad target folder or time limit is bad input
(:class:`~hubench.errors.DataError` / :class:`~hubench.errors.ParameterError`); a
failed download is a :class:`~hubench.errors.DownloadError`.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import math
import os
import re
import signal
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubench.errors import DataError, DownloadError, ParameterError, UnknownNameError, suggest

DATA_DIR_ENV = "HUBENCH_DATA_DIR"
URL_BASE_ENV = "HUBENCH_DATA_URL"
_REPO_ROOT = Path(__file__).resolve().parents[2]
_CHUNK = 1 << 16

DEFAULT_TIMEOUT = 60.0  # seconds without progress: connecting, or one read
DEFAULT_DEADLINE = 900.0  # seconds for the whole of one file
MAX_SECONDS = 86400.0  # larger time limits are refused (socket timeouts overflow near 1e12)
SIZE_MARGIN = 1 << 20  # a response may exceed twice the published size by this much
UNKNOWN_SIZE_LIMIT = 1 << 30  # bound for a file whose size is not in the catalogue
# Kernel pseudo-filesystems: never a data directory.
_PSEUDO_FS = (Path("/proc"), Path("/sys"))


@dataclass(frozen=True)
class RemoteFile:
    """One published file: its place in a data directory, its address and its digest."""

    relpath: str
    url: str
    sha256: str
    size: int | None = None  # bytes, as published


@dataclass(frozen=True)
class Dataset:
    """A named published dataset made of one or more files."""

    name: str
    description: str
    files: tuple[RemoteFile, ...]


def _raw(repo: str, commit: str, path: str) -> str:
    return f"https://raw.githubusercontent.com/{repo}/{commit}/{path}"


# Sources and digests as listed in ../shared/data/README.md (see docs/guide/your-data.md).
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
                    3739868,
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
                    2987224,
                ),
                RemoteFile(
                    "jasper/end4.mat",
                    _raw("Ryan21wy/P4SU", "d640efb", "Data/end4.mat"),
                    "eac85858349f359fc1c374d8d0eefadb55e4da8131c86f7231b14c0142460222",
                    653328,
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
                    438954,
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


#: Digests already computed in this process, keyed on the file's identity and state
#: (device, inode, size, modification time in ns): a scene file is hashed once per
#: process however many times its digest is asked for (the grid's key, the worker's
#: check that it did not change, the loader's check against the known checksum); a
#: rewritten file has another state and is hashed again.
_DIGESTS: OrderedDict[tuple[int, int, int, int], str] = OrderedDict()
_DIGESTS_SIZE = 64


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 digest of a file, read in chunks (remembered while the file's device,
    inode, size and modification time stay the same)."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        state = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        known = _DIGESTS.get(state)
        if known is not None:
            _DIGESTS.move_to_end(state)
            return known
        digest = hashlib.sha256()
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    _DIGESTS[state] = value
    while len(_DIGESTS) > _DIGESTS_SIZE:
        _DIGESTS.popitem(last=False)
    return value


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


def max_download_bytes(remote: RemoteFile) -> int:
    """The largest response accepted for ``remote``: twice its published size plus
    :data:`SIZE_MARGIN`, or :data:`UNKNOWN_SIZE_LIMIT` when the size is not known."""
    if remote.size is None:
        return UNKNOWN_SIZE_LIMIT
    return 2 * remote.size + SIZE_MARGIN


def check_seconds(value: Any, option: str) -> float:
    """``value`` as a time limit in seconds: finite, > 0 and at most :data:`MAX_SECONDS`."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{option}: {value!r} is not a number of seconds") from None
    if not (math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS):
        raise ParameterError(
            f"{option}: must be a positive, finite number of seconds up to {MAX_SECONDS:g}, got {value}"
        )
    return seconds


def _existing_folder(folder: Path, option: str, given: Path) -> Path:
    """The nearest existing ancestor of ``folder`` (itself included), which must be a folder."""
    probe = folder
    try:
        while not probe.exists():
            if probe.is_symlink():
                raise DataError(f"{option} {given}: {probe} is a broken link; remove it or pass another folder")
            if probe.parent == probe:
                break
            probe = probe.parent
        is_dir = probe.is_dir()
    except OSError as exc:  # e.g. a parent folder that may not be searched
        raise DataError(f"{option} {given}: cannot look into {probe} ({exc.strerror or exc})") from None
    if not is_dir:
        what = "is a file" if probe.is_file() else "exists and is not a folder"
        raise DataError(
            f"{option} {given}: {probe} {what}; pass a folder (a missing one is created)"
        )
    return probe


def check_target_dir(folder: str | os.PathLike[str], option: str = "--data-dir") -> Path:
    """Refuse a target folder that cannot hold data: under ``/proc`` or ``/sys``, or a file
    (or below one). Returns its nearest existing ancestor. Nothing is created."""
    given = Path(folder)
    real = Path(os.path.realpath(given))
    for root in _PSEUDO_FS:
        if real == root or root in real.parents:
            raise DataError(
                f"{option} {given}: {root} is a kernel pseudo-filesystem, not storage; "
                "pass a folder on a disk"
            )
    return _existing_folder(given, option, given)


def check_writable(
    folder: str | os.PathLike[str], option: str = "--data-dir", given: str | os.PathLike[str] | None = None
) -> None:
    """Refuse a folder (or, when it is missing, its nearest existing ancestor) in which a
    file cannot be created. Tried for real: permission bits do not stop root, a
    read-only mount does. Nothing is left behind. ``given`` is the folder named in the
    message (default ``folder``)."""
    given = Path(folder if given is None else given)
    anchor = _existing_folder(Path(folder), option, given)
    try:
        fd, name = tempfile.mkstemp(dir=anchor, prefix=".hubench-write-test-")
    except OSError as exc:
        raise DataError(
            f"{option} {given}: cannot create files in {anchor} ({exc.strerror or exc}); "
            "pass a folder you can write to"
        ) from None
    os.close(fd)
    os.unlink(name)


def _make_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; return the ones created, outermost first."""
    missing = []
    probe = folder
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    created = []
    for path in reversed(missing):
        path.mkdir()
        created.append(path)
    return created


def _remove_empty(folders: list[Path]) -> None:
    for path in reversed(folders):
        try:
            path.rmdir()
        except OSError:
            return


def _part_pattern(dest: Path) -> re.Pattern[str]:
    """Temporary names of ``dest``: ``.<name>.<pid>.<random>.part``, and the older
    ``.<name>.<random>.part`` (no pid)."""
    return re.compile(rf"^\.{re.escape(dest.name)}\.(?:(\d+)\.)?[A-Za-z0-9_]+\.part$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # someone else's process (or a number no process has)
    return True


def remove_stale_parts(dest: Path) -> list[Path]:
    """Delete temporary files of ``dest`` left by fetches whose process is gone (killed
    with SIGKILL, a power loss); those of a fetch still running are kept."""
    removed: list[Path] = []
    pattern = _part_pattern(dest)
    try:
        entries = list(dest.parent.iterdir())
    except OSError:
        return removed
    for path in entries:
        match = pattern.match(path.name)
        if not match or (match.group(1) and _pid_alive(int(match.group(1)))):
            continue
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed


@contextlib.contextmanager
def _terminate_raises() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise ``SystemExit(128 + signal)`` (so
    ``finally`` clauses delete the partial file) instead of killing the process outright.
    Only in the main thread, and only for signals still at their default action."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def handler(signum: int, frame: object) -> None:
            raise SystemExit(128 + signum)

        for name in ("SIGTERM", "SIGHUP"):
            sig = getattr(signal, name, None)
            if sig is not None and signal.getsignal(sig) is signal.SIG_DFL:
                previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _response_socket(response: Any) -> Any:
    """The socket under an ``http.client.HTTPResponse``, to shorten its timeout as the
    deadline nears (None when it cannot be reached: the deadline is then checked between
    reads, each bounded by ``timeout``)."""
    raw = getattr(getattr(response, "fp", None), "raw", None)
    sock = getattr(raw, "_sock", None)
    return sock if hasattr(sock, "settimeout") else None


def _stream(url: str, out: Any, remote: RemoteFile, timeout: float, deadline: float) -> tuple[str, int]:
    """Copy ``url`` into the open file ``out``; return (sha256 hex, bytes)."""
    limit = max_download_bytes(remote)
    end = time.monotonic() + deadline
    received = 0

    def left() -> float:
        remaining = end - time.monotonic()
        if remaining <= 0:
            raise DownloadError(
                f"cannot download {url}: not finished within the {deadline:g} s deadline "
                f"({received} bytes received); nothing was written; retry, or raise --deadline"
            )
        return min(timeout, remaining)

    def too_large(size: int, how: str) -> DownloadError:
        return DownloadError(
            f"cannot download {url}: the response {how} {size} bytes, more than the {limit} "
            f"accepted for {remote.relpath}; nothing was written (wrong address or mirror?)"
        )

    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=left()) as response:
            length = str(response.headers.get("Content-Length") or "").strip()
            if length.isdigit() and int(length) > limit:
                raise too_large(int(length), "announces")
            sock = _response_socket(response)
            read = getattr(response, "read1", response.read)
            while True:
                wait = left()
                if sock is not None:
                    sock.settimeout(wait)
                chunk = read(_CHUNK)
                if not chunk:
                    break
                received += len(chunk)
                if received > limit:
                    raise too_large(received, "is at least")
                digest.update(chunk)
                out.write(chunk)
            if length.isdigit() and received < int(length):
                raise DownloadError(
                    f"cannot download {url}: the transfer was cut after {received} of {length} "
                    "bytes; nothing was written; retry"
                )
    except DownloadError:
        raise
    except TimeoutError:
        left()  # the deadline message when that is what ran out
        raise DownloadError(
            f"cannot download {url}: no data for {timeout:g} s ({received} bytes received); "
            "nothing was written; retry, or raise --timeout"
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, TimeoutError):
            left()
            reason = f"no answer within {timeout:g} s"
        raise DownloadError(f"cannot download {url}: {reason}; nothing was written") from None
    return digest.hexdigest(), received


def _download(url: str, dest: Path, remote: RemoteFile, timeout: float, deadline: float) -> None:
    """Download into a temporary file beside ``dest``, verify, then ``os.replace``.

    The temporary file, and any folder created for it, is removed on any failure, on
    Ctrl-C and on SIGTERM/SIGHUP."""
    with _terminate_raises():
        created: list[Path] = []
        tmp: Path | None = None
        done = False
        try:
            try:
                created = _make_dirs(dest.parent)
                fd, tmp_name = tempfile.mkstemp(
                    dir=dest.parent, prefix=f".{dest.name}.{os.getpid()}.", suffix=".part"
                )
            except OSError as exc:
                raise DownloadError(f"cannot write in {dest.parent}: {exc.strerror or exc}") from None
            tmp = Path(tmp_name)
            with os.fdopen(fd, "wb") as out:
                got, size = _stream(url, out, remote, timeout, deadline)
            if got != remote.sha256:
                sizes = "" if remote.size in (None, size) else f" ({size} bytes, expected {remote.size})"
                raise DownloadError(
                    f"sha256 mismatch for {url}: got {got}, expected {remote.sha256}{sizes}; "
                    "the download was deleted (wrong or changed source?)"
                )
            try:
                os.chmod(tmp, 0o644)  # mkstemp makes 0600; data is meant to be read (and shared)
                os.replace(tmp, dest)
            except OSError as exc:
                raise DownloadError(f"cannot move the download to {dest}: {exc.strerror or exc}") from None
            done = True
        finally:
            if not done:
                if tmp is not None:
                    tmp.unlink(missing_ok=True)
                _remove_empty(created)


def _check_base_url(base_url: str | None) -> None:
    base = base_url if base_url is not None else os.environ.get(URL_BASE_ENV)
    if not base:
        return
    parts = urllib.parse.urlsplit(base)
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.netloc):
        where = "base_url" if base_url is not None else f"${URL_BASE_ENV}"
        raise ParameterError(
            f"{where} {base!r} is not an http(s):// or file:// address; fix or unset it"
        )


def fetch(
    name: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    base_url: str | None = None,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    deadline: float = DEFAULT_DEADLINE,
    report: Callable[[str], None] | None = None,
) -> list[Path]:
    """Download dataset ``name`` into the data directory; return the paths of its files.

    Files already present with the right sha256 are kept (unless ``force``); a present
    file with a wrong digest is downloaded again. ``timeout`` bounds each network
    operation (connecting, one read) and ``deadline`` the whole of each file, in
    seconds. ``report`` receives one line per file.

    Raises
    ------
    ParameterError
        A time limit that is not a positive finite number (up to a day), or a malformed
        ``base_url`` / ``$HUBENCH_DATA_URL``.
    DataError
        A target folder that is a file, under ``/proc`` or ``/sys``, or not writable.
        Checked before anything is created or downloaded.
    DownloadError
        A network error, the time limits, a response larger than
        :func:`max_download_bytes`, or a sha256 mismatch; the partial download (and any
        folder created for it) is deleted.
    """
    timeout = check_seconds(timeout, "--timeout")
    deadline = check_seconds(deadline, "--deadline")
    _check_base_url(base_url)
    dataset = get_dataset(name)
    folder = fetch_target_dir(data_dir)
    check_target_dir(folder)
    paths = []
    for remote in dataset.files:
        dest = folder / remote.relpath
        _existing_folder(dest.parent, "--data-dir", folder)
        if dest.exists() and not dest.is_file():
            raise DataError(
                f"--data-dir {folder}: {dest} exists and is not a file; remove it, or pass another folder"
            )
        remove_stale_parts(dest)
        if not force and dest.is_file() and sha256_file(dest) == remote.sha256:
            if report:
                report(f"{remote.relpath}: already present, sha256 verified")
        else:
            check_writable(dest.parent, given=folder)
            url = file_url(remote, base_url)
            _download(url, dest, remote, timeout, deadline)
            if report:
                report(f"{remote.relpath}: downloaded from {url}, sha256 verified")
        paths.append(dest)
    return paths
