"""The CSV leaderboard: the tidy long form of a :class:`~hubench.report.board.Leaderboard`,
one row per scenario x method x SNR x metric (``scenario, method, snr_db, metric, mean,
std, n, reference, note``; ``reference`` is True for a method given the true endmembers or prior spectra,
which the Markdown shows apart and never ranks; ``note`` is empty, or ``n/a: no reference
abundances`` / ``n/a: no reference endmembers`` where the scene's partial reference does
not allow the metric). Formats only: the numbers are the board's ``summary``.
"""

from __future__ import annotations

from hubench.metrics.evaluation import applies, needs
from hubench.report.board import Leaderboard

CSV_COLUMNS = ("scenario", "method", "snr_db", "metric", "mean", "std", "n", "reference", "note")
_MISSING = {"A": "n/a: no reference abundances", "E": "n/a: no reference endmembers"}


def board_csv(board: Leaderboard) -> str:
    """The CSV text (``snr_db`` is ``inf`` for noiseless and empty for real scenes)."""
    summary = board.summary.copy()
    summary["note"] = [
        "" if applies(metric, board.references.get(scenario, "A+E")) else _MISSING[needs(metric)]
        for scenario, metric in zip(summary["scenario"], summary["metric"], strict=True)
    ]
    return str(summary[list(CSV_COLUMNS)].to_csv(index=False, lineterminator="\n"))


__all__ = ["CSV_COLUMNS", "board_csv"]
