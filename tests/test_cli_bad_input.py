"""Bad input on the command line: one line on stderr, the right exit code, nothing written.

Every row of :data:`CASES` runs ``hubench.cli.main(argv)`` in-process, in an empty
working directory, and asserts:

- the exit code (2 for bad input, the default; a row may expect another);
- stderr is exactly one non-empty line (a trailing newline aside) without "Traceback";
- nothing was created, changed or deleted under ``tmp_path`` (the store of a row that
  passes ``--store``, a data folder, estimates...), and the ``--store`` file does not exist.

Adding a case is adding one ``Case`` to :data:`CASES` (or a list of them, see the
sections below)::

    Case("run-unknown-hyperparameter", ["run", "--methods", "vca[nope=1]", *RUN]),

``{tmp}`` in ``argv`` and in ``env`` values is replaced by the test's ``tmp_path``.
``setup(tmp)`` writes bad files into ``tmp_path`` before the call; ``patch(tmp,
monkeypatch)`` may patch the library (rarely needed: see the read-only folder case).
``expect`` is a substring the error line must contain. Every case must fail before a
worker starts, so the whole table runs in seconds.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from numpy.lib import format as npy

from hubench.cli import main

# The smallest grid `hubench run` accepts: what makes a row fail is added to it.
RUN = ["--methods", "vca", "--scenarios", "standard", "--profile", "ci", "--jobs", "1",
       "--timeout", "60", "--store", "{tmp}/store.sqlite"]  # fmt: skip


@dataclass(frozen=True)
class Case:
    """One row of the table: ``hubench <argv>`` must exit with ``code`` and one line."""

    id: str
    argv: Sequence[str]
    code: int = 2
    setup: Callable[[Path], object] | None = None
    expect: str = ""
    env: Mapping[str, str] = field(default_factory=dict)
    patch: Callable[[Path, pytest.MonkeyPatch], object] | None = None


# ---- hubench run --seeds --------------------------------------------------------------
SEED_CASES = [
    Case("run-seed-2**63", ["run", *RUN, "--seeds", "9223372036854775808,"], expect="2**63 - 1"),
    Case("run-seed-huge-list", ["run", *RUN, "--seeds", "0,100000000000000000000"], expect="2**63 - 1"),
    Case("run-seed-count-1e20", ["run", *RUN, "--seeds", "100000000000000000000"], expect="limit of 100000"),
    Case("run-seed-count-100001", ["run", *RUN, "--seeds", "100001"], expect="limit of 100000"),
    Case("run-seed-count-0", ["run", *RUN, "--seeds", "0"], expect="at least one seed"),
    Case("run-seed-negative", ["run", *RUN, "--seeds=-1,"], expect=">= 0"),
    Case("run-seed-not-an-integer", ["run", *RUN, "--seeds", "1,x"], expect="'x' is not an integer"),
    Case("run-seed-float", ["run", *RUN, "--seeds", "1.5"], expect="not a count"),
]


# ---- hubench data fetch -----------------------------------------------------------------
def _file(tmp: Path) -> None:
    (tmp / "afile").write_text("not a folder\n")


def _read_only(tmp: Path) -> None:
    (tmp / "ro").mkdir()
    (tmp / "ro").chmod(0o555)


def _deny_writes_as_root(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root ignores permission bits: make creating anything in ``tmp/ro`` fail as it does
    for any other user (and on a read-only mount)."""
    import errno
    import os

    if os.geteuid() != 0:
        return
    ro = str(tmp / "ro")
    real_open, real_mkdir = os.open, os.mkdir

    def denied(path: object) -> bool:
        return os.path.abspath(os.fspath(path)).startswith(ro + os.sep)  # type: ignore[arg-type]

    def fake_open(path, flags, *args, **kwargs):  # type: ignore[no-untyped-def]
        if denied(path) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    def fake_mkdir(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if denied(path):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)


def _wrong_mirror(tmp: Path) -> None:
    (tmp / "mirror" / "samson").mkdir(parents=True)
    (tmp / "mirror" / "samson" / "samson_dataset.mat").write_bytes(b"not the published file")


