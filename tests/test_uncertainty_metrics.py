"""Uncertainty metrics on constructed inputs with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from hubench.metrics.uncertainty import (
    brier_score,
    expected_calibration_error,
    interval_coverage,
    interval_width,
    normal_interval,
    presence_from_members,
    presence_from_normal,
    reliability,
    uncertainty_metrics,
)


def test_perfectly_calibrated_predictor():
    rng = np.random.default_rng(0)
    n = 400_000
    prob = rng.random(n)
    outcome = rng.random(n) < prob
    # ECE of a calibrated predictor: only sampling noise plus the within-bin spread of
    # probabilities, which cancels in the mean (~1e-3 at this n).
    assert expected_calibration_error(prob, outcome) < 0.005
    # Brier of a calibrated uniform predictor: E[p(1 - p)] = 1/6.
    assert brier_score(prob, outcome) == pytest.approx(1 / 6, abs=2e-3)


def test_constant_predictor_by_hand():
    prob = np.full(1000, 0.3)
    outcome = np.r_[np.ones(500), np.zeros(500)]
    assert expected_calibration_error(prob, outcome) == pytest.approx(0.2)
    assert brier_score(prob, outcome) == pytest.approx(0.5 * 0.3**2 + 0.5 * 0.7**2)
    mean_prob, freq, count = reliability(prob, outcome)
    assert count[3] == 1000 and count.sum() == 1000
    assert mean_prob[3] == pytest.approx(0.3) and freq[3] == pytest.approx(0.5)
    assert np.isnan(mean_prob[0])


def test_probability_one_falls_in_last_bin():
    _, _, count = reliability(np.array([1.0, 0.0, 0.95]), np.array([1.0, 0.0, 1.0]))
    assert count[-1] == 2 and count[0] == 1


def test_gaussian_interval_covers_ninety_percent():
    rng = np.random.default_rng(1)
    mean = rng.uniform(0.3, 0.7, 200_000)
    std = rng.uniform(0.01, 0.05, mean.size)
    truth = mean + std * rng.standard_normal(mean.size)
    lower, upper = normal_interval(mean, std)
    assert interval_coverage(truth, lower, upper) == pytest.approx(0.9, abs=0.003)
    assert interval_width(lower, upper) == pytest.approx(2 * norm.ppf(0.95) * std.mean(), rel=1e-9)


def test_coverage_and_width_by_hand():
    A = np.array([0.1, 0.5, 0.9, 0.0])
    lower = np.array([0.0, 0.6, 0.8, 0.0])
    upper = np.array([0.2, 0.7, 0.9, 0.1])
    assert interval_coverage(A, lower, upper) == 0.75  # bounds included
    assert interval_width(lower, upper) == pytest.approx((0.2 + 0.1 + 0.1 + 0.1) / 4)
    with pytest.raises(ValueError, match="share one shape"):
        interval_coverage(A, lower[:3], upper)


def test_presence_probabilities():
    members = np.array([[0.0, 0.1], [0.06, 0.2], [0.04, 0.0], [0.05, 0.3]])
    assert presence_from_members(members, 0.05).tolist() == [0.5, 0.75]
    p = presence_from_normal(np.array([0.05, 0.1, 0.0]), np.array([0.01, 0.0, 0.0]), 0.05)
    assert p.tolist() == [0.5, 1.0, 0.0]


def test_uncertainty_metrics_weak_and_unmatched_columns():
    A = np.array([[0.9, 0.1, 0.0], [0.5, 0.0, 0.5], [0.2, 0.08, 0.72]])
    lower = np.array([[0.8, 0.0, np.nan], [0.6, 0.0, np.nan], [0.1, 0.0, np.nan]])
    upper = np.array([[1.0, 0.2, np.nan], [0.7, 0.05, np.nan], [0.3, 0.1, np.nan]])
    presence = np.array([[1.0, 0.8, np.nan], [1.0, 0.2, np.nan], [1.0, 0.6, np.nan]])
    weak = np.array([False, True, True])  # endmember 2 unmatched: left out
    m = uncertainty_metrics(A, lower, upper, presence, weak, tau=0.05)
    assert m["coverage90"] == pytest.approx(5 / 6)
    assert m["coverage90_error"] == pytest.approx(abs(5 / 6 - 0.9))
    assert m["weak_coverage90"] == 1.0
    assert m["weak_interval_width"] == pytest.approx((0.2 + 0.05 + 0.1) / 3)
    truth = np.array([1.0, 0.0, 1.0])
    assert m["weak_presence_brier"] == pytest.approx(np.mean((np.array([0.8, 0.2, 0.6]) - truth) ** 2))
    no_weak = uncertainty_metrics(A, lower, upper, presence, np.zeros(3, bool), tau=0.05)
    assert math.isnan(no_weak["weak_coverage90"]) and math.isnan(no_weak["weak_presence_ece"])


def test_a_methods_own_std_is_scored_like_an_interval():
    """Item 4: an Estimate carrying only a standard deviation is scored with its Gaussian
    90% interval and normal-tail presence probability, through the usual score()."""
    import hubench
    from hubench.scene import AbundanceUncertainty, Estimate

    scene = hubench.make_scene("weak", seed=0, snr_db=30, profile="ci")
    rng = np.random.default_rng(5)
    std = np.full(scene.A.shape, 0.02)
    A_hat = scene.A + std * rng.standard_normal(scene.A.shape)  # truth ~ N(A_hat, std)
    est = Estimate(A=A_hat, E=scene.E.copy(), uncertainty=AbundanceUncertainty(std=std))
    scores = hubench.score(scene, est)
    lower, upper = normal_interval(A_hat, std)
    assert scores["coverage90"] == pytest.approx(interval_coverage(scene.A, lower, upper))
    assert 0.8 < scores["coverage90"] < 0.97  # clipping at 0 lifts it a little
    assert scores["interval_width"] == pytest.approx(interval_width(lower, upper))
    weak = np.flatnonzero(scene.weak)
    prob = presence_from_normal(A_hat[:, weak], std[:, weak], 0.05)
    truth = (scene.A[:, weak] >= 0.05).astype(float)
    assert scores["weak_presence_brier"] == pytest.approx(brier_score(prob, truth))
    plain = hubench.score(scene, Estimate(A=A_hat, E=scene.E.copy()))
    assert "coverage90" not in plain or math.isnan(plain["coverage90"])
