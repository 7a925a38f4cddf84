"""``hubench test-method NAME``: put a registered method through the method contract.

The checks are those of :mod:`hubench.contract` (the same that
``tests/test_registry_generic.py`` runs on every registered method), on any method
the registry holds: built-in, installed plug-in or ``$HUBENCH_PLUGINS`` module. One
line per check, ``PASS``/``FAIL``/``SKIP`` with the reason, then a summary line.
Exit code 0 when no check fails, 1 when one does, 2 for an unknown method name (with
close-match suggestions) or a bad option. A method that cannot run here (a missing
package, no GPU) has the checks that need a fit skipped with the reason, and exit code
0: the summary says it was not fitted.
"""

from __future__ import annotations

import argparse
import sys
import time

from hubench.errors import ParameterError

NAME = "test-method"
HELP = "run the generic method contract checks on a registered method (built-in or plug-in)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME",
                        help="a registered method, optionally with overrides: 'fcls[tol=1e-9]'")
    parser.add_argument("--profile", default="ci", choices=("ci", "quick", "full"),
                        help="hyperparameter preset and size of the test scene (default: ci, "
                             "a few seconds per method)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads for the fits (default: 1; the test scenes are tiny, "
                             "and more threads than free cores slow torch down many times)")


def run(args: argparse.Namespace) -> int:
    from hubench.contract import FAIL, PASS, SKIP, run_checks
    from hubench.harness.grid import parse_method_spec

    if args.threads < 1:
        raise ParameterError(f"--threads: needs at least one thread, got {args.threads}")
    request = parse_method_spec(args.name)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass
    else:
        torch.set_num_threads(args.threads)
    start = time.perf_counter()
    counts = {PASS: 0, FAIL: 0, SKIP: 0}
    failed = []
    for result in run_checks(request.name, profile=args.profile, overrides=request.overrides):
        counts[result.status] += 1
        if result.status == FAIL:
            failed.append(result.check)
        sys.stdout.write(result.line() + "\n")
        sys.stdout.flush()
    seconds = time.perf_counter() - start
    tally = (f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped; "
             f"profile {args.profile}, {seconds:.1f} s")
    if failed:
        sys.stdout.write(f"hubench test-method: {args.name!r} FAILS the method contract "
                         f"({', '.join(failed)}): {tally}\n")
        return 1
    from hubench.methods import METHODS

    ok, reason = METHODS.get(request.name).availability()
    if not ok:  # not the method's fault, but nothing was fitted: say so, do not claim a pass
        sys.stdout.write(f"hubench test-method: {args.name!r} cannot run here ({reason}), so the "
                         f"checks that fit it were skipped; none failed: {tally}\n")
        return 0
    sys.stdout.write(f"hubench test-method: {args.name!r} meets the method contract: {tally}\n")
    return 0
