"""Dataset download and lookup, against a local HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import threading
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
from hubench.errors import DataError, UnknownNameError

PAYLOAD_A = bytes(range(256)) * 300  # 76.8 kB: several read chunks
PAYLOAD_B = b"second file\n" * 10


class _Server:
    """Serve ``root`` over HTTP on 127.0.0.1 in a thread; count requests; optionally cut
    every response short after ``truncate`` bytes while announcing the full length."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        self.truncate: int | None = None
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
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body if server.truncate is None else body[: server.truncate])

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
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
    with pytest.raises(DataError, match="sha256 mismatch"):
        fetch("tiny", tmp_path)
    assert not (tmp_path / "tiny" / "a.bin").exists()
    assert _leftovers(tmp_path) == []


def test_interrupted_transfer_keeps_nothing(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    server.truncate = 1000
    with pytest.raises(DataError, match=r"cannot download|sha256 mismatch"):
        fetch("tiny", tmp_path)
    assert not (tmp_path / "tiny" / "a.bin").exists()
    assert _leftovers(tmp_path) == []


def test_http_error_is_one_clear_error(tiny: Dataset, server: _Server, tmp_path: Path) -> None:
    (server.root / "tiny" / "b.txt").unlink()
    with pytest.raises(DataError, match=r"cannot download .*b\.txt.*nothing was written"):
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


def test_cli_mismatch_exits_2_with_one_line(
    tiny: Dataset, server: _Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (server.root / "tiny" / "a.bin").write_bytes(b"tampered")
    assert main(["data", "fetch", "tiny", "--data-dir", str(tmp_path)]) == 2
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