FETCH = ["data", "fetch", "samson"]
FETCH_CASES = [
    Case("fetch-data-dir-is-a-file", [*FETCH, "--data-dir", "{tmp}/afile"], setup=_file, expect="is a file"),
    Case("fetch-data-dir-below-a-file", [*FETCH, "--data-dir", "{tmp}/afile/sub"], setup=_file, expect="is a file"),
    Case("fetch-data-dir-read-only", [*FETCH, "--data-dir", "{tmp}/ro/data"], setup=_read_only,
         patch=_deny_writes_as_root, expect="cannot create files in"),
    Case("fetch-data-dir-proc", [*FETCH, "--data-dir", "/proc/hubench-test"], expect="/proc"),
    Case("fetch-data-dir-proc-self", [*FETCH, "--data-dir", "/proc/self"], expect="pseudo-filesystem"),
    Case("fetch-data-dir-sys", [*FETCH, "--data-dir", "/sys/kernel"], expect="pseudo-filesystem"),
    *(Case(f"fetch-timeout-{t}", [*FETCH, "--data-dir", "{tmp}/data", "--timeout", t], expect="--timeout")
      for t in ("inf", "nan", "0", "-1", "1e12")),
    Case("fetch-timeout-not-a-number", [*FETCH, "--data-dir", "{tmp}/data", "--timeout", "soon"],
         expect="invalid float value"),
    Case("fetch-deadline-inf", [*FETCH, "--data-dir", "{tmp}/data", "--deadline", "inf"], expect="--deadline"),
    Case("fetch-unknown-dataset", ["data", "fetch", "samsn", "--data-dir", "{tmp}/data"], expect="did you mean"),
    Case("fetch-bad-mirror-address", [*FETCH, "--data-dir", "{tmp}/data"], env={"HUBENCH_DATA_URL": "127.0.0.1:9"},
         expect="HUBENCH_DATA_URL"),
    # not bad input: a download that fails is exit code 1, still one line and nothing left
    Case("fetch-sha256-mismatch-exits-1", [*FETCH, "--data-dir", "{tmp}/data"], code=1, setup=_wrong_mirror,
         env={"HUBENCH_DATA_URL": "file://{tmp}/mirror"}, expect="sha256 mismatch"),
    Case("fetch-network-error-exits-1", [*FETCH, "--data-dir", "{tmp}/data", "--timeout", "5"], code=1,
         expect="cannot download"),
]  # fmt: skip


# ---- hubench check --baseline ---------------------------------------------------------
BASELINE_HEADER = "method,method_version,scenario,snr_db,seed,status,armse,msad"
BASELINE_ROWS = ("vca,1,standard,20,0,ok,0.1,0.05", "vca,1,standard,20,1,ok,0.2,0.06")


def _baseline(text: str | bytes | None = None, **cells: str) -> Callable[[Path], None]:
    """A setup writing ``{tmp}/b.csv``: ``text`` as is, or the valid two-row baseline with
    ``cells`` (column -> value) replaced in its first row."""

    def setup(tmp: Path) -> None:
        if text is not None:
            data = text if isinstance(text, bytes) else text.encode()
        else:
            names = BASELINE_HEADER.split(",")
            first = BASELINE_ROWS[0].split(",")
            for column, value in cells.items():
                first[names.index(column)] = value
            data = "\n".join([BASELINE_HEADER, ",".join(first), *BASELINE_ROWS[1:]]).encode() + b"\n"
        (tmp / "b.csv").write_bytes(data)

    return setup


