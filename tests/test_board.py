"""The leaderboard model: numbers computed once (checked against numpy/scipy directly),
renderers that only format them."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from test_leaderboard import cell, grid_frame

from hubench.errors import ParameterError
from hubench.report import build_leaderboard, render_csv, render_markdown, summarize
from hubench.report.board import Leaderboard
from hubench.report.render_csv import board_csv
from hubench.report.render_md import (
    REFERENCE_LABEL,
    REFERENCE_RANK,
    board_markdown,
    rank_line,
    scenario_frame,
)
from hubench.report.significance import bootstrap_mean_ci, compare_to_best
from hubench.report.text import format_mean_std, rank_text, snr_text


def test_snr_text_is_the_one_formatter() -> None:
    assert snr_text(20.0) == "20 dB"
    assert snr_text(2.5) == "2.5 dB"
    assert snr_text(-5.0) == "-5 dB"
    assert snr_text(math.inf) == "noiseless"
    assert snr_text(math.nan) == "real noise"
    assert rank_text(2.125) == "2.12" and rank_text(math.nan) == "n/a"


def _board(frame: pd.DataFrame, statistics: bool = True) -> Leaderboard:
    metrics = [m for m in ("armse", "msad", "fit_seconds") if m in frame.columns]
    return build_leaderboard(frame, metrics, statistics=statistics)


def test_cells_hold_the_statistics_of_the_ok_cells() -> None:
    frame = grid_frame()
    frame.loc[frame.index[0], ["status", "armse"]] = ["error", math.nan]  # alpha/standard/10/0
    board = _board(frame)
    cells = board.cells.set_index(["scenario", "metric", "snr_db", "method"])
    for (scenario, method, snr), group in frame.groupby(["scenario", "method", "snr_db"]):
        values = group.loc[group.status == "ok", "armse"].to_numpy()
        got = cells.loc[(scenario, "armse", snr, method)]
        assert got["n"] == len(values)
        assert got["mean"] == pytest.approx(values.mean(), rel=1e-15)
        assert got["std"] == pytest.approx(values.std(ddof=1), rel=1e-12)
        low, high = bootstrap_mean_ci(values)
        assert (got["ci_low"], got["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    # cost: one pooled column per scenario, over every SNR, not ranked
    pooled = board.cells[board.cells.pooled]
    assert set(pooled["metric"]) == {"fit_seconds"} and pooled["rank"].isna().all()
    alpha = frame[(frame.scenario == "weak") & (frame.method == "alpha")]["fit_seconds"]
    got = pooled[(pooled.scenario == "weak") & (pooled.method == "alpha")].iloc[0]
    assert got["mean"] == pytest.approx(alpha.mean()) and got["n"] == 6
    # the CSV's summary: the same groups, in the same order as summarize()
    pd.testing.assert_frame_equal(
        board.summary[["scenario", "method", "snr_db", "metric", "mean", "std", "n", "reference"]],
        summarize(frame, ["armse", "msad", "fit_seconds"]),
    )


def test_best_ranks_and_significance_are_data() -> None:
    frame = grid_frame()
    board = _board(frame)
    armse = board.cells[(board.cells.metric == "armse") & (board.cells.scenario == "standard")]
    for _, column in armse.groupby("column"):
        best = column.loc[column["mean"].idxmin(), "method"]
        assert list(column.loc[column.best, "method"]) == [best]
        assert sorted(column["rank"]) == [1.0, 2.0, 3.0]
    test = compare_to_best(
        frame.assign(method_label=frame.method)[frame.scenario == "standard"], "msad", "lower"
    )
    msad = board.cells[(board.cells.metric == "msad") & (board.cells.scenario == "standard")]
    for method, rows in msad.groupby("method"):
        assert rows["worse"].tolist() == [bool(test.loc[method, "worse"])] * 2
        assert rows["pvalue"].isna().all() == math.isnan(test.loc[method, "pvalue"])
    # a method's rank is the mean of its column ranks, unrounded
    ranks = board.methods.set_index(["scenario", "method"])["rank"]
    standard = board.cells[(board.cells.scenario == "standard") & ~board.cells.pooled]
    for method, rows in standard.groupby("method"):
        assert ranks[("standard", method)] == rows["rank"].mean()
    avg = board.average_rank.set_index("method")["rank"]
    assert avg["alpha"] == pytest.approx(
        (ranks[("standard", "alpha")] + ranks[("weak", "alpha")]) / 2
    )


def test_counts_supervision_and_failures() -> None:
    rows = [cell("blind", "weak", 20.0, s, armse=0.1 + s, task="blind") for s in range(3)]
    rows += [cell("given", "weak", 20.0, s, armse=0.05, task="supervised") for s in range(2)]
    rows.append(cell("given", "weak", 20.0, 2, status="degenerate", reason="collapsed\nmore",
                     armse=0.3, task="supervised"))  # fmt: skip
    rows.append(cell("blind", "weak", math.inf, 0, status="timeout", reason="ran past 1 s",
                     armse=math.nan, task="blind"))  # fmt: skip
    board = _board(pd.DataFrame(rows))
    methods = board.methods.set_index("method")
    assert methods.loc["given", "supervised"] and not methods.loc["blind", "supervised"]
    assert methods.loc["given", ["failed", "degenerate", "total"]].tolist() == [0, 1, 3]
    assert methods.loc["blind", ["failed", "degenerate", "total"]].tolist() == [1, 0, 4]
    assert board.failures[["method", "status"]].values.tolist() == [
        ["blind", "timeout"], ["given", "degenerate"],
    ]  # fmt: skip
    prov = board.provenance
    assert (prov.cells, prov.failed, prov.degenerate) == (7, 1, 1)
    assert prov.snrs == (20.0, math.inf) and prov.seeds == (0, 1, 2)
    # a degenerate cell is stored, not averaged
    given = board.cells[(board.cells.method == "given") & (board.cells.metric == "armse")]
    assert given.loc[given.snr_db == 20.0, "mean"].item() == pytest.approx(0.05)
    table = scenario_frame(board, "weak")
    assert list(table["method"]) == ["blind", REFERENCE_LABEL, "given (given E)"]
    assert list(table["rank"]) == ["1.00", "", REFERENCE_RANK]
    assert list(table["degenerate"]) == ["0/4", "", "1/3"]
    assert "armse @ noiseless" not in table.columns  # no value there: column left out


def test_renderers_only_format_the_board() -> None:
    frame = grid_frame()
    board = _board(frame)
    assert render_csv(frame, metrics=["armse", "msad", "fit_seconds"]) == board_csv(board)
    for statistics in (False, True):
        page = board_markdown(board, statistics=statistics)
        assert page == render_markdown(
            frame, metrics=["armse", "msad", "fit_seconds"], statistics=statistics
        )
    table = scenario_frame(board, "weak")
    methods = board.methods[board.methods.scenario == "weak"]
    assert list(table["rank"]) == [rank_text(r) for r in methods["rank"]]
    cells = board.cells[(board.cells.scenario == "weak") & (board.cells.snr_db == 30.0)
                        & (board.cells.metric == "armse")].set_index("method")  # fmt: skip
    for method, text in zip(methods["method"], table["armse @ 30 dB"], strict=True):
        row = cells.loc[method]
        plain = format_mean_std(row["mean"], row["std"], row["n"])
        assert text == (f"**{plain}**" if row["best"] else plain)
    csv = pd.read_csv(io.StringIO(board_csv(board)))
    assert len(csv) == len(board.summary)


def test_statistics_are_optional_but_never_rendered_without_them() -> None:
    board = _board(grid_frame(), statistics=False)
    assert not board.statistics
    assert board.cells["ci_low"].isna().all() and not board.cells["worse"].any()
    assert board.cells["pvalue"].isna().all()
    with pytest.raises(ParameterError, match="statistics"):
        board_markdown(board, statistics=True)


def test_extras_end_their_scenario_section() -> None:
    frame = grid_frame()
    frame.loc[frame.index[0], "status"] = "error"  # a 'Cells not ok' list in 'standard'
    board = _board(frame)
    page = board_markdown(board, extras={"standard": "\n### Figures\n\nfig\n", "nope": "x"})
    standard, weak = page.split("\n## ")[1:]
    assert standard.startswith("standard\n") and standard.endswith("error \n\n### Figures\n\nfig\n")
    assert weak.startswith("weak\n") and "Figures" not in weak
    assert page.replace("\n### Figures\n\nfig\n", "") == board_markdown(board)
    assert (
        board_markdown(board, generator="hubench report").count("Generated by `hubench report`")
        == 1
    )


def test_real_scene_has_bare_columns_and_no_snr() -> None:
    rows = [cell("a", "samson", math.nan, s, armse=0.1 * (s + 1), scenario_params="{}")
            for s in range(3)]  # fmt: skip
    board = _board(pd.DataFrame(rows))
    assert board.columns["metric"].tolist() == ["armse", "fit_seconds"]
    assert board.columns["snr_db"].isna().all() and board.provenance.snrs == ()
    assert list(scenario_frame(board, "samson").columns) == [
        "method", "rank", "armse", "fit_seconds", "failed",
    ]  # fmt: skip
    assert "| SNR         | n/a (real scenes)" in board_markdown(board)
    assert np.isnan(board.summary["snr_db"]).all()


# ---- the reference block and the rank metrics ---------------------------------------
def _with_reference(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (every row blind) plus a supervised method ``oracle`` that is the best of
    every quality metric, so that ranking it with the blind ones would move them."""
    rows = [
        cell("oracle", r.scenario, r.snr_db, r.seed, armse=0.01, msad=math.nan,
             weak_recall=1.0, fit_seconds=0.01, task="supervised")
        for r in frame[frame.method == "alpha"].itertuples()
    ]  # fmt: skip
    return pd.concat([frame.assign(task="blind"), pd.DataFrame(rows)], ignore_index=True)


