"""Leaderboards: built from hand-made result frames and parsed back."""

from __future__ import annotations

import io
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from hubench.cli import main
from hubench.errors import HubenchError, UnknownNameError
from hubench.report.leaderboard import (
    format_mean_std,
    labelled,
    render_csv,
    render_markdown,
    scenario_table,
    select,
    summarize,
    write_text_atomic,
)
from hubench.report.render_md import REFERENCE_LABEL
from hubench.report.stats import best_mask, column_ranks, metric_direction


def cell(method: str, scenario: str, snr: float, seed: int, **values: object) -> dict[str, object]:
    """One row of a results frame with every fixed column filled in."""
    row: dict[str, object] = {
        "key": f"{method}-{scenario}-{snr}-{seed}",
        "method": method,
        "method_version": "1",
        "method_params": json.dumps({"random_state": seed, "tol": 1e-6}),
        "profile": "quick",
        "scenario": scenario,
        "scenario_kind": "synthetic",
        "scenario_params": json.dumps({"snr_db": snr, "n_endmembers": 4}),
        "snr_db": snr,
        "seed": seed,
        "status": "ok",
        "reason": "",
        "fit_seconds": 0.1,
        "peak_mem_mb": 1.0,
        "device": "cpu",
        "hubench_version": "0.1.0",
        "git_commit": "abc1234",
        "python_version": "3.11.9",
        "numpy_version": "2.4.0",
        "torch_version": "2.13.0",
        "host": "ci-box",
        "started_at": f"2026-01-0{1 + seed}T00:00:00",
        "finished_at": f"2026-01-0{1 + seed}T00:01:00",
    }
    row.update(values)
    return row


def grid_frame(seed: int = 0) -> pd.DataFrame:
    """3 methods x 2 scenarios x 2 SNRs x 3 seeds with random metric values."""
    rng = np.random.default_rng(seed)
    rows = []
    for method, level in (("alpha", 0.1), ("beta", 0.2), ("gamma", 0.3)):
        for scenario in ("standard", "weak"):
            for snr in (10.0, 30.0):
                for s in range(3):
                    rows.append(
                        cell(
                            method, scenario, snr, s,
                            armse=level + 0.01 * rng.random(),
                            msad=0.5 - level + 0.01 * rng.random(),
                            weak_recall=rng.random(),
                            fit_seconds=level * 10 + rng.random(),
                        )
                    )  # fmt: skip
    return pd.DataFrame(rows)


def parse_markdown_tables(text: str) -> dict[str, pd.DataFrame]:
    """Every ``## scenario`` table of a rendered leaderboard as a DataFrame of strings."""
    tables: dict[str, pd.DataFrame] = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = section.partition("\n")
        lines = [ln for ln in body.splitlines() if ln.startswith("|")]
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines[2:]]
        tables[title.strip()] = pd.DataFrame(rows, columns=header)
    return tables


def parse_cell(text: str) -> tuple[float, float, bool]:
    bold = text.startswith("**")
    text = text.strip("*")
    mean, _, std = text.partition(" ± ")
    return float(mean), float(std) if std else math.nan, bold


def test_markdown_parsed_back_matches_independent_statistics() -> None:
    frame = grid_frame()
    tables = parse_markdown_tables(render_markdown(frame, metrics=["armse", "msad", "weak_recall"]))
    assert set(tables) == {"standard", "weak"}
    for scenario, table in tables.items():
        assert list(table.columns[:2]) == ["method", "rank"]
        assert table.columns[-1] == "failed"
        for col in table.columns[2:-1]:
            metric, _, snr_text = col.partition(" @ ")
            snr = float(snr_text.split()[0])
            parsed = {m: parse_cell(v) for m, v in zip(table["method"], table[col], strict=True)}
            means = {}
            for method, (mean, std, _) in parsed.items():
                values = frame.loc[
                    (frame.scenario == scenario) & (frame.method == method) & (frame.snr_db == snr),
                    metric,
                ].to_numpy()
                assert len(values) == 3
                means[method] = values.mean()
                decimals = len(f"{mean}".split(".")[1]) if "." in f"{mean}" else 0
                assert mean == pytest.approx(values.mean(), abs=10.0 ** -max(decimals, 3))
                assert std == pytest.approx(np.std(values, ddof=1), abs=1e-3)
            better = metric_direction(metric)
            best = (min if better == "lower" else max)(means, key=lambda m: means[m])
            bold = [m for m, (_, _, b) in parsed.items() if b]
            assert bold == [best], (col, bold, best)


