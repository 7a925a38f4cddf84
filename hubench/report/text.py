"""How numbers are written in the reports: the one SNR formatter and mean ± spread cells.

Every table, CSV note, figure title and error message of :mod:`hubench.report` writes an
SNR with :func:`snr_text` and a statistic with :func:`format_mean_std`, so the same
value reads the same everywhere. This module formats only; it imports nothing of the
report.
"""

from __future__ import annotations

import math


def snr_text(snr: float) -> str:
    """``"20 dB"``; ``"noiseless"`` for ``inf``; ``"real noise"`` for NaN (a real scene,
    whose noise is whatever the sensor recorded)."""
    if math.isnan(snr):
        return "real noise"
    return "noiseless" if math.isinf(snr) else f"{snr:g} dB"


def _decimals(mean: float) -> int | None:
    """Decimals that show three significant digits; None means use scientific notation."""
    mag = abs(mean)
    if mag == 0:
        return 0
    if mag < 1e-4 or mag >= 1e5:
        return None
    return int(min(6, max(0, 2 - math.floor(math.log10(mag)))))


def format_mean_std(mean: float, spread: float, n: int) -> str:
    """``"0.0512 ± 0.0031"``: three significant digits of the mean, the spread (a std or
    a CI half-width) to the same decimals; the spread is dropped for a single value or
    when it is NaN; ``"n/a"`` for no value."""
    if n == 0 or not math.isfinite(mean):
        return "n/a"
    d = _decimals(mean)
    text = f"{mean:.2e}" if d is None else f"{mean:.{d}f}"
    if n > 1 and math.isfinite(spread):
        text += f" ± {spread:.2e}" if d is None else f" ± {spread:.{d}f}"
    return text


def rank_text(rank: float) -> str:
    """``"2.17"``: a (mean) rank with two decimals; ``"n/a"`` when there is none."""
    return f"{rank:.2f}" if math.isfinite(rank) else "n/a"


__all__ = ["format_mean_std", "rank_text", "snr_text"]