def test_reference_block_is_shown_and_never_ranked() -> None:
    frame = _with_reference(grid_frame())
    board = _board(frame)
    methods = board.methods[board.methods.scenario == "weak"]
    assert list(methods["method"])[-1] == "oracle" and methods["supervised"].tolist()[-1]
    assert math.isnan(methods["rank"].tolist()[-1])
    oracle = board.cells[board.cells.method == "oracle"]
    assert not oracle["best"].any() and oracle["rank"].isna().all()
    assert oracle["pvalue"].isna().all() and not oracle["worse"].any()
    # best (bold) is the best blind method, although the reference is better
    armse = board.cells[(board.cells.metric == "armse") & (board.cells.scenario == "weak")]
    assert set(armse.loc[armse.best, "method"]) == {"alpha"}
    assert "oracle" not in set(board.average_rank["method"])
    table = scenario_frame(board, "weak")
    assert list(table["method"]) == ["alpha", "beta", "gamma", REFERENCE_LABEL, "oracle (given E)"]
    assert list(table["rank"])[-2:] == ["", REFERENCE_RANK]
    assert table.iloc[3, 1:].eq("").all()  # the label row has no cell
    oracle_row = table.iloc[4]
    assert not any(str(v).startswith("**") for v in oracle_row)
    page = board_markdown(board, statistics=True)
    assert REFERENCE_LABEL in page and "the reference block is not ranked" in page
    assert "Reference methods (given the true endmembers or prior spectra) are not ranked." in page
    csv = pd.read_csv(io.StringIO(board_csv(board)))
    assert set(csv.loc[csv.reference, "method"]) == {"oracle"}
    assert len(csv) == len(board.summary)


