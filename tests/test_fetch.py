"""Dataset download and lookup, against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubench.cli import main
from hubench.datasets import fetch as fetch_mod
from hubench.datasets.fetch import (
    DATASETS,
    Dataset,
    RemoteFile,
    candidate_data_dirs,
    dataset_status,
    fetch,
    fetch_target_dir,
    file_url,
    resolve_data_dir,
    sha256_file,
)
from hubench.errors import DataError, DownloadError, ParameterError, UnknownNameError

PAYLOAD_A = bytes(range(256)) * 300  # 76.8 kB: several read chunks
PAYLOAD_B = b"second file\n" * 10


class _Server:
    """Serve ``root`` over HTTP on 127.0.0.1 in a thread; count requests. Faults: cut
    every response short after ``truncate`` bytes while announcing the full length;
    ``drip`` seconds between single bytes (a stalled-but-alive server); ``announce`` a
    fake Content-Length; ``endless`` bytes without a Content-Length until the client
    hangs up."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        self.truncate: int | None = None
        self.drip: float | None = None
        self.announce: int | None = None
        self.endless = False
        self.stop = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                path = server.root / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                body = path.read_bytes()
                self.send_response(200)
                if not server.endless:
                    self.send_header("Content-Length", str(server.announce or len(body)))
                self.end_headers()
                try:
                    if server.endless:
                        while not server.stop.is_set():
                            self.wfile.write(b"x" * 65536)
                    elif server.drip is not None:
                        for i in range(len(body)):
                            if server.stop.wait(server.drip):
                                return
                            self.wfile.write(body[i : i + 1])
                            self.wfile.flush()
                    else:
                        self.wfile.write(body if server.truncate is None else body[: server.truncate])
                except OSError:  # the client hung up
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    root = tmp_path / "remote"
    (root / "tiny").mkdir(parents=True)
    (root / "tiny" / "a.bin").write_bytes(PAYLOAD_A)
    (root / "tiny" / "b.txt").write_bytes(PAYLOAD_B)
    srv = _Server(root)
    yield srv
    srv.close()


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch, server: _Server) -> Dataset:
    """A throw-away catalogue entry whose 'published' address is the local server."""
    dataset = Dataset(
        "tiny",
        "two small files",
        (
            RemoteFile("tiny/a.bin", f"{server.url}/tiny/a.bin", hashlib.sha256(PAYLOAD_A).hexdigest()),
            RemoteFile("tiny/b.txt", f"{server.url}/tiny/b.txt", hashlib.sha256(PAYLOAD_B).hexdigest()),
        ),
    )
    monkeypatch.setitem(DATASETS, "tiny", dataset)
    monkeypatch.delenv(fetch_mod.URL_BASE_ENV, raising=False)
    monkeypatch.delenv(fetch_mod.DATA_DIR_ENV, raising=False)
    return dataset


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".part"))


