"""Fault injection: what one cell does wrong stays in that cell, and nothing outlives a run.

Test-only methods are registered through the ``HUBENCH_PLUGINS`` hook (a module written
per test, imported by the driver and every worker):

- ``t-hang-child`` starts a child and a grandchild that leaves the process group
  (``start_new_session``), records their pids, then hangs: the cell must be ``timeout``
  and all three processes gone;
- ``t-alloc`` allocates memory step by step past the ``--max-memory`` cap: ``oom``;
- ``t-suicide`` makes the next two worker starts fail, then kills its own worker: the
  cell is ``crashed``, the replacement is started again until it runs, and every other
  cell finishes ``ok``;
- ``t-slow`` logs each fit to a file, so that two runs on one store can be checked for
  computing a cell twice; ``t-lock`` holds an exclusive lock on the store.

After each run no process carrying the run's worker token may be alive.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hubench.harness import ResultStore, run_grid
from hubench.harness.processes import TOKEN_ENV

PLUGIN_SOURCE = '''
import os, sqlite3, subprocess, sys, time
import numpy as np
from hubench.datasets.base import register_scenario
from hubench.methods.base import Method, register_method
from hubench.scene import Estimate, Scene

FAIL_FILE = os.environ.get("HB_FAIL_STARTS_FILE")
if os.environ.get("HUBENCH_IN_WORKER") and FAIL_FILE and os.path.exists(FAIL_FILE):
    text = open(FAIL_FILE).read().strip()
    if text == "always":  # read-only: workers starting at once cannot race on it
        os._exit(7)
    left = int(text or 0)
    if left > 0:  # counted down: used with one worker at a time
        open(FAIL_FILE, "w").write(str(left - 1))
        os._exit(7)  # this worker fails while starting


def _tiny(seed, size=5, n_bands=8, p=3):
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.1, 1.0, (p, n_bands))
    A = rng.dirichlet(np.ones(p), size * size)
    A[:p] = np.eye(p)
    return Scene(Y=A @ E, A=A, E=E, image_shape=(size, size), weak=np.zeros(p, bool), name="t-f",
                 params={}, seed=seed)


register_scenario("t-f", description="tiny noiseless scene (fault tests)", defaults={})(
    lambda seed: _tiny(seed))


class _Base(Method):
    task = "supervised"

    def _answer(self, obs):
        A, *_ = np.linalg.lstsq(obs.E.T, obs.Y.T, rcond=None)
        A = np.clip(A.T, 0, None) + 1e-12
        return Estimate(A=A / A.sum(axis=1, keepdims=True))


@register_method
class HangChild(_Base):
    name = "t-hang-child"
    description = "starts a child and a detached grandchild, then hangs (test)"

    def __init__(self, *, pid_file=""):
        self.pid_file = pid_file

    def _fit(self, obs):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        detached = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"],
                                    start_new_session=True)
        with open(self.pid_file, "w") as fh:
            fh.write(f"{os.getpid()} {child.pid} {detached.pid}")
        time.sleep(600)


@register_method
class Alloc(_Base):
    name = "t-alloc"
    description = "allocates memory step by step (test)"

    def __init__(self, *, mb=2000):
        self.mb = mb

    def _fit(self, obs):
        blocks = []
        for _ in range(self.mb // 50):
            blocks.append(np.ones(50 * 2 ** 17))  # 50 MB, touched
            time.sleep(0.02)
        return self._answer(obs)


@register_method
class Suicide(_Base):
    name = "t-suicide"
    description = "makes the next worker starts fail, then kills its worker (test)"

    def __init__(self, *, fail_starts=2):
        self.fail_starts = fail_starts

    def _fit(self, obs):
        open(FAIL_FILE, "w").write(str(self.fail_starts))
        os._exit(9)


@register_method
class Slow(_Base):
    name = "t-slow"
    description = "logs each fit, sleeps, answers (test)"

    def __init__(self, *, log="", seconds=0.3, random_state=None):
        self.log = log
        self.seconds = seconds
        self.random_state = random_state

    def _fit(self, obs):
        if self.log:
            with open(self.log, "a") as fh:
                fh.write(f"{self.random_state}\\n")
        time.sleep(self.seconds)
        return self._answer(obs)


_HELD = []


@register_method
class Lock(_Base):
    name = "t-lock"
    description = "takes an exclusive lock on a database and keeps it (test)"

    def __init__(self, *, path=""):
        self.path = path

    def _fit(self, obs):
        conn = sqlite3.connect(self.path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        _HELD.append(conn)
        return self._answer(obs)
'''

TEST_METHODS = ("t-hang-child", "t-alloc", "t-suicide", "t-slow", "t-lock")


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from hubench.datasets import SCENARIOS
    from hubench.methods import METHODS

    folder = tmp_path / "plugins"
    folder.mkdir()
    module = f"hb_fault_plugin_{uuid.uuid4().hex[:8]}"
    (folder / f"{module}.py").write_text(PLUGIN_SOURCE)
    fail_file = tmp_path / "fail_starts"
    fail_file.write_text("0")
    monkeypatch.setenv("HUBENCH_PLUGINS", module)
    monkeypatch.setenv("HB_FAIL_STARTS_FILE", str(fail_file))
    monkeypatch.setenv("PYTHONPATH", f"{folder}:{os.environ.get('PYTHONPATH', '')}")
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for name in TEST_METHODS:
        METHODS.remove(name)
    SCENARIOS.remove("t-f")
    sys.modules.pop(module, None)


def workers_of(driver: int) -> list[int]:
    """Live (not zombie) processes carrying a worker token of driver process ``driver``:
    its workers and everything they started (tokens are ``<driver pid>-...``)."""
    prefix = f"{TOKEN_ENV}={driver}-".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                env = fh.read().split(b"\0")
        except OSError:
            continue
        if _alive(int(name)) and any(e.startswith(prefix) for e in env):
            found.append(int(name))
    return found


def _survivors() -> list[int]:
    """Live processes started by this test process's worker pools."""
    return workers_of(os.getpid())


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except OSError:
        return False


