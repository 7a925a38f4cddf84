"""The store's guarantees: strict JSON, read-only readers, damaged and foreign files
refused untouched, migration of schema-1 stores, degenerate estimates, file-scene keys."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from hubench.cli import main
from hubench.errors import StoreError
from hubench.harness import ResultStore, cell_key, expand_grid, parse_methods, run_grid
from hubench.harness.degenerate import degeneracy
from hubench.harness.grid import Cell
from hubench.harness.outcome import Outcome
from hubench.harness.provenance import provenance
from hubench.harness.store import COLUMNS, SCHEMA_VERSION, V1_COLUMNS, V2_COLUMNS


def _cell(seed: int = 0, method: str = "fcls", task: str = "supervised") -> Cell:
    params = {"tol": 1e-6}
    sparams = {"snr_db": math.inf}
    return Cell(key=cell_key(method, "1", params, "standard", sparams, seed), method=method,
                method_version="1", method_params=params, task=task, scenario="standard",
                scenario_kind="synthetic", scenario_params=sparams, snr_db=math.inf, seed=seed,
                profile="ci", threads=1)


def _outcome(**metrics: float) -> Outcome:
    return Outcome(status="ok", reason="", metrics=metrics, alignment=[0, 1], fit_seconds=0.1,
                   peak_mem_mb=1.0, device="cpu", started_at="t0", finished_at="t1")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_json_columns_are_strict_and_sqlite_can_query_them(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as store:
        store.put(_cell(0), _outcome(armse=0.1, sre=math.inf, weak_ap=math.nan), provenance())
        store.put(_cell(1), _outcome(armse=0.2, sre=-math.inf), provenance())
        frame = store.to_frame()
    with sqlite3.connect(path) as conn:
        raw = [r[0] for r in conn.execute("SELECT metrics FROM results")]
        values = conn.execute("SELECT json_extract(metrics, '$.armse') FROM results ORDER BY seed").fetchall()
        params = conn.execute("SELECT scenario_params FROM results").fetchall()
    for text in raw:  # strict JSON: the parser refuses NaN and Infinity literals
        json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert [v[0] for v in values] == [0.1, 0.2]
    assert json.loads(raw[0])["sre"] is None and json.loads(raw[0])["weak_ap"] is None
    assert json.loads(params[0][0]) == {"snr_db": "inf"}  # non-finite parameters as strings
    assert math.isnan(frame.loc[0, "sre"]) and frame.loc[0, "armse"] == 0.1
    assert list(frame["task"]) == ["supervised", "supervised"]


def test_readers_open_a_read_only_store_and_change_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "ro"
    path = folder / "r.sqlite"
    with ResultStore(path) as store:
        store.put(_cell(0), _outcome(armse=0.1, msad=0.2), provenance())
    for extra in folder.glob("r.sqlite-*"):
        extra.unlink()
    before = _digest(path)
    os.chmod(path, stat.S_IRUSR)
    os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR)
    try:
        with ResultStore(path, readonly=True) as store:
            assert len(store.to_frame()) == 1
        board = tmp_path / "board.md"
        assert main(["leaderboard", "--store", str(path), "--output", str(board)]) == 0
        assert "fcls" in board.read_text()
    finally:
        os.chmod(folder, stat.S_IRWXU)
    assert _digest(path) == before


def test_a_wal_store_sqlite_cannot_open_read_only_is_read_as_immutable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the folder is read-only (a non-root user), sqlite cannot make the WAL index
    for a ``mode=ro`` reader; the store is then read as an immutable file."""
    import hubench.harness.store as store_mod

    path = tmp_path / "r.sqlite"
    with ResultStore(path) as store:
        store.put(_cell(0), _outcome(armse=0.1), provenance())
    real_connect = sqlite3.connect
    tried: list[str] = []

    def connect(target: str, *args: object, **kwargs: object) -> sqlite3.Connection:
        tried.append(str(target))
        if str(target).endswith("?mode=ro"):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(target, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store_mod.sqlite3, "connect", connect)
    with ResultStore(path, readonly=True) as store:
        assert store.to_frame().loc[0, "armse"] == 0.1
    assert any(t.endswith("?immutable=1") for t in tried)


