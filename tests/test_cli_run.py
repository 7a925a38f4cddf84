"""End-to-end ``hubench run`` in a temporary folder, with the test-only plugin methods."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_harness_plugin import plugin  # noqa: F401  (fixture)

from hubench.cli import main
from hubench.harness import ResultStore


def _rows(path: Path) -> list[dict]:
    with ResultStore(path) as store:
        return store.rows()


@pytest.mark.slow
def test_run_rerun_force_and_estimates(plugin: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    store = Path("out") / "r.sqlite"
    args = ["run", "--methods", "t-ok,t-blind,t-mem[mb=96]", "--scenarios", "t-tiny", "--snr", "10,20",
            "--seeds", "2", "--store", str(store), "--jobs", "2", "--save-estimates", "--progress"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "t-ok" in out and "12 cells: 12 run now, 0 already stored" in out
    assert "hubench run" in err  # the forced progress bar went to stderr
    rows = _rows(store)
    assert len(rows) == 12 and all(r["status"] == "ok" for r in rows)
    mem = [r for r in rows if r["method"] == "t-mem"]
    assert all(r["peak_mem_mb"] >= 80 and r["device"] == "cpu" for r in mem)
    assert all(r["fit_seconds"] >= 0.05 for r in mem)
    ok = next(r for r in rows if r["method"] == "t-ok")
    # The stored metrics equal an independent in-process fit and scoring of the same cell.
    from hubench import get_method, make_scene, score

    scene = make_scene("t-tiny", seed=ok["seed"], **ok["scenario_params"])
    again = score(scene, get_method("t-ok", **ok["method_params"]).fit(scene.observation(supervised=True)))
    assert ok["metrics"]["armse"] == pytest.approx(again["armse"], rel=1e-12, abs=1e-15)
    assert ok["metrics"]["rmse_em0"] == pytest.approx(again["rmse_em0"], rel=1e-12, abs=1e-15)
    assert 0 < ok["metrics"]["armse"] < 0.5  # noisy (10-20 dB) least squares given the truth
    assert ok["hubench_version"] and ok["python_version"] and ok["host"] and ok["finished_at"]
    saved = ResultStore(store).load_estimate(ok["key"])
    assert saved["A"].shape == (36, 3) and np.allclose(saved["A"].sum(axis=1), 1)
    assert not list((store.parent / "estimates").glob("*.tmp"))

    # re-run: nothing recomputed
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "12 cells already stored, skipped; use --force to re-run" in err
    assert [r["finished_at"] for r in _rows(store)] == [r["finished_at"] for r in rows]

    # --force on a subset: re-run and replaced, never duplicated
    force = ["run", "--methods", "t-ok", "--scenarios", "t-tiny", "--snr", "10", "--seeds", "2",
             "--store", str(store), "--force"]
    assert main(force) == 0
    again = {r["key"]: r for r in _rows(store)}
    assert len(again) == 12
    redone = [k for k, r in again.items() if r["finished_at"] != {x["key"]: x for x in rows}[k]["finished_at"]]
    assert len(redone) == 2 and all(again[k]["method"] == "t-ok" for k in redone)
    frame = ResultStore(store).to_frame()
    assert len(frame) == 12 and "armse" in frame.columns and frame["snr_db"].dtype == float


@pytest.mark.slow
def test_failures_are_recorded_and_the_run_goes_on(plugin: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    store = Path("r.sqlite")
    code = main(["run", "--methods", "t-raise,t-nan,t-sleep[seconds=60],t-die,t-die[how=segv],t-ok,t-env,t-gpu",
                 "--scenarios", "t-tiny", "--seeds", "1", "--store", str(store), "--timeout", "3",
                 "--jobs", "2"])
    out, err = capsys.readouterr()
    assert code == 1
    status = {(r["method"], r["method_params"].get("how")): (r["status"], r["reason"]) for r in _rows(store)}
    assert status[("t-raise", None)] == ("error", status[("t-raise", None)][1])
    assert "RuntimeError: deliberate failure" in status[("t-raise", None)][1]
    assert status[("t-nan", None)][0] == "invalid" and "NaN" in status[("t-nan", None)][1]
    assert status[("t-sleep", None)][0] == "timeout" and "3 s" in status[("t-sleep", None)][1]
    assert status[("t-die", "exit")] == ("crashed", status[("t-die", "exit")][1])
    assert "code 3" in status[("t-die", "exit")][1]
    assert status[("t-die", "segv")][0] == "crashed" and "SIGSEGV" in status[("t-die", "segv")][1]
    assert status[("t-ok", None)][0] == "ok"
    # 2 jobs on this machine's cores: the worker's BLAS/torch threads follow cores // jobs
    expected = max(1, len(os.sched_getaffinity(0)) // 2)
    assert f"threads={expected},{expected},1" in status[("t-env", None)][1]
    assert "skipping method t-gpu" in err and "no_such_package_xyz" in out
    assert "failures:" in out and "deliberate failure" in out
    # a re-run computes nothing and still reports the failed grid
    assert main(["run", "--methods", "t-raise,t-ok", "--scenarios", "t-tiny", "--seeds", "1",
                 "--store", str(store)]) == 1
    out, err = capsys.readouterr()
    assert "2 cells already stored" in err and "[stored earlier]" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--methods", "t-okk"], "did you mean 't-ok'"),
    (["--methods", "t-ok[scal=2]"], "no parameter 'scal'"),
    (["--methods", "t-ok[scale"], "unbalanced"),
    (["--scenarios", "t-tinny"], "did you mean 't-tiny'"),
    (["--snr", "10,abc"], "'abc' is not a number"),
    (["--seeds", "-1"], "at least one seed"),
    (["--seeds", "0,x"], "not an integer seed"),
    (["--jobs", "0"], "at least one worker"),
    (["--timeout", "-3"], "positive number"),
    (["--scenarios", "t-real", "--snr", "10"], "real scene"),
    (["--device", "cuda"], "cuda"),
    (["--profile", "huge"], "invalid choice"),
    (["--store", "blocker/sub/r.sqlite"], "is a file"),
])
def test_bad_input_is_one_line_exit_2_nothing_written(
    plugin: str, capsys: pytest.CaptureFixture[str], argv: list[str], message: str  # noqa: F811
) -> None:
    Path("blocker").write_text("a file in the way")
    options = {"--methods": "t-ok", "--scenarios": "t-tiny", "--store": "res/r.sqlite"}
    options.update(zip(argv[::2], argv[1::2], strict=True))
    args = ["run", *[item for pair in options.items() for item in pair]]
    try:
        import torch

        if "cuda" in argv and torch.cuda.is_available():
            pytest.skip("a GPU is present, so --device cuda is valid here")
    except ImportError:
        pass
    with pytest.raises(SystemExit) as exc_info:
        raise SystemExit(main(args))
    assert exc_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not Path("res").exists()


def test_incompatible_store_is_refused_untouched(plugin: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    path = Path("old.sqlite")
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '0')")
    before = path.read_bytes()
    assert main(["run", "--methods", "t-ok", "--scenarios", "t-tiny", "--store", str(path)]) == 2
    assert "schema version 0" in capsys.readouterr().err
    assert path.read_bytes() == before


@pytest.mark.slow
def test_sigkill_mid_run_then_resume_stores_every_cell_once(plugin: str) -> None:  # noqa: F811
    cmd = [sys.executable, "-m", "hubench", "run", "--methods", "t-sleep[seconds=0.4]",
           "--scenarios", "t-tiny", "--seeds", "6", "--store", "kill.sqlite", "--jobs", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    stored = 0
    while time.monotonic() < deadline and stored < 2:
        time.sleep(0.1)
        if Path("kill.sqlite").exists():
            try:
                with sqlite3.connect("kill.sqlite") as conn:
                    stored = conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            except sqlite3.Error:
                stored = 0
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert 2 <= stored < 6, "the driver should be killed mid-run"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "cells already stored, skipped" in done.stderr
    with sqlite3.connect("kill.sqlite") as conn:
        keys = [k for (k,) in conn.execute("SELECT key FROM results")]
        seeds = sorted(s for (s,) in conn.execute("SELECT seed FROM results"))
        statuses = {s for (s,) in conn.execute("SELECT status FROM results")}
    assert len(keys) == len(set(keys)) == 6 and seeds == list(range(6)) and statuses == {"ok"}
