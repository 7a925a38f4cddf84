"""Timing of the library methods (run with ``--benchmark-only``; docs/dev/library.md).

On the ``library-weak`` scene of the ``quick`` profile (50 x 50 pixels, 99 bands, 120
atoms) at 20 dB: one ADMM iteration of SUnSAL against its cost model, the single product
of an ``(n_pixels, n_atoms)`` matrix with an ``(n_atoms, n_atoms)`` one (SUnSAL's x step;
the rest is element-wise), and SUnSAL-TV's iteration (two such products plus two DCTs);
then each method's whole fit with its ``quick`` preset.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import hubench
from hubench.solvers.sparse_regression import sunsal
from hubench.solvers.sunsal_tv import sunsal_tv

SCENE: dict[str, Any] = {}


def scene() -> hubench.Scene:
    if "scene" not in SCENE:
        SCENE["scene"] = hubench.make_scene("library-weak", seed=0, profile="quick", snr_db=20)
    return SCENE["scene"]


def test_image_product(benchmark: Any) -> None:
    s = scene()
    X = np.random.default_rng(0).random((s.n_pixels, s.library.shape[0]))  # type: ignore[union-attr]
    B = np.random.default_rng(1).random((s.library.shape[0],) * 2)  # type: ignore[union-attr]
    benchmark(lambda: X @ B)


def test_sunsal_ten_iterations(benchmark: Any) -> None:
    s = scene()
    benchmark(lambda: sunsal(s.library, s.Y, 1e-2, max_iter=10, tol=1e-300))  # type: ignore[arg-type]


def test_sunsal_tv_ten_iterations(benchmark: Any) -> None:
    s = scene()
    benchmark(lambda: sunsal_tv(s.library, s.Y, s.image_shape, 1e-3, 1e-2, max_iter=10, tol=1e-300))  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["fcls-library", "sunsal", "clsunsal", "sunsal-tv"])
def test_fit_quick(benchmark: Any, name: str) -> None:
    s = scene()
    obs = s.observation(library=True)
    benchmark.pedantic(lambda: hubench.get_method(name, profile="quick").fit(obs), rounds=1, iterations=1)