def test_rank_is_mean_rank_over_quality_columns() -> None:
    frame = grid_frame()
    table = scenario_table(
        labelled(frame[frame.scenario == "standard"]), ["armse", "msad", "fit_seconds"]
    )
    # alpha: best armse (rank 1 at both SNRs), worst msad (3); gamma the opposite.
    ranks = dict(zip(table["method"], table["rank"], strict=True))
    assert ranks == {"alpha": "2.00", "beta": "2.00", "gamma": "2.00"}
    # fit_seconds is one unranked column over all SNRs, lower is better -> alpha bold.
    assert "fit_seconds" in table.columns
    assert table.loc[table.method == "alpha", "fit_seconds"].item().startswith("**")
    only_armse = scenario_table(labelled(frame[frame.scenario == "standard"]), ["armse"])
    assert list(only_armse["method"]) == ["alpha", "beta", "gamma"]
    assert list(only_armse["rank"]) == ["1.00", "2.00", "3.00"]


def test_ties_all_bold_and_nan_ignored() -> None:
    means = pd.Series({"a": 0.2, "b": 0.1, "c": 0.1 + 1e-15, "d": math.nan})
    assert list(best_mask(means, "lower")) == [False, True, True, False]
    assert list(best_mask(means, "higher")) == [True, False, False, False]
    assert list(best_mask(pd.Series({"a": math.nan}), "lower")) == [False]
    assert list(column_ranks(means, "lower")) == [3.0, 1.5, 1.5, 4.0]


def test_failed_cells_counted_and_excluded_from_statistics() -> None:
    rows = [cell("alpha", "rare", 20.0, s, armse=0.1 * (s + 1)) for s in range(3)]
    rows.append(
        cell("alpha", "rare", 20.0, 3, status="timeout", reason="ran past 5 s", armse=math.nan)
    )
    rows += [
        cell("beta", "rare", 20.0, s, status="error", reason="ValueError: boom", armse=math.nan)
        for s in range(4)
    ]
    text = render_markdown(pd.DataFrame(rows), metrics=["armse"])
    table = parse_markdown_tables(text)["rare"]
    alpha = table[table.method == "alpha"].iloc[0]
    beta = table[table.method == "beta"].iloc[0]
    assert alpha["failed"] == "1/4" and beta["failed"] == "4/4"
    assert parse_cell(alpha["armse @ 20 dB"])[:2] == (pytest.approx(0.2), pytest.approx(0.1))
    assert beta["armse @ 20 dB"] == "n/a"
    assert (alpha["rank"], beta["rank"]) == ("1.00", "2.00")
    assert "beta, seed 0 at 20 dB: error ValueError: boom" in text
    assert "alpha, seed 3 at 20 dB: timeout ran past 5 s" in text


def test_header_names_settings_and_versions() -> None:
    frame = grid_frame()
    frame.loc[frame.index[:5], "git_commit"] = "def5678"
    text = render_markdown(frame, source="results.sqlite")
    header = text.split("\n## ")[0]
    for needle in ("quick", "0, 1, 2 (3)", "10 dB, 30 dB", "abc1234, def5678", "3.11.9", "2.4.0",
                   "2.13.0", "ci-box", "2026-01-01T00:00:00 to 2026-01-03T00:01:00", "results.sqlite",
                   "36 (0 not ok)"):  # fmt: skip
        assert needle in header, needle
    # the cells' compute: the sum of their fit seconds; no CPU seconds in this frame
    frame["fit_seconds"] = 0.1
    header = render_markdown(frame).split("\n## ")[0]
    assert "| cell time   | 3.6 s wall (sums over the cells' fits" in header  # 36 x 0.1 s
    frame["fit_seconds"] = 200.0
    frame["cpu_seconds"] = 150.0
    header = render_markdown(frame).split("\n## ")[0]
    assert "2.00 h wall, 1.50 h CPU" in header  # 36 x 200 s, 36 x 150 s
    assert render_markdown(frame) == render_markdown(frame.sample(frac=1.0, random_state=1))


