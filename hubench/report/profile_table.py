"""Two budgets side by side: ``hubench leaderboard --profile full --beside quick``.

Under each scenario's table of the ``--profile`` cells, a block with the same cells
(scenario, SNR, seed) run under another profile: per method variant and metric the
mean ± std over seeds of each profile, and whether the shown profile is worse than the
other by more than the seed-to-seed spread (the larger of the two stds, and at least 1%
of the mean; not judged with fewer than two seeds). With
``run --profile full --scene-profile quick`` both profiles see the same images, so the
block compares budgets, not scenes; when the synthetic scenes differ in size the block
says so.

Methods are matched by variant label when the other profile has the same label, else
by method name when it ran that method with one parameter set (``cnnaeu[init=vca]`` of
``full`` is set against ``quick``'s only ``cnnaeu``). Only seeds and SNRs that finished
``ok`` under both profiles are compared, so the two means are over the same cells.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from tabulate import tabulate

from hubench.metrics import metric_direction
from hubench.report.frame import parse_params
from hubench.report.stats import mean_std
from hubench.report.text import format_mean_std

#: Metrics compared by default (those present in the frame are shown).
DEFAULT_METRICS = ("armse", "msad", "weak_ap")
_CELL = ("snr_db", "seed")
#: A difference is judged against the seed spread, but never against less than this
#: fraction of the mean.
RELATIVE_FLOOR = 0.01


def _median(values: pd.Series) -> str:
    values = values.dropna()
    return f"{values.median():.3g}" if len(values) else "n/a"


def _scene_size(group: pd.DataFrame) -> str | None:
    """``HxWxL`` of a synthetic scenario's cells (None for real scenes or unknown)."""
    for text in group["scenario_params"]:
        params = parse_params(text)
        if "image_shape" in params or "n_bands" in params:
            h, w = params.get("image_shape", ("?", "?"))
            return f"{h}x{w}x{params.get('n_bands', '?')}"
    return None


def _capped(group: pd.DataFrame) -> str:
    if "training_converged" not in group.columns:
        return ""
    trained = group["training_converged"].dropna()
    return f"{int((trained == 0).sum())}/{len(trained)}" if len(trained) else ""


def _match(others: pd.DataFrame, label: str, method: str) -> pd.DataFrame | None:
    same = others[others["method_label"] == label]
    if len(same):
        return same
    by_name = others[others["method"] == method]
    if len(by_name) and by_name["method_label"].nunique() == 1:
        return by_name
    return None


def profile_blocks(
    shown: pd.DataFrame,
    beside: pd.DataFrame,
    shown_profile: str,
    beside_profile: str,
    metrics: Sequence[str] = DEFAULT_METRICS,
) -> dict[str, str]:
    """``{scenario_label: markdown}``: the block described in the module docstring.

    ``shown`` and ``beside`` are labelled frames (``scenario_label``, ``method_label``)
    of the two profiles' cells.
    """
    out: dict[str, str] = {}
    ok_shown = shown[shown["status"] == "ok"]
    ok_beside = beside[beside["status"] == "ok"]
    for scenario, group in ok_shown.groupby("scenario_label", sort=True):
        others = ok_beside[ok_beside["scenario_label"] == scenario]
        if others.empty:
            continue
        present = [m for m in metrics if m in group.columns and group[m].notna().any()]
        rows = []
        for label, rows_shown in group.groupby("method_label", sort=True):
            method = str(rows_shown["method"].iloc[0])
            rows_other = _match(others, str(label), method)
            if rows_other is None:
                continue
            cells = rows_shown[list(_CELL)].merge(rows_other[list(_CELL)], on=list(_CELL))
            if cells.empty:
                continue
            a = rows_shown.merge(cells, on=list(_CELL))
            b = rows_other.merge(cells, on=list(_CELL))
            row: dict[str, str] = {"method": str(label), "seeds": str(len(cells))}
            worse: list[str] = []
            judged = False
            for metric in present:
                mean_a, std_a, n_a = mean_std(a[metric])
                mean_b, std_b, n_b = mean_std(b[metric])
                row[metric] = (f"{format_mean_std(mean_b, std_b, n_b)} \u2192 "
                               f"{format_mean_std(mean_a, std_a, n_a)}")
                direction = metric_direction(metric)
                if direction is None or n_a < 2 or n_b < 2:
                    continue  # no seed spread to judge against
                judged = True
                # the seed spread, and never below 1% of the mean (a deterministic
                # method's zero spread would flag rounding-level differences)
                spread = max(std_a, std_b, RELATIVE_FLOOR * max(abs(mean_a), abs(mean_b)))
                loss = (mean_a - mean_b) if direction == "lower" else (mean_b - mean_a)
                if loss > spread:
                    worse.append(metric)
            row[f"{shown_profile} worse (beyond spread)"] = (
                ", ".join(worse) or "-") if judged else "n/a (one seed)"
            row["fit s"] = f"{_median(b['fit_seconds'])} \u2192 {_median(a['fit_seconds'])}"
            row["capped"] = f"{_capped(b) or '-'} \u2192 {_capped(a) or '-'}"
            rows.append(row)
        if not rows:
            continue
        size_a, size_b = _scene_size(group), _scene_size(others)
        note = ""
        if size_a and size_b and size_a != size_b:
            note = (f" The scenes differ: {size_b} under `{beside_profile}`, {size_a} under "
                    f"`{shown_profile}` (run `--scene-profile {beside_profile}` to compare "
                    "budgets on one image).")
        out[str(scenario)] = (
            f"\n**`{beside_profile}` \u2192 `{shown_profile}`, same cells** (mean ± std over "
            f"the seeds and SNRs finished under both; worse: by more than the larger std, and "
            f"by more than {RELATIVE_FLOOR:.0%} of the mean; `fit s`: median seconds; `capped`: "
            f"cells whose training hit its epochs cap / cells trained).{note}\n\n"
            + tabulate(pd.DataFrame(rows), headers="keys", tablefmt="github", showindex=False,
                       disable_numparse=True)
            + "\n"
        )
    return out
