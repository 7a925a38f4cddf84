"""CPU selective scan: sequence length = bands, batch = pixels (WS-Net's Mamba branch).

``pytest benchmarks/bench_wsnet_scan.py --benchmark-only`` (one torch thread). Compares
the sequential scan (the fused core, hubench's CPU choice), the parallel doubling scan
(whole sequence, and chunks of 16) and a step-by-step loop under autograd over the
sequence (mamba_ssm's reference strategy), forward and forward+backward. Figures in
docs/dev/ws-net.md ("CPU speed").
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hubench.methods.wsnet.selective_scan import selective_scan

DIM, N_STATE = 32, 8  # d_inner = 2 x width 16, state size 8 (the quick preset)


def loop_scan(u, delta, A, B, C, D, z, delta_bias):
    delta = F.softplus(delta + delta_bias[:, None])
    x = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    ys = []
    for t in range(u.shape[2]):
        x = torch.exp(delta[:, :, t, None] * A) * x + (delta[:, :, t] * u[:, :, t])[..., None] * B[:, None, :, t]
        ys.append((x * C[:, None, :, t]).sum(-1))
    return (torch.stack(ys, 2) + u * D[:, None]) * F.silu(z)


def inputs(pixels: int, bands: int, grad: bool) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    t = {
        "u": torch.randn(pixels, DIM, bands, generator=g),
        "delta": torch.randn(pixels, DIM, bands, generator=g) - 2,
        "A": -torch.rand(DIM, N_STATE, generator=g) * N_STATE,
        "B": torch.randn(pixels, N_STATE, bands, generator=g),
        "C": torch.randn(pixels, N_STATE, bands, generator=g),
        "D": torch.ones(DIM),
        "z": torch.randn(pixels, DIM, bands, generator=g),
        "delta_bias": torch.zeros(DIM),
    }
    return {k: v.requires_grad_(grad) for k, v in t.items()}


IMPLS = {
    "sequential": lambda kw: selective_scan(**kw, delta_softplus=True, scan="sequential"),
    "parallel": lambda kw: selective_scan(**kw, delta_softplus=True, scan="parallel"),
    "chunk16": lambda kw: selective_scan(**kw, delta_softplus=True, scan="parallel", chunk_size=16),
    "loop": lambda kw: loop_scan(**kw),
}


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("bands", [50, 200])
@pytest.mark.parametrize("pixels", [256])
def test_forward(benchmark, impl: str, bands: int, pixels: int) -> None:
    kw = inputs(pixels, bands, grad=False)
    with torch.no_grad():
        benchmark(IMPLS[impl], kw)


@pytest.mark.parametrize("impl", list(IMPLS))
@pytest.mark.parametrize("bands", [50, 200])
@pytest.mark.parametrize("pixels", [256])
def test_forward_backward(benchmark, impl: str, bands: int, pixels: int) -> None:
    kw = inputs(pixels, bands, grad=True)

    def step() -> None:
        IMPLS[impl](kw).sum().backward()

    benchmark(step)
