"""The weak detection limit: the lowest sweep level at which a method still finds the
weak (or rare) endmember, per method, SNR and sweep family (docs/guide/detection-limit.md).

Everything here is a pure function of a tidy frame with one row per cell::

    method, snr_db, family, level, seed, weak_em_recall, weak_ap[, status]

**Criterion at a level.** Two criteria, each the mean over the seeds at that level:
the endmember is found (``weak_em_recall >= 0.5``) and its pixels are told apart
(``weak_ap >= 0.5``). A criterion applies at a level when at least one cell that ran
(status ``ok`` or ``degenerate``, or no status column) defines it there; its mean is
taken over the cells that define it, and a cell that did not run (``error``,
``timeout``, ...) counts as 0 in every criterion that applies, never as a pass. An
undefined criterion is not applied: a supervised method (``fcls``, given the true
endmembers) has no ``weak_em_recall``, and below the presence threshold (``A >= 0.05``)
no pixel holds the weak endmember so ``weak_ap`` is undefined. A level passes when every
applicable criterion holds; a level where none applies fails.

**The limit (monotone rule).** Levels sorted ascending, the limit is the lowest level
``L_k`` that passes *together with every higher level*: a pass below a failure (a lucky
point under the noise floor) does not lower the limit.

- every level passes: the limit is at or below the lowest level, reported ``<= L_0``;
- the highest level fails: ``not reached``;
- otherwise ``L_{k-1}`` fails and ``L_k`` passes, and the limit is interpolated on
  ``x = log(level)`` between them, linearly in each criterion's mean: for each criterion
  ``c`` that applies at both points and fails at ``L_{k-1}`` (``c_{k-1} < 0.5 <= c_k``),
  its crossing is ``x_c = x_{k-1} + (0.5 - c_{k-1}) / (c_k - c_{k-1}) * (x_k - x_{k-1})``;
  the limit is ``exp(max_c x_c)`` (the lowest point where every interpolated criterion
  holds). When no criterion qualifies (``L_{k-1}`` failed because nothing applied
  there, or a criterion applies only at ``L_k``), the limit is ``L_k`` itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

THRESHOLD = 0.5
CRITERIA = ("weak_em_recall", "weak_ap")
RAN = ("ok", "degenerate")
TIDY_COLUMNS = ("method", "snr_db", "family", "level", "seed", "status", *CRITERIA)

#: ``kind`` of a limit: interpolated or at a sweep point; below the lowest level;
#: not reached at the highest level.
KINDS = ("interpolated", "at-level", "below-range", "not-reached")


# ---- from a results frame ---------------------------------------------------------------
def _params(text: Any) -> dict[str, Any]:
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text) if isinstance(text, str) and text else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def sweep_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The tidy sweep rows of a results frame (:meth:`ResultStore.to_frame`, possibly
    labelled): only cells of sweep scenarios, with their family and level read from the
    scenario name and its recorded parameters. ``method`` is the method label when the
    frame has one (variants told apart), else the name. Empty when there is none."""
    from hubench.datasets.sweeps import sweep_point

    rows = []
    method_col = "method_label" if "method_label" in frame.columns else "method"
    for _, row in frame.iterrows():
        point = sweep_point(str(row["scenario"]), _params(row.get("scenario_params")))
        if point is None:
            continue
        rows.append({
            "method": str(row[method_col]),
            "snr_db": float(row["snr_db"]),
            "family": point[0],
            "level": point[1],
            "seed": int(row["seed"]),
            "status": str(row.get("status", "ok")),
            **{c: float(row[c]) if c in frame.columns else math.nan for c in CRITERIA},
        })
    return pd.DataFrame(rows, columns=list(TIDY_COLUMNS))


# ---- per level ----------------------------------------------------------------------------
def level_table(tidy: pd.DataFrame, threshold: float = THRESHOLD) -> pd.DataFrame:
    """Per (method, snr_db, family, level): each criterion's mean over seeds (NaN when it
    does not apply), the number of cells ``n``, and whether the level ``passes``."""
    out = []
    keys = ["method", "snr_db", "family", "level"]
    for key, group in tidy.groupby(keys, sort=True):
        ran = group["status"].isin(RAN) if "status" in group.columns else pd.Series(True, index=group.index)
        record: dict[str, Any] = dict(zip(keys, key, strict=True))
        applicable = []
        for c in CRITERIA:
            values = group[c].astype(float)
            defined = ran & values.notna()
            if not defined.any():
                record[c] = math.nan
                continue
            # failed cells count as 0; ran cells that leave it undefined are left out
            used = pd.concat([values[defined], pd.Series(0.0, index=group.index[~ran])])
            record[c] = float(used.mean())
            applicable.append(record[c] >= threshold)
        record["n"] = len(group)
        record["passes"] = bool(applicable) and all(applicable)
        out.append(record)
    return pd.DataFrame(out, columns=[*keys, *CRITERIA, "n", "passes"])


# ---- the limit ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Limit:
    """The detection limit of one (method, SNR, family).

    ``value``: the limit (interpolated or at a sweep point), the lowest level for
    ``below-range`` (the limit is at or below it), NaN for ``not-reached``.
    """

    value: float
    kind: str
    lowest: float
    highest: float

    def text(self) -> str:
        if self.kind == "not-reached":
            return f"not reached (> {self.highest:g})"
        if self.kind == "below-range":
            return f"\u2264 {self.value:g}"
        return f"{self.value:.2g}" if self.kind == "interpolated" else f"{self.value:g}"


def _crossing(x0: float, x1: float, c0: float, c1: float, threshold: float) -> float:
    return x0 + (threshold - c0) / (c1 - c0) * (x1 - x0)


