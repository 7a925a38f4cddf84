"""Timing of evaluate on a 100 x 100 pixel scene (run with --benchmark-only)."""

from __future__ import annotations

import numpy as np
import pytest

from hubench.metrics import evaluate
from hubench.scene import Estimate, Scene


def _case(n_pixels: int, p: int = 5, bands: int = 100) -> tuple[Scene, Estimate]:
    rng = np.random.default_rng(0)
    A = rng.dirichlet(np.full(p, 0.5), size=n_pixels)
    E = rng.random((p, bands))
    scene = Scene(Y=A @ E, A=A, E=E, image_shape=(100, n_pixels // 100),
                  weak=[True, False, True, False, False], name="bench")
    perm = rng.permutation(p)
    estimate = Estimate(A=np.abs(A[:, perm] + 0.02 * rng.standard_normal(A.shape)),
                        E=E[perm] + 0.01 * rng.random(E.shape))
    return scene, estimate


@pytest.mark.parametrize("n_pixels", [10_000, 100_000])
def test_evaluate(benchmark, n_pixels):
    scene, estimate = _case(n_pixels)
    result = benchmark(evaluate, scene, estimate)
    assert np.isfinite(result.metrics["armse"])
