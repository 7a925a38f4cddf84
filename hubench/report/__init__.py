"""Reports generated from the results store: leaderboards (Markdown/CSV), figures.

A leaderboard is computed once as data (:func:`~hubench.report.board.build_leaderboard`
-> :class:`~hubench.report.board.Leaderboard`) and then rendered
(:mod:`~hubench.report.render_md`, :mod:`~hubench.report.render_csv`);
:func:`render_markdown` and :func:`render_csv` do both from a results frame.
"""

from __future__ import annotations

from hubench.report.board import Leaderboard, build_leaderboard
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
    "Leaderboard",
    "build_leaderboard",
    "metric_direction",
    "render_csv",
    "render_markdown",
    "scenario_table",
    "select",
    "summarize",
    "write_text_atomic",
]