def test_fetch_downloads_and_verifies(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    target = tmp_path / "data"
    lines: list[str] = []
    paths = fetch("tiny", target, report=lines.append)
    assert [p.read_bytes() for p in paths] == [PAYLOAD_A, PAYLOAD_B]
    assert paths[0] == target / "tiny" / "a.bin"
    assert len(lines) == 2 and all("sha256 verified" in line for line in lines)
    assert _leftovers(target) == []
    assert all(s.verified for s in dataset_status("tiny", target))


def test_fetch_skips_verified_files_unless_forced(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    fetch("tiny", tmp_path)
    assert len(server.requests) == 2
    fetch("tiny", tmp_path)
    assert len(server.requests) == 2
    fetch("tiny", tmp_path, force=True)
    assert len(server.requests) == 4


def test_fetch_replaces_a_corrupt_local_copy(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    (tmp_path / "tiny").mkdir()
    (tmp_path / "tiny" / "a.bin").write_bytes(b"stale")
    fetch("tiny", tmp_path)
    assert (tmp_path / "tiny" / "a.bin").read_bytes() == PAYLOAD_A


def test_sha_mismatch_keeps_nothing(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    (server.root / "tiny" / "a.bin").write_bytes(PAYLOAD_A[:-1] + b"X")  # the source changed
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch("tiny", tmp_path)
    assert not (tmp_path / "tiny" / "a.bin").exists()
    assert _leftovers(tmp_path) == []


def test_interrupted_transfer_keeps_nothing(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    server.truncate = 1000
    with pytest.raises(DownloadError, match=r"cut after 1000 of 76800 bytes"):
        fetch("tiny", tmp_path)
    assert not (tmp_path / "tiny" / "a.bin").exists()
    assert _leftovers(tmp_path) == []


def test_http_error_is_one_clear_error(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    (server.root / "tiny" / "b.txt").unlink()
    with pytest.raises(DownloadError, match=r"cannot download .*b\.txt.*nothing was written"):
        fetch("tiny", tmp_path)
    assert (tmp_path / "tiny" / "a.bin").read_bytes() == PAYLOAD_A  # the good file is kept
    assert not (tmp_path / "tiny" / "b.txt").exists()


def test_url_base_override(tiny: Dataset, server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mirror = server.root / "mirror" / "tiny"
    mirror.mkdir(parents=True)
    (mirror / "a.bin").write_bytes(PAYLOAD_A)
    (mirror / "b.txt").write_bytes(PAYLOAD_B)
    monkeypatch.setenv(fetch_mod.URL_BASE_ENV, f"{server.url}/mirror/")
    fetch("tiny", tmp_path)
    assert server.requests == ["/mirror/tiny/a.bin", "/mirror/tiny/b.txt"]
    remote = DATASETS["samson"].files[0]
    assert file_url(remote, "http://x/y") == "http://x/y/samson/samson_dataset.mat"
    monkeypatch.delenv(fetch_mod.URL_BASE_ENV)
    assert file_url(remote).startswith("https://raw.githubusercontent.com/hanzhu97702/")


def test_cli_fetch_and_list(tiny: Dataset, server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "tiny/a.bin" in out and "missing" in out
    assert main(["data", "fetch", "tiny", "--data-dir", str(tmp_path)]) == 0
    assert main(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "tiny/a.bin" in x and "downloaded" not in x)
    assert "verified" in line and str(tmp_path) in line


def test_cli_mismatch_exits_1_with_one_line(
    tiny: Dataset, server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong download is not bad input: exit code 1 (exit code 2 is for bad input)."""
    (server.root / "tiny" / "a.bin").write_bytes(b"tampered")
    assert main(["data", "fetch", "tiny", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sha256 mismatch" in err[0]
    assert not (tmp_path / "tiny" / "a.bin").exists()


def test_cli_unknown_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "fetch", "samsn"]) == 2
    assert "did you mean 'samson'" in capsys.readouterr().err
    with pytest.raises(UnknownNameError):
        fetch("nope")


def test_data_dir_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny: Dataset) -> None:
    monkeypatch.chdir(tmp_path)
    explicit, env = tmp_path / "explicit", tmp_path / "env"
    assert candidate_data_dirs(explicit) == [explicit]
    dirs = candidate_data_dirs()
    assert dirs[0] == Path("data")
    shared = Path(fetch_mod.__file__).resolve().parents[3] / "shared" / "data"
    assert (shared in dirs) == shared.is_dir()
    monkeypatch.setenv(fetch_mod.DATA_DIR_ENV, str(env))
    assert candidate_data_dirs() == [env] and fetch_target_dir() == env
    assert fetch_target_dir(explicit) == explicit
    with pytest.raises(DataError, match=r"hubench data fetch tiny"):
        resolve_data_dir("tiny")
    fetch("tiny")  # into $HUBENCH_DATA_DIR
    assert resolve_data_dir("tiny") == env
    monkeypatch.delenv(fetch_mod.DATA_DIR_ENV)
    with pytest.raises(DataError, match="not found"):
        resolve_data_dir("tiny")  # ./data is empty, the shared folder has no 'tiny'
    fetch("tiny", "data")
    assert resolve_data_dir("tiny") == Path("data")


def test_sha256_file(tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_bytes(PAYLOAD_A)
    assert sha256_file(path) == hashlib.sha256(PAYLOAD_A).hexdigest()


def test_sha256_file_is_remembered_until_the_file_changes(tmp_path: Path, monkeypatch) -> None:
    """A second request reads nothing; a rewritten file (same size, new content) is
    hashed again, so the worker's "file changed after the run started" check holds."""
    import os

    path = tmp_path / "scene.bin"
    path.write_bytes(PAYLOAD_A)
    first = sha256_file(path)
    reads = []
    real_sha = hashlib.sha256

    class Counting:
        def __init__(self) -> None:
            self.inner = real_sha()
            reads.append(1)

        def update(self, chunk: bytes) -> None:
            self.inner.update(chunk)

        def hexdigest(self) -> str:
            return self.inner.hexdigest()

    monkeypatch.setattr("hubench.datasets.fetch.hashlib.sha256", Counting)
    assert sha256_file(path) == first and reads == []
    changed = bytes(reversed(PAYLOAD_A))
    path.write_bytes(changed)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # a new mtime even on coarse clocks
    assert sha256_file(path) == real_sha(changed).hexdigest() != first and reads == [1]


# ---- time and size limits, partial files -------------------------------------------------
def test_deadline_bounds_a_server_that_never_stalls_long(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    """One byte every 20 ms never trips the per-read timeout; the deadline stops it."""
    server.drip = 0.02
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"not finished within the 0\.5 s deadline"):
        fetch("tiny", tmp_path / "data", timeout=5, deadline=0.5)
    assert time.monotonic() - start < 3
    assert not (tmp_path / "data").exists()  # the folder made for the download is removed too


def test_read_timeout(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    server.drip = 1.0
    start = time.monotonic()
    with pytest.raises(DownloadError, match=r"no data for 0\.2 s"):
        fetch("tiny", tmp_path, timeout=0.2, deadline=30)
    assert time.monotonic() - start < 3
    assert _leftovers(tmp_path) == []


def _sized(tiny: Dataset, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    small = Dataset(tiny.name, tiny.description, tuple(
        RemoteFile(f.relpath, f.url, f.sha256, size) for f in tiny.files))  # fmt: skip
    monkeypatch.setitem(DATASETS, "tiny", small)
    monkeypatch.setattr(fetch_mod, "SIZE_MARGIN", 0)


def test_size_limit_from_content_length(
    tiny: Dataset, server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sized(tiny, 1000, monkeypatch)  # limit 2000 bytes; a.bin is 76800
    with pytest.raises(DownloadError, match=r"announces 76800 bytes, more than the 2000 accepted"):
        fetch("tiny", tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_size_limit_while_streaming(
    tiny: Dataset, server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _sized(tiny, 50_000, monkeypatch)  # limit 100000 bytes
    server.endless = True  # no Content-Length, bytes until we hang up
    with pytest.raises(DownloadError, match=r"is at least \d+ bytes, more than the 100000 accepted"):
        fetch("tiny", tmp_path / "data", deadline=20)
    assert not (tmp_path / "data").exists()
    assert fetch_mod.max_download_bytes(DATASETS["samson"].files[0]) == 2 * 3739868 + 0


def test_catalogue_sizes_match_the_shared_files() -> None:
    shared = Path(fetch_mod.__file__).resolve().parents[3] / "shared" / "data"
    for dataset in DATASETS.values():
        for f in dataset.files:
            assert f.size and f.size > 0
            if (shared / f.relpath).is_file():
                assert (shared / f.relpath).stat().st_size == f.size


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_partial_files_are_removed_by_the_next_fetch(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    folder = tmp_path / "tiny"
    folder.mkdir()
    dead = folder / f".a.bin.{_dead_pid()}.k3j_x9q2.part"  # left by a fetch killed with SIGKILL
    old = folder / ".a.bin.abcd1234.part"  # the naming before the pid was part of it
    live = folder / f".a.bin.{os.getpid()}.zzzz.part"  # a fetch still running
    other = folder / ".b.txt.1.x.part.keep"  # not a partial file of this dataset
    for path in (dead, old, live, other):
        path.write_bytes(b"partial")
    fetch("tiny", tmp_path)
    assert not dead.exists() and not old.exists()
    assert live.exists() and other.exists()


def test_sigterm_deletes_the_partial_file(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    """A fetch stopped by SIGTERM (not SIGKILL) runs its clean-up: no .part file is left."""
    server.drip = 0.05
    target = tmp_path / "data"
    script = (
        "import sys\n"
        "from hubench.datasets.fetch import DATASETS, Dataset, RemoteFile, fetch\n"
        f"DATASETS['tiny'] = Dataset('tiny', 't', (RemoteFile('tiny/a.bin', {tiny.files[0].url!r}, 'x'),))\n"
        f"fetch('tiny', {str(target)!r}, timeout=30, deadline=60)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
    try:
        end = time.monotonic() + 60
        while not _leftovers(target) and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.05)
        assert _leftovers(target), "the download did not start"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    assert _leftovers(target) == []
    assert b"Traceback" not in proc.stderr.read()  # type: ignore[union-attr]


def test_bad_time_limits_and_base_url(tiny: Dataset, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for bad in (float("inf"), float("nan"), 0, -1, 1e9, "abc"):
        with pytest.raises(ParameterError, match="--timeout"):
            fetch("tiny", tmp_path, timeout=bad)  # type: ignore[arg-type]
        with pytest.raises(ParameterError, match="--deadline"):
            fetch("tiny", tmp_path, deadline=bad)  # type: ignore[arg-type]
    monkeypatch.setenv(fetch_mod.URL_BASE_ENV, "127.0.0.1:8000")
    with pytest.raises(ParameterError, match=r"HUBENCH_DATA_URL .* not an http"):
        fetch("tiny", tmp_path / "data")
    assert not (tmp_path / "data").exists()


def test_bad_target_folders(tiny: Dataset, tmp_path: Path) -> None:
    tmp_path = tmp_path / "work"
    tmp_path.mkdir()
    afile = tmp_path / "afile"
    afile.write_text("")
    for target in (afile, afile / "sub", "/proc/hubench-test", "/proc/self", "/sys/hubench-test"):
        with pytest.raises(DataError, match="--data-dir"):
            fetch("tiny", target)
    (tmp_path / "d" / "tiny").mkdir(parents=True)
    (tmp_path / "d" / "tiny" / "a.bin").mkdir()  # a folder where the file goes
    with pytest.raises(DataError, match="is not a file"):
        fetch("tiny", tmp_path / "d")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.bin", "afile", "d", "tiny"]


def test_downloaded_files_are_readable_by_others(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    for path in fetch("tiny", tmp_path / "data"):
        assert path.stat().st_mode & 0o777 == 0o644
