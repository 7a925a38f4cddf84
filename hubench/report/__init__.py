"""Reports generated from the results store: leaderboards (Markdown/CSV)."""

from __future__ import annotations

from hubench.report.leaderboard import (
    CSV_COLUMNS,
    DEFAULT_METRICS,
    render_csv,
    render_markdown,
    scenario_table,
    select,
    summarize,
    write_text_atomic,
)
from hubench.report.stats import metric_direction

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_METRICS",
    "metric_direction",
    "render_csv",
    "render_markdown",
    "scenario_table",
    "select",
    "summarize",
    "write_text_atomic",
]
