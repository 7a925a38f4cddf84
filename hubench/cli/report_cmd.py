"""``hubench report``: one Markdown page with the leaderboard and each scenario's figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "report"
HELP = "write one Markdown page (leaderboard tables with each scenario's figures) for a store"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hubench.harness.store import DEFAULT_STORE

    parser.add_argument(
        "--store", default=DEFAULT_STORE, help=f"results database (default: {DEFAULT_STORE})"
    )
    parser.add_argument(
        "--output",
        default=None,
        help="folder for report.md and figures/ (default: 'report' beside the store)",
    )
    parser.add_argument(
        "--name", default="report.md", help="file name of the page in --output (default: report.md)"
    )
    parser.add_argument("--title", default="hubench report", help="heading of the page")
    parser.add_argument(
        "--rank-by",
        default=None,
        help="comma-separated quality metrics whose columns the leaderboard's rank averages "
        "(default: every quality metric shown); the page states them",
    )
    parser.add_argument(
        "--detection-limit", action="store_true",
        help="write only the weak detection-limit section (cells of the weak-sweep scenarios) "
             "and its figures; docs/guide/detection-limit.md",
    )


def run(args: argparse.Namespace) -> int:
    from hubench.cli.leaderboard_cmd import _names
    from hubench.report.markdown_report import write_report

    rank_by = _names(args.rank_by, "--rank-by")
    output = Path(args.output) if args.output else Path(args.store).parent / "report"
    page, plots = write_report(
        args.store, output, title=args.title, page_name=args.name, rank_by=rank_by,
        detection_only=args.detection_limit,
    )
    for note in plots.notes:
        sys.stderr.write(f"note: {note}\n")
    sys.stderr.write(f"wrote {page} and {len(plots.all_files())} figures in {output / 'figures'}\n")
    sys.stdout.write(f"{page}\n")
    return 0
