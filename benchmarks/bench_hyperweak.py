"""Timing of HyperWeak (run with ``--benchmark-only``; docs/dev/priors.md).

* one fit with the ``quick`` preset on the ``weak`` scene of the ``quick`` profile
  (50 x 50 pixels, 99 bands, 6 endmembers, one prior);
* one outer iteration (weights, E block, A block) on 100 x 100 pixels, 182 bands
  (``full`` profile): the cost is a few products over the image per block.
"""

from __future__ import annotations

import pytest

from hubench import get_method, make_scene
from hubench.methods.fcls import solve_fcls
from hubench.methods.hyperweak import Problem, initial_endmembers, spatial_weights


def test_fit_quick(benchmark: pytest.FixtureRequest) -> None:
    scene = make_scene("weak", seed=0, profile="quick")
    obs = scene.observation(priors=True)
    method = get_method("hyperweak", profile="quick", random_state=0)
    est = benchmark.pedantic(method.fit, args=(obs,), rounds=3, iterations=1)
    assert est.A.shape == scene.A.shape


def test_outer_iteration_full(benchmark: pytest.FixtureRequest) -> None:
    scene = make_scene("weak", seed=0, profile="full")
    P = scene.priors.spectra
    p = scene.n_endmembers
    E = initial_endmembers(scene.Y, P, p, 0)
    A = solve_fcls(E, scene.Y, tol=1e-10, max_iter=None)[0]
    problem = Problem(scene.Y, P, p, lam=1e-3, tau=500.0, delta=5.0)

    def outer() -> None:
        G = spatial_weights(A, scene.image_shape, 1e-2)
        E1 = problem.update_E(A, E, 50)
        problem.update_A(A, E1, G, 50)

    benchmark.pedantic(outer, rounds=3, iterations=1)
