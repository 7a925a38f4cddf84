"""Metrics with exact definitions (docs/guide/metrics.md) and the endmember alignment.

``evaluate(scene, estimate)`` aligns the estimated endmembers to the true ones once
(Hungarian on the SAD matrix), records the alignment, and computes every scalar metric;
``score`` returns just the flat dict. The metric functions in the submodules take
already-aligned arrays and never align by themselves.

Importing this package also loads the installed plug-ins of entry-point group
``hubench.metrics`` (:mod:`hubench.plugins`), which register with
:func:`~hubench.metrics.registry.register_metric`.
"""

from __future__ import annotations

from hubench.metrics.abundance import armse, rmse_linear, rmse_per_endmember, rmse_y, sre
from hubench.metrics.alignment import align, aligned_columns, sad_matrix
from hubench.metrics.endmember import UNRECOVERED_SAD, msad, sad, sad_aligned
from hubench.metrics.evaluation import Evaluation, evaluate, score
from hubench.metrics.registry import (
    COST_METRICS,
    METRICS,
    MetricInfo,
    list_metrics,
    metric_columns,
    metric_direction,
    metric_info,
    metric_unit,
)
from hubench.metrics.weak import average_precision, detection_counts
from hubench.plugins import load_group

load_group("hubench.metrics", METRICS)

__all__ = [
    "COST_METRICS",
    "METRICS",
    "UNRECOVERED_SAD",
    "Evaluation",
    "MetricInfo",
    "align",
    "aligned_columns",
    "armse",
    "average_precision",
    "detection_counts",
    "evaluate",
    "list_metrics",
    "metric_columns",
    "metric_direction",
    "metric_info",
    "metric_unit",
    "msad",
    "rmse_linear",
    "rmse_per_endmember",
    "rmse_y",
    "sad",
    "sad_aligned",
    "sad_matrix",
    "score",
    "sre",
]