CHECK = ["check", "--baseline", "{tmp}/b.csv", "--methods", "vca", "--jobs", "1", "--store", "{tmp}/store.sqlite"]
ROW1 = "b.csv, row 1 (line 2), column"
CHECK_CASES = [
    Case("check-seed-abc", CHECK, setup=_baseline(seed="abc"), expect=f"{ROW1} 'seed': 'abc' is not a seed"),
    Case("check-seed-empty", CHECK, setup=_baseline(seed=""), expect=f"{ROW1} 'seed'"),
    Case("check-seed-NaN", CHECK, setup=_baseline(seed="NaN"), expect=f"{ROW1} 'seed'"),
    Case("check-seed-float", CHECK, setup=_baseline(seed="1.5"), expect=f"{ROW1} 'seed'"),
    Case("check-seed-negative", CHECK, setup=_baseline(seed="-1"), expect=f"{ROW1} 'seed'"),
    Case("check-seed-2**63", CHECK, setup=_baseline(seed="9223372036854775808"), expect=f"{ROW1} 'seed'"),
    Case("check-snr-abc", CHECK, setup=_baseline(snr_db="abc"), expect=f"{ROW1} 'snr_db': 'abc' is not numeric"),
    Case("check-metric-abc", CHECK, setup=_baseline(armse="abc"), expect=f"{ROW1} 'armse': 'abc' is not numeric"),
    Case("check-status-empty", CHECK, setup=_baseline(status=""), expect=f"{ROW1} 'status': '' is empty"),
    Case("check-status-unknown", CHECK, setup=_baseline(status="fine"), expect="is not a status"),
    Case("check-method-empty", CHECK, setup=_baseline(method=" "), expect=f"{ROW1} 'method'"),
    Case("check-version-empty", CHECK, setup=_baseline(method_version=""), expect=f"{ROW1} 'method_version'"),
    Case("check-row-too-long", CHECK, setup=_baseline(msad="0.05,9"), expect="row 1 (line 2): 9 fields, the header has 8"),
    Case("check-row-too-short", CHECK, setup=_baseline(f"{BASELINE_HEADER}\nvca,1,standard,20,0\n"),
         expect="5 fields, the header has 8"),
    Case("check-duplicate-cell", CHECK, setup=_baseline(f"{BASELINE_HEADER}\n{BASELINE_ROWS[0]}\n\n{BASELINE_ROWS[0]}\n"),
         expect="row 2 (line 4): the cell"),
    Case("check-missing-column", CHECK, setup=_baseline(BASELINE_HEADER.replace(",seed", "") + "\nvca,1,standard,20,ok,0.1,0.05\n"),
         expect="lacks the columns ['seed']"),
    Case("check-repeated-column", CHECK, setup=_baseline(BASELINE_HEADER + ",armse\n" + BASELINE_ROWS[0] + ",0.1\n"),
         expect="repeats the columns ['armse']"),
    Case("check-unnamed-column", CHECK, setup=_baseline(BASELINE_HEADER + ",\n" + BASELINE_ROWS[0] + ",0.1\n"),
         expect="column 9 of the header has no name"),
    Case("check-empty-file", CHECK, setup=_baseline(""), expect="b.csv is empty"),
    Case("check-blank-file", CHECK, setup=_baseline("\n \n"), expect="b.csv is empty"),
    Case("check-header-only", CHECK, setup=_baseline(BASELINE_HEADER + "\n"), expect="no rows"),
    Case("check-not-utf8", CHECK, setup=_baseline(f"{BASELINE_HEADER}\nvca,1,st\xe4ndard,20,0,ok,0.1,0.05\n".encode("latin-1")),
         expect="b.csv, line 2: not UTF-8"),
    Case("check-binary", CHECK, setup=_baseline(bytes(range(256)) * 4), expect="not UTF-8"),
    Case("check-baseline-is-a-folder", CHECK, setup=lambda tmp: (tmp / "b.csv").mkdir(), expect="is not a file"),
    Case("check-baseline-missing", CHECK, expect="does not exist"),
    Case("check-write-keeps-a-malformed-baseline", [*CHECK, "--write"], setup=_baseline(seed="abc"),
         expect=f"{ROW1} 'seed'"),
    Case("check-timeout-inf", [*CHECK, "--timeout", "inf"], setup=_baseline(), expect="--timeout"),
]  # fmt: skip