def _v1_store(path: Path) -> None:
    """A store as hubench 0.1.0 wrote it (schema 1; NaN/Infinity literals in metrics)."""
    cols = ", ".join(f"{c} TEXT" if c != "key" else "key TEXT PRIMARY KEY" for c in V1_COLUMNS)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute(f"CREATE TABLE results ({cols})")
        row = dict.fromkeys(V1_COLUMNS)
        row.update(key="k1", method="fcls", scenario="standard", status="ok", seed=0, snr_db=20.0,
                   method_params='{"tol":1e-12}', scenario_params='{"snr_db":Infinity}', profile="ci",
                   metrics='{"armse":0.1,"sre":Infinity,"weak_ap":NaN}', alignment="[0,1]")
        conn.execute(f"INSERT INTO results VALUES ({', '.join('?' for _ in V1_COLUMNS)})",
                     [row[c] for c in V1_COLUMNS])


def test_schema_1_store_is_read_as_is_and_migrated_by_a_writer(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _v1_store(path)
    before = _digest(path)
    with ResultStore(path, readonly=True) as store:
        frame = store.to_frame()
        assert store.schema == 1
    assert _digest(path) == before  # reading changed nothing
    assert frame.loc[0, "armse"] == 0.1 and math.isinf(frame.loc[0, "sre"])
    assert frame.loc[0, "threads"] is pd_na()
    with ResultStore(path) as store:  # a writer migrates, in one transaction
        assert store.schema == SCHEMA_VERSION == 4
        row = store.rows()[0]
    assert row["task"] == "supervised" and row["threads"] is None
    assert row["ensemble"] is None and row["cpu_seconds"] is None and row["info"] is None
    assert row["metrics"] == {"armse": 0.1, "sre": None, "weak_ap": None}
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone()[0] == "4"
        assert {r[1] for r in conn.execute("PRAGMA table_info(results)")} == set(COLUMNS)
        assert conn.execute("SELECT json_extract(metrics, '$.armse') FROM results").fetchone()[0] == 0.1


def test_schema_2_store_gains_the_schema_3_columns(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite"
    cols = ", ".join(f"{c} TEXT" if c != "key" else "key TEXT PRIMARY KEY" for c in V2_COLUMNS)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '2')")
        conn.execute(f"CREATE TABLE results ({cols})")
        row = dict.fromkeys(V2_COLUMNS)
        row.update(key="k2", method="vca", scenario="standard", status="ok", seed=0, snr_db=20.0,
                   method_params="{}", scenario_params="{}", profile="ci", metrics='{"armse":0.2}',
                   alignment="[0,1]", threads=1, task="blind")
        conn.execute(f"INSERT INTO results VALUES ({', '.join('?' for _ in V2_COLUMNS)})",
                     [row[c] for c in V2_COLUMNS])
    before = _digest(path)
    with ResultStore(path, readonly=True) as store:
        frame = store.to_frame()
        assert store.schema == 2
    assert _digest(path) == before and math.isnan(frame.loc[0, "training_converged"])
    assert frame.loc[0, "ensemble"] == 1 and math.isnan(frame.loc[0, "cpu_seconds"])
    with ResultStore(path) as store:
        assert store.schema == SCHEMA_VERSION and store.rows()[0]["training"] is None
        cell = _cell(1)
        outcome = _outcome(armse=0.1)
        outcome.cpu_seconds, outcome.info = 1.5, {"ensemble": {"members": 3, "x": math.nan}}
        store.put(Cell(**{**cell.__dict__, "ensemble": 3}), outcome, provenance())
        rows = {r["key"]: r for r in store.rows()}
    assert rows["k2"]["metrics"] == {"armse": 0.2} and rows["k2"]["threads"] == "1"
    new = rows[cell.key]
    assert new["ensemble"] == 3 and new["cpu_seconds"] == 1.5
    assert new["info"] == {"ensemble": {"members": 3, "x": None}}  # strict JSON


def test_schema_3_store_gains_the_scheduler_column_and_keeps_its_cells(tmp_path: Path) -> None:
    path = tmp_path / "v3.sqlite"
    summary = run_grid("vca", ["standard"], None, [0], profile="ci", store=str(path), jobs=1, threads=1)
    assert summary.ran == 1
    with sqlite3.connect(path) as conn:  # make it the store hubench wrote before the Dask executor
        conn.execute("ALTER TABLE results DROP COLUMN scheduler")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with ResultStore(path, readonly=True) as store:
        assert store.schema == 3 and store.rows()[0]["scheduler"] is None
    again = run_grid("vca", ["standard"], None, [0], profile="ci", store=str(path), jobs=1, threads=1)
    assert again.ran == 0 and again.skipped_stored == 1  # its cell is reused as it is
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone()[0] == "4"
        assert {r[1] for r in conn.execute("PRAGMA table_info(results)")} == set(COLUMNS)
        assert conn.execute("SELECT scheduler FROM results").fetchone()[0] is None


def pd_na() -> object:
    import pandas as pd

    return pd.NA


def test_a_migrated_row_is_superseded_by_the_same_cell_run_again(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _v1_store(path)
    cell = _cell(0)
    cell = Cell(**{**cell.__dict__, "snr_db": 20.0, "profile": "ci"})
    with ResultStore(path) as store:
        assert len(store.to_frame()) == 1
        store.put(cell, _outcome(armse=0.3), provenance())
        frame = store.to_frame()
    assert len(frame) == 1 and frame.loc[0, "armse"] == 0.3


@pytest.mark.parametrize("damage", ["garbage", "corrupt-page", "wrong-schema", "foreign", "future"])
def test_damaged_or_foreign_stores_are_refused_untouched(tmp_path: Path, damage: str,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.sqlite"
    if damage == "garbage":
        path.write_bytes(b"this is not sqlite at all" * 100)
    elif damage == "corrupt-page":
        with ResultStore(path) as store:
            for seed in range(300):
                store.put(_cell(seed), _outcome(armse=0.1 * seed, msad=0.2), provenance())
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            conn.execute("PRAGMA journal_mode=DELETE")
        data = bytearray(path.read_bytes())
        page = 4096
        data[3 * page: 3 * page + 64] = b"\xff" * 64  # the header of a b-tree page in the middle
        path.write_bytes(bytes(data))
    elif damage == "wrong-schema":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("INSERT INTO meta VALUES ('schema_version', '2')")
            conn.execute("CREATE TABLE results (key TEXT, something TEXT)")
    elif damage == "foreign":
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE invoices (id INTEGER)")
    else:
        with sqlite3.connect(path) as conn:
            conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute("INSERT INTO meta VALUES ('schema_version', '99')")
    before = _digest(path)
    for argv in (["run", "--methods", "vca", "--scenarios", "standard", "--profile", "ci", "--seeds", "1",
                  "--store", str(path)],
                 ["leaderboard", "--store", str(path)]):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, (argv[0], err)
        assert err.count("\n") == 1 and "Traceback" not in err and str(path) in err
    assert _digest(path) == before
    with open(path, "rb") as fh:  # not switched to WAL on the way (header bytes 18-19)
        header = fh.read(20)
    assert header[18:20] != b"\x02\x02" or damage == "corrupt-page"
    assert not Path(f"{path}-wal").exists() or damage == "corrupt-page"


def test_bad_json_in_a_row_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "r.sqlite"
    with ResultStore(path) as store:
        store.put(_cell(0), _outcome(armse=0.1), provenance())
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE results SET metrics = '{not json'")
    assert main(["leaderboard", "--store", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "malformed JSON" in err and "metrics" in err


def test_store_name_too_long_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / ("x" * 300 + ".sqlite")
    code = main(["run", "--methods", "vca", "--scenarios", "standard", "--profile", "ci", "--seeds", "1",
                 "--store", str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "255" in err
    with pytest.raises(StoreError):
        ResultStore(path)


def test_degeneracy_rules() -> None:
    rng = np.random.default_rng(0)
    A = rng.dirichlet(np.ones(3), 50)
    E = rng.uniform(0.1, 1, (3, 20))
    assert degeneracy(A, E) is None and degeneracy(A, None) is None
    empty = A.copy()
    empty[:, 1] = 5e-4
    assert "endmember(s) 1 collapsed" in (degeneracy(empty, E) or "")
    twins = E.copy()
    twins[2] = 3.0 * twins[0] * (1 + 1e-4 * rng.standard_normal(20))  # same direction
    assert "endmembers 0 and 2 collapsed" in (degeneracy(A, twins) or "")
    near = E.copy()
    near[2] = near[0] + 0.05 * rng.uniform(size=20)  # close, but more than 0.01 rad apart
    assert degeneracy(A, near) is None


def test_file_scene_is_keyed_on_content_not_on_path(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    E = rng.uniform(0.1, 1, (20, 3))
    A = rng.dirichlet(np.ones(3), 30).T
    A[:, :3] = np.eye(3)
    first = tmp_path / "a" / "scene.mat"
    first.parent.mkdir()
    scipy.io.savemat(first, {"Y": E @ A, "E": E, "A": A, "H": 6, "W": 5})
    copy = tmp_path / "b" / "renamed.mat"
    copy.parent.mkdir()
    shutil.copy(first, copy)

    def key(path: Path) -> str:
        (cell,) = expand_grid(parse_methods("fcls"), ["file"], None, [0], profile="ci",
                              scene_file=str(path)).cells
        assert cell.scenario_params["path"] == str(path.resolve()) and cell.scene_sha256 == _digest(path)
        return cell.key

    assert key(first) == key(copy)  # same content, another place: the same cell
    store = tmp_path / "r.sqlite"
    first_run = run_grid("fcls", ["file"], None, [0], profile="ci", store=str(store), scene_file=str(first))
    assert first_run.ran == 1
    A2 = rng.dirichlet(np.ones(3), 30).T
    A2[:, :3] = np.eye(3)
    scipy.io.savemat(first, {"Y": E @ A2, "E": E, "A": A2, "H": 6, "W": 5})  # edited in place
    second = run_grid("fcls", ["file"], None, [0], profile="ci", store=str(store), scene_file=str(first))
    assert second.ran == 1 and second.skipped_stored == 0  # not served from the stale cell
    assert len(ResultStore(store, readonly=True).rows()) == 2


def test_reusing_cells_of_another_version_or_commit_is_reported(tmp_path: Path) -> None:
    store = tmp_path / "r.sqlite"
    first = run_grid("vca", ["standard"], None, [0, 1], profile="ci", store=str(store), jobs=1, threads=1)
    assert first.ran == 2 and not first.reused_other_version
    with sqlite3.connect(store) as conn:
        conn.execute("UPDATE results SET hubench_version = '0.0.9', git_commit = 'abc123' WHERE seed = 0")
    again = run_grid("vca", ["standard"], None, [0, 1], profile="ci", store=str(store), jobs=1, threads=1)
    assert again.ran == 0 and again.skipped_stored == 2
    assert dict(again.reused_other_version) == {"hubench 0.0.9 at abc123": 1}
    assert "reused stored cells made by another hubench version or commit (1 by hubench 0.0.9 at abc123)" \
        in again.table()
