"""The results store: schema, replace-by-key, the frame, refusals. No workers."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from hubench.errors import StoreError
from hubench.harness import FRAME_COLUMNS, ResultStore, cell_key, check_store_path
from hubench.harness.grid import Cell
from hubench.harness.outcome import Outcome
from hubench.harness.provenance import provenance
from hubench.memory import PeakMemory


def _cell(seed: int, snr: float = 10.0, scenario: str = "standard") -> Cell:
    params = {"tol": 1e-6}
    sparams = {"snr_db": snr} if not math.isnan(snr) else {"data_dir": "/x"}
    return Cell(key=cell_key("fcls", "1", params, scenario, sparams, seed), method="fcls",
                method_version="1", method_params=params, task="supervised", scenario=scenario,
                scenario_kind="synthetic" if not math.isnan(snr) else "real",
                scenario_params=sparams, snr_db=snr, seed=seed, profile="ci")


def _outcome(armse: float, status: str = "ok") -> Outcome:
    return Outcome(**{"status": status, "reason": "" if status == "ok" else "boom",  # type: ignore[arg-type]
            "metrics": {"armse": armse, "sad_em10": 0.1, "sad_em2": 0.2} if status == "ok" else {},
            "alignment": (1, 0, 2), "fit_seconds": 0.5, "peak_mem_mb": 3.0, "device": "cpu",
            "started_at": "t0", "finished_at": "t1"})


def test_rows_frame_and_replace(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "dir" / "r.sqlite"
    with ResultStore(path) as store:
        store.put(_cell(0), _outcome(0.1), provenance())
        store.put(_cell(1, math.inf), _outcome(0.2), provenance())
        store.put(_cell(2, math.nan, "samson"), _outcome(0.0, "timeout"), provenance())
        store.put(_cell(0), _outcome(0.3), provenance())  # same key: replaced, not added
        assert len(store) == 3
        frame = store.to_frame()
    assert list(frame.columns) == [*FRAME_COLUMNS, "armse", "sad_em2", "sad_em10"]
    assert frame["snr_db"].dtype == float
    by_seed = frame.set_index("seed")
    assert by_seed.loc[0, "armse"] == 0.3 and by_seed.loc[1, "snr_db"] == math.inf
    assert math.isnan(by_seed.loc[2, "snr_db"]) and math.isnan(by_seed.loc[2, "armse"])
    assert by_seed.loc[2, "status"] == "timeout" and by_seed.loc[2, "reason"] == "boom"
    assert by_seed.loc[0, "alignment"] == "[1,0,2]"
    assert by_seed.loc[0, "python_version"] == provenance()["python_version"]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_empty_frame_has_the_fixed_columns(tmp_path: Path) -> None:
    with ResultStore(tmp_path / "r.sqlite") as store:
        assert list(store.to_frame().columns) == FRAME_COLUMNS


def test_incompatible_or_foreign_files_are_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '999')")
    before = old.read_bytes()
    with pytest.raises(StoreError, match="schema version 999"):
        ResultStore(old)
    assert old.read_bytes() == before
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database at all, just some words to fill a page " * 20)
    with pytest.raises(StoreError, match="not a hubench results store"):
        ResultStore(text)
    with pytest.raises(StoreError, match="is a file"):
        check_store_path(text / "sub" / "r.sqlite")
    assert not (tmp_path / "new").exists()
    check_store_path(tmp_path / "new" / "r.sqlite")  # fine, and creates nothing
    assert not (tmp_path / "new").exists()


def test_peak_memory_sees_a_block_held_during_the_context() -> None:
    with PeakMemory() as mem:
        block = np.ones(48 * 2**20 // 8)
        block[::512] = 2.0
        import time

        time.sleep(0.05)
    del block
    assert 40 <= mem.peak_mb <= 80


def test_training_record_round_trips_through_the_store(tmp_path: Path) -> None:
    curve = [{"epoch": 0.0, "seconds": 0.0, "armse": 0.2, "msad": 0.05},
             {"epoch": 5.0, "seconds": 0.1, "loss": 0.03, "armse": 0.1, "msad": 0.04, "weak_ap": math.nan}]
    training = {"epochs": 5, "training_converged": True, "loss_history": [0.1, 0.05, 0.04, 0.035, 0.03],
                "learning_curve": curve}
    outcome = _outcome(0.1)
    outcome.training = training
    with ResultStore(tmp_path / "r.sqlite") as store:
        store.put(_cell(0), outcome, provenance())
        store.put(_cell(1), _outcome(0.2), provenance())  # a method that does not train
    with ResultStore(tmp_path / "r.sqlite", readonly=True) as store:
        rows = {row["seed"]: row for row in store.rows()}
        frame = store.to_frame().set_index("seed")
    assert rows[1]["training"] is None
    back = rows[0]["training"]
    assert back["learning_curve"][1]["weak_ap"] is None  # NaN is stored as null
    back["learning_curve"][1]["weak_ap"] = math.nan
    assert back["loss_history"] == training["loss_history"] and back["epochs"] == 5
    assert back["learning_curve"][0] == curve[0]
    assert {k: v for k, v in back["learning_curve"][1].items() if k != "weak_ap"} == {
        k: v for k, v in curve[1].items() if k != "weak_ap"}
    assert frame.loc[0, "training_converged"] == 1.0 and frame.loc[0, "epochs"] == 5.0
    assert math.isnan(frame.loc[1, "training_converged"])
