"""Bootstrap CI, Wilcoxon comparison to the best method, average rank: checked against
scipy.stats and against exact enumeration on known inputs."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hubench.errors import ParameterError
from hubench.report.significance import (
    average_rank,
    bootstrap_mean_ci,
    ci_half_width,
    compare_to_best,
    paired_wilcoxon,
)


@pytest.mark.parametrize("seed", [0, 11])
def test_bootstrap_matches_scipy_exactly(seed: int) -> None:
    x = np.array([0.112, 0.305, 0.251, 0.702, 0.199, 0.150])
    low, high = bootstrap_mean_ci(x, seed=seed)
    ref = stats.bootstrap(
        (x,),
        np.mean,
        method="percentile",
        n_resamples=9999,
        confidence_level=0.95,
        rng=np.random.default_rng(seed),
    )
    assert float(low) == pytest.approx(ref.confidence_interval.low, rel=1e-12)
    assert float(high) == pytest.approx(ref.confidence_interval.high, rel=1e-12)
    assert ci_half_width(x, seed=seed) == pytest.approx((high - low) / 2)


def test_bootstrap_vectorised_rows_match_scipy() -> None:
    X = np.random.default_rng(5).normal(size=(4, 7))
    low, high = bootstrap_mean_ci(X, confidence=0.9, n_resamples=2000)
    ref = stats.bootstrap(
        (X,),
        np.mean,
        axis=-1,
        method="percentile",
        n_resamples=2000,
        confidence_level=0.9,
        rng=np.random.default_rng(0),
    )
    np.testing.assert_allclose(low, ref.confidence_interval.low, rtol=1e-12)
    np.testing.assert_allclose(high, ref.confidence_interval.high, rtol=1e-12)


def test_bootstrap_covers_the_mean_and_shrinks_with_n() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.normal(1.0, 1.0, 5), rng.normal(1.0, 1.0, 200)
    for x in (small, large):
        low, high = bootstrap_mean_ci(x)
        assert low < x.mean() < high
    assert ci_half_width(large) < ci_half_width(small)
    # the normal-theory half-width 1.96 s / sqrt(n) for large n
    assert ci_half_width(large) == pytest.approx(1.96 * large.std() / math.sqrt(200), rel=0.1)


def test_bootstrap_edge_cases() -> None:
    assert math.isnan(ci_half_width([0.3]))
    assert math.isnan(ci_half_width([0.3, np.nan]))  # one finite value left
    assert ci_half_width([0.2, 0.2, 0.2]) == 0.0
    with pytest.raises(ParameterError, match="NaN"):
        bootstrap_mean_ci([0.1, np.nan])
    with pytest.raises(ParameterError, match="confidence"):
        bootstrap_mean_ci([0.1, 0.2], confidence=1.5)


def _exact_two_sided_p(d: np.ndarray) -> float:
    """Exact Wilcoxon p-value by enumerating every sign pattern (no ties, no zeros)."""
    ranks = stats.rankdata(np.abs(d))
    t_obs = ranks[d > 0].sum()
    totals = np.array(
        [
            ranks[list(s)].sum()
            for n in range(len(d) + 1)
            for s in itertools.combinations(range(len(d)), n)
        ]
    )
    p_low = np.mean(totals <= t_obs)
    p_high = np.mean(totals >= t_obs)
    return float(min(1.0, 2 * min(p_low, p_high)))


def test_wilcoxon_matches_scipy_and_exact_enumeration() -> None:
    x = np.array([0.21, 0.35, 0.18, 0.44, 0.29, 0.31, 0.52, 0.27, 0.39])
    y = np.array([0.20, 0.30, 0.185, 0.36, 0.21, 0.34, 0.40, 0.17, 0.41])
    stat, p = paired_wilcoxon(x, y)
    ref = stats.wilcoxon(x, y)
    assert stat == pytest.approx(ref.statistic) and p == pytest.approx(ref.pvalue, rel=1e-12)
    assert p == pytest.approx(_exact_two_sided_p(x - y), rel=1e-9)
    # every one of 9 pairs worse: the smallest two-sided exact p-value, 2 / 2**9
    _, p_all = paired_wilcoxon(y + 0.1 + np.arange(9) * 1e-3, y)
    assert p_all == pytest.approx(2 / 2**9)


def test_wilcoxon_degenerate_and_bad_input() -> None:
    assert paired_wilcoxon([0.1, 0.2], [0.1, 0.2]) == (0.0, 1.0)
    with pytest.raises(ParameterError, match="equal lengths"):
        paired_wilcoxon([1.0, 2.0], [1.0])
    with pytest.raises(ParameterError, match="NaN"):
        paired_wilcoxon([1.0, np.nan], [1.0, 2.0])


def _frame() -> pd.DataFrame:
    """Three methods, seeds 0-2 x SNR 10/20/30 (9 pairs): 'good' best, 'bad' always worse,
    'close' sometimes better sometimes worse than 'good'."""
    rng = np.random.default_rng(0)
    close = [0.003, -0.002, 0.004, -0.001, 0.002, -0.003, 0.001, 0.0025, -0.0015]  # mean > 0
    rows = []
    for i, (seed, snr) in enumerate(itertools.product(range(3), (10.0, 20.0, 30.0))):
        base = 0.05 + 0.1 / snr + rng.normal(0, 0.002)
        rows.append(("good", seed, snr, "ok", base))
        rows.append(("bad", seed, snr, "ok", base + 0.02 + rng.uniform(0, 0.01)))
        rows.append(("close", seed, snr, "ok", base + close[i]))
    frame = pd.DataFrame(rows, columns=["method_label", "seed", "snr_db", "status", "armse"])
    return frame.sample(frac=1.0, random_state=1)  # pairing must not rely on row order


def test_compare_to_best_pairs_by_seed_and_snr() -> None:
    frame = _frame()
    out = compare_to_best(frame, "armse", "lower")
    assert out.loc["good", "best"] and not out.loc["good", "worse"]
    assert math.isnan(out.loc["good", "pvalue"])
    assert out.loc["bad", "worse"] and out.loc["bad", "n_pairs"] == 9
    assert out.loc["bad", "pvalue"] == pytest.approx(2 / 2**9)
    wide = frame.pivot_table(index=["seed", "snr_db"], columns="method_label", values="armse")
    ref = stats.wilcoxon(wide["close"], wide["good"])
    assert out.loc["close", "pvalue"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert out.loc["close", "worse"] == bool(ref.pvalue < 0.05)
    # higher-is-better flips the best
    flipped = compare_to_best(frame, "armse", "higher")
    assert flipped.loc["bad", "best"] and flipped.loc["good", "worse"]


def test_compare_to_best_skips_failed_cells() -> None:
    frame = _frame()
    failed = (frame["method_label"] == "bad") & (frame["seed"] == 0)
    frame.loc[failed, "status"] = "error"
    frame.loc[failed, "armse"] = np.nan
    out = compare_to_best(frame, "armse", "lower")
    assert out.loc["bad", "n_pairs"] == 6
    assert out.loc["bad", "pvalue"] == pytest.approx(2 / 2**6)
    assert not out.loc["bad", "worse"] or out.loc["bad", "pvalue"] < 0.05


def test_average_rank_skips_missing_scenarios() -> None:
    ranks = pd.DataFrame(
        {"standard": [1.0, 2.0, 3.0], "weak": [2.0, 1.0, np.nan]}, index=["a", "b", "c"]
    )
    np.testing.assert_allclose(average_rank(ranks).to_numpy(), [1.5, 1.5, 3.0])


def test_leaderboard_table_with_ci_and_markers() -> None:
    from hubench.report.board import build_labelled
    from hubench.report.frame import labelled
    from hubench.report.render_md import MARKER, average_rank_frame, scenario_frame

    frame = _frame().assign(
        method=lambda f: f["method_label"], scenario="standard", method_version="1",
        method_params="{}", scenario_params="{}",
    )  # fmt: skip
    # a second scenario where 'bad' is best and 'good' second ('close' did not run)
    weak = frame[frame.method != "close"].assign(scenario="weak")
    weak.loc[weak.method == "good", "armse"] += 1.0
    both = pd.concat([frame, weak], ignore_index=True).drop(columns="method_label")
    board = build_labelled(labelled(both), ["armse"])
    plain = scenario_frame(board, "standard")
    table = scenario_frame(board, "standard", statistics=True)
    assert list(table.columns) == list(plain.columns)
    cells = dict(zip(table["method"], table["armse @ 10 dB"], strict=True))
    assert cells["good"].startswith("**") and MARKER not in cells["good"]
    assert cells["bad"].endswith(MARKER) and MARKER not in cells["close"]
    values = frame.loc[(frame.method == "bad") & (frame.snr_db == 10.0), "armse"].to_numpy()
    low, high = stats.bootstrap(
        (values,), np.mean, method="percentile", n_resamples=9999, rng=np.random.default_rng(0)
    ).confidence_interval
    mean_text, _, rest = cells["bad"].partition(" ± ")
    assert float(mean_text) == pytest.approx(values.mean(), abs=5e-4)
    assert float(rest.split()[0]) == pytest.approx((high - low) / 2, abs=5e-5)
    # the board holds the numbers themselves: the interval, the test, the ranks
    row = board.cells[
        (board.cells.scenario == "standard") & (board.cells.method == "bad")
        & (board.cells.snr_db == 10.0)
    ].iloc[0]  # fmt: skip
    assert row["ci_low"] == pytest.approx(low, rel=1e-12)
    assert row["ci_high"] == pytest.approx(high, rel=1e-12)
    assert row["worse"] and row["pvalue"] == pytest.approx(2 / 2**9)
    ranks = board.methods.set_index(["scenario", "method"])["rank"]
    # standard: good 4/3, close 5/3, bad 3; weak: bad 1, good 2
    assert ranks[("standard", "good")] == pytest.approx(4 / 3, rel=1e-15)
    avg = board.average_rank.set_index("method")
    assert avg.loc["good", "rank"] == (ranks[("standard", "good")] + 2.0) / 2  # unrounded ranks
    assert list(avg["scenarios"]) == [1, 2, 2]
    text = average_rank_frame(board)
    # good and close tie at 5/3 (to the last bit or not): ties are ordered by name
    assert list(text["method"]) == ["close", "good", "bad"]
    assert list(text.columns) == ["method", "standard", "weak", "avg rank", "scenarios"]
    assert list(text.iloc[1]) == ["good", "1.33", "2.00", "1.67", "2"]
    assert list(text.iloc[0]) == ["close", "1.67", "", "1.67", "1"]
