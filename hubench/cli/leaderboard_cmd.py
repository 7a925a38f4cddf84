"""``hubench leaderboard``: Markdown or CSV tables generated from the results store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hubench.errors import ParameterError, StoreError

NAME = "leaderboard"
HELP = "tabulate the results store: one table per scenario, mean ± std over seeds, best in bold"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hubench.harness.store import DEFAULT_STORE
    from hubench.report.leaderboard import DEFAULT_METRICS

    parser.add_argument(
        "--store", default=DEFAULT_STORE, help=f"results database (default: {DEFAULT_STORE})"
    )
    parser.add_argument("--format", choices=("md", "csv"), default=None,
                        help="Markdown tables or the tidy long CSV (default: from the --output "
                             "suffix, else md)")  # fmt: skip
    parser.add_argument("--output", default=None, help="write here (atomically) instead of stdout")
    parser.add_argument(
        "--metrics",
        default=None,
        help=f"comma-separated metric columns (default: {','.join(DEFAULT_METRICS)})",
    )
    parser.add_argument(
        "--rank-by",
        default=None,
        help="comma-separated quality metrics whose columns the rank averages (shown too if "
        "not in --metrics; default: every quality metric shown); the page states them",
    )
    parser.add_argument(
        "--scenarios", default=None, help="comma-separated scenarios (default: all stored)"
    )
    parser.add_argument(
        "--profile", default=None, help="only cells run with this profile (default: all)"
    )
    parser.add_argument(
        "--beside", default=None, metavar="PROFILE",
        help="with --profile: under each scenario table, the same cells (scenario, SNR, seed) "
        "run under this other profile, mean ± std over seeds, and which metrics the "
        "--profile cells are worse on by more than the seed spread (e.g. --profile full "
        "--beside quick)",
    )
    parser.add_argument(
        "--title", default="hubench leaderboard", help="heading of the Markdown page"
    )
    parser.add_argument(
        "--statistics",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Markdown cells as mean ± bootstrap 95%% CI half-width with † for significantly "
        "worse than the best (Wilcoxon), plus an average-rank table; --no-statistics: "
        "mean ± std (default: on)",
    )


def _names(text: str | None, what: str) -> list[str] | None:
    if text is None:
        return None
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise ParameterError(f"{what}: empty item in {text!r}; separate names with single commas")
    return items


def run(args: argparse.Namespace) -> int:
    from hubench.harness.store import ResultStore
    from hubench.report.leaderboard import render_csv, render_markdown, select, write_text_atomic

    metrics = _names(args.metrics, "--metrics")
    rank_by = _names(args.rank_by, "--rank-by")
    scenarios = _names(args.scenarios, "--scenarios")
    fmt = args.format
    if fmt is None:
        fmt = "csv" if args.output and Path(args.output).suffix.lower() == ".csv" else "md"
    store = Path(args.store)
    if not store.is_file():
        raise StoreError(
            f"--store: no results store at {store}; run `hubench run` first or pass --store"
        )
    with ResultStore(store, readonly=True) as opened:
        frame = opened.to_frame()
    beside = None
    if args.beside is not None:
        if args.profile is None or args.beside == args.profile:
            raise ParameterError(
                "--beside: compares the --profile cells with another profile's; "
                "give both, e.g. --profile full --beside quick"
            )
        beside = select(frame, scenarios=scenarios, profile=args.beside)
        if beside.empty:
            raise ParameterError(
                f"--beside: the store holds no cells run with --profile {args.beside}; "
                f"run them first or drop --beside"
            )
    frame = select(frame, scenarios=scenarios, profile=args.profile)
    if fmt == "csv":
        text = render_csv(frame, metrics=metrics, rank_by=rank_by)
    else:
        from hubench.report.frame import labelled
        from hubench.report.weak_table import weak_rule_blocks

        # Real scenes: the weak rule's numbers beside each table (the scene is rebuilt
        # from its files; a scene that cannot be rebuilt gets a one-line note).
        extras = weak_rule_blocks(labelled(frame)) if (frame["scenario_kind"] == "real").any() else {}
        from hubench.report.uncertainty_table import uncertainty_tables

        for label, text in uncertainty_tables(labelled(frame)).items():  # --ensemble cells
            extras[label] = text + extras.get(label, "")
        if beside is not None:
            from hubench.report.profile_table import profile_blocks

            blocks = profile_blocks(labelled(frame), labelled(beside), args.profile, args.beside)
            for label, text in blocks.items():
                extras[label] = extras.get(label, "") + text
        text = render_markdown(
            frame,
            metrics=metrics,
            title=args.title,
            source=str(args.store),
            statistics=args.statistics,
            rank_by=rank_by,
            extras=extras,
        )
    if args.output:
        target = write_text_atomic(args.output, text)
        sys.stderr.write(
            f"wrote {target} ({frame['scenario'].nunique()} scenarios, {len(frame)} cells)\n"
        )
    else:
        sys.stdout.write(text)
    return 0
