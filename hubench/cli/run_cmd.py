"""``hubench run``: run a grid of methods x scenarios x SNRs x seeds into the store."""

from __future__ import annotations

import argparse
import os
import sys

from hubench.errors import ParameterError

# Workers each import torch: beyond a few, memory grows faster than throughput.
DEFAULT_JOBS = max(1, min(os.cpu_count() or 1, 4))

NAME = "run"
HELP = "run methods on scenarios and store every cell's metrics"


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from hubench.harness import DEFAULT_SCENARIOS, DEFAULT_SEEDS, DEFAULT_STORE, DEFAULT_TIMEOUT

    parser.add_argument("--methods", default="all",
                        help="comma-separated names, 'all' (every available method), or name[k=v,...] "
                             "to override hyperparameters, e.g. 'vca,fcls[tol=1e-9]' (default: all)")
    parser.add_argument("--scenarios", default=None,
                        help="comma-separated scenario names, or name[k=v,...] to override scenario parameters, "
                             "e.g. 'file[y_key=data,pixel_order=C]'; a detection-limit sweep family "
                             "(weak-sweep = weak-level + weak-albedo + rare-prevalence) stands for its points "
                             f"(default: {','.join(DEFAULT_SCENARIOS)}; with --scene-file alone: only that file)")
    parser.add_argument("--snr", default=None,
                        help="comma-separated SNRs in dB for synthetic scenarios, 'inf' = noiseless "
                             "(default: each scenario's own)")
    parser.add_argument("--seeds", default=str(DEFAULT_SEEDS),
                        help=f"a count N (seeds 0..N-1) or a list '0,3,7' ('7,' = seed 7 only) (default: {DEFAULT_SEEDS})")
    parser.add_argument("--profile", default="quick", choices=("ci", "quick", "full"),
                        help="hyperparameter and scene-size presets (default: quick)")
    parser.add_argument("--scene-profile", default=None, choices=("ci", "quick", "full"),
                        help="build the synthetic scenes of this profile instead (e.g. --profile full "
                             "--scene-profile quick: the full presets on the quick scenes, to compare "
                             "budgets on one scene; default: --profile)")
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS,
                        help=f"worker processes (default: the number of CPU cores, at most 4: {DEFAULT_JOBS})")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS/torch threads per worker, part of each cell's identity "
                             "(default: cores // jobs, at least 1, chosen once per run)")
    parser.add_argument("--max-memory", default=None, metavar="SIZE",
                        help="per-cell cap on the resident memory of a worker and the processes it "
                             "started, e.g. 4G or 512M; a cell over it is ended with status oom (default: none)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="sets the 'device' hyperparameter of methods that have one (default: auto)")
    parser.add_argument("--store", default=DEFAULT_STORE, help=f"results database (default: {DEFAULT_STORE})")
    parser.add_argument("--timeout", type=_positive_float, default=DEFAULT_TIMEOUT,
                        help=f"wall-clock limit per cell in seconds (default: {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--force", action="store_true", help="re-run cells already stored and replace them")
    parser.add_argument("--retry-failed", action="store_true",
                        help="re-run stored cells whose status is not ok")
    parser.add_argument("--save-estimates", action="store_true",
                        help="also save A, E per cell as estimates/<key>.npz beside the store")
    parser.add_argument("--data-dir", default=None, help="folder of the real data sets (real scenarios only)")
    parser.add_argument("--scene-file", default=None, help="add scenario 'file' reading this scene file")
    parser.add_argument("--ensemble", type=int, default=1, metavar="K",
                        help="fit each cell's method K times (deep methods: K seeds; classic ones: "
                             "residual bootstrap) and store the mean with per-pixel uncertainty; "
                             "part of each cell's identity, K fits of cost (default: 1, one fit)")
    parser.add_argument("--reference", default=None, metavar="FILE",
                        help="a .mat/.npz holding the scene file's reference A and/or E "
                             "(keys a_key/e_key), when the image file has none")
    parser.add_argument("--executor", default="local", choices=("local", "dask"),
                        help="where cells run: local (a pool of worker processes here) or dask (Dask "
                             "distributed: a LocalCluster of --jobs workers on 127.0.0.1, or the cluster "
                             "of --scheduler; needs the dist extra) (default: local)")
    parser.add_argument("--scheduler", default=None, metavar="tcp://HOST:PORT",
                        help="run on the existing Dask cluster of this scheduler (implies --executor dask; "
                             "--threads then defaults to 1); see docs/guide/cluster.md")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                        help="show the progress bar (default: only on a terminal)")


def run(args: argparse.Namespace) -> int:
    from hubench.harness import parse_seeds, parse_snrs, run_grid
    from hubench.harness.grid import split_top_level
    from hubench.harness.processes import parse_memory

    if args.jobs < 1:
        raise ParameterError(f"--jobs: needs at least one worker, got {args.jobs}")
    if args.reference is not None and args.scene_file is None:
        raise ParameterError("--reference: gives the references of --scene-file FILE; pass that too")
    if args.scenarios is not None:
        scenarios = split_top_level(args.scenarios, "--scenarios")
    else:  # --scene-file alone runs that file only; otherwise the default grid
        from hubench.harness import DEFAULT_SCENARIOS

        scenarios = ["file"] if args.scene_file is not None else list(DEFAULT_SCENARIOS)
    snrs = parse_snrs(args.snr) if args.snr is not None else None
    seeds = parse_seeds(args.seeds)
    max_memory = parse_memory(args.max_memory) if args.max_memory is not None else None
    summary = run_grid(
        args.methods, scenarios, snrs, seeds, profile=args.profile, store=args.store,
        jobs=args.jobs, threads=args.threads, timeout=args.timeout, max_memory=max_memory, force=args.force, retry_failed=args.retry_failed,
        device=args.device, save_estimates=args.save_estimates, progress=args.progress,
        data_dir=args.data_dir, scene_file=args.scene_file, log=sys.stderr, ensemble=args.ensemble,
        reference_file=args.reference, executor=args.executor, scheduler=args.scheduler,
        scene_profile=args.scene_profile,
    )
    sys.stdout.write(summary.table() + "\n")
    return summary.exit_code
