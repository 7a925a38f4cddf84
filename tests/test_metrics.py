"""Metrics against independent loop references and hand-worked examples."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import hubench
from hubench.errors import ParameterError, UnknownNameError, ValidationError
from hubench.metrics import (
    METRICS,
    align,
    average_precision,
    evaluate,
    list_metrics,
    metric_info,
    sad,
    sad_matrix,
    score,
)
from hubench.metrics.registry import metric_direction
from hubench.scene import Estimate, Scene

SCALARS = (
    "armse", "msad", "sre", "rmse_y", "weak_recall", "weak_precision", "weak_f1",
    "weak_ap", "weak_em_recall", "weak_armse", "weak_msad", "weak_recall_macro",
    "weak_precision_macro", "weak_f1_macro", "weak_ap_macro",
)
WEAK = [m for m in SCALARS if m.startswith("weak_")]


def make_scene(A, E, weak, Y=None, shape=None) -> Scene:
    A = np.asarray(A, dtype=float)
    E = np.asarray(E, dtype=float)
    return Scene(
        Y=A @ E if Y is None else Y, A=A, E=E,
        image_shape=shape or (A.shape[0], 1), weak=weak, name="test",
    )


def random_case(rng, n=60, p=4, bands=12, weak=(True, False, True, False)):
    A = rng.dirichlet(np.full(p, 0.4), size=n)
    E = rng.random((p, bands)) + 0.05
    Y = A @ E + 0.01 * rng.standard_normal((n, bands))
    scene = make_scene(A, E, weak, Y=Y)
    return scene, A, E


# ---------------------------------------------------------------- references (loops)

def ref_sad(e, f) -> float:
    ne, nf = math.sqrt(sum(x * x for x in e)), math.sqrt(sum(x * x for x in f))
    if ne == 0 or nf == 0:
        return math.pi / 2
    c = sum(a * b for a, b in zip(e, f, strict=True)) / (ne * nf)
    return math.acos(min(1.0, max(-1.0, c)))


def ref_align(E, E_hat) -> tuple[int, ...]:
    """Brute force over every injective matching of the smaller side into the larger."""
    p, q = len(E), len(E_hat)
    best, best_cost = None, math.inf
    if q >= p:
        for cols in itertools.permutations(range(q), p):
            cost = sum(ref_sad(E[k], E_hat[cols[k]]) for k in range(p))
            if cost < best_cost - 1e-12:
                best, best_cost = tuple(cols), cost
    else:
        for rows in itertools.permutations(range(p), q):
            cost = sum(ref_sad(E[rows[j]], E_hat[j]) for j in range(q))
            if cost < best_cost - 1e-12:
                match = [-1] * p
                for j, k in enumerate(rows):
                    match[k] = j
                best, best_cost = tuple(match), cost
    assert best is not None
    return best


def ref_ap(scores, labels) -> float:
    """AP as sum over distinct thresholds (descending) of (R_n - R_{n-1}) P_n."""
    n_pos = sum(bool(x) for x in labels)
    if n_pos == 0:
        return math.nan
    ap, prev_recall = 0.0, 0.0
    for t in sorted(set(scores), reverse=True):
        tp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= t and y)
        predicted = sum(1 for s in scores if s >= t)
        recall = tp / n_pos
        ap += (recall - prev_recall) * (tp / predicted)
        prev_recall = recall
    return ap


def ref_metrics(scene, est, tau=0.05, thr=0.2) -> dict[str, float]:
    A, E, Y = scene.A.tolist(), scene.E.tolist(), scene.Y
    n, p = len(A), len(E)
    match = ref_align(E, est.E.tolist())
    A_hat = [[A_row[j] if j >= 0 else 0.0 for j in match] for A_row in est.A.tolist()]
    sads = [ref_sad(E[k], est.E[match[k]]) if match[k] >= 0 else math.pi / 2 for k in range(p)]
    sq = [[(A[i][k] - A_hat[i][k]) ** 2 for k in range(p)] for i in range(n)]
    out = {
        "armse": math.sqrt(sum(map(sum, sq)) / (n * p)),
        "msad": sum(sads) / p,
        "sre": 10 * math.log10(sum(a * a for r in A for a in r) / sum(map(sum, sq))),
    }
    Y_hat = est.A @ est.E
    out["rmse_y"] = math.sqrt(sum((Y[i, b] - Y_hat[i, b]) ** 2 for i in range(n) for b in range(Y.shape[1])) / Y.size)
    weak = [k for k in range(p) if scene.weak[k]]
    tp = fp = fn = 0
    scores, labels = [], []
    for k in weak:
        for i in range(n):
            has, det = A[i][k] >= tau, A_hat[i][k] >= tau
            tp += has and det
            fp += det and not has
            fn += has and not det
            scores.append(A_hat[i][k])
            labels.append(has)
    rec = tp / (tp + fn)
    prec = tp / (tp + fp) if tp + fp else 0.0
    out.update(
        weak_recall=rec, weak_precision=prec,
        weak_f1=2 * prec * rec / (prec + rec) if prec + rec else 0.0,
        weak_ap=ref_ap(scores, labels),
        weak_em_recall=sum(match[k] >= 0 and sads[k] <= thr for k in weak) / len(weak),
        weak_armse=math.sqrt(sum(sq[i][k] for i in range(n) for k in weak) / (n * len(weak))),
        weak_msad=sum(sads[k] for k in weak) / len(weak),
    )
    for k in range(p):
        out[f"rmse_em{k}"] = math.sqrt(sum(sq[i][k] for i in range(n)) / n)
        out[f"sad_em{k}"] = sads[k]
    out.update(ref_macro(A, A_hat, weak, tau))
    return out


def ref_macro(A, A_hat, weak, tau) -> dict[str, float]:
    """Per weak endmember recall/precision/F1/AP by loops, and their means over the
    endmembers that have a value (docs/guide/metrics.md, section 5)."""
    per: dict[str, list[float]] = {"recall": [], "precision": [], "f1": [], "ap": []}
    out: dict[str, float] = {}
    for k in weak:
        tp = fp = fn = 0
        for i in range(len(A)):
            has, det = A[i][k] >= tau, A_hat[i][k] >= tau
            tp += has and det
            fp += det and not has
            fn += has and not det
        rec = tp / (tp + fn) if tp + fn else math.nan
        if tp + fp:
            prec = tp / (tp + fp)
        elif tp + fn:
            prec = 0.0  # present somewhere, detected nowhere
        else:
            prec = math.nan  # neither present nor detected
        if math.isnan(rec) or math.isnan(prec):
            f1 = math.nan
        else:
            f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        ap = ref_ap([A_hat[i][k] for i in range(len(A))], [A[i][k] >= tau for i in range(len(A))])
        for name, value in (("recall", rec), ("precision", prec), ("f1", f1), ("ap", ap)):
            per[name].append(value)
        out[f"weak_recall_em{k}"] = rec
        out[f"weak_ap_em{k}"] = ap
    for name, values in per.items():
        kept = [v for v in values if not math.isnan(v)]
        out[f"weak_{name}_macro"] = sum(kept) / len(kept) if kept else math.nan
    return out


def assert_metrics_close(got, want, tol=1e-9):
    assert set(got) == set(want)
    for key, value in want.items():
        if math.isnan(value):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(value, rel=tol, abs=tol), key


# ---------------------------------------------------------------- against references

@pytest.mark.parametrize("seed", range(4))
def test_every_metric_matches_loop_reference(seed):
    rng = np.random.default_rng(seed)
    scene, A, E = random_case(rng)
    perm = rng.permutation(4)
    noisy_A = np.abs(A[:, perm] + 0.05 * rng.standard_normal(A.shape))
    est = Estimate(A=noisy_A, E=E[perm] * 1.7 + 0.05 * rng.random(E.shape))
    got = score(scene, est, tau=0.05, sad_threshold=0.05)
    # arccos in the reference loses ~1e-8 rad near 0; the package's formula does not.
    assert_metrics_close(got, ref_metrics(scene, est, tau=0.05, thr=0.05), tol=1e-7)
    assert list(got)[: len(SCALARS)] == list(SCALARS)


@pytest.mark.parametrize(("p", "q"), [(4, 4), (4, 2), (3, 5), (5, 3)])
def test_align_matches_brute_force(p, q):
    rng = np.random.default_rng(p * 10 + q)
    for _ in range(5):
        E, E_hat = rng.random((p, 8)), rng.random((q, 8))
        assert align(E, E_hat) == ref_align(E.tolist(), E_hat.tolist())


def test_sad_matrix_matches_reference():
    rng = np.random.default_rng(1)
    E, F = rng.standard_normal((3, 6)), rng.standard_normal((4, 6))
    F[2] = 0.0
    want = [[ref_sad(e, f) for f in F] for e in E]
    np.testing.assert_allclose(sad_matrix(E, F), want, atol=1e-12)


def test_sad_edge_cases():
    e = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    f = np.array([[2.0, 4.0, 6.0], [-3.0, 0.0, 0.0], [0.0, 5.0, 0.0], [1.0, 0.0, 0.0]])
    got = sad(e, f)
    assert got[0] == 0.0  # scale-invariant, exactly zero for parallel spectra
    assert got[1] == pytest.approx(math.pi)
    assert got[2] == pytest.approx(math.pi / 4)
    assert got[3] == pytest.approx(math.pi / 2)  # zero spectrum


@pytest.mark.parametrize("seed", range(6))
def test_average_precision_matches_reference_with_ties(seed):
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random(200), 1)  # many ties
    scores[rng.random(200) < 0.3] = 0.0
    labels = rng.random(200) < 0.3
    assert average_precision(scores, labels) == pytest.approx(ref_ap(scores.tolist(), labels.tolist()))


def test_average_precision_hand_worked_and_tie_order_free():
    # Ranking: 0.3 (+), 0.06 (-), 0.05 (-), 0.0 (+): AP = (1/1 + 2/4) / 2.
    assert average_precision([0.06, 0.0, 0.3, 0.05], [False, True, True, False]) == 0.75
    # A tie group is admitted together: (1/2 + 2/3) / 2, whatever the order of the tie.
    for scores, labels in (([0.5, 0.5, 0.1], [False, True, True]),
                           ([0.5, 0.5, 0.1], [True, False, True])):
        assert average_precision(scores, labels) == pytest.approx((0.5 + 2 / 3) / 2)
    assert average_precision([0.2, 0.1], [True, True]) == 1.0
    assert math.isnan(average_precision([0.2, 0.1], [False, False]))


# ---------------------------------------------------------------- hand-worked examples

def test_two_pixel_two_endmember_example():
    scene = make_scene([[0.9, 0.1], [0.3, 0.7]], [[1, 0, 0], [0, 1, 0]], [False, True])
    est = Estimate(A=[[0.8, 0.2], [0.3, 0.7]], E=[[1, 1, 0], [0, 1, 0]])
    ev = evaluate(scene, est)
    m = ev.metrics
    assert ev.alignment == (0, 1)
    assert m["armse"] == pytest.approx(math.sqrt(0.005))
    assert m["rmse_em0"] == pytest.approx(math.sqrt(0.005))
    assert m["sre"] == pytest.approx(10 * math.log10(70))  # |A|^2 = 1.4, |A - A_hat|^2 = 0.02
    assert ev.per_endmember["sad"] == pytest.approx((math.pi / 4, 0.0))
    assert m["msad"] == pytest.approx(math.pi / 8)
    # weak endmember 1: has = [T, T], detects = [T, T]
    assert (m["weak_recall"], m["weak_precision"], m["weak_f1"]) == (1.0, 1.0, 1.0)
    assert m["weak_armse"] == pytest.approx(math.sqrt(0.005))
    assert m["weak_msad"] == 0.0 and m["weak_em_recall"] == 1.0


def test_weak_detection_hand_worked():
    A = [[1.0, 0.0], [0.9, 0.1], [0.8, 0.2], [0.96, 0.04]]
    A_hat = [[0.94, 0.06], [1.0, 0.0], [0.7, 0.3], [0.95, 0.05]]
    scene = make_scene(A, [[1, 0, 0], [0, 1, 0]], [False, True])
    m = score(scene, Estimate(A=A_hat, E=[[1, 0, 0], [0, 1, 0]]))
    # has = [F, T, T, F], detects = [T, F, T, T]: TP 1, FP 2, FN 1
    assert m["weak_recall"] == 0.5
    assert m["weak_precision"] == pytest.approx(1 / 3)
    assert m["weak_f1"] == pytest.approx(0.4)
    assert m["weak_ap"] == 0.75


# ---------------------------------------------------------------- alignment behaviour

def test_permuted_endmembers_give_identical_metrics():
    rng = np.random.default_rng(7)
    scene, A, E = random_case(rng)
    A_hat = np.abs(A + 0.03 * rng.standard_normal(A.shape))
    E_hat = E + 0.02 * rng.random(E.shape)
    base = evaluate(scene, Estimate(A=A_hat, E=E_hat))
    perm = np.array([2, 0, 3, 1])
    permuted = evaluate(scene, Estimate(A=A_hat[:, perm], E=E_hat[perm]))
    assert base.alignment == (0, 1, 2, 3)
    assert permuted.alignment == tuple(int(np.flatnonzero(perm == k)[0]) for k in range(4))
    assert permuted.metrics == pytest.approx(base.metrics, rel=1e-12, abs=1e-12)


def test_fewer_estimated_than_true():
    rng = np.random.default_rng(3)
    scene, A, E = random_case(rng, p=3, weak=(False, True, False))
    # The method found endmembers 2 and 0 only (in that order).
    est = Estimate(A=A[:, [2, 0]] / A[:, [2, 0]].sum(1, keepdims=True), E=E[[2, 0]])
    ev = evaluate(scene, est)
    assert ev.alignment == (1, -1, 0)
    assert ev.per_endmember["sad"][1] == pytest.approx(math.pi / 2)
    assert ev.metrics["sad_em1"] == pytest.approx(math.pi / 2)
    assert ev.metrics["rmse_em1"] == pytest.approx(math.sqrt(np.mean(A[:, 1] ** 2)))
    assert ev.metrics["msad"] == pytest.approx(math.pi / 6, abs=1e-12)
    # the unrecovered weak endmember is detected nowhere
    assert ev.metrics["weak_recall"] == 0.0 and ev.metrics["weak_precision"] == 0.0
    assert ev.metrics["weak_f1"] == 0.0 and ev.metrics["weak_em_recall"] == 0.0
    assert_metrics_close(ev.metrics, ref_metrics(scene, est), tol=1e-7)
    # unmatched is never recovered, even with a threshold beyond pi / 2
    assert score(scene, est, sad_threshold=3.0)["weak_em_recall"] == 0.0


def test_more_estimated_than_true():
    rng = np.random.default_rng(4)
    scene, A, E = random_case(rng, p=3, weak=(True, False, False))
    extra = rng.random((1, E.shape[1]))
    E_hat = np.vstack([E[1], extra, E[0], E[2]])
    A_hat = np.column_stack([A[:, 1], np.zeros(len(A)), A[:, 0], A[:, 2]])
    ev = evaluate(scene, Estimate(A=A_hat, E=E_hat))
    assert ev.alignment == (2, 0, 3)
    assert ev.metrics["armse"] == 0.0 and ev.metrics["sre"] == math.inf
    assert ev.metrics["msad"] == 0.0


# ---------------------------------------------------------------- edge cases

def test_nothing_detected():
    rng = np.random.default_rng(5)
    scene, A, E = random_case(rng)
    A_hat = A.copy()
    A_hat[:, [0, 2]] = 0.01  # below tau everywhere on the weak endmembers
    m = score(scene, Estimate(A=A_hat, E=E))
    assert m["weak_recall"] == 0.0
    assert m["weak_precision"] == 0.0
    assert m["weak_f1"] == 0.0
    # all weak scores tie: AP is the share of positives among weak entries
    assert m["weak_ap"] == pytest.approx(np.mean(A[:, [0, 2]] >= 0.05))


def test_no_weak_endmember_gives_nan():
    rng = np.random.default_rng(6)
    scene, A, E = random_case(rng, weak=(False,) * 4)
    m = score(scene, Estimate(A=A, E=E))
    for key in WEAK:
        assert math.isnan(m[key]), key
    assert m["armse"] == 0.0


def test_weak_endmember_never_present():
    A = [[1.0, 0.0], [0.99, 0.01]]
    scene = make_scene(A, [[1, 0, 0], [0, 1, 0]], [False, True])
    m = score(scene, Estimate(A=[[0.9, 0.1], [1.0, 0.0]], E=[[1, 0, 0], [0, 1, 0]]))
    assert math.isnan(m["weak_recall"]) and math.isnan(m["weak_ap"]) and math.isnan(m["weak_f1"])
    assert m["weak_precision"] == 0.0  # detected once, wrongly


def test_weak_em_recall_uses_threshold():
    E = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0]])
    A = np.array([[0.5, 0.3, 0.2], [0.2, 0.2, 0.6]])
    E_hat = E.copy()
    E_hat[0, 3] = math.tan(0.1)  # 0.1 rad off
    E_hat[1, 3] = math.tan(0.3)  # 0.3 rad off
    scene = make_scene(A, E, [True, True, False])
    m = score(scene, Estimate(A=A, E=E_hat))
    assert m["sad_em0"] == pytest.approx(0.1) and m["sad_em1"] == pytest.approx(0.3)
    assert m["weak_em_recall"] == 0.5
    assert score(scene, Estimate(A=A, E=E_hat), sad_threshold=0.35)["weak_em_recall"] == 1.0


def test_supervised_estimate():
    rng = np.random.default_rng(8)
    scene, A, E = random_case(rng)
    A_hat = np.abs(A + 0.02 * rng.standard_normal(A.shape))
    ev = evaluate(scene, Estimate(A=A_hat))
    assert ev.supervised and ev.alignment == (0, 1, 2, 3)
    for key in ("msad", "weak_msad", "weak_em_recall", "sad_em0", "sad_em3"):
        assert math.isnan(ev.metrics[key]), key
    assert ev.metrics["rmse_y"] == pytest.approx(np.sqrt(np.mean((scene.Y - A_hat @ E) ** 2)))
    assert ev.metrics["armse"] == pytest.approx(np.sqrt(np.mean((A - A_hat) ** 2)))
    assert not math.isnan(ev.metrics["weak_recall"])


def test_rmse_y_prefers_method_reconstruction():
    rng = np.random.default_rng(9)
    scene, A, E = random_case(rng)
    Y_hat = scene.Y + 0.5
    assert score(scene, Estimate(A=A, E=E, Y_hat=Y_hat))["rmse_y"] == pytest.approx(0.5)
    assert score(scene, Estimate(A=A, E=E))["rmse_y"] == pytest.approx(
        np.sqrt(np.mean((scene.Y - A @ E) ** 2)))


def test_evaluation_to_dict_is_json_and_round_trips():
    rng = np.random.default_rng(10)
    scene, A, E = random_case(rng)
    ev = evaluate(scene, Estimate(A=A, E=E[[1, 0, 2, 3]], info={"x": 1}))
    text = json.dumps(ev.to_dict())
    back = hubench.metrics.Evaluation.from_dict(json.loads(text))
    assert back.alignment == ev.alignment and back.weak == ev.weak
    assert back.per_endmember == ev.per_endmember
    assert json.dumps(back.to_dict()) == text


def test_top_level_api_is_the_metrics_api():
    assert hubench.score is score and hubench.evaluate is evaluate
    assert hubench.list_metrics is list_metrics


# ---------------------------------------------------------------- input errors

@pytest.mark.parametrize("tau", [0.0, -0.1, 1.5, float("nan")])
def test_bad_tau(tau):
    scene = make_scene([[1.0, 0.0]], [[1, 0, 0], [0, 1, 0]], [False, True])
    with pytest.raises(ParameterError, match="tau"):
        score(scene, Estimate(A=[[1.0, 0.0]]), tau=tau)


def test_bad_shapes():
    scene = make_scene([[1.0, 0.0], [0.5, 0.5]], [[1, 0, 0], [0, 1, 0]], [False, True])
    with pytest.raises(ValidationError, match="pixels"):
        score(scene, Estimate(A=[[1.0, 0.0]]))
    with pytest.raises(ValidationError, match="supervised"):
        score(scene, Estimate(A=[[1.0], [1.0]]))
    with pytest.raises(ValidationError, match="bands"):
        score(scene, Estimate(A=[[1.0, 0.0], [0.5, 0.5]], E=[[1, 0], [0, 1]]))
    with pytest.raises(ValidationError, match="Y_hat"):
        score(scene, Estimate(A=[[1.0, 0.0], [0.5, 0.5]], Y_hat=np.zeros((2, 2))))
    with pytest.raises(ParameterError, match="sad_threshold"):
        score(scene, Estimate(A=[[1.0, 0.0], [0.5, 0.5]]), sad_threshold=-1)


# ---------------------------------------------------------------- registry

def test_registry_covers_every_scored_metric():
    rng = np.random.default_rng(11)
    scene, A, E = random_case(rng)
    for key in score(scene, Estimate(A=A, E=E)):
        info = metric_info(key)
        assert info.better in ("lower", "higher") and info.unit and info.description
    for key in ("fit_seconds", "peak_mem_mb", *SCALARS):
        assert key in METRICS
    assert metric_info("sad_em12").name == "sad_em{k}"
    assert metric_info("sre").better == "higher" and metric_info("armse").better == "lower"
    uncertain = ["weak_coverage90", "weak_coverage90_error", "weak_interval_width",
                 "weak_presence_brier", "weak_presence_ece"]
    assert list_metrics("weak_*") == sorted([*WEAK, *uncertain, "weak_ap_em{k}", "weak_recall_em{k}"])
    assert metric_direction("coverage90") is None  # a target, never ranked
    assert metric_direction("coverage90_error") == "lower"
    for name in ("weak_recall_em3", "weak_ap_em0"):
        info = metric_info(name)
        assert info.name == name[: name.rindex("_em")] + "_em{k}"
        assert (info.better, info.unit, info.group) == ("higher", "fraction", "weak")
    with pytest.raises(UnknownNameError, match="did you mean"):
        metric_info("armes")


# ---------------------------------------------------------------- per weak endmember (macro)

def test_macro_shows_a_small_endmember_that_the_micro_average_hides():
    # Weak endmember 1 is present in 18 of 20 pixels and found everywhere; weak endmember
    # 2 (small, rare) is present in 2 pixels and never detected. Endmember 0 is strong.
    n = 20
    A = np.zeros((n, 3))
    A[:18, 1] = 0.2
    A[18:, 2] = 0.1
    A[:, 0] = 1.0 - A[:, 1] - A[:, 2]
    E = np.eye(3, 5)
    scene = make_scene(A, E, [False, True, True])
    A_hat = A.copy()
    A_hat[:, 2] = 0.0
    A_hat[:, 0] = 1.0 - A_hat[:, 1]
    m = score(scene, Estimate(A=A_hat, E=E))
    assert m["weak_recall"] == pytest.approx(18 / 20)  # pooled: looks good
    assert m["weak_recall_macro"] == pytest.approx(0.5)  # (1 + 0) / 2: one endmember missed
    assert m["weak_recall_em1"] == 1.0 and m["weak_recall_em2"] == 0.0
    assert m["weak_ap_em1"] == 1.0
    assert m["weak_ap_em2"] == pytest.approx(2 / 20)  # all scores tie at 0: share of positives
    assert m["weak_ap_macro"] == pytest.approx((1.0 + 0.1) / 2)
    assert m["weak_ap"] > m["weak_ap_macro"]
    # endmember 2: nothing detected though present -> precision 0, F1 0
    assert m["weak_precision_macro"] == pytest.approx(0.5)
    assert m["weak_f1_macro"] == pytest.approx(0.5)
    assert "weak_recall_em0" not in m and "weak_ap_em0" not in m  # only weak endmembers
    want = ref_macro(A.tolist(), A_hat.tolist(), [1, 2], 0.05)
    assert_metrics_close({k: m[k] for k in want}, want, tol=1e-12)


def test_macro_leaves_out_a_weak_endmember_never_present():
    # Weak endmember 1 is present nowhere and detected nowhere: no recall, precision,
    # F1 or AP of its own, so the macro means are those of endmember 2 alone.
    A = np.array([[0.9, 0.0, 0.1], [0.8, 0.0, 0.2], [1.0, 0.0, 0.0]])
    E = np.eye(3, 4)
    scene = make_scene(A, E, [False, True, True])
    m = score(scene, Estimate(A=A, E=E))
    assert math.isnan(m["weak_recall_em1"]) and math.isnan(m["weak_ap_em1"])
    for name in ("recall", "precision", "f1", "ap"):
        assert m[f"weak_{name}_macro"] == 1.0, name
    # detected somewhere although never present: precision 0 counts in the macro mean
    A_hat = A.copy()
    A_hat[2] = [0.9, 0.1, 0.0]
    m = score(scene, Estimate(A=A_hat, E=E))
    assert math.isnan(m["weak_recall_em1"]) and m["weak_precision_macro"] == 0.5
    assert m["weak_recall_macro"] == 1.0 and m["weak_f1_macro"] == 1.0  # F1 of em1 is NaN
    # no weak endmember present at all: every macro mean is NaN
    scene = make_scene(A, E, [False, True, False])
    m = score(scene, Estimate(A=A, E=E))
    for name in ("recall", "precision", "f1", "ap"):
        assert math.isnan(m[f"weak_{name}_macro"]), name


def test_macro_without_weak_endmembers_is_nan_and_no_per_endmember_values():
    rng = np.random.default_rng(6)
    scene, A, E = random_case(rng, weak=(False,) * 4)
    m = score(scene, Estimate(A=A, E=E))
    assert all(math.isnan(m[f"weak_{n}_macro"]) for n in ("recall", "precision", "f1", "ap"))
    assert not [k for k in m if k.startswith(("weak_recall_em", "weak_ap_em"))]