def test_ranks_within_task_do_not_depend_on_the_reference() -> None:
    frame = grid_frame()
    without = _board(frame.assign(task="blind"))
    with_ref = _board(_with_reference(frame))
    blind = with_ref.cells[with_ref.cells.method != "oracle"].reset_index(drop=True)
    pd.testing.assert_frame_equal(blind, without.cells)
    pd.testing.assert_frame_equal(
        with_ref.methods[~with_ref.methods.supervised].reset_index(drop=True), without.methods
    )
    pd.testing.assert_frame_equal(with_ref.average_rank, without.average_rank)
    # several supervised methods: none is ranked, among themselves either
    two = _with_reference(frame)
    extra = two[two.method == "oracle"].assign(method="oracle2", armse=0.02)
    board = _board(pd.concat([two, extra], ignore_index=True))
    refs = board.methods[board.methods.supervised]
    assert refs["rank"].isna().all() and set(refs["method"]) == {"oracle", "oracle2"}
    assert set(board.methods.loc[~board.methods.supervised, "method"]) == {"alpha", "beta", "gamma"}


def test_rank_by_chooses_the_columns_the_rank_averages() -> None:
    frame = grid_frame()
    default = _board(frame)
    assert default.rank_by == ["armse", "msad"]  # every quality metric shown, no cost
    by_armse = build_leaderboard(frame, ["armse", "msad", "fit_seconds"], rank_by=["armse"])
    assert by_armse.rank_by == ["armse"]
    ranks = by_armse.methods.set_index(["scenario", "method"])["rank"]
    # alpha has the lowest armse, gamma the highest: ranks 1, 2, 3 in every scenario
    assert ranks[("weak", "alpha")] == 1.0 and ranks[("weak", "gamma")] == 3.0
    msad = by_armse.cells[by_armse.cells.metric == "msad"]
    assert msad["rank"].isna().all() and msad["best"].any()  # shown, bold, not ranked
    assert rank_line(by_armse, "weak").startswith("`rank` averages 2 columns of the rank metrics "
                                                 "(`armse`; rank by: `armse`)")  # fmt: skip
    # a rank metric not among the shown ones is added to them
    added = build_leaderboard(frame, ["armse"], rank_by=["msad"], statistics=False)
    assert list(added.metrics.index) == ["armse", "msad"] and added.rank_by == ["msad"]
    assert added.methods.set_index(["scenario", "method"])["rank"][("weak", "gamma")] == 1.0


