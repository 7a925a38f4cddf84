"""Shared look of the hubench figures: Agg backend, colour-blind-safe colours, saving.

Colours are the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), which
stays distinguishable under the common colour-vision deficiencies; the truth is always
black and each method keeps its colour in every figure of a run (colour by sorted
method label). Abundance maps use ``viridis`` (perceptually uniform, readable in grey).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # figures are files; never open a window (and work without a display)

import matplotlib.pyplot as plt

from hubench.errors import HubenchError, ParameterError

TRUTH_COLOR = "#000000"
#: Okabe-Ito without black (the truth's); yellow last, it is the faintest on white.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442")
LINESTYLES = ("-", "--", "-.", ":")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
ABUNDANCE_CMAP = "viridis"
FORMATS = ("png", "svg")
DPI = 120

RC: dict[Any, Any] = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "legend.fontsize": 8,
    "figure.titlesize": 12,
    "axes.grid": False,
    "svg.hashsalt": "hubench",  # SVG element ids stable from run to run
}


def method_style(labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Colour, line style and marker per method label, fixed by the sorted order.

    Past seven methods colours repeat with another line style and a shifted marker, so
    no two methods look the same, on lines or as lone markers.
    """
    out = {}
    for i, label in enumerate(sorted(set(labels))):
        out[label] = {
            "color": OKABE_ITO[i % len(OKABE_ITO)],
            "linestyle": LINESTYLES[(i // len(OKABE_ITO)) % len(LINESTYLES)],
            "marker": MARKERS[(i + i // len(OKABE_ITO)) % len(MARKERS)],
        }
    return out


def interleaved_dashes(i: int, n: int) -> Any:
    """Dash pattern of the ``i``-th of ``n`` lines that may coincide.

    Up to three lines get interleaved dashes (same period, shifted phase), so two
    methods with identical results still show both colours in turn instead of one
    hiding the other; more lines get plain distinct styles.
    """
    if n == 1:
        return "--"
    if n <= 3:
        return (5.0 * i, (5.0, 5.0 * (n - 1)))
    return ("--", "-.", ":", (0, (6, 2, 1, 2)))[i % 4]


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"png,svg"`` -> ``("png", "svg")``; unknown formats raise :class:`ParameterError`."""
    items = (
        [s.strip().lower() for s in text.split(",")]
        if isinstance(text, str)
        else [s.lower() for s in text]
    )
    if not items or not all(items):
        raise ParameterError(
            f"--format: expected a comma-separated list of {', '.join(FORMATS)}, got {text!r}"
        )
    for item in items:
        if item not in FORMATS:
            raise ParameterError(
                f"--format: unknown image format {item!r}; choose from {', '.join(FORMATS)}"
            )
    return tuple(dict.fromkeys(items))


def slug(text: str) -> str:
    """A file-name-safe version of a scenario or method label."""
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-") or "scene"


def save(
    fig: Any, directory: Path, stem: str, formats: Sequence[str], *, dpi: int = DPI
) -> list[Path]:
    """Write ``fig`` as ``directory/stem.<fmt>`` for each format (atomically, raster formats
    at ``dpi``) and close it."""
    written = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            target = directory / f"{stem}.{fmt}"
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
            try:
                with os.fdopen(fd, "wb") as fh:
                    # tight: a legend wider than the panels (long variant labels) is
                    # kept whole instead of cut at the figure's edges
                    fig.savefig(
                        fh, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.05,
                        metadata={"Date": None} if fmt == "svg" else None,
                    )
                os.chmod(tmp, 0o644)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            written.append(target)
    except OSError as exc:
        raise HubenchError(
            f"cannot write figures to {directory}: {exc.strerror or exc}; choose a writable --output"
        ) from None
    finally:
        plt.close(fig)
    return written


__all__ = [
    "ABUNDANCE_CMAP",
    "FORMATS",
    "OKABE_ITO",
    "RC",
    "TRUTH_COLOR",
    "interleaved_dashes",
    "method_style",
    "parse_formats",
    "save",
    "slug",
]
