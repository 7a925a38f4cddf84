"""Runs on Dask distributed (issue 18): the same cells, the same numbers, the same store.

- a grid through a ``LocalCluster`` (``run_grid(executor="dask")``), with a scene file
  (scattered to the workers), against the same grid on the local pool: every metric
  bit-identical, the scheduler and the worker host recorded; a second run resumes;
- a grid through a scheduler and two workers started as separate processes (``dask
  scheduler``, ``dask worker``), one worker SIGKILLed while it runs a cell: the cell is
  rescheduled on the other, every cell is stored exactly once, metrics bit-identical to
  the local pool with the same threads;
- a Dask task fed a scattered scene reads the sent bytes, not the driver's path, and
  refuses bytes whose sha256 is not the cell's;
- without dask, ``--executor dask`` names the install command (exit 2).

Every process a test starts is ended by it, and no process carrying a worker token of
the test's runs survives it (the runs' processes inherit a marker variable).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io

from hubench.harness import ResultStore, run_grid
from hubench.harness.processes import TOKEN_ENV

MARK_ENV = "HB_DASK_TEST_RUN"
# Bounded in time: a hung cluster fails the test (pytest-timeout, the test extra), it
# does not hang CI; the slowest test takes about 75 s on the 2-core VM under load.
pytestmark = pytest.mark.timeout(480)

PLUGIN_SOURCE = '''
import os, time
import numpy as np
from hubench.methods.base import Method, register_method
from hubench.scene import Estimate


@register_method
class Mark(Method):
    name = "t-mark"
    task = "supervised"
    description = "records the pid of its Dask worker, sleeps, answers by least squares (test)"

    def __init__(self, *, folder="", seconds=3.0, random_state=None):
        self.folder, self.seconds, self.random_state = folder, seconds, random_state

    def _fit(self, obs):
        # the parent of this hubench worker is the Dask worker process
        with open(os.path.join(self.folder, f"{self.random_state}-{os.getpid()}"), "w") as fh:
            fh.write(str(os.getppid()))
        time.sleep(self.seconds)
        A, *_ = np.linalg.lstsq(obs.E.T, obs.Y.T, rcond=None)
        A = np.clip(A.T, 0, None) + 1e-12
        return Estimate(A=A / A.sum(axis=1, keepdims=True))
'''


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A marker every process of the test inherits, the ``t-mark`` plug-in, and at the
    end: no marked hubench worker left alive."""
    pytest.importorskip("distributed")
    from hubench.methods import METHODS

    marker = uuid.uuid4().hex
    folder = tmp_path / "plugins"
    folder.mkdir()
    module = f"hb_dask_plugin_{marker[:8]}"
    (folder / f"{module}.py").write_text(PLUGIN_SOURCE)
    monkeypatch.setenv(MARK_ENV, marker)
    monkeypatch.setenv("HUBENCH_PLUGINS", module)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(folder), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("HUBENCH_SCENE_CACHE", str(tmp_path / "scene-cache"))
    monkeypatch.syspath_prepend(str(folder))
    yield tmp_path
    METHODS.remove("t-mark")
    sys.modules.pop(module, None)
    deadline = time.monotonic() + 20
    while _marked(marker, workers_only=True) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _marked(marker, workers_only=True) == []