# ---- scene files: hubench run --scene-file / --scenarios 'file[...]' ------------------------
def _arrays() -> dict[str, np.ndarray]:
    """A valid 4 x 5 scene: Y (20, 10), A (20, 3), E (3, 10), pixels row-major."""
    rng = np.random.default_rng(0)
    A = rng.dirichlet(np.ones(3), 20)
    E = rng.uniform(0.1, 1.0, (3, 10))
    return {"Y": A @ E, "A": A, "E": E}


def _scene(name: str, **extra: object) -> Callable[[Path], None]:
    """Write ``{tmp}/<name>``: .npz (generic, Y pixels x bands) or .mat (HySUPP layout
    when ``extra`` has H, W, p, L; else generic with ``data``/``ab``/``en``), plus ``extra``."""

    def setup(tmp: Path) -> None:
        t = _arrays()
        if name.endswith(".npz"):
            np.savez(tmp / name, **{**t, **extra})  # type: ignore[arg-type]
        elif "p" in extra:
            scipy.io.savemat(tmp / name, {"Y": t["Y"].T, "A": t["A"].T, "E": t["E"].T, **extra})
        else:
            scipy.io.savemat(tmp / name, {"data": t["Y"].T, "ab": t["A"].T, "en": t["E"].T, **extra})

    return setup


