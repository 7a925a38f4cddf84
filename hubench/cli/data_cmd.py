"""``hubench data list|fetch``: the published datasets and where they are.

``hubench data list [--data-dir PATH]`` shows each known dataset's files, the folder
they were found in, and whether each is present and matches its sha256.
``hubench data fetch NAME [--data-dir PATH] [--force]`` downloads a dataset (or ``all``)
into the data directory, verified and written atomically. Bad input (a target that is
a file, unwritable or under /proc, a time limit that is not a positive finite number)
exits with code 2 before anything is created; a failed download (network error, time
limit, oversized response, sha256 mismatch) deletes the partial file and exits with
code 1. Either way one line on stderr.
"""

from __future__ import annotations

import argparse
import sys

from tabulate import tabulate

from hubench.datasets.fetch import (
    DATASETS,
    DEFAULT_DEADLINE,
    DEFAULT_TIMEOUT,
    dataset_status,
    fetch,
    get_dataset,
)
from hubench.errors import DownloadError

NAME = "data"
PLUGINS = "none"  # no registry is looked up (hubench/cli/__init__.py)
HELP = "list the published datasets (Samson, Jasper Ridge, USGS) or download one"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", parser_class=type(parser))
    sub.required = True
    listing = sub.add_parser("list", help="show known datasets and whether they are present")
    listing.add_argument("--data-dir", default=None, help="data directory (default: see docs/guide/your-data.md)")
    getter = sub.add_parser("fetch", help="download a dataset, verify its sha256, write atomically")
    getter.add_argument("name", metavar="NAME", help=f"one of: {', '.join(sorted(DATASETS))}, or all")
    getter.add_argument("--data-dir", default=None, help="target folder (default: $HUBENCH_DATA_DIR or ./data)")
    getter.add_argument("--force", action="store_true", help="download again even when already verified")
    getter.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                        help=f"seconds without progress (connecting, one read) before giving up "
                             f"(default: {DEFAULT_TIMEOUT:g})")
    getter.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE,
                        help=f"seconds allowed for the whole of each file (default: {DEFAULT_DEADLINE:g})")


def _list(args: argparse.Namespace) -> int:
    rows = []
    for name in sorted(DATASETS):
        for st in dataset_status(name, args.data_dir):
            state = "verified" if st.verified else ("sha256 MISMATCH" if st.present else "missing")
            rows.append([name, st.relpath, state, str(st.path.parent.parent if st.present else "")])
    print(tabulate(rows, headers=["dataset", "file", "status", "found in"], tablefmt="simple"))
    for name in sorted(DATASETS):
        print(f"{name}: {get_dataset(name).description}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    names = sorted(DATASETS) if args.name == "all" else [get_dataset(args.name).name]
    for name in names:

        def report(line: str, name: str = name) -> None:
            print(f"{name}: {line}", file=sys.stdout, flush=True)

        try:
            fetch(name, args.data_dir, force=args.force, timeout=args.timeout, deadline=args.deadline,
                  report=report)
        except DownloadError as exc:  # not bad input: exit code 1 (docs/guide/your-data.md)
            sys.stderr.write(f"hubench data: error: {exc}\n")
            return 1
    return 0


def run(args: argparse.Namespace) -> int:
    return _list(args) if args.data_command == "list" else _fetch(args)