def limit_of(levels: pd.DataFrame, threshold: float = THRESHOLD) -> Limit:
    """The limit from one (method, snr_db, family)'s rows of :func:`level_table`."""
    rows = levels.sort_values("level").reset_index(drop=True)
    values = rows["level"].to_numpy(dtype=float)
    passes = rows["passes"].to_numpy(dtype=bool)
    lowest, highest = float(values[0]), float(values[-1])
    if not passes[-1]:
        return Limit(math.nan, "not-reached", lowest, highest)
    failing = np.flatnonzero(~passes)
    if failing.size == 0:
        return Limit(lowest, "below-range", lowest, highest)
    k = int(failing[-1]) + 1  # lowest level passing with every higher level
    x0, x1 = math.log(values[k - 1]), math.log(values[k])
    crossings = []
    for c in CRITERIA:
        c0, c1 = float(rows.loc[k - 1, c]), float(rows.loc[k, c])
        if math.isfinite(c0) and math.isfinite(c1) and c0 < threshold <= c1:
            crossings.append(_crossing(x0, x1, c0, c1, threshold))
    if not crossings:
        return Limit(float(values[k]), "at-level", lowest, highest)
    return Limit(math.exp(max(crossings)), "interpolated", lowest, highest)


def detection_limits(tidy: pd.DataFrame, threshold: float = THRESHOLD) -> pd.DataFrame:
    """Per (method, snr_db, family): ``limit`` (float, see :class:`Limit`), ``kind`` and
    ``text`` (as the tables show it)."""
    levels = level_table(tidy, threshold)
    out = []
    for (method, snr, family), group in levels.groupby(["method", "snr_db", "family"], sort=True):
        lim = limit_of(group, threshold)
        out.append({"method": method, "snr_db": snr, "family": family,
                    "limit": lim.value, "kind": lim.kind, "text": lim.text()})
    return pd.DataFrame(out, columns=["method", "snr_db", "family", "limit", "kind", "text"])


# ---- Markdown -----------------------------------------------------------------------------
def _family_order(families: Sequence[str]) -> list[str]:
    from hubench.datasets.sweeps import FAMILIES

    known = [f for f in FAMILIES if f in families]
    return known + sorted(f for f in families if f not in FAMILIES)


TABLE_TITLES = {
    "weak-level": "Lowest weak abundance detected",
    "weak-albedo": "Lowest weak albedo detected",
    "rare-prevalence": "Lowest rare prevalence detected",
}


def detection_markdown(
    tidy: pd.DataFrame,
    *,
    figures: dict[str, str] | None = None,
    heading: str = "##",
    threshold: float = THRESHOLD,
) -> str:
    """The "Weak detection limit" section: the rule, then per family a table (methods as
    rows, SNRs as columns) and its figure (``figures[family]``: a relative link)."""
    from hubench.datasets.sweeps import FAMILIES
    from hubench.report.text import snr_text

    limits = detection_limits(tidy, threshold)
    levels = level_table(tidy, threshold)
    parts = [
        f"{heading} Weak detection limit\n\n",
        "The lowest sweep level at which a method still finds the weak endmember (mean "
        f"`weak_em_recall` over seeds \u2265 {threshold:g}) and tells its pixels apart (mean "
        f"`weak_ap` \u2265 {threshold:g}), at that level and every higher one; interpolated "
        "on a log scale between the last failing and the first passing level. A criterion "
        "that is undefined at a level is not applied there (`fcls` is given the endmembers "
        "and has no `weak_em_recall`; below the presence threshold A \u2265 0.05 `weak_ap` "
        "is undefined); a cell that failed counts as not detected. \u2264 x: detected at "
        "every level down to the lowest, x; *not reached*: not detected at the highest "
        "level. Lower is better. Definition: docs/guide/detection-limit.md.\n",
    ]
    for family in _family_order(sorted(limits["family"].unique())):
        sub = limits[limits["family"] == family]
        lv = levels[levels["family"] == family]
        snrs = sorted(sub["snr_db"].unique())
        methods = sorted(sub["method"].unique())
        fam = FAMILIES.get(family)
        title = TABLE_TITLES.get(family, f"Lowest {family} level detected")
        points = ", ".join(f"{v:g}" for v in sorted(lv["level"].unique()))
        seeds = int(lv["n"].max()) if len(lv) else 0
        parts.append(f"\n{heading}# {title}\n")
        what = fam.level_label if fam else "level"
        parts.append(
            f"\nSweep `{family}`: {what} at {points}; up to {seeds} seed(s) per level.\n\n"
        )
        header = "| method | " + " | ".join(f"{snr_text(s)}" for s in snrs) + " |"
        parts.append(header + "\n|---|" + "---:|" * len(snrs) + "\n")
        for m in methods:
            cells = []
            for s in snrs:
                hit = sub[(sub["method"] == m) & (sub["snr_db"] == s)]
                cells.append(hit["text"].iloc[0] if len(hit) else "n/a")
            parts.append(f"| {m} | " + " | ".join(cells) + " |\n")
        if figures and family in figures:
            parts.append(
                f"\n![detection {family}]({figures[family]})\n\n*Mean `weak_em_recall` (solid) "
                f"and `weak_ap` (dashed) over seeds against the {what} (log scale), one line "
                f"per method, one panel per SNR; the dotted line is the criterion "
                f"{threshold:g}.*\n"
            )
    return "".join(parts)


__all__ = [
    "CRITERIA",
    "KINDS",
    "THRESHOLD",
    "Limit",
    "detection_limits",
    "detection_markdown",
    "level_table",
    "limit_of",
    "sweep_frame",
]
