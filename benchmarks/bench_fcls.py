"""Timing of the batched FCLS solver (run with ``--benchmark-only``).

Two comparisons, recorded in docs/dev/classic-methods.md:

* 100 x 100 pixels, 224 bands, 6 endmembers: the batched solver against the per-pixel
  reference (augmented NNLS with ``scipy.optimize.nnls`` in a Python loop, as reference
  implementations do), timed on a subset of pixels and extrapolated to the image;
* 10^6 pixels: the batched solver against the single product ``Y @ E.T`` that any
  least-squares unmixing needs.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize, nnls

from hubench.solvers import fcls, kkt_residual

BANDS, P = 224, 6
SNR_DB = 30.0
NNLS_SUBSET = 500
QP_SUBSET = 50


def make_problem(n_pixels: int, alpha: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Dirichlet(alpha) mixtures of smooth positive spectra plus white noise at 30 dB."""
    rng = np.random.default_rng(seed)
    grid = np.linspace(0.0, 1.0, BANDS)
    centres = rng.random((P, 3))
    E = 0.1 + np.exp(-((grid[None, None, :] - centres[:, :, None]) ** 2) / 0.02).sum(axis=1)
    Y = rng.dirichlet(np.full(P, alpha), n_pixels) @ E
    noise = rng.standard_normal(Y.shape)
    noise *= np.sqrt(np.sum(Y**2) / np.sum(noise**2) / 10 ** (SNR_DB / 10))
    Y += noise
    return E, Y


def nnls_per_pixel(E: np.ndarray, Y: np.ndarray) -> np.ndarray:
    w = 1e6 * np.linalg.norm(E, 2)
    M = np.vstack([E.T, np.full((1, E.shape[0]), w)])
    return np.array([nnls(M, np.append(y, w))[0] for y in Y])


def qp_per_pixel(E: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """One generic QP per pixel (SLSQP), the pattern of reference implementations."""
    p = E.shape[0]
    G = E @ E.T
    out = []
    for y in Y:
        b = E @ y
        res = minimize(
            lambda a, b=b: 0.5 * a @ G @ a - b @ a, np.full(p, 1.0 / p),
            jac=lambda a, b=b: G @ a - b, bounds=[(0.0, None)] * p, method="SLSQP",
            constraints=[{"type": "eq", "fun": lambda a: a.sum() - 1.0}],
            options={"ftol": 1e-12, "maxiter": 200},
        )
        out.append(res.x)
    return np.array(out)


@pytest.fixture(scope="module", params=[1.0, 0.3], ids=["dirichlet1", "dirichlet0.3"])
def image(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    return make_problem(100 * 100, request.param)


@pytest.fixture(scope="module")
def million() -> tuple[np.ndarray, np.ndarray]:
    return make_problem(1_000_000, 1.0)


def test_fcls_batched_100x100(benchmark, image) -> None:
    E, Y = image
    result = benchmark(fcls, E, Y)
    benchmark.extra_info["iterations"] = result.iterations
    benchmark.extra_info["active_fraction"] = float((result.A == 0).any(axis=1).mean())
    assert kkt_residual(E, Y, result.A).max() < 1e-10


def test_nnls_per_pixel_subset(benchmark, image) -> None:
    """Per-pixel reference on NNLS_SUBSET pixels; multiply by 10_000 / NNLS_SUBSET."""
    E, Y = image
    A = benchmark.pedantic(nnls_per_pixel, args=(E, Y[:NNLS_SUBSET]), rounds=3, iterations=1)
    benchmark.extra_info["pixels"] = NNLS_SUBSET
    benchmark.extra_info["extrapolate_to_10000_by"] = 10_000 / NNLS_SUBSET
    np.testing.assert_allclose(A, fcls(E, Y[:NNLS_SUBSET]).A, atol=1e-6)


def test_qp_per_pixel_subset(benchmark, image) -> None:
    """Per-pixel SLSQP on QP_SUBSET pixels; multiply by 10_000 / QP_SUBSET."""
    E, Y = image
    A = benchmark.pedantic(qp_per_pixel, args=(E, Y[:QP_SUBSET]), rounds=3, iterations=1)
    benchmark.extra_info["pixels"] = QP_SUBSET
    benchmark.extra_info["extrapolate_to_10000_by"] = 10_000 / QP_SUBSET
    np.testing.assert_allclose(A, fcls(E, Y[:QP_SUBSET]).A, atol=1e-4)


def test_fcls_batched_1e6(benchmark, million) -> None:
    E, Y = million
    result = benchmark.pedantic(fcls, args=(E, Y), rounds=3, iterations=1, warmup_rounds=1)
    benchmark.extra_info["iterations"] = result.iterations
    assert result.converged


def test_product_1e6(benchmark, million) -> None:
    E, Y = million
    benchmark.pedantic(np.matmul, args=(Y, E.T), rounds=5, iterations=1, warmup_rounds=1)
