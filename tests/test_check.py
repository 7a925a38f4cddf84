"""The CI regression check: comparison logic on hand-made frames, the baseline file."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from hubench.cli.check_cmd import regression_table, summary_line
from hubench.errors import DataError
from hubench.harness.check import (
    CI_SCENARIOS,
    DETERMINISTIC,
    STOCHASTIC,
    TOLERANCES_FILE,
    Tolerance,
    baseline_csv,
    baseline_frame,
    compare,
    lookup_tolerance,
    method_tolerance,
    metric_family,
    read_baseline,
    read_tolerances,
)


def row(
    method: str, scenario: str, seed: int, status: str = "ok", **metrics: float
) -> dict[str, object]:
    values: dict[str, object] = {"armse": 0.1, "msad": 0.05, "weak_recall": 0.8}
    values.update(metrics)
    if status != "ok":
        values = dict.fromkeys(values, math.nan)
    return {
        "key": f"{method}{scenario}{seed}", "method": method, "method_version": "1",
        "scenario": scenario, "snr_db": 20.0, "seed": seed, "status": status,
        "reason": "" if status == "ok" else "ValueError: boom", "fit_seconds": 0.01,
        "peak_mem_mb": 1.0, **values,
    }  # fmt: skip


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def base() -> pd.DataFrame:
    return baseline_frame(
        frame(
            *(row(m, s, k) for m in ("vca", "deep") for s in ("standard", "weak") for k in (0, 1))
        )
    )


def tol(method: str, metric: str) -> Tolerance:
    return STOCHASTIC if method == "deep" else DETERMINISTIC


def available(method: str) -> tuple[bool | None, str]:
    return {"gone": (None, "no longer registered"), "gpu": (False, "needs a CUDA GPU")}.get(
        method, (True, "")
    )


def run(current: pd.DataFrame, baseline: pd.DataFrame | None = None):
    return compare(
        base() if baseline is None else baseline, current, tolerance=tol, availability=available
    )


def current(**changes: dict[str, object]) -> pd.DataFrame:
    """The baseline's cells, with ``changes[f"{method}/{scenario}/{seed}"]`` applied."""
    rows = []
    for m in ("vca", "deep"):
        for s in ("standard", "weak"):
            for k in (0, 1):
                r = row(m, s, k)
                r.update(changes.get(f"{m}/{s}/{k}", {}))
                rows.append(r)
    return frame(*rows)


def test_identical_run_passes() -> None:
    report = run(current())
    assert report.ok and report.cells_compared == 8 and report.values_compared == 24
    assert "no regression" in summary_line(report, "b.csv")


def test_improvement_passes_and_is_reported() -> None:
    report = run(current(**{"vca/weak/1": {"armse": 0.05, "weak_recall": 0.9}}))
    assert report.ok
    assert {(f.metric, f.problem) for f in report.improved} == {
        ("armse", "better than tolerance"),
        ("weak_recall", "better than tolerance"),
    }


def test_worsening_beyond_tolerance_fails_both_directions() -> None:
    report = run(current(**{"vca/standard/0": {"armse": 0.1 + 1e-5, "weak_recall": 0.8 - 1e-5}}))
    assert not report.ok
    assert sorted(f.metric for f in report.regressions) == ["armse", "weak_recall"]
    finding = next(f for f in report.regressions if f.metric == "armse")
    assert (finding.method, finding.scenario, finding.seed) == ("vca", "standard", 0)
    assert finding.allowed == pytest.approx(1e-6 + 1e-6 * 0.1)
    table = regression_table(report.regressions)
    assert "armse" in table and "worse than tolerance" in table and "+1e-05" in table


def test_within_tolerance_passes() -> None:
    # deterministic: 1e-6 + 1e-6 * 0.1; stochastic: 0.02 + 0.1 * 0.1 = 0.03
    report = run(
        current(**{"vca/standard/0": {"armse": 0.1 + 5e-7}, "deep/weak/1": {"armse": 0.129}})
    )
    assert report.ok and not report.improved
    assert not run(current(**{"deep/weak/1": {"armse": 0.131}})).ok


