"""``hubench list methods|scenarios|metrics``: what is registered, one line per entry."""

from __future__ import annotations

import argparse
import fnmatch
import sys

from tabulate import tabulate

NAME = "list"
HELP = "list the registered methods, scenarios or metrics"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", choices=("methods", "scenarios", "metrics"), help="which registry to list")
    parser.add_argument("pattern", nargs="?", default="*", help="shell-style name filter (default: *)")


def _methods(pattern: str) -> list[list[str]]:
    from hubench.methods import IMPORT_ERRORS, METHODS

    rows = []
    for name in METHODS.names(pattern):
        cls = METHODS.get(name)
        ok, reason = cls.availability()
        rows.append([name, cls.task, ", ".join(cls.requires) or "-",
                     "available" if ok else f"unavailable: {reason}", cls.description])
    for module, error in sorted(IMPORT_ERRORS.items()):
        if not fnmatch.fnmatchcase(module, pattern):
            continue
        rows.append([module, "?", "-", f"unavailable: import failed: {error}", "(module did not import)"])
    return rows


def _scenarios(pattern: str) -> list[list[str]]:
    from hubench.datasets import SCENARIOS

    rows = []
    for name in SCENARIOS.names(pattern):
        spec = SCENARIOS.get(name)
        names = spec.param_names()
        needs = ("data files (--data-dir)" if "data_dir" in names
                 else "a scene file (--scene-file)" if spec.name == "file" else "-")
        snr = "--snr applies" if spec.accepts_snr else "fixed noise"
        rows.append([name, spec.kind, needs, snr, spec.description])
    return rows


def _metrics(pattern: str) -> list[list[str]]:
    from hubench.metrics import METRICS

    rows = []
    for name in METRICS.names(pattern):
        info = METRICS.get(name)
        rows.append([name, getattr(info, "group", ""), getattr(info, "unit", ""),
                     f"{getattr(info, 'better', '?')} is better", getattr(info, "description", "")])
    return rows


def run(args: argparse.Namespace) -> int:
    from hubench.harness import load_plugins

    load_plugins()
    builders = {"methods": (_methods, ["name", "task", "requires", "availability", "description"]),
                "scenarios": (_scenarios, ["name", "kind", "requires", "snr", "description"]),
                "metrics": (_metrics, ["name", "group", "unit", "direction", "description"])}
    build, headers = builders[args.what]
    rows = build(args.pattern)
    if not rows:
        sys.stderr.write(f"no {args.what} match {args.pattern!r}\n")
        return 0
    sys.stdout.write(tabulate(rows, headers=headers, tablefmt="plain") + "\n")
    return 0