def test_csv_is_tidy_long_form() -> None:
    frame = grid_frame()
    csv = pd.read_csv(io.StringIO(render_csv(frame, metrics=["armse", "fit_seconds"])))
    assert list(csv.columns) == [
        "scenario", "method", "snr_db", "metric", "mean", "std", "n", "reference", "note",
    ]  # fmt: skip
    assert len(csv) == 2 * 3 * 2 * 2 and not csv["reference"].any()
    row = csv[
        (csv.scenario == "weak")
        & (csv.method == "beta")
        & (csv.snr_db == 30)
        & (csv.metric == "armse")
    ]
    values = frame.loc[
        (frame.scenario == "weak") & (frame.method == "beta") & (frame.snr_db == 30), "armse"
    ]
    assert row["mean"].item() == pytest.approx(values.mean(), rel=1e-12)
    assert row["std"].item() == pytest.approx(values.std(ddof=1), rel=1e-12)
    assert row["n"].item() == 3


def test_variants_labelled_and_snr_special_values() -> None:
    rows = [cell("fcls", "samson", math.nan, 0, scenario_kind="real", armse=0.1,
                 scenario_params="{}", method_params=json.dumps({"tol": 1e-6}))]  # fmt: skip
    rows.append(cell("fcls", "samson", math.nan, 0, scenario_params="{}", armse=0.2,
                     method_params=json.dumps({"tol": 1e-9})))  # fmt: skip
    rows.append(cell("fcls", "standard", math.inf, 0, armse=0.3))
    tables = parse_markdown_tables(render_markdown(pd.DataFrame(rows), metrics=["armse"]))
    assert list(tables["samson"]["method"]) == [
        REFERENCE_LABEL,
        "fcls[tol=1e-06] (given E)",
        "fcls[tol=1e-09] (given E)",
    ]
    assert "armse" in tables["samson"].columns
    assert "armse @ noiseless" in tables["standard"].columns
    csv = pd.read_csv(io.StringIO(render_csv(pd.DataFrame(rows), metrics=["armse"])))
    assert csv["snr_db"].isna().sum() == 2 and np.isinf(csv["snr_db"]).sum() == 1


def test_columns_without_values_are_dropped() -> None:
    rows = [cell("a", "standard", 20.0, s, armse=0.1, weak_recall=math.nan) for s in range(2)]
    table = parse_markdown_tables(
        render_markdown(pd.DataFrame(rows), metrics=["armse", "weak_recall"])
    )
    assert list(table["standard"].columns) == ["method", "rank", "armse @ 20 dB", "failed"]


def test_format_mean_std() -> None:
    assert format_mean_std(0.051234, 0.00312, 3) == "0.0512 ± 0.0031"
    assert format_mean_std(12.345, 1.5, 2) == "12.3 ± 1.5"
    assert format_mean_std(0.5, math.nan, 1) == "0.500"
    assert format_mean_std(1.5e-6, 2e-7, 2) == "1.50e-06 ± 2.00e-07"
    assert format_mean_std(math.nan, math.nan, 0) == "n/a"


def test_selection_errors() -> None:
    frame = grid_frame()
    with pytest.raises(UnknownNameError, match="did you mean 'weak'"):
        select(frame, scenarios=["wek"])
    with pytest.raises(UnknownNameError, match="profile"):
        select(frame, profile="full")
    with pytest.raises(UnknownNameError, match="armse"):
        summarize(frame, metrics=["armsee"])
    with pytest.raises(HubenchError, match="no results"):
        select(frame.iloc[:0])
    assert set(select(frame, scenarios=["weak"]).scenario) == {"weak"}


def test_write_text_atomic(tmp_path) -> None:
    target = write_text_atomic(tmp_path / "sub" / "board.md", "hello\n")
    assert target.read_text() == "hello\n"
    assert [p.name for p in target.parent.iterdir()] == ["board.md"]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HubenchError, match="cannot write"):
        write_text_atomic(blocker / "board.md", "x")


# ---- the command line --------------------------------------------------------------
METRIC_NAMES = ("armse", "msad", "weak_recall")