def test_nan_handling() -> None:
    baseline = base()
    baseline.loc[0, "weak_recall"] = math.nan  # nothing to compare in the baseline
    report = run(current(**{"deep/standard/0": {"weak_recall": 0.3}}), baseline)
    assert report.ok  # NaN in baseline, value now: new, not a failure
    report = run(current(**{"vca/weak/0": {"msad": math.nan}}))
    assert [(f.metric, f.problem) for f in report.regressions] == [
        ("msad", "value is now missing/NaN")
    ]
    both_nan = base()
    both_nan.loc[:, "weak_recall"] = math.nan
    assert run(current(**{f"vca/weak/{k}": {"weak_recall": math.nan} for k in (0, 1)}), both_nan).ok


def test_failed_cell_is_a_regression_and_fixed_cell_an_improvement() -> None:
    report = run(current(**{"vca/weak/0": {"status": "timeout", "reason": "ran past 60 s\nmore"}}))
    assert [(f.metric, f.current, f.problem) for f in report.regressions] == [
        ("status", "timeout", "cell failed: ran past 60 s")
    ]
    broken = baseline_frame(current(**{"vca/weak/0": {"status": "error", "armse": math.nan}}))
    assert math.isnan(
        broken.loc[
            (broken.method == "vca") & (broken.scenario == "weak") & (broken.seed == 0), "msad"
        ].item()
    )
    report = run(current(), broken)
    assert report.ok and [f.metric for f in report.improved] == ["status"]
    report = run(current(**{"vca/weak/0": {"status": "error"}}), broken)
    assert report.ok and report.still_failing == 1


def test_missing_and_unavailable_methods_new_cells() -> None:
    baseline = baseline_frame(
        pd.concat([current(), frame(row("gone", "weak", 0), row("gpu", "weak", 0))])
    )
    report = run(current(), baseline)
    assert [(f.method, f.metric) for f in report.regressions] == [("gone", "method")]
    assert report.skipped_methods == {"gpu": "needs a CUDA GPU"}
    assert "gpu (needs a CUDA GPU)" in summary_line(report, "b.csv")
    # a missing cell of a method that ran is a regression; an extra cell is new
    now = current()
    now = pd.concat(
        [
            now[~((now.method == "vca") & (now.seed == 1) & (now.scenario == "weak"))],
            frame(row("vca", "rare", 0)),
        ]
    )
    report = run(now)
    assert [(f.method, f.scenario, f.seed, f.metric) for f in report.regressions] == [
        ("vca", "weak", 1, "cell")
    ]
    assert report.new_cells == [("vca", "rare", 20.0, 0)] and report.new_not_ok == 0
    report = run(pd.concat([current(), frame(row("new", "weak", 0, status="crashed"))]))
    assert report.ok and report.new_not_ok == 1
    assert "1 new cells (1 of them not ok)" in summary_line(report, "b.csv")


def test_method_version_change_is_named() -> None:
    report = run(current(**{"vca/weak/0": {"method_version": "2", "armse": 0.2}}))
    assert "method version 1 -> 2" in report.regressions[0].problem


def test_per_metric_tolerance_lookup_by_name_family_star_then_default(monkeypatch) -> None:
    assert metric_family("rmse_em3") == "rmse_em" and metric_family("sad_em12") == "sad_em"
    assert metric_family("armse") == "armse" and metric_family("weak_em_recall") == "weak_em_recall"
    rows = {"rmse_em": Tolerance(0.1, 0.0), "rmse_em2": Tolerance(0.2, 0.0), "sre": Tolerance(1.0, 0.0)}
    assert lookup_tolerance(rows, "rmse_em0") == Tolerance(0.1, 0.0)
    assert lookup_tolerance(rows, "rmse_em2") == Tolerance(0.2, 0.0)  # exact name beats family
    assert lookup_tolerance(rows, "armse") is None
    assert lookup_tolerance({**rows, "*": Tolerance(0.5, 0.1)}, "armse") == Tolerance(0.5, 0.1)
    from hubench.methods import METHODS

    table = {"vca": rows}
    assert method_tolerance("vca", "armse") == DETERMINISTIC
    assert method_tolerance("vca", "rmse_em4", table) == Tolerance(0.1, 0.0)
    assert method_tolerance("vca", "sre", table) == Tolerance(1.0, 0.0)
    assert method_tolerance("vca", "armse", table) == DETERMINISTIC  # unnamed: the class default
    monkeypatch.setattr(METHODS.get("vca"), "deterministic", False)
    assert method_tolerance("vca", "armse", table) == STOCHASTIC
    assert method_tolerance("vca", "anything", {"vca": {"*": Tolerance(0.3, 0.0)}}) == Tolerance(0.3, 0.0)
    assert method_tolerance("no-such-method", "armse") == DETERMINISTIC


