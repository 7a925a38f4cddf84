"""Leaderboards from a results frame: Markdown tables (tabulate) and a tidy CSV.

The entry points of ``hubench leaderboard``: each computes the leaderboard as data once
(:func:`hubench.report.board.build_leaderboard`: statistics, intervals, significance,
ranks, counts) and hands it to a renderer (:mod:`hubench.report.render_md`,
:mod:`hubench.report.render_csv`), which only formats. One table per scenario, a row per
method, ``mean ± std`` over seeds of the cells that finished ``ok`` for each metric at
each SNR (columns ``armse @ 10 dB``), the best blind method of a column in bold, an
overall ``rank`` among the blind methods over the rank metrics (``rank_by``; stated under
each table), the methods given the true endmembers in a reference block that is not
ranked, cost columns averaged over all SNRs and not ranked, and ``failed`` = cells not
ok / cells run, under a header naming the settings and versions that produced the
numbers. Nothing here reads a clock: the same store gives the same bytes.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from hubench.errors import HubenchError
from hubench.report.board import Provenance, build_labelled, build_leaderboard
from hubench.report.frame import (
    DEFAULT_METRICS,
    labelled,
    select,
    variant_labels,
)
from hubench.report.render_csv import CSV_COLUMNS, board_csv
from hubench.report.render_md import board_markdown, provenance_rows, scenario_frame
from hubench.report.text import format_mean_std


def summarize(frame: pd.DataFrame, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """Tidy long summary: one row per (scenario, method, snr_db, metric) with mean, std, n.

    Statistics are over the seeds of the cells that finished ``ok`` (finite values only;
    ``std`` is the sample std, NaN for one value). Methods whose cells all failed appear
    with ``n = 0``. (The board's ``summary`` without its CI columns.)
    """
    summary = build_leaderboard(frame, metrics, statistics=False).summary
    return summary[[c for c in CSV_COLUMNS if c in summary.columns]]


def scenario_table(frame: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """One scenario's table, rows sorted by rank: ``method``, ``rank``, metric columns, ``failed``.

    ``frame`` holds one scenario's rows with a ``method_label`` column (:func:`labelled`).
    Cells are display strings (best in ``**bold**``). Columns whose every value is
    missing (weak metrics on a scenario without weak endmembers) are dropped.
    """
    lab = frame.assign(scenario_label="scenario")
    board = build_labelled(lab, list(metrics), statistics=False)
    return scenario_frame(board, "scenario")


def provenance(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """(setting, value) pairs describing what produced ``frame``."""
    return provenance_rows(Provenance.of(frame))


def render_markdown(
    frame: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    title: str = "hubench leaderboard",
    source: str | None = None,
    statistics: bool = False,
    generator: str = "hubench leaderboard",
    extras: Mapping[str, str] | None = None,
    rank_by: Sequence[str] | None = None,
) -> str:
    """The whole Markdown leaderboard: header, then one table per scenario.

    ``statistics``: cells as mean ± bootstrap 95% CI half-width, † for significantly worse
    than the best (Wilcoxon), and an average-rank table. ``generator`` and ``extras``: see
    :func:`hubench.report.render_md.board_markdown`. ``rank_by``: the metrics whose
    columns the rank averages (default: every quality metric shown; see
    :func:`~hubench.report.board.build_leaderboard`).
    """
    return board_markdown(
        build_leaderboard(frame, metrics, statistics=statistics, rank_by=rank_by),
        title=title,
        source=source,
        statistics=statistics,
        generator=generator,
        extras=extras,
    )


def render_csv(
    frame: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    rank_by: Sequence[str] | None = None,
) -> str:
    """The tidy long CSV (``scenario,method,snr_db,metric,mean,std,n,reference``).

    The CSV holds no rank; ``rank_by`` is checked as for the Markdown, and its metrics
    not among ``metrics`` get rows too.
    """
    return board_csv(build_leaderboard(frame, metrics, statistics=False, rank_by=rank_by))


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename: never half-written."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise HubenchError(
            f"cannot write {target}: {exc.strerror or exc}; choose a writable --output"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be read
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise HubenchError(
            f"cannot write {target}: {exc.strerror or exc}; choose a writable --output"
        ) from exc
    return target


__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_METRICS",
    "format_mean_std",
    "labelled",
    "provenance",
    "render_csv",
    "render_markdown",
    "scenario_table",
    "select",
    "summarize",
    "variant_labels",
    "write_text_atomic",
]