@pytest.fixture
def store_path(tmp_path):
    """A real results store holding the cells of :func:`grid_frame`."""
    from hubench.harness.grid import Cell
    from hubench.harness.outcome import Outcome
    from hubench.harness.store import ResultStore

    path = tmp_path / "results.sqlite"
    frame = grid_frame()
    with ResultStore(path) as store:
        for r in frame.to_dict("records"):
            cell_ = Cell(
                key=r["key"], method=r["method"], method_version="1",
                method_params=json.loads(r["method_params"]), task="blind",
                scenario=r["scenario"], scenario_kind="synthetic",
                scenario_params=json.loads(r["scenario_params"]), snr_db=r["snr_db"],
                seed=r["seed"], profile="quick",
            )  # fmt: skip
            outcome = Outcome(
                status=r["status"], metrics={m: r[m] for m in METRIC_NAMES},
                fit_seconds=r["fit_seconds"], peak_mem_mb=1.0, device="cpu",
                started_at=r["started_at"], finished_at=r["finished_at"],
            )  # fmt: skip
            store.put(cell_, outcome, {k: r[k] for k in ("hubench_version", "git_commit", "host")})
    return path, frame


def test_cli_markdown_and_csv(store_path, tmp_path, capsys) -> None:
    path, frame = store_path
    assert main(["leaderboard", "--store", str(path), "--metrics", "armse,msad"]) == 0
    tables = parse_markdown_tables(capsys.readouterr().out)
    assert set(tables) == {"standard", "weak"}
    assert list(tables["weak"].columns) == [
        "method", "rank", "armse @ 10 dB", "armse @ 30 dB", "msad @ 10 dB", "msad @ 30 dB", "failed"
    ]  # fmt: skip
    out = tmp_path / "board" / "lb.csv"
    assert (
        main(["leaderboard", "--store", str(path), "--output", str(out), "--scenarios", "weak"])
        == 0
    )
    csv = pd.read_csv(out)
    assert set(csv["scenario"]) == {"weak"}
    assert set(csv["metric"]) == {"armse", "msad", "weak_recall", "fit_seconds", "cpu_seconds", "peak_mem_mb"}
    got = csv[(csv.method == "gamma") & (csv.metric == "msad") & (csv.snr_db == 10)]["mean"].item()
    want = frame[(frame.scenario == "weak") & (frame.method == "gamma") & (frame.snr_db == 10)][
        "msad"
    ].mean()
    assert got == pytest.approx(want, rel=1e-12)


def test_cli_bad_input_exit_2_and_writes_nothing(store_path, tmp_path, capsys) -> None:
    path, _ = store_path
    out = tmp_path / "lb.md"
    cases = [
        (["--store", str(tmp_path / "absent.sqlite")], "no results store"),
        (["--store", str(path), "--metrics", "armsee"], "did you mean 'armse'"),
        (["--store", str(path), "--scenarios", "wek"], "did you mean 'weak'"),
        (["--store", str(path), "--metrics", "armse,,msad"], "empty item"),
        (["--store", str(path), "--format", "pdf"], "invalid choice"),
    ]
    for extra, message in cases:
        assert exit_code(["leaderboard", *extra, "--output", str(out)]) == 2, extra
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists() and not (tmp_path / "absent.sqlite").exists()