def test_committed_tolerance_table_is_well_formed_and_covers_the_deep_methods() -> None:
    """Rows name registered methods and known metrics (or families, or "*"); every
    stochastic method has rows (its tolerances were measured, not guessed)."""
    from hubench.methods import METHODS
    from hubench.metrics.registry import metric_info

    table = read_tolerances(Path(__file__).parents[1] / "leaderboards" / TOLERANCES_FILE)
    for method, rows in table.items():
        assert method in METHODS, method
        for metric in rows:
            if metric != "*":
                metric_info(metric if not metric.endswith("_em") else metric + "0")
    stochastic = {n for n in METHODS if not getattr(METHODS.get(n), "deterministic", True)}
    assert stochastic <= set(table), stochastic - set(table)


@pytest.mark.parametrize("text, problem", [
    ("method,metric,atol\nvca,armse,1\n", "header"),
    ("method,metric,atol,rtol\nvca,armse,abc,0\n", "line 2: atol and rtol must be numbers"),
    ("method,metric,atol,rtol\nvca,armse,-1,0\n", "line 2: atol and rtol must be finite and >= 0"),
    ("method,metric,atol,rtol\nvca,armse,nan,0\n", "line 2"),
    ("method,metric,atol,rtol\nvca,armse,1,0\nvca,armse,2,0\n", "line 3: vca/armse is listed twice"),
    ("method,metric,atol,rtol\nvca,,1,0\n", "line 2: expected"),
])  # fmt: skip
def test_malformed_tolerance_table_is_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=problem):
        read_tolerances(path)
    assert read_tolerances(tmp_path / "absent.csv") == {}


def test_check_jobs_default_is_the_run_default() -> None:
    import argparse

    from hubench.cli import check_cmd, run_cmd

    parser = argparse.ArgumentParser()
    check_cmd.add_arguments(parser)
    assert parser.parse_args(["--baseline", "b.csv"]).jobs == run_cmd.DEFAULT_JOBS >= 1


def test_baseline_round_trip(tmp_path) -> None:
    results = current(**{"deep/weak/1": {"armse": 0.123456789012345}})
    results["rmse_em7"] = math.nan  # a metric no cell has is dropped
    path = tmp_path / "b.csv"
    path.write_text(baseline_csv(results))
    back = read_baseline(path)
    assert list(back.columns) == ["method", "method_version", "scenario", "snr_db", "seed", "status",
                                  "armse", "msad", "weak_recall"]  # fmt: skip
    assert len(back) == 8 and "fit_seconds" not in back.columns
    assert run(results, back).ok
    assert back["armse"].max() == pytest.approx(0.123456789012, abs=1e-12)


def test_bad_baseline_files(tmp_path) -> None:
    with pytest.raises(DataError, match="--write"):
        read_baseline(tmp_path / "absent.csv")
    bad = tmp_path / "bad.csv"
    bad.write_text("method,scenario\nvca,weak\n")
    with pytest.raises(DataError, match="lacks the columns"):
        read_baseline(bad)
    bad.write_text(
        "method,method_version,scenario,snr_db,seed,status,armse\nvca,1,weak,20,0,ok,abc\n"
    )
    with pytest.raises(DataError, match="not numeric"):
        read_baseline(bad)