def test_timeout_kills_the_whole_process_tree(plugin: Path) -> None:
    pid_file = plugin / "pids"
    summary = run_grid(f"t-hang-child[pid_file={pid_file}]", ["t-f"], None, [0], profile="ci",
                       store=str(plugin / "r.sqlite"), jobs=1, timeout=8)
    assert summary.counts["t-hang-child"]["timeout"] == 1
    pids = [int(p) for p in pid_file.read_text().split()]
    assert len(pids) == 3  # worker, child, detached grandchild
    deadline = time.monotonic() + 5
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if _alive(p)]
    assert _survivors() == []


def test_memory_cap_ends_the_cell_as_oom_and_others_finish(plugin: Path) -> None:
    summary = run_grid("t-alloc[mb=3000],t-slow[seconds=0]", ["t-f"], None, [0, 1], profile="ci",
                       store=str(plugin / "r.sqlite"), jobs=1, timeout=120, max_memory=700 * 2**20)
    assert summary.counts["t-alloc"]["oom"] == 2, summary.table()
    assert summary.counts["t-slow"]["ok"] == 2
    with ResultStore(plugin / "r.sqlite", readonly=True) as store:
        reasons = [r["reason"] for r in store.rows() if r["status"] == "oom"]
    assert all("--max-memory" in r and "700 MB" in r for r in reasons)
    assert _survivors() == []


