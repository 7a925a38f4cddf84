"""``hubench list methods|scenarios|metrics``: what is registered, one line per entry.

Plug-ins that failed to load are listed as unavailable with the error (the listing is
where a user looks for them), instead of failing the command.
"""

from __future__ import annotations

import argparse
import fnmatch
import sys

from tabulate import tabulate

from hubench.plugins import PluginFailure, plugin_errors

NAME = "list"
HELP = "list the registered methods, scenarios or metrics"
PLUGINS = "list"  # plug-in failures are rows of the listing, not exit code 2


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
    for failure in _failures(pattern, "hubench.methods", None):
        rows.append([failure.name, "?", "-", f"unavailable: plug-in {failure.problem}", f"({failure.source})"])
    return rows


def _failures(pattern: str, *groups: str | None) -> list[PluginFailure]:
    return [f for group in groups for f in plugin_errors(group) if fnmatch.fnmatchcase(f.name, pattern)]


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
    for failure in _failures(pattern, "hubench.scenarios"):
        rows.append([failure.name, "?", "-", "-", f"unavailable: plug-in {failure.message}"])
    return rows


def _metrics(pattern: str) -> list[list[str]]:
    from hubench.metrics import METRICS

    rows = []
    for name in METRICS.names(pattern):
        info = METRICS.get(name)
        rows.append([name, getattr(info, "group", ""), getattr(info, "unit", ""),
                     f"{getattr(info, 'better', '?')} is better", getattr(info, "description", "")])
    for failure in _failures(pattern, "hubench.metrics"):
        rows.append([failure.name, "?", "-", "-", f"unavailable: plug-in {failure.message}"])
    return rows


def run(args: argparse.Namespace) -> int:
    from hubench.plugins import load_plugins

    load_plugins(strict=False)
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
