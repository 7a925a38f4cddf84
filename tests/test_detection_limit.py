"""The weak detection limit (hubench.report.detection): constructed frames whose answer
is known by hand, the sweep scenarios, and the command line end to end."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubench.cli import main
from hubench.datasets import SCENARIOS
from hubench.datasets.sweeps import FAMILIES, expand_sweeps, family_points, sweep_point
from hubench.datasets.synthetic_params import SyntheticParams
from hubench.errors import HubenchError
from hubench.report.detection import (
    detection_limits,
    detection_markdown,
    level_table,
    limit_of,
    sweep_frame,
)

LEVELS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def frame(
    recall: dict[float, list[float]],
    ap: dict[float, list[float]] | None = None,
    *,
    status: dict[float, list[str]] | None = None,
    method: str = "m",
    snr: float = 20.0,
    family: str = "weak-level",
) -> pd.DataFrame:
    """Tidy rows: one per (level, seed); ``ap`` defaults to 1 everywhere."""
    rows = []
    for level, values in recall.items():
        aps = (ap or {}).get(level, [1.0] * len(values))
        states = (status or {}).get(level, ["ok"] * len(values))
        for seed, (r, a, s) in enumerate(zip(values, aps, states, strict=True)):
            rows.append({"method": method, "snr_db": snr, "family": family, "level": level,
                         "seed": seed, "status": s, "weak_em_recall": r, "weak_ap": a})
    return pd.DataFrame(rows)


def only(limits: pd.DataFrame) -> pd.Series:
    assert len(limits) == 1
    return limits.iloc[0]


# ---- the rule on constructed inputs ---------------------------------------------------------
def test_step_between_two_points_is_their_geometric_mean() -> None:
    # found (recall 1) from 0.05 up, never below: the crossing is halfway on log scale
    tidy = frame({lv: [float(lv >= 0.05)] * 3 for lv in LEVELS})
    got = only(detection_limits(tidy))
    assert got["kind"] == "interpolated"
    assert got["limit"] == pytest.approx(math.sqrt(0.02 * 0.05), rel=1e-12)  # 0.0316
    assert got["text"] == "0.032"


def test_ramp_interpolates_linearly_in_the_criterion_on_log_level() -> None:
    # recall 0.1 at 0.01 and 0.6 at 0.1: (0.5 - 0.1) / (0.6 - 0.1) = 0.8 of a decade
    tidy = frame({0.001: [0.0], 0.01: [0.1], 0.1: [0.6], 1.0: [0.9]})
    got = only(detection_limits(tidy))
    assert got["limit"] == pytest.approx(10 ** (-2 + 0.8), rel=1e-12)  # 0.0631


def test_both_criteria_failing_the_later_crossing_wins() -> None:
    # recall 0.4 -> 0.6 crosses at t = 0.5; ap 0.2 -> 0.7 at t = 0.6: the limit is t = 0.6
    tidy = frame({0.01: [0.4], 0.1: [0.6]}, {0.01: [0.2], 0.1: [0.7]})
    got = only(detection_limits(tidy))
    assert got["limit"] == pytest.approx(10 ** (-2 + 0.6), rel=1e-12)
    # a criterion that passes at both points does not move it
    tidy = frame({0.01: [0.4], 0.1: [0.6]}, {0.01: [0.9], 0.1: [0.95]})
    assert only(detection_limits(tidy))["limit"] == pytest.approx(10 ** -1.5, rel=1e-12)


def test_mean_over_seeds_and_the_boundary_passes() -> None:
    # seeds [0, 1] average to exactly 0.5: that level passes (>=), the one below (1/3) not
    tidy = frame({0.01: [0.0, 0.0, 1.0], 0.1: [0.0, 1.0, 0.5]})
    levels = level_table(tidy)
    assert levels["weak_em_recall"].tolist() == pytest.approx([1 / 3, 0.5])
    assert levels["passes"].tolist() == [False, True]
    got = only(detection_limits(tidy))
    assert got["limit"] == pytest.approx(0.1)  # the crossing is at the passing point


def test_monotone_rule_ignores_a_lucky_pass_below_a_failure() -> None:
    # passes at 0.005 (luck), fails at 0.01 and 0.02, passes from 0.05: limit in (0.02, 0.05]
    recall = {0.005: [1.0], 0.01: [0.0], 0.02: [0.0], 0.05: [1.0], 0.1: [1.0], 0.2: [1.0]}
    got = only(detection_limits(frame(recall)))
    assert got["limit"] == pytest.approx(math.sqrt(0.02 * 0.05))
    # and a failure at the top means not reached, whatever passes below it
    recall[0.2] = [0.0]
    got = only(detection_limits(frame(recall)))
    assert got["kind"] == "not-reached" and math.isnan(got["limit"])
    assert got["text"] == "not reached (> 0.2)"


def test_never_and_always_reached() -> None:
    never = only(detection_limits(frame({lv: [0.2, 0.3] for lv in LEVELS})))
    assert never["kind"] == "not-reached" and never["text"] == "not reached (> 0.2)"
    always = only(detection_limits(frame({lv: [1.0, 0.9] for lv in LEVELS})))
    assert always["kind"] == "below-range" and always["limit"] == 0.005
    assert always["text"] == "\u2264 0.005"


def test_the_pixel_criterion_counts_too() -> None:
    # the endmember is always found, but its pixels are told apart only from 0.1 up
    tidy = frame({lv: [1.0] for lv in LEVELS}, {lv: [0.9 if lv >= 0.1 else 0.3] for lv in LEVELS})
    got = only(detection_limits(tidy))
    assert got["limit"] == pytest.approx(10 ** (math.log10(0.05) + 0.2 / 0.6 * math.log10(2)))


def test_failed_cells_count_as_not_detected() -> None:
    # at 0.02 one of three seeds timed out (metrics NaN): mean (1 + 1 + 0) / 3 passes;
    # at 0.01 two of three failed: 1 / 3 fails; the crossing (0.5 - 1/3) / (2/3 - 1/3) = 0.5
    nan = math.nan
    tidy = frame(
        {0.01: [1.0, nan, nan], 0.02: [1.0, 1.0, nan], 0.05: [1.0, 1.0, 1.0]},
        {0.01: [1.0, nan, nan], 0.02: [1.0, 1.0, nan], 0.05: [1.0, 1.0, 1.0]},
        status={0.01: ["ok", "error", "timeout"], 0.02: ["ok", "ok", "timeout"]},
    )
    levels = level_table(tidy)
    assert levels["weak_em_recall"].tolist() == pytest.approx([1 / 3, 2 / 3, 1.0])
    assert only(detection_limits(tidy))["limit"] == pytest.approx(math.sqrt(0.01 * 0.02))
    # every cell of the top level failed: nothing applies there, so it fails
    tidy = frame({0.01: [1.0], 0.02: [nan]}, {0.01: [1.0], 0.02: [nan]}, status={0.02: ["crashed"]})
    assert only(detection_limits(tidy))["kind"] == "not-reached"


def test_undefined_criteria_are_not_applied() -> None:
    nan = math.nan
    # no pixel reaches the presence threshold below 0.05 (ap NaN): judged on recall alone
    recall = {0.01: [0.0], 0.02: [1.0], 0.05: [1.0], 0.1: [1.0]}
    ap = {0.01: [nan], 0.02: [nan], 0.05: [0.9], 0.1: [0.9]}
    got = only(detection_limits(frame(recall, ap)))
    assert got["limit"] == pytest.approx(math.sqrt(0.01 * 0.02))
    # a supervised method has no recall: judged on ap alone, and a level where neither is
    # defined fails; the limit is then the first passing level (nothing to interpolate)
    sup = frame({0.02: [nan], 0.05: [nan], 0.1: [nan]}, {0.02: [nan], 0.05: [0.3], 0.1: [0.9]})
    got = only(detection_limits(sup))
    assert got["limit"] == pytest.approx(10 ** (math.log10(0.05) + 0.2 / 0.6 * math.log10(2)))
    sup = frame({0.02: [nan], 0.05: [nan]}, {0.02: [nan], 0.05: [0.8]})
    got = only(detection_limits(sup))
    assert got["kind"] == "at-level" and got["limit"] == 0.05 and got["text"] == "0.05"
    # a seed whose ap is undefined is left out of that level's mean
    tidy = frame({0.1: [1.0, 1.0]}, {0.1: [0.6, nan]})
    assert level_table(tidy)["weak_ap"].tolist() == [0.6]


def test_limits_per_method_snr_and_family_and_the_table() -> None:
    tidy = pd.concat([
        frame({lv: [float(lv >= 0.05)] for lv in LEVELS}, method="a", snr=10.0),
        frame({lv: [1.0] for lv in LEVELS}, method="a", snr=30.0),
        frame({lv: [0.0] for lv in LEVELS}, method="b", snr=10.0),
        frame({lv: [float(lv >= 0.01)] for lv in LEVELS}, method="b", snr=30.0),
        frame({0.001: [0.0], 0.01: [1.0]}, method="a", snr=10.0, family="rare-prevalence"),
    ])
    limits = detection_limits(tidy).set_index(["method", "snr_db", "family"])["text"]
    assert limits[("a", 10.0, "weak-level")] == "0.032"
    assert limits[("a", 30.0, "weak-level")] == "\u2264 0.005"
    assert limits[("b", 10.0, "weak-level")] == "not reached (> 0.2)"
    assert limits[("b", 30.0, "weak-level")] == "0.0071"  # sqrt(0.005 * 0.01)
    assert limits[("a", 10.0, "rare-prevalence")] == "0.0032"
    text = detection_markdown(tidy, figures={"weak-level": "figures/detection-weak-level.png"})
    assert "### Lowest weak abundance detected" in text
    assert "| a | 0.032 | \u2264 0.005 |" in text
    assert "| b | not reached (> 0.2) | 0.0071 |" in text
    assert "### Lowest rare prevalence detected" in text
    assert "![detection weak-level](figures/detection-weak-level.png)" in text
    assert text.index("weak abundance") < text.index("rare prevalence")


def test_limit_of_reads_the_rows_in_level_order() -> None:
    levels = level_table(frame({0.1: [1.0], 0.01: [0.0]}))
    assert limit_of(levels.iloc[::-1]).value == pytest.approx(math.sqrt(0.01 * 0.1))


# ---- the scenarios ----------------------------------------------------------------------------
def test_sweep_points_are_registered_and_valid_in_every_profile() -> None:
    names = family_points("weak-sweep")
    assert names is not None and len(names) == sum(len(f.levels) for f in FAMILIES.values())
    for name in names:
        spec = SCENARIOS.get(name)
        family, level = sweep_point(name) or ("", 0.0)
        assert spec.defaults[FAMILIES[family].knob] == level
        for profile in ("ci", "quick", "full"):
            resolved = spec.resolve(profile)
            spec.validate(resolved)
            params = SyntheticParams.from_knobs(**resolved)
            if family == "rare-prevalence":
                assert params.rare_pixels >= 1
    assert sweep_point("weak-level-0.005") == ("weak-level", 0.005)
    assert sweep_point("weak-level-0.005", {"weak_max_abundance": 0.03}) == ("weak-level", 0.03)
    assert sweep_point("weak") is None


def test_family_names_expand_with_their_overrides() -> None:
    assert expand_sweeps(["weak", "rare-prevalence"]) == [
        "weak", *(f"rare-prevalence-{lv:g}" for lv in (0.001, 0.002, 0.005, 0.01, 0.02, 0.05))
    ]
    got = expand_sweeps(["weak-albedo[abundance=spatial]"])
    assert got[0] == "weak-albedo-0.01[abundance=spatial]" and len(got) == 7
    assert len(expand_sweeps(["weak-sweep"])) == 21


def test_sweep_frame_reads_family_and_level_from_the_store_frame() -> None:
    store_frame = pd.DataFrame({
        "method": ["vca", "vca", "vca"],
        "scenario": ["weak-level-0.01", "standard", "rare-prevalence-0.002"],
        "scenario_params": [json.dumps({"weak_max_abundance": 0.01, "snr_db": 20}), "{}",
                            json.dumps({"rare_prevalence": 0.002})],
        "snr_db": [20.0, 20.0, 10.0],
        "seed": [0, 0, 1],
        "status": ["ok", "ok", "timeout"],
        "weak_em_recall": [1.0, np.nan, np.nan],
        "weak_ap": [0.5, np.nan, np.nan],
    })
    tidy = sweep_frame(store_frame)
    assert tidy[["family", "level", "status"]].values.tolist() == [
        ["weak-level", 0.01, "ok"], ["rare-prevalence", 0.002, "timeout"]
    ]


# ---- end to end from the command line ---------------------------------------------------------
def test_cli_run_then_report_shows_the_limit(tmp_path: Path) -> None:
    store = tmp_path / "r.sqlite"
    # two points of the albedo family keep it short (the whole report draws a figure each)
    args = ["run", "--methods", "fcls", "--scenarios", "weak-albedo-0.01,weak-albedo-0.5", "--snr", "30",
            "--seeds", "1", "--profile", "ci", "--jobs", "1", "--store", str(store), "--no-progress"]
    assert main(args) == 0
    out = tmp_path / "out"
    assert main(["report", "--store", str(store), "--output", str(out), "--detection-limit",
                 "--name", "detection-limit.md"]) == 0
    page = (out / "detection-limit.md").read_text()
    assert "## Weak detection limit" in page
    assert "### Lowest weak albedo detected" in page
    assert "at 0.01, 0.5; up to 1 seed(s) per level" in page
    # fcls is given the true endmembers: at 30 dB its weak pixels rank first at every albedo
    assert re.search(r"^\| fcls \| \u2264 0\.01 \|$", page, re.MULTILINE)
    assert (out / "figures" / "detection-weak-albedo.png").is_file()
    # the whole report carries the same section after the per-scenario tables
    full = tmp_path / "full"
    assert main(["report", "--store", str(store), "--output", str(full)]) == 0
    report = (full / "report.md").read_text()
    assert "## Weak detection limit" in report and "| fcls | \u2264 0.01 |" in report
    assert report.index("## weak-albedo-0.5") < report.index("## Weak detection limit")


def test_detection_page_without_sweep_cells_is_refused(tmp_path: Path) -> None:
    from hubench.report.detection_page import write_detection_page

    plain = pd.DataFrame({"method": ["vca"], "scenario": ["weak"], "scenario_params": ["{}"],
                          "snr_db": [20.0], "seed": [0], "status": ["ok"]})
    with pytest.raises(HubenchError, match="no cell of a detection-limit sweep"):
        write_detection_page(plain, "r.sqlite", tmp_path, title="t", page_name="d.md")
    assert not list(tmp_path.iterdir())


def test_figure_has_one_panel_per_snr_and_a_line_per_method_and_metric(tmp_path: Path) -> None:
    from hubench.report.fig_detection import detection_figure, plot_detection

    tidy = pd.concat([
        frame({lv: [float(lv >= 0.05)] for lv in LEVELS}, method=m, snr=snr)
        for m in ("a", "b") for snr in (10.0, 30.0)
    ])
    fig = detection_figure(tidy, "weak-level")
    assert fig is not None
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["10 dB", "30 dB"]
    assert axes[0].get_xscale() == "log"
    # per method: recall and ap lines and the limit marker; plus the criterion line
    assert len(axes[0].get_lines()) == 2 * 3 + 1
    assert detection_figure(tidy, "rare-prevalence") is None
    files = plot_detection(tidy, tmp_path)
    assert [p.name for p in files["weak-level"]] == ["detection-weak-level.png"]