def _marked(marker: str, *, workers_only: bool) -> list[int]:
    """Live processes carrying ``marker`` (and a hubench worker token if ``workers_only``)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as fh:
                env = fh.read().split(b"\0")
            with open(f"/proc/{name}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if state == b"Z" or f"{MARK_ENV}={marker}".encode() not in env:
            continue
        if not workers_only or any(e.startswith(f"{TOKEN_ENV}=".encode()) for e in env):
            found.append(int(name))
    return found


def _scene_file(path: Path) -> Path:
    rng = np.random.default_rng(3)
    E = rng.uniform(0.1, 1, (20, 3))
    A = rng.dirichlet(np.ones(3), 30).T
    A[:, :3] = np.eye(3)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"Y": E @ A, "E": E, "A": A, "H": 6, "W": 5})
    return path


def _rows(path: Path) -> dict[str, dict[str, Any]]:
    with ResultStore(path, readonly=True) as store:
        return {r["key"]: r for r in store.rows()}


def test_a_grid_through_a_local_cluster_matches_the_local_pool(env: Path) -> None:
    scene = _scene_file(env / "data" / "scene.mat")
    grid: dict[str, Any] = dict(methods="vca,fcls", scenarios=["standard", "file"], snrs=None, seeds=[0, 1],
                                profile="ci", threads=1, timeout=120, scene_file=str(scene))
    local = run_grid(**grid, store=str(env / "local.sqlite"), jobs=1)
    on_dask = run_grid(**grid, store=str(env / "dask.sqlite"), jobs=2, executor="dask")
    assert local.total == on_dask.total == on_dask.ran == 8
    assert on_dask.exit_code == local.exit_code == 0, on_dask.table()
    expected, got = _rows(env / "local.sqlite"), _rows(env / "dask.sqlite")
    assert got.keys() == expected.keys()
    for key, row in expected.items():
        assert got[key]["metrics"] == row["metrics"] and got[key]["status"] == row["status"]  # bit-identical
        assert row["scheduler"] is None
        assert got[key]["scheduler"].startswith("tcp://127.0.0.1:") and got[key]["host"]
    sent = list((env / "scene-cache").rglob("scene.mat"))  # the file scene went as scattered bytes
    assert len(sent) == 1 and sent[0].read_bytes() == scene.read_bytes()
    again = run_grid(**grid, store=str(env / "dask.sqlite"), jobs=2, executor="dask")
    assert again.ran == 0 and again.skipped_stored == 8  # resume: nothing to do, no cluster needed


def test_a_task_reads_the_scattered_scene_and_checks_its_digest(env: Path) -> None:
    from dataclasses import replace

    from hubench.harness import expand_grid, parse_methods
    from hubench.harness.dask_pool import _scene_payload
    from hubench.harness.dask_task import close_pools, run_cell_task

    scene = _scene_file(env / "data" / "scene.mat")
    (cell,) = expand_grid(parse_methods("fcls"), ["file"], None, [0], profile="ci", scene_file=str(scene),
                          threads=1).cells
    payload = _scene_payload(cell)
    assert payload is not None and payload["params"] == {"path": "0/scene.mat"}
    elsewhere = replace(cell, scenario_params={**cell.scenario_params, "path": str(env / "not-on-this-host.mat")})
    bad = {"params": {"path": "1/scene.mat"}, "files": {"1/scene.mat": payload["files"]["0/scene.mat"] + b"\0"}}
    try:
        outcome, _ = run_cell_task(elsewhere, 120.0, None, payload)
        assert outcome.status == "ok", outcome.reason
        assert outcome.host
        tampered, _ = run_cell_task(elsewhere, 120.0, None, bad)
    finally:
        close_pools()
    assert tampered.status == "error" and "sha256" in tampered.reason


def _start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as fh:
        return subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def _end(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(15)


def test_a_worker_killed_mid_run_loses_no_cell_and_changes_no_number(env: Path) -> None:
    marks = env / "marks"
    marks.mkdir()
    methods = f"vca,fcls,t-mark[folder={marks},seconds=4]"
    seeds = [0, 1]
    reference = run_grid(methods, ["standard"], None, seeds, profile="ci", store=str(env / "local.sqlite"),
                         jobs=1, threads=1, timeout=120)
    assert reference.exit_code == 0, reference.table()
    for mark in marks.iterdir():
        mark.unlink()

    address_file = env / "scheduler.json"
    py_m = [sys.executable, "-m"]
    procs = [_start([*py_m, "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard", "--scheduler-file", str(address_file)], env / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        import json

        address = json.loads(address_file.read_text())["address"]
        for i in range(2):  # no nanny: the SIGKILLed process is the Dask worker itself
            procs.append(_start([*py_m, "distributed.cli.dask_worker", address, "--nthreads", "1",
                                 "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", "--memory-limit", "0"],
                                env / f"worker{i}.log"))
        store = env / "dask.sqlite"
        argv = [sys.executable, "-m", "hubench", "run", "--methods", methods, "--scenarios", "standard",
                "--seeds", "2", "--profile", "ci", "--scheduler", address, "--store", str(store),
                "--no-progress", "--timeout", "120"]
        run = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        killed = None
        try:
            deadline = time.monotonic() + 240
            while killed is None and time.monotonic() < deadline and run.poll() is None:
                time.sleep(0.1)
                found = sorted(marks.iterdir())
                if found:  # a t-mark cell is running: SIGKILL its Dask worker
                    killed = int(found[0].read_text() or 0)
                    if killed:
                        os.kill(killed, signal.SIGKILL)
            out, err = run.communicate(timeout=300)
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        assert killed, "no t-mark cell started"
        assert run.returncode == 0, out + err
    finally:
        for proc in procs:
            _end(proc)
    assert sum(1 for p in procs[1:] if p.returncode == -signal.SIGKILL) == 1
    expected, got = _rows(env / "local.sqlite"), _rows(store)
    assert got.keys() == expected.keys() and len(got) == 6  # every cell stored exactly once
    for key, row in expected.items():
        assert got[key]["status"] == "ok" and got[key]["metrics"] == row["metrics"], key
        assert got[key]["scheduler"] == address
    rerun = [m.name.split("-")[0] for m in marks.iterdir()]
    assert len(rerun) == 3 and sorted(set(rerun)) == ["0", "1"]  # the killed cell ran again elsewhere


def test_without_dask_the_executor_names_the_install_command(monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    from hubench.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    store = tmp_path / "r.sqlite"
    code = main(["run", "--methods", "vca", "--scenarios", "standard", "--profile", "ci", "--seeds", "1",
                 "--executor", "dask", "--store", str(store)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert 'pip install -e ".[dist]"' in err and 'pip install "hubench[dist]"' in err
    assert not store.exists()


@pytest.mark.parametrize("address", ["localhost", "http://127.0.0.1:8786", "tcp://127.0.0.1:port"])
def test_a_bad_scheduler_address_is_one_line(address: str, capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from hubench.cli import main

    code = main(["run", "--methods", "vca", "--scenarios", "standard", "--profile", "ci", "--seeds", "1",
                 "--scheduler", address, "--store", str(tmp_path / "r.sqlite")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "tcp://HOST:PORT" in err
    assert not (tmp_path / "r.sqlite").exists()


def test_an_envi_header_travels_with_its_data_file(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    from hubench.harness.dask_pool import _with_companions

    header, data, other = tmp_path / "cube.hdr", tmp_path / "cube.img", tmp_path / "cube.mat"
    for path in (header, data, other):
        path.write_bytes(b"x")
    assert _with_companions(header) == [header, data]  # not the unrelated cube.mat
    assert _with_companions(other) == [other]
