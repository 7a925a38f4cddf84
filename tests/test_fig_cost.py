"""Accuracy-against-compute figure: the Pareto front and the per-method points."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from hubench.report.fig_cost import method_points, pareto_front, quality_vs_cost


def test_pareto_front_known_answer_lower_is_better():
    # (time, error): a fast-bad, a slow-good, one dominated by both, one tie in time.
    seconds = [0.01, 10.0, 20.0, 0.01, 5.0]
    values = [0.30, 0.05, 0.06, 0.31, 0.05]
    front = pareto_front(seconds, values, "lower")
    # 0: fast and better than 3 (same time); 4: faster than 1 at the same error.
    assert front.tolist() == [True, False, False, False, True]


def test_pareto_front_higher_is_better_and_nan():
    front = pareto_front([1.0, 2.0, 3.0, math.nan], [0.5, 0.9, 0.8, 1.0], "higher")
    assert front.tolist() == [True, True, False, False]


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(0)
    t, v = rng.random(40), rng.random(40)
    front = pareto_front(t, v, "lower")
    for i in range(40):
        dominated = any(
            t[j] <= t[i] and v[j] <= v[i] and (t[j] < t[i] or v[j] < v[i]) for j in range(40)
        )
        assert front[i] == (not dominated)


def _frame() -> pd.DataFrame:
    rows = []
    for seed in (0, 1):
        for snr, err in ((10.0, 0.2), (30.0, 0.1)):
            rows.append({"method_label": "slow", "method": "slow", "status": "ok", "seed": seed,
                         "snr_db": snr, "fit_seconds": 2.0 + seed, "msad": err + 0.01 * seed,
                         "task": "blind"})
            rows.append({"method_label": "fast", "method": "fast", "status": "ok", "seed": seed,
                         "snr_db": snr, "fit_seconds": 0.01, "msad": err + 0.1,
                         "task": "blind"})
    rows.append({"method_label": "slow", "method": "slow", "status": "error", "seed": 2,
                 "snr_db": 10.0, "fit_seconds": 99.0, "msad": math.nan, "task": "blind"})
    return pd.DataFrame(rows)


def test_method_points_by_hand():
    pts = method_points(_frame(), "msad").set_index("method")
    # slow: cells 0.2, 0.1 (seed 0) and 0.21, 0.11 (seed 1); the error cell is left out.
    assert pts.loc["slow", "value"] == pytest.approx((0.2 + 0.1 + 0.21 + 0.11) / 4)
    assert pts.loc["slow", "seconds"] == pytest.approx(2.5)
    assert pts.loc["slow", "low"] == pytest.approx(0.15)
    assert pts.loc["slow", "high"] == pytest.approx(0.16)
    assert pts.loc["slow", "cells"] == 4
    assert not pts["reference"].any()


def test_quality_vs_cost_draws_and_refuses_empty():
    fig = quality_vs_cost(_frame(), "toy", metrics=["msad"])
    assert fig is not None
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert any(line.get_label() == "Pareto front" for line in ax.get_lines())
    failed = _frame().assign(status="error")
    assert quality_vs_cost(failed, "toy", metrics=["msad"]) is None