def exit_code(argv: list[str]) -> int:
    """``main(argv)``, counting argparse's ``SystemExit`` as a return."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_metric_that_does_not_apply_is_left_out_of_the_rank() -> None:
    rows = []
    for s in range(2):
        rows.append(cell("fcls", "standard", 20.0, s, armse=0.05, msad=math.nan))  # supervised
        rows.append(cell("abund", "standard", 20.0, s, armse=0.07, msad=math.nan))  # no E
        rows.append(cell("blind1", "standard", 20.0, s, armse=0.10, msad=0.1))
        rows.append(cell("blind2", "standard", 20.0, s, armse=0.20, msad=0.2))
        rows.append(
            cell("broken", "standard", 20.0, s, status="error", armse=math.nan, msad=math.nan)
        )
    table = parse_markdown_tables(render_markdown(pd.DataFrame(rows), metrics=["armse", "msad"]))[
        "standard"
    ]
    ranks = dict(zip(table["method"], table["rank"], strict=True))
    # fcls (registered as supervised): a reference, not ranked. Among the blind methods:
    # abund: armse rank 1, msad not applicable -> 1; blind1: (2 + 1) / 2; broken: (4 + 3) / 2
    assert ranks == {"abund": "1.00", "blind1": "1.50", "blind2": "2.50", "broken": "3.50",
                     REFERENCE_LABEL: "", "fcls (given E)": "ref"}  # fmt: skip
    assert list(table["method"]) == [
        "abund", "blind1", "blind2", "broken", REFERENCE_LABEL, "fcls (given E)",
    ]  # fmt: skip


def test_cli_rank_by_changes_the_rank_and_is_stated(store_path, capsys) -> None:
    path, _ = store_path
    pages = {}
    for rank_by in ("armse", "msad"):
        argv = ["leaderboard", "--store", str(path), "--metrics", "armse,msad", "--rank-by", rank_by]
        assert main(argv) == 0
        pages[rank_by] = capsys.readouterr().out
    for rank_by, page in pages.items():
        assert f"rank by: `{rank_by}`" in page
        assert f"`rank`: mean over the columns of the rank metrics (`{rank_by}`)" in page
    # alpha has the lowest armse and the highest msad (grid_frame): first, then last
    by_armse = parse_markdown_tables(pages["armse"])["weak"]
    by_msad = parse_markdown_tables(pages["msad"])["weak"]
    assert list(by_armse["method"]) == ["alpha", "beta", "gamma"]
    assert list(by_msad["method"]) == ["gamma", "beta", "alpha"]
    assert list(by_armse["rank"]) == list(by_msad["rank"]) == ["1.00", "2.00", "3.00"]
    # the default: every quality metric shown, stated as such
    assert main(["leaderboard", "--store", str(path), "--metrics", "armse,msad,fit_seconds"]) == 0
    assert "rank by: `armse`, `msad`)" in capsys.readouterr().out


def test_cli_bad_rank_by_is_one_line_exit_2(store_path, tmp_path, capsys) -> None:
    path, _ = store_path
    out = tmp_path / "lb.md"
    cases = [
        (["--rank-by", "armsee"], "did you mean 'armse'"),
        (["--rank-by", "fit_seconds"], "cost metric"),
        (["--rank-by", "armse,,msad"], "empty item"),
        (["--rank-by", "armse,armse"], "named twice"),
    ]
    for extra, message in cases:
        for fmt in ("md", "csv"):
            argv = ["leaderboard", "--store", str(path), "--format", fmt, *extra]
            assert exit_code([*argv, "--output", str(out)]) == 2, extra
            err = capsys.readouterr().err
            assert message in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
    report = tmp_path / "report"
    argv = ["report", "--store", str(path), "--output", str(report), "--rank-by", "armsee"]
    assert exit_code(argv) == 2
    err = capsys.readouterr().err
    assert "did you mean 'armse'" in err and len(err.strip().splitlines()) == 1, err
    assert not report.exists()


def test_profile_selection_takes_cells_shared_with_another_profile() -> None:
    """A method with the same preset under both profiles (fcls has none) makes one cell
    for both, stored under the first run's profile: the other profile's page shows it
    where that profile ran on the same scene, and nowhere else."""
    rows = [
        cell("vca", "standard", 20.0, 0, profile="full", method_params=json.dumps({"random_state": 0})),
        cell("fcls", "standard", 20.0, 0, profile="quick"),  # shared: fcls has no presets
        cell("daeu", "standard", 20.0, 0, profile="quick"),  # daeu's presets differ: not shared
        cell("fcls", "weak", 20.0, 0, profile="quick"),  # a scene the full grid did not run
        cell("fcls", "standard", 20.0, 1, profile="quick"),  # another seed: not in the full grid
    ]
    frame = pd.DataFrame(rows)
    chosen = select(frame, profile="full")
    assert sorted(zip(chosen["method"], chosen["scenario"], chosen["seed"], strict=True)) == [
        ("fcls", "standard", 0), ("vca", "standard", 0)]
    assert len(select(frame, profile="quick")) == 4  # its own rows: vca's presets differ, so its full cell is not quick's
