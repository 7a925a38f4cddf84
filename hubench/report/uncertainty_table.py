"""The uncertainty section of ``hubench report`` (and ``hubench leaderboard``'s, when a
store holds cells run with ``--ensemble K``): per scenario, method and SNR, the
interval coverage, width and the weak-presence calibration, as plain means over seeds.

Coverage has a target (0.9), not a direction, so it is shown, never ranked or bolded;
its distance to the target (``coverage90_error``) is the rank-able companion.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from tabulate import tabulate

from hubench.report.text import snr_text

#: The columns of the section, in order (metric, header).
COLUMNS = (
    ("coverage90", "coverage"),
    ("weak_coverage90", "weak coverage"),
    ("interval_width", "width"),
    ("weak_interval_width", "weak width"),
    ("weak_presence_ece", "weak ECE"),
    ("weak_presence_brier", "weak Brier"),
    ("fit_seconds", "fit s (K fits)"),
)

LEGEND = (
    "Cells run with `--ensemble K`: the estimate is the mean of K fits (deep methods: K "
    "seeds; classic ones: a residual bootstrap of the pixels' noise), the interval the "
    "members' 5%\u201395% quantiles. `coverage`: share of true abundances inside the "
    "interval (0.9 is calibrated; less is over-confident); `width`: its mean width "
    "(sharpness); `weak ECE` / `weak Brier`: calibration of the weak-presence probability "
    "(share of members with A_hat \u2265 0.05) over the weak endmembers' pixels; mean over "
    "seeds, `n/a` where a metric does not apply. Reference methods given the truth are "
    "marked `(given E)`."
)


def _fmt(value: float) -> str:
    if value is None or not np.isfinite(value):
        return "n/a"
    return f"{value:.3g}"


def uncertainty_tables(frame: pd.DataFrame) -> dict[str, str]:
    """``{scenario_label: markdown}`` for the scenarios with ensemble cells (labelled
    frame: ``scenario_label``, ``method_label``); empty when there are none."""
    if "ensemble" not in frame.columns:
        return {}
    rows = frame[(frame["ensemble"] > 1) & (frame["status"] == "ok")]
    if rows.empty:
        return {}
    from hubench.report.frame import reference_rows

    rows = rows.assign(_ref=reference_rows(rows).to_numpy())
    out: dict[str, str] = {}
    for scenario, group in rows.groupby("scenario_label", sort=True):
        table = []
        for (label, snr), cells in group.groupby(["method_label", "snr_db"], dropna=False, sort=True):
            name = str(label) + (" (given E)" if bool(cells["_ref"].any()) else "")
            k = int(cells["ensemble"].max())
            values = [
                _fmt(float(cells[m].mean())) if m in cells.columns else "n/a" for m, _ in COLUMNS
            ]
            snr_label = "real" if isinstance(snr, float) and math.isnan(snr) else snr_text(float(snr))
            table.append([name, k, snr_label, cells["seed"].nunique(), *values])
        text = tabulate(table, headers=["method", "K", "SNR", "seeds", *(h for _, h in COLUMNS)],
                        tablefmt="github", disable_numparse=True)
        out[str(scenario)] = "\n### Uncertainty (ensembles)\n\n" + text + "\n\n" + LEGEND + "\n"
    return out


__all__ = ["COLUMNS", "LEGEND", "uncertainty_tables"]