def _npz_declaring(shape: tuple[int, ...]) -> Callable[[Path], None]:
    """A tiny .npz whose Y.npy header declares ``shape`` (float64) over a few bytes of data:
    np.load would allocate the declared size before noticing the data is short."""

    def setup(tmp: Path) -> None:
        buf = io.BytesIO()
        npy.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
        buf.write(bytes(64))
        with zipfile.ZipFile(tmp / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("Y.npy", buf.getvalue())

    return setup


def _npz_zero_member(tmp: Path) -> None:
    """A 2 MiB member of zeros that compresses to a few kB (not an array: only the zip
    directory tells its size)."""
    with zipfile.ZipFile(tmp / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("junk.bin", bytes(2 << 20))


def _mat_zeros(tmp: Path) -> None:
    scipy.io.savemat(tmp / "bomb.mat", {"Y": np.zeros((512, 512))}, do_compression=True)


def _mat_declaring(tmp: Path) -> None:
    """An uncompressed .mat whose Y header declares 100000 x 100000 doubles (80 GB)."""
    buf = io.BytesIO()
    scipy.io.savemat(buf, {"Y": np.zeros((2, 3))})
    raw = buf.getvalue()
    dims = struct.pack("<iiii", 5, 8, 2, 3)  # miINT32 tag, 8 bytes, then the dimensions
    assert raw.count(dims) == 1
    (tmp / "bomb.mat").write_bytes(raw.replace(dims, struct.pack("<iiii", 5, 8, 100000, 100000)))


SCENE = ["--methods", "vca", "--profile", "ci", "--seeds", "1", "--jobs", "1", "--timeout", "60",
         "--store", "{tmp}/store.sqlite"]  # fmt: skip
MAT_OPTS = "file[y_key=data,a_key=ab,e_key=en]"
SCENE_CASES = [
    Case("scene-npz-negative-hw", ["run", "--scene-file", "{tmp}/s.npz", *SCENE], setup=_scene("s.npz", H=-4, W=-5),
         expect="both sizes must be positive"),
    Case("scene-npz-zero-h", ["run", "--scene-file", "{tmp}/s.npz", "--scenarios", "file", *SCENE],
         setup=_scene("s.npz", H=0, W=20), expect="both sizes must be positive"),
    Case("scene-mat-hysupp-negative-hw", ["run", "--scene-file", "{tmp}/s.mat", "--scenarios", "file", *SCENE],
         setup=_scene("s.mat", H=-4, W=-5, p=3, L=10), expect="'H' x 'W' gives an image of (-4, -5)"),
    Case("scene-mat-negative-nrow", ["run", "--scene-file", "{tmp}/s.mat", "--scenarios", MAT_OPTS, *SCENE],
         setup=_scene("s.mat", nRow=-4, nCol=-5), expect="'nRow' x 'nCol' gives an image of (-4, -5)"),
    Case("scene-npz-header-declares-80GB", ["run", "--scene-file", "{tmp}/bomb.npz", "--scenarios", "file", *SCENE],
         setup=_npz_declaring((100000, 100000)), expect="74.5 GiB once read"),
    Case("scene-npz-member-over-limit", ["run", "--scene-file", "{tmp}/bomb.npz", "--scenarios", "file", *SCENE],
         setup=_npz_zero_member, env={"HUBENCH_MAX_SCENE_BYTES": "1e6"}, expect="refused before decompressing"),
    Case("scene-mat-over-limit", ["run", "--scene-file", "{tmp}/bomb.mat", "--scenarios", "file", *SCENE],
         setup=_mat_zeros, env={"HUBENCH_MAX_SCENE_BYTES": "1e6"}, expect="'Y' alone 2 MiB"),
    Case("scene-mat-header-declares-80GB", ["run", "--scene-file", "{tmp}/bomb.mat", "--scenarios", "file", *SCENE],
         setup=_mat_declaring, expect="74.5 GiB once read"),
    Case("scene-bad-size-limit", ["run", "--scene-file", "{tmp}/s.npz", "--scenarios", "file", *SCENE],
         setup=_scene("s.npz"), env={"HUBENCH_MAX_SCENE_BYTES": "lots"}, expect="HUBENCH_MAX_SCENE_BYTES"),
    Case("scene-missing-file", ["run", "--scene-file", "{tmp}/none.npz", "--scenarios", "file", *SCENE],
         expect="does not exist"),
    Case("scene-file-is-a-folder", ["run", "--scene-file", "{tmp}", "--scenarios", "file", *SCENE],
         expect="is a folder"),
    Case("scene-missing-key-names-the-option", ["run", "--scene-file", "{tmp}/s.mat", *SCENE],
         setup=_scene("s.mat"), expect="has no variable 'Y' (it holds: ab, data, en); name the right one "
                                       "with --scenarios 'file[y_key=NAME]' --scene-file FILE"),
]  # fmt: skip

# ---- damaged or foreign results stores (run and the readers) -------------------------
def _store_file(content: bytes) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / "store.sqlite").write_bytes(content)

    return setup


def _store_sql(*statements: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        import sqlite3

        with sqlite3.connect(tmp / "store.sqlite") as conn:
            for sql in statements:
                conn.execute(sql)
        conn.close()

    return setup


def _store_bad_json(tmp: Path) -> None:
    import math

    from hubench.harness import ResultStore, cell_key
    from hubench.harness.grid import Cell
    from hubench.harness.outcome import Outcome
    from hubench.harness.provenance import provenance

    cell = Cell(key=cell_key("fcls", "1", {}, "standard", {}, 0), method="fcls", method_version="1",
                method_params={}, task="supervised", scenario="standard", scenario_kind="synthetic",
                scenario_params={}, snr_db=math.inf, seed=0, profile="ci")
    with ResultStore(tmp / "store.sqlite") as store:
        store.put(cell, Outcome(metrics={"armse": 0.1}), provenance())
    import sqlite3

    conn = sqlite3.connect(tmp / "store.sqlite", isolation_level=None)
    conn.execute("UPDATE results SET method_params = '{oops'")
    conn.execute("PRAGMA journal_mode=DELETE")  # no WAL files a reader could touch
    conn.close()


_META = "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
READERS = [["leaderboard", "--store", "{tmp}/store.sqlite"], ["report", "--store", "{tmp}/store.sqlite",
           "--output", "{tmp}/report"]]  # fmt: skip
STORE_DAMAGE = [
    ("garbage", _store_file(b"not an sqlite file " * 200), "not a hubench results store"),
    ("foreign-tables", _store_sql("CREATE TABLE invoices (id INTEGER)"), "not a hubench results store"),
    ("future-schema", _store_sql(_META, "INSERT INTO meta VALUES ('schema_version', '99')"), "schema version 99"),
    ("wrong-schema-table", _store_sql(_META, "INSERT INTO meta VALUES ('schema_version', '2')",
                                      "CREATE TABLE results (key TEXT, other TEXT)"), "without the columns"),
]  # fmt: skip
STORE_CASES = [
    Case(f"store-{name}-{argv[0]}", argv, setup=setup, expect=expect)
    for name, setup, expect in STORE_DAMAGE
    for argv in (["run", *RUN, "--seeds", "1"], *READERS)
] + [
    Case(f"store-bad-json-{argv[0]}", argv, setup=_store_bad_json, expect="malformed JSON")
    for argv in READERS
] + [
    Case("store-name-too-long", ["run", *RUN[:-1], "{tmp}/" + "s" * 300 + ".sqlite", "--seeds", "1"],
         expect="longer than 255 bytes"),
]

# ---- hubench unmix and your own images (issue 15) -------------------------------------
def _write(name: str, content: bytes) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        (tmp / name).write_bytes(content)

    return setup


def _image_and(name: str, content: bytes) -> Callable[[Path], None]:
    """The scene ``s.npz`` plus a file ``name`` (an output that exists already)."""

    def setup(tmp: Path) -> None:
        _scene("s.npz", H=4, W=5)(tmp)
        (tmp / name).write_bytes(content)

    return setup


UNMIX = ["unmix", "{tmp}/s.npz", "--method", "vca"]
UNMIX_CASES = [
    Case("unmix-unknown-method", [*UNMIX[:3], "vcaa", "--n-endmembers", "3"], setup=_scene("s.npz", H=4, W=5),
         expect="did you mean"),
    Case("unmix-supervised-method", [*UNMIX[:3], "fcls", "--n-endmembers", "3"], setup=_scene("s.npz", H=4, W=5),
         expect="is supervised"),
    Case("unmix-unknown-hyperparameter", [*UNMIX[:3], "vca[nope=1]", "--n-endmembers", "3"],
         setup=_scene("s.npz", H=4, W=5), expect="nope"),
    Case("unmix-too-many-endmembers", [*UNMIX, "--n-endmembers", "99"], setup=_scene("s.npz", H=4, W=5),
         expect="need fewer endmembers than bands"),
    Case("unmix-zero-endmembers", [*UNMIX, "--n-endmembers", "0"], setup=_scene("s.npz", H=4, W=5),
         expect="at least 1"),
    Case("unmix-missing-image", [*UNMIX, "--n-endmembers", "3"], expect="no such file"),
    Case("unmix-unreadable-image", [*UNMIX, "--n-endmembers", "3"], setup=_write("s.npz", b"not a zip"),
         expect="truncated or corrupt"),
    Case("unmix-unsupported-image", ["unmix", "{tmp}/s.csv", "--method", "vca", "--n-endmembers", "3"],
         setup=_write("s.csv", b"1,2\n"), expect="unsupported file type '.csv'"),
    Case("unmix-unreadable-envi", ["unmix", "{tmp}/s.hdr", "--method", "vca", "--n-endmembers", "3"],
         setup=_write("s.hdr", b"ENVI\nsamples = 4\n"), expect="ENVI"),
    Case("unmix-unsupported-output", [*UNMIX, "--n-endmembers", "3", "--out", "{tmp}/r.csv"],
         setup=_scene("s.npz", H=4, W=5), expect="unsupported extension '.csv'"),
    Case("unmix-output-exists", [*UNMIX, "--n-endmembers", "3", "--out", "{tmp}/r.npz"],
         setup=_image_and("r.npz", b"keep me"), expect="pass --force"),
    Case("unmix-output-png-exists", [*UNMIX, "--n-endmembers", "3", "--out", "{tmp}/r.mat"],
         setup=_image_and("r-abundances.png", b"keep me"), expect="r-abundances.png already exist"),
    Case("unmix-output-folder-missing", [*UNMIX, "--n-endmembers", "3", "--out", "{tmp}/no/r.npz"],
         setup=_scene("s.npz", H=4, W=5), expect="does not exist"),
    Case("unmix-geotiff-output-without-georeference", [*UNMIX, "--n-endmembers", "3", "--out", "{tmp}/r.tif"],
         setup=_scene("s.npz", H=4, W=5), expect="this input has none"),
    Case("run-reference-without-scene-file", ["run", *RUN, "--reference", "{tmp}/ref.npz"],
         expect="pass that too"),
    Case("run-reference-missing", ["run", "--scene-file", "{tmp}/s.npz", "--reference", "{tmp}/none.npz", *SCENE],
         setup=_scene("s.npz", H=4, W=5), expect="reference file"),
    Case("run-image-without-reference-or-p", ["run", "--scene-file", "{tmp}/y.npz", *SCENE],
         setup=lambda tmp: np.savez(tmp / "y.npz", Y=_arrays()["Y"]), expect="n_endmembers=P"),
    Case("run-n-endmembers-disagrees", ["run", "--scene-file", "{tmp}/s.npz", "--scenarios", "file[n_endmembers=2]",
                                        *SCENE], setup=_scene("s.npz", H=4, W=5), expect="n_endmembers=2 but the reference has"),
]  # fmt: skip

CASES: list[Case] = [*SEED_CASES, *FETCH_CASES, *CHECK_CASES, *SCENE_CASES, *STORE_CASES, *UNMIX_CASES]


def _snapshot(root: Path) -> dict[str, tuple[bool, int, int]]:
    return {
        str(p.relative_to(root)): (p.is_dir(), p.stat().st_size if p.is_file() else 0, p.stat().st_mtime_ns)
        for p in root.rglob("*")
    }


def _option(argv: Sequence[str], name: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    # Nothing may reach the internet, nor the shared data folder, nor the user's settings.
    monkeypatch.setenv("HUBENCH_DATA_URL", "http://127.0.0.1:9/no-network-in-tests")
    monkeypatch.setenv("HUBENCH_DATA_DIR", str(tmp_path / "no-data-dir"))
    for key, value in case.env.items():
        monkeypatch.setenv(key, value.format(tmp=tmp_path))
    if case.setup is not None:
        case.setup(tmp_path)
    if case.patch is not None:
        case.patch(tmp_path, monkeypatch)
    argv = [arg.format(tmp=tmp_path) for arg in case.argv]
    store = _option(argv, "--store")
    existed = store is not None and os.path.exists(store)
    before = _snapshot(tmp_path)
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else 2
    err = capsys.readouterr().err
    lines = err[:-1].split("\n") if err.endswith("\n") else err.split("\n")
    assert code == case.code, err
    assert len(lines) == 1 and lines[0].strip(), f"expected one line on stderr, got {err!r}"
    assert "Traceback" not in err
    assert case.expect in lines[0], lines[0]
    if store is not None and not existed:
        assert not os.path.exists(store), f"{store} was created"
    assert _snapshot(tmp_path) == before, "files were created, changed or deleted"


# ---- the same limits from Python ------------------------------------------------------
def test_run_grid_checks_seeds_like_the_command_line(tmp_path: Path) -> None:
    from hubench.errors import ParameterError
    from hubench.harness import run_grid
    from hubench.harness.grid import MAX_SEED, check_seeds, parse_seeds

    assert check_seeds(3) == [0, 1, 2] and check_seeds([5, 2, 5]) == [5, 2]
    assert parse_seeds(f"{MAX_SEED},") == [MAX_SEED]
    store = tmp_path / "s.sqlite"
    for bad in (2**63, [2**63], 10**20, 100_001, 0, [], [-1], True, 1.5, ["3"], [2.0]):
        with pytest.raises(ParameterError, match="--seeds"):
            run_grid("vca", ["standard"], None, bad, profile="ci", store=str(store))  # type: ignore[arg-type]
    assert not store.exists()
