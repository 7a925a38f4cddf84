"""One Markdown page for a results store: the leaderboard with each scenario's figures
placed right after its table (``hubench report``).

The page is the leaderboard of :func:`hubench.report.leaderboard.render_markdown`
(header, notes, one ``## <scenario>`` section per scenario) with, at the end of each
section, the figures of :func:`hubench.report.figures.plot_store` linked by relative
paths (``figures/<file>.png``), so the output folder can be moved or committed as a whole.
The figures are handed to the renderer as each section's extra block; nothing is
spliced into rendered text.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hubench.errors import ParameterError
from hubench.report.figures import PlotResult, plot_store
from hubench.report.uncertainty_table import uncertainty_tables
from hubench.report.weak_table import per_endmember_blocks, weak_rule_blocks

FIGURE_DIR = "figures"
PAGE_NAME = "report.md"

CAPTIONS = {
    "metrics-vs-snr": "Metrics against SNR: mean over seeds (line) and min\u2013max over seeds (band).",
    "abundances": "Abundance maps: truth (top row) and each method, one column per endmember; "
    "\u2605 and a red frame mark weak endmembers; colour scale 0\u20131.",
    "spectra": "Endmember spectra: truth (black) and each blind method's matched estimate "
    "(alignment as recorded by the harness), with its spectral angle.",
    "cost": "Accuracy against compute: each method's mean quality (SNRs and seeds pooled; bar: "
    "min\u2013max of per-seed means) against its median fit time; grey line: the Pareto front "
    "of the ranked methods; hollow markers: references given the truth, not on the front.",
    "uncertainty": "Abundance uncertainty of the methods run as ensembles (--ensemble K) or "
    "with their own: abundance maps above the width of the central 90% interval, with the "
    "interval's coverage of the truth per endmember (0.9 is calibrated).",
    "reliability": "Weak-presence reliability: the ensemble's share of members detecting a "
    "weak endmember (A_hat \u2265 0.05) as a probability, binned, against how often it is "
    "present; the diagonal is perfect calibration; bars: pixels per bin.",
    "weak-pr": "Weak-endmember precision\u2013recall: abundance estimate as a score for presence "
    "(A \u2265 0.05) pooled over the weak endmembers; dots: the detection A_hat \u2265 0.05.",
}

#: Summary first (it reads with the table), then the scene of one cell.
REPORT_ORDER = ("metrics-vs-snr", "cost", "weak-pr", "abundances", "spectra", "uncertainty",
                "reliability")


def figure_block(files: dict[str, list[Path]], page_dir: Path) -> str:
    """Markdown for one scenario's figures (PNG links relative to ``page_dir``)."""
    parts = []
    for kind in REPORT_ORDER:
        paths = [p for p in files.get(kind, []) if p.suffix == ".png"]
        if not paths:
            continue
        link = paths[0].relative_to(page_dir).as_posix()
        parts.append(f"![{kind}]({link})\n\n*{CAPTIONS[kind]}*\n")
    if not parts:
        return ""
    return "\n### Figures\n\n" + "\n".join(parts)


def write_report(
    store_path: str | Path,
    output: str | Path,
    *,
    title: str = "hubench report",
    page_name: str = PAGE_NAME,
    rank_by: Sequence[str] | None = None,
    detection_only: bool = False,
) -> tuple[Path, PlotResult]:
    """Write ``output/<page_name>`` and ``output/figures/*.png`` for the whole store.

    Scenarios without saved estimates get only the metrics-against-SNR figure (the
    returned :class:`PlotResult` notes say so). ``rank_by``: the metrics the leaderboard's
    rank averages (default: every quality metric shown); checked before any figure is
    drawn. When the store holds cells of the
    detection-limit sweeps, the page ends with the "Weak detection limit" section and its
    ``figures/detection-<family>.png`` (:mod:`hubench.report.detection_page`);
    ``detection_only`` writes that section alone. Returns the page's path and the figures.
    """
    from hubench.report.detection_page import detection_section, write_detection_page
    from hubench.report.figures import load_frame
    from hubench.report.leaderboard import render_markdown, write_text_atomic

    if not page_name or Path(page_name).name != page_name or not page_name.endswith(".md"):
        raise ParameterError(f"--name: expected a file name ending in .md, got {page_name!r}")
    frame, _ = load_frame(store_path)
    if rank_by is not None:
        from hubench.report.frame import resolve_rank_by

        resolve_rank_by(frame, rank_by)  # bad input: one line, before anything is written
    out_dir = Path(output)
    if detection_only:
        return write_detection_page(frame, store_path, out_dir, title=title, page_name=page_name)
    plots = plot_store(store_path, out_dir / FIGURE_DIR, formats=("png",))
    blocks = {label: figure_block(files, out_dir) for label, files in plots.files.items()}
    for label, text in per_endmember_blocks(frame).items():  # each weak endmember on its own
        blocks[label] = text + blocks.get(label, "")
    for label, text in weak_rule_blocks(frame).items():  # real scenes: the weak rule's numbers
        blocks[label] = text + blocks.get(label, "")
    for label, text in uncertainty_tables(frame).items():  # cells run with --ensemble K
        blocks[label] = text + blocks.get(label, "")
    page = render_markdown(
        frame.drop(columns=["scenario_label", "method_label"]),
        title=title,
        source=str(store_path),
        statistics=True,
        generator="hubench report",
        extras=blocks,
        rank_by=rank_by,
    )
    section, detection_files = detection_section(frame, out_dir, FIGURE_DIR)
    if section:
        page = page.rstrip("\n") + "\n\n" + section
        plots.files["detection-limit"] = detection_files
    text = page.rstrip("\n") + "\n"
    target = write_text_atomic(out_dir / page_name, text)
    return target, plots


__all__ = [
    "CAPTIONS",
    "FIGURE_DIR",
    "PAGE_NAME",
    "REPORT_ORDER",
    "figure_block",
    "write_report",
]
