"""Time and peak memory of the library solvers against the number of pixels (issue 18).

Not a pytest benchmark: each (solver, size) runs in a fresh process so that its peak
memory is its own. A fixed number of ADMM iterations (``tol=0``) is timed, so the
numbers are the per-iteration cost (the solvers stop on residuals after some hundreds
of iterations on the scenarios; their iteration count does not depend on the image
size to first order). Usage::

    python benchmarks/library_scaling.py 10000 100000 1000000 [--iters 10]

Image: 200 bands, a 120-atom library of random non-negative spectra (the cost of an
iteration does not depend on what the spectra are; the USGS grid stops at 182 bands), 5 of them mixed
with Dirichlet(1) abundances, Gaussian noise sigma 0.01, rows of 1000 pixels. Peak
growth is :class:`hubench.memory.PeakMemory` over the resident set with the image
already in memory; ``image`` is the image's own size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

SOLVERS = ("sunsal", "clsunsal", "sunsal-tv")


def _case(solver: str, n_pixels: int, iters: int) -> dict:
    from hubench.memory import PeakMemory
    from hubench.solvers import sparse_regression, sunsal_tv

    rng = np.random.default_rng(0)
    L = rng.random((120, 200))
    width = 1000 if n_pixels >= 1000 else n_pixels
    shape = (n_pixels // width, width)
    X = np.zeros((n_pixels, 120))
    X[:, :5] = rng.dirichlet(np.ones(5), size=n_pixels)
    Y = X @ L + 0.01 * rng.standard_normal((n_pixels, 200))
    del X
    with PeakMemory() as mem:
        start = time.perf_counter()
        if solver == "sunsal":
            out = sparse_regression.sunsal(L, Y, 1e-2, tol=0.0, max_iter=iters)
        elif solver == "clsunsal":
            out = sparse_regression.clsunsal(L, Y, 1e-3, tol=0.0, max_iter=iters)
        else:
            out = sunsal_tv.sunsal_tv(L, Y, shape, 1e-3, 1e-2, tol=0.0, max_iter=iters)
        seconds = time.perf_counter() - start
    return {"solver": solver, "pixels": n_pixels, "iterations": int(out.iterations),
            "seconds": round(seconds, 3), "seconds_per_iteration": round(seconds / out.iterations, 4),
            "peak_growth_mb": round(mem.peak_mb, 1), "image_mb": round(Y.nbytes / 2**20, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--solvers", default=",".join(SOLVERS))
    parser.add_argument("--one", nargs=2, metavar=("SOLVER", "PIXELS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(_case(args.one[0], int(args.one[1]), args.iters)))
        return 0
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for solver in args.solvers.split(","):
        for size in args.sizes:
            proc = subprocess.run([sys.executable, __file__, "--one", solver, str(size),
                                   "--iters", str(args.iters)], capture_output=True, text=True, env=env)
            print(proc.stdout.strip() or proc.stderr.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