# ---- end to end: `hubench check` through the real runner, with a test-only method --------
PLUGIN = '''
"""Test-only method for tests/test_check.py: successive projections + clipped least squares."""
import numpy as np

from hubench.methods import Method, register_method
from hubench.scene import Estimate


@register_method
class CheckToy(Method):
    name = "check-toy"
    task = "blind"
    description = "test-only: SPA endmembers, clipped least-squares abundances"

    def __init__(self, *, random_state=None):
        self.random_state = random_state

    def _fit(self, observation):
        Y = observation.Y
        residual = Y.copy()
        picks = []
        for _ in range(observation.n_endmembers):
            k = int(np.argmax((residual ** 2).sum(axis=1)))
            picks.append(k)
            u = residual[k] / np.linalg.norm(residual[k])
            residual = residual - np.outer(residual @ u, u)
        E = Y[picks]
        A = np.clip(np.linalg.lstsq(E.T, Y.T, rcond=None)[0].T, 0.0, None)
        A = A / np.maximum(A.sum(axis=1, keepdims=True), 1e-12)
        return Estimate(A=A, E=E)
'''


@pytest.fixture
def toy_plugin(tmp_path, monkeypatch):
    folder = tmp_path / "plugins"
    folder.mkdir()
    (folder / "hubench_check_toy.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setenv("PYTHONPATH", str(folder))
    monkeypatch.setenv("HUBENCH_PLUGINS", "hubench_check_toy")
    yield tmp_path
    from hubench.methods import METHODS

    METHODS.remove("check-toy")


@pytest.mark.slow
def test_check_cli_passes_on_fresh_baseline_and_fails_on_degraded(
    toy_plugin, capsys, monkeypatch
) -> None:
    from hubench.cli import main

    baseline = toy_plugin / "ci-baseline.csv"
    store = str(toy_plugin / "store.sqlite")
    args = ["check", "--methods", "check-toy", "--baseline", str(baseline)]
    assert main([*args, "--write", "--store", store]) == 0
    written = read_baseline(baseline)
    assert len(written) == 2 * len(CI_SCENARIOS) and set(written["status"]) == {"ok"}
    assert set(written["scenario"]) == set(CI_SCENARIOS)
    assert "wrote" in capsys.readouterr().out
    # a fresh run into a temporary store reproduces the baseline exactly, leaving nothing
    work = toy_plugin / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(args) == 0
    assert "no regression" in capsys.readouterr().out
    assert list(work.iterdir()) == []
    # a baseline better than what the method achieves -> exit 1 and a table
    degraded = written.copy()
    degraded.loc[degraded["scenario"] == "weak", "armse"] -= 0.01
    degraded.to_csv(baseline, index=False)
    assert main([*args, "--store", store]) == 1
    out = capsys.readouterr().out
    assert out.count("worse than tolerance") == 2 and "armse" in out
    assert "2 regression(s)" in out


def test_check_cli_bad_input(tmp_path, capsys) -> None:
    from hubench.cli import main

    assert main(["check", "--baseline", str(tmp_path / "none.csv")]) == 2
    assert "--write" in capsys.readouterr().err
    assert main(["check", "--baseline", "x.csv", "--jobs", "0"]) == 2
    assert not (tmp_path / "none.csv").exists()


def test_write_with_methods_replaces_only_their_rows(tmp_path, capsys) -> None:
    import argparse

    from hubench.cli.check_cmd import _write

    path = tmp_path / "b.csv"
    path.write_text(baseline_csv(current()))
    rerun = current(
        **{f"deep/{s}/{k}": {"armse": 0.5} for s in ("standard", "weak") for k in (0, 1)}
    )
    rerun = rerun[rerun.method == "deep"]
    assert _write(argparse.Namespace(baseline=str(path)), rerun, {"deep"}) == 0
    merged = read_baseline(path)
    assert len(merged) == 8
    assert set(merged.loc[merged.method == "deep", "armse"]) == {0.5}
    assert set(merged.loc[merged.method == "vca", "armse"]) == {0.1}
    assert "wrote" in capsys.readouterr().out
    assert _write(argparse.Namespace(baseline=str(path)), rerun, {"all"}) == 0
    assert set(read_baseline(path)["method"]) == {"deep"}
