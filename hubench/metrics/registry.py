"""The metric registry: what each scalar that hubench records means and which way is better.

Per-endmember metrics are registered once as a template (``rmse_em{k}``, ``sad_em{k}``,
``weak_recall_em{k}``, ``weak_ap_em{k}``); :func:`metric_info` resolves a concrete name
such as ``sad_em2`` to its template. The
cost entries are measured by the harness, not by :func:`hubench.metrics.evaluate`, and
are listed here so that ``hubench list metrics`` and the leaderboards know them.

This module is the single source of a metric's direction and unit: the harness (the
regression check) and the reports read them through :func:`metric_direction`,
:func:`metric_unit`, :data:`COST_METRICS` and :func:`metric_columns`, which live here
(below both) rather than in ``hubench.report``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hubench.errors import HubenchError
from hubench.registry import Registry

BETTER = ("lower", "higher", "target")
GROUPS = ("abundance", "endmember", "reconstruction", "weak", "uncertainty", "library", "cost")


@dataclass(frozen=True)
class MetricInfo:
    """A registered metric.

    ``better`` is ``"lower"`` or ``"higher"``, or ``"target"`` for a value that should
    be near a nominal one (interval coverage near 90%): such a metric has no direction,
    is never ranked or bolded, and its rank-able companion is its distance to the
    target (``coverage90_error``); ``group`` is one of :data:`GROUPS`.
    """

    name: str
    description: str
    unit: str
    better: str
    group: str

    def __post_init__(self) -> None:
        if self.better not in BETTER:
            raise TypeError(f"metric {self.name!r}: better must be one of {BETTER}")
        if self.group not in GROUPS:
            raise TypeError(f"metric {self.name!r}: group must be one of {GROUPS}")


METRICS: Registry[MetricInfo] = Registry("metric")


def register_metric(name: str, description: str, unit: str, better: str, group: str) -> MetricInfo:
    """Register one metric's description; returns it."""
    return METRICS.add(name, MetricInfo(name, description, unit, better, group))


def list_metrics(pattern: str = "*") -> list[str]:
    """Names of the registered metrics matching a shell-style ``pattern``, sorted."""
    return METRICS.names(pattern)


#: The per-endmember families: ``<family>_em<k>`` resolves to ``<family>_em{k}``.
PER_ENDMEMBER_FAMILIES = ("rmse", "sad", "weak_recall", "weak_ap")
_PER_ENDMEMBER = re.compile(rf"^({'|'.join(PER_ENDMEMBER_FAMILIES)})_em\d+$")


def metric_info(name: str) -> MetricInfo:
    """The :class:`MetricInfo` of ``name``; ``sad_em3`` resolves to ``sad_em{k}``.

    Raises
    ------
    UnknownNameError
        When no metric (or per-endmember template) has that name.
    """
    match = _PER_ENDMEMBER.match(name)
    if match:
        return METRICS.get(f"{match.group(1)}_em{{k}}")
    return METRICS.get(name)


_ENTRIES = [
    ("armse", "abundance RMSE over all pixels and endmembers", "abundance", "lower", "abundance"),
    ("sre", "signal-to-reconstruction error of the abundances, 20 log10(|A|/|A - A_hat|)",
     "dB", "higher", "abundance"),
    ("rmse_em{k}", "abundance RMSE of true endmember k over pixels", "abundance", "lower",
     "abundance"),
    ("msad", "mean spectral angle between true and matched estimated endmembers", "rad",
     "lower", "endmember"),
    ("sad_em{k}", "spectral angle of true endmember k to its match (pi/2 if unmatched)",
     "rad", "lower", "endmember"),
    ("rmse_y", "reconstruction RMSE of the observed image", "reflectance", "lower",
     "reconstruction"),
    ("weak_recall", "share of (pixel, weak endmember) presences A >= tau detected",
     "fraction", "higher", "weak"),
    ("weak_precision", "share of weak-endmember detections A_hat >= tau that are present",
     "fraction", "higher", "weak"),
    ("weak_f1", "harmonic mean of weak_precision and weak_recall", "fraction", "higher",
     "weak"),
    ("weak_ap", "average precision of A_hat as a score for A >= tau over weak endmembers",
     "fraction", "higher", "weak"),
    ("weak_em_recall", "share of weak endmembers recovered (matched with sad <= threshold)",
     "fraction", "higher", "weak"),
    ("weak_armse", "abundance RMSE restricted to weak endmembers", "abundance", "lower",
     "weak"),
    ("weak_msad", "mean spectral angle restricted to weak endmembers", "rad", "lower", "weak"),
    ("weak_recall_macro", "mean over weak endmembers of each one's detection recall "
     "(endmembers never present left out)", "fraction", "higher", "weak"),
    ("weak_precision_macro", "mean over weak endmembers of each one's detection precision "
     "(endmembers neither present nor detected left out)", "fraction", "higher", "weak"),
    ("weak_f1_macro", "mean over weak endmembers of each one's detection F1 "
     "(endmembers never present left out)", "fraction", "higher", "weak"),
    ("weak_ap_macro", "mean over weak endmembers of each one's average precision "
     "(endmembers never present left out)", "fraction", "higher", "weak"),
    ("weak_recall_em{k}", "detection recall of weak true endmember k over pixels "
     "(NaN if never present)", "fraction", "higher", "weak"),
    ("weak_ap_em{k}", "average precision of weak true endmember k over pixels "
     "(NaN if never present)", "fraction", "higher", "weak"),
    ("coverage90", "share of true abundances inside the estimate's central 90% interval "
     "(ensembles or a method's own uncertainty; near 0.9 is calibrated)", "fraction", "target",
     "uncertainty"),
    ("coverage90_error", "|coverage90 - 0.9|: distance from nominal coverage", "fraction",
     "lower", "uncertainty"),
    ("interval_width", "mean width of the central 90% abundance interval (sharpness)",
     "abundance", "lower", "uncertainty"),
    ("weak_coverage90", "coverage90 over the weak endmembers' abundances", "fraction",
     "target", "uncertainty"),
    ("weak_coverage90_error", "|weak_coverage90 - 0.9|", "fraction", "lower", "uncertainty"),
    ("weak_interval_width", "interval_width over the weak endmembers", "abundance", "lower",
     "uncertainty"),
    ("weak_presence_brier", "Brier score of the probability that a weak endmember is present "
     "(A >= tau) against the truth", "squared probability", "lower", "uncertainty"),
    ("weak_presence_ece", "expected calibration error of the weak-presence probability "
     "(10 equal bins)", "fraction", "lower", "uncertainty"),
    # Library task (docs/guide/metrics.md, "Library metrics"): over all library atoms.
    ("lib_sre", "SRE of the abundances over all library atoms (absent atoms' truth is 0)",
     "dB", "higher", "library"),
    ("lib_armse", "abundance RMSE over all pixels and library atoms (absent atoms' truth is 0)",
     "abundance", "lower", "library"),
    ("lib_recall", "share of the scene's materials whose atom is detected (>= tau in at "
     "least 3 pixels)", "fraction", "higher", "library"),
    ("lib_precision", "share of detected atoms that are the scene's materials", "fraction",
     "higher", "library"),
    ("lib_weak_recall", "share of the weak (and rare) materials whose atom is detected",
     "fraction", "higher", "library"),
    ("lib_active", "atoms detected (>= tau in at least 3 pixels; the scene has p materials): "
     "fewer is sparser, not ranked by default", "atoms", "lower", "library"),
    ("fit_seconds", "wall-clock time of fit only, a deep method's learning-curve scoring left "
     "out (measured by the harness)", "s", "lower", "cost"),
    ("cpu_seconds", "CPU time of fit, all threads of the worker, learning-curve scoring "
     "included (measured by the harness)", "s", "lower", "cost"),
    ("peak_mem_mb", "peak memory growth during fit: RSS, or CUDA max allocated on GPU",
     "MB", "lower", "cost"),
]

