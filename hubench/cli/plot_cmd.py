"""``hubench plot``: figures of a results store (abundance maps, spectra, metrics vs SNR,
weak-endmember precision-recall curves, deep methods' learning curves). See
docs/dev/figures.md."""

from __future__ import annotations

import argparse
import sys

from hubench.errors import ParameterError

NAME = "plot"
HELP = (
    "draw abundance maps, spectra, metrics against SNR, weak-endmember PR curves and accuracy against compute from the store"
)


def _snr(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of dB ('inf' = noiseless)"
        ) from None
    if value != value:
        raise argparse.ArgumentTypeError("NaN is not an SNR")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hubench.harness.store import DEFAULT_STORE

    parser.add_argument(
        "--store", default=DEFAULT_STORE, help=f"results database (default: {DEFAULT_STORE})"
    )
    parser.add_argument("--output", required=True, help="folder for the image files (created)")
    parser.add_argument(
        "--scene",
        default=None,
        help="scenario name (or leaderboard label) to draw (default: every stored scenario)",
    )
    parser.add_argument(
        "--snr",
        type=_snr,
        default=None,
        help="SNR (dB) of the cell whose estimates are drawn (default: the lowest stored)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed of the cell whose estimates are drawn (default: the smallest stored)",
    )
    parser.add_argument(
        "--methods", default=None, help="comma-separated method names or labels (default: all)"
    )
    parser.add_argument(
        "--figures", default=None,
        help="comma-separated figures to draw: abundances, spectra, metrics-vs-snr, weak-pr, "
        "cost, uncertainty, reliability, learning-curves (default: all)",
    )
    parser.add_argument(
        "--format", default="png", help="comma-separated image formats: png, svg (default: png)"
    )


def run(args: argparse.Namespace) -> int:
    from hubench.report.fig_style import parse_formats
    from hubench.report.figures import KINDS, plot_store

    formats = parse_formats(args.format)
    kinds = KINDS if args.figures is None else tuple(k.strip() for k in args.figures.split(",") if k.strip())
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise ParameterError(f"--figures: unknown figure {unknown[0]!r}; choose from {', '.join(KINDS)}"
                             if unknown else f"--figures: name at least one of {', '.join(KINDS)}")
    if args.seed is not None and args.seed < 0:
        raise ParameterError(f"--seed: seeds are non-negative integers, got {args.seed}")
    result = plot_store(
        args.store,
        args.output,
        scene=args.scene,
        snr=args.snr,
        seed=args.seed,
        methods=args.methods,
        formats=formats,
        kinds=kinds,
    )
    for note in result.notes:
        sys.stderr.write(f"note: {note}\n")
    for path in result.all_files():
        sys.stdout.write(f"{path}\n")
    sys.stderr.write(f"wrote {len(result.all_files())} files to {args.output}\n")
    return 0
