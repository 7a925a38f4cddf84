"""Timing of the blind baselines' solvers at the quick-profile scene size (run with
``--benchmark-only``; recorded in docs/dev/blind-methods.md).

One scene: ``standard`` at the ``quick`` size (50 x 50 pixels, 99 bands, 5 endmembers),
20 dB. Each solver runs with its method's ``quick`` preset, so the times are what one
cell of ``hubench run`` spends fitting (the FCLS that follows N-FINDR and SISAL is timed
in benchmarks/bench_fcls.py: milliseconds here).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import hubench
from hubench.solvers.edaa import edaa
from hubench.solvers.nfindr import nfindr
from hubench.solvers.nmf_qmv import nmf_qmv
from hubench.solvers.sisal import sisal
from hubench.solvers.vca import vca


@pytest.fixture(scope="module")
def scene_Y() -> np.ndarray:
    return hubench.make_scene("standard", seed=0, profile="quick", snr_db=20.0).Y


QMV_QUICK = tuple(10.0**k for k in range(-3, 2))
CASES: dict[str, Callable[[np.ndarray], Any]] = {
    "vca (reference)": lambda Y: vca(Y, 5, n_restarts=3, random_state=0),
    "n-findr": lambda Y: nfindr(Y, 5, n_restarts=3, random_state=0),
    "sisal": lambda Y: sisal(Y, 5, mm_iters=250, random_state=0),
    "nmf-qmv": lambda Y: nmf_qmv(Y, 5, term="center", betas=QMV_QUICK, n_iter=50, random_state=0),
    "edaa": lambda Y: edaa(Y, 5, n_runs=4, n_outer=50, random_state=0),
}


@pytest.mark.parametrize("name", list(CASES))
def test_blind_solver_quick(benchmark: Any, scene_Y: np.ndarray, name: str) -> None:
    benchmark.pedantic(CASES[name], args=(scene_Y,), rounds=3, iterations=1)
