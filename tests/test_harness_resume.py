"""Same numbers on resume: a killed run of deep-method cells, resumed with a different
number of cells left, stores bit-identical metrics for every cell.

Before threads were chosen once per run, a worker's thread count was
``cores // min(jobs, cells left)``: a resumed run with one cell left and ``--jobs 2``
trained with twice the threads and gave other numbers. The second resume below
(one cell left, ``--jobs 2``) is that case.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from test_harness_faults import workers_of

from hubench.harness import ResultStore, run_grid

METHODS = "daeu,deq-unmix"
ARGS = ["--methods", METHODS, "--scenarios", "standard", "--snr", "20", "--seeds", "2", "--profile", "ci",
        "--jobs", "2", "--no-progress"]


def _metrics(path: Path) -> dict[str, tuple[str, dict[str, float], int]]:
    with ResultStore(path, readonly=True) as store:
        return {r["key"]: (r["status"], r["metrics"], r["threads"]) for r in store.rows()}


def test_killed_and_resumed_run_gives_bit_identical_metrics(tmp_path: Path) -> None:
    reference = tmp_path / "reference.sqlite"
    summary = run_grid(METHODS, ["standard"], [20.0], 2, profile="ci", store=str(reference), jobs=2)
    assert summary.total == 4 and summary.ran == 4
    expected = _metrics(reference)

    store = tmp_path / "killed.sqlite"
    argv = [sys.executable, "-m", "hubench", "run", *ARGS, "--store", str(store)]
    run = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    stored = 0
    while time.monotonic() < deadline and run.poll() is None:
        time.sleep(0.2)
        if store.exists():
            try:
                with sqlite3.connect(store, timeout=5) as conn:
                    stored = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if stored >= 1:
                break
    os.killpg(run.pid, signal.SIGKILL)  # the driver and its workers, mid-run
    run.wait(30)
    assert 1 <= stored <= 4
    # The workers run in sessions of their own; each ends itself and its tree when the
    # driver is gone.
    deadline = time.monotonic() + 15
    while workers_of(run.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert workers_of(run.pid) == []
    before = len(_metrics(store))

    resumed = run_grid(METHODS, ["standard"], [20.0], 2, profile="ci", store=str(store), jobs=2)
    assert resumed.skipped_stored == before and resumed.ran == 4 - before
    # One cell left with --jobs 2: the case that used to run with more threads.
    key = next(iter(expected))
    with sqlite3.connect(store) as conn:
        conn.execute("DELETE FROM results WHERE key = ?", (key,))
    again = run_grid(METHODS, ["standard"], [20.0], 2, profile="ci", store=str(store), jobs=2)
    assert again.ran == 1 and again.threads == resumed.threads == summary.threads

    got = _metrics(store)
    assert got.keys() == expected.keys()
    for cell, (status, metrics, threads) in expected.items():
        assert got[cell][0] == status and got[cell][2] == threads
        assert got[cell][1] == metrics, cell  # bit-identical: exact float equality


def test_threads_are_part_of_the_key_and_recorded(tmp_path: Path) -> None:
    from hubench.harness import expand_grid, parse_methods

    one = expand_grid(parse_methods("vca"), ["standard"], None, [0], profile="ci", threads=1).cells[0]
    two = expand_grid(parse_methods("vca"), ["standard"], None, [0], profile="ci", threads=2).cells[0]
    assert one.key != two.key and (one.threads, two.threads) == (1, 2)
    store = tmp_path / "r.sqlite"
    summary = run_grid("vca", ["standard"], None, [0], profile="ci", store=str(store), jobs=1, threads=2)
    assert summary.ran == 1
    assert [r["threads"] for r in ResultStore(store, readonly=True).rows()] == [2]
