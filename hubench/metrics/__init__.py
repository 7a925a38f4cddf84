"""Metrics with exact definitions (docs/metrics.md) and the endmember alignment.

Contract (filled in by the modules of this package):
``score(scene, estimate, *, tau=0.05) -> dict[str, float]``,
``evaluate(scene, estimate, *, tau=0.05) -> Evaluation`` and ``list_metrics()``.
"""