def test_a_worker_that_fails_to_start_is_retried_and_the_run_goes_on(plugin: Path) -> None:
    summary = run_grid(["t-suicide[fail_starts=2]", "t-slow[seconds=0]"], ["t-f"], None, [0], profile="ci",
                       store=str(plugin / "r.sqlite"), jobs=1, timeout=120)
    # The t-suicide cell kills its worker and makes the next two starts fail; the third
    # start succeeds, so the other cell still runs.
    assert summary.counts["t-suicide"]["crashed"] == 1, summary.table()
    assert summary.counts["t-slow"]["ok"] == 1
    assert (plugin / "fail_starts").read_text() == "0"  # both failed starts happened
    assert summary.exit_code == 1
    assert _survivors() == []


def test_when_no_worker_can_start_the_cells_are_crashed_not_bad_input(plugin: Path) -> None:
    (plugin / "fail_starts").write_text("always")
    summary = run_grid("t-slow[seconds=0]", ["t-f"], None, [0, 1], profile="ci",
                       store=str(plugin / "r.sqlite"), jobs=1, timeout=60)
    assert summary.counts["t-slow"]["crashed"] == 2, summary.table()
    assert all("no worker could be started" in f["reason"] and "code 7" in f["reason"]
               for f in summary.failures)
    assert summary.exit_code == 1
    assert _survivors() == []


def test_a_store_that_stays_locked_stops_the_run_cleanly(plugin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hubench.harness.store as store_mod

    monkeypatch.setattr(store_mod, "BUSY_TIMEOUT_S", 0.2)
    monkeypatch.setattr(store_mod, "WRITE_RETRY_DELAYS", (0.1, 0.2))
    path = plugin / "r.sqlite"
    ResultStore(path).close()
    summary = run_grid(f"t-lock[path={path}],t-slow[seconds=0]", ["t-f"], None, [0, 1], profile="ci",
                       store=str(path), jobs=1, timeout=60)
    assert summary.exit_code == 3 and "cannot store a result" in summary.stopped
    assert "run the same command again" in summary.stopped
    assert summary.not_run == 4
    assert _survivors() == []  # the worker holding the lock was ended with the run
    with ResultStore(path) as store:  # the lock is gone with it; nothing half-written
        assert len(store) == 0
        assert store._query("SELECT COUNT(*) FROM claims")[0][0] == 0


def test_two_runs_on_one_store_compute_each_cell_once(plugin: Path) -> None:
    log = plugin / "fits.log"
    store = plugin / "shared.sqlite"
    ResultStore(store).close()
    argv = [sys.executable, "-m", "hubench", "run", "--methods", f"t-slow[log={log},seconds=0.4]",
            "--scenarios", "t-f", "--seeds", "6", "--jobs", "1", "--store", str(store), "--no-progress"]
    runs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [r.communicate(timeout=240) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    fits = log.read_text().split()
    assert sorted(fits) == [str(s) for s in range(6)], fits  # every seed fitted exactly once
    with ResultStore(store, readonly=True) as opened:
        assert len(opened) == 6


def test_a_claim_of_a_dead_process_is_taken_over(plugin: Path) -> None:
    from hubench.harness import expand_grid, load_plugins, parse_methods
    from hubench.harness.processes import process_start

    load_plugins()
    log = plugin / "fits.log"
    spec = f"t-slow[log={log},seconds=0]"
    (cell,) = expand_grid(parse_methods(spec), ["t-f"], None, [0], profile="ci").cells
    store = plugin / "r.sqlite"
    ResultStore(store).close()
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    dead_pid = int(gone.stdout)
    assert process_start(dead_pid) is None
    with sqlite3.connect(store) as conn:
        conn.execute("INSERT INTO claims VALUES (?, ?, ?, ?, ?, ?)",
                     (cell.key, __import__("socket").gethostname(), dead_pid, "1", "dead-run", "t"))
    summary = run_grid(spec, ["t-f"], None, [0], profile="ci", store=str(store), jobs=1, threads=1,
                       timeout=60)
    assert summary.counts["t-slow"]["ok"] == 1 and summary.ran == 1
    assert log.read_text().split() == ["0"]