for _entry in _ENTRIES:
    register_metric(*_entry)

#: Cost columns: measured by the harness, never deterministic (group ``cost``).
COST_METRICS: tuple[str, ...] = tuple(e[0] for e in _ENTRIES if e[4] == "cost")

# A family name resolves to its per-endmember template: ``rmse``/``rmse_em`` and
# ``sad``/``sad_em`` (names of a family, as in the tolerance table; not frame columns);
# ``weak_recall_em``/``weak_ap_em`` (``weak_recall``/``weak_ap`` are metrics of their own).
_FAMILIES = {
    "rmse": "rmse_em{k}", "rmse_em": "rmse_em{k}", "sad": "sad_em{k}", "sad_em": "sad_em{k}",
    "weak_recall_em": "weak_recall_em{k}", "weak_ap_em": "weak_ap_em{k}",
}  # fmt: skip


def _family_candidates(name: str) -> list[str]:
    """``rmse_em3`` -> ``["rmse_em3", "rmse_em", "rmse"]``: the name, then its family."""
    out = [name]
    for pattern in (r"\d+$", r"_em\d+$"):
        stripped = re.sub(pattern, "", name)
        if stripped and stripped not in out:
            out.append(stripped)
    return out


def metric_direction(name: str) -> str | None:
    """``"lower"`` or ``"higher"`` (which is better) for a metric column, or None if unknown
    or a ``"target"`` metric.

    ``name`` is resolved by :func:`metric_info` (``sad_em3`` -> ``sad_em{k}``); failing
    that, its family (the name without a trailing number or ``_em<k>``: ``armse2`` ->
    ``armse``; ``rmse``/``rmse_em``/``sad``/``sad_em`` -> their per-endmember template)
    is looked up in the registry.
    """
    try:
        return _direction(metric_info(name).better)
    except HubenchError:
        pass
    for candidate in _family_candidates(name):
        key = _FAMILIES.get(candidate, candidate)
        if "{" not in candidate and key in METRICS:  # a template is no family name
            return _direction(METRICS.get(key).better)
    return None


def _direction(better: str) -> str | None:
    """A ``"target"`` metric has no direction (never ranked; any move is a change)."""
    return None if better == "target" else better


def metric_unit(name: str) -> str:
    """The unit of a metric (``"rad"``, ``"s"``...) as :func:`metric_info` resolves it,
    or ``""`` if unknown."""
    try:
        return metric_info(name).unit
    except HubenchError:
        return ""


def metric_columns(frame: Any, fixed_columns: Iterable[str]) -> list[str]:
    """Numeric metric columns of a results frame (a ``pandas.DataFrame``), in frame order.

    ``fixed_columns`` are the frame's non-metric columns (the store's
    ``hubench.harness.store.FRAME_COLUMNS``, cost columns among them), left out.
    """
    import pandas as pd

    fixed = set(fixed_columns)
    return [
        c for c in frame.columns
        if c not in fixed and pd.api.types.is_numeric_dtype(frame[c])
    ]  # fmt: skip
