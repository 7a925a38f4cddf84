"""The CSV leaderboard: the tidy long form of a :class:`~hubench.report.board.Leaderboard`,
one row per scenario x method x SNR x metric (``scenario, method, snr_db, metric, mean,
std, n, reference``; ``reference`` is True for a method given the true endmembers, which
the Markdown shows apart and never ranks). Formats only: the numbers are the board's
``summary``.
"""

from __future__ import annotations

from hubench.report.board import Leaderboard

CSV_COLUMNS = ("scenario", "method", "snr_db", "metric", "mean", "std", "n", "reference")


def board_csv(board: Leaderboard) -> str:
    """The CSV text (``snr_db`` is ``inf`` for noiseless and empty for real scenes)."""
    return str(board.summary[list(CSV_COLUMNS)].to_csv(index=False, lineterminator="\n"))


__all__ = ["CSV_COLUMNS", "board_csv"]