def test_capped_training_is_counted_per_method() -> None:
    rows = [cell("deep", "standard", 20.0, seed, armse=0.1, task="blind") for seed in range(3)]
    rows += [cell("classic", "standard", 20.0, seed, armse=0.2, task="blind") for seed in range(3)]
    frame = pd.DataFrame(rows)
    frame["training_converged"] = [1.0, 0.0, 0.0, math.nan, math.nan, math.nan]
    board = _board(frame)
    methods = board.methods.set_index("method")
    assert methods.loc["deep", ["trained", "capped"]].tolist() == [3, 2]
    assert methods.loc["classic", ["trained", "capped"]].tolist() == [0, 0]
    table = scenario_frame(board, "standard").set_index("method")
    assert table.loc["deep", "capped"] == "2/3" and table.loc["classic", "capped"] == ""
    assert "capped" not in scenario_frame(_board(pd.DataFrame(rows)), "standard").columns


def test_a_method_given_priors_is_a_reference_not_ranked() -> None:
    frame = grid_frame().assign(task="blind")
    rows = [
        cell("priorsmethod", r.scenario, r.snr_db, r.seed, armse=0.005, msad=0.001,
             weak_recall=1.0, fit_seconds=0.01, task="priors")
        for r in frame[frame.method == "alpha"].itertuples()
    ]  # fmt: skip
    board = _board(pd.concat([frame, pd.DataFrame(rows)], ignore_index=True))
    methods = board.methods[board.methods.scenario == "weak"].set_index("method")
    given = [m for m in methods.index if m.startswith("priorsmethod")]
    assert len(given) == 1 and bool(methods.loc[given[0], "supervised"])
    assert math.isnan(methods.loc[given[0], "rank"])
    assert not any(m.startswith("priorsmethod") for m in board.average_rank["method"])
    armse = board.cells[(board.cells.metric == "armse") & (board.cells.scenario == "weak")]
    assert set(armse.loc[armse.best, "method"]) == {"alpha"}  # the best blind one
