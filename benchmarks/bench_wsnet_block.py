"""WS-Net's two branches on one CPU thread: compiled fast paths against the traced forms.

``pytest benchmarks/bench_wsnet_block.py --benchmark-only``. Forward + backward of

- the Mamba block between its projections: ``mamba_inner`` (one autograd node, numba
  recurrence and convolution) against ``TorchMamba.inner_traced`` (torch operations
  under autograd, the sequential fused scan core);
- the biased attention: ``biased_attention`` (numba, pixel axis innermost) against the
  plain form (batched matrix products and a softmax under autograd);

at the ``quick`` preset's sizes (128 pixels a batch, 7 tokens of 16 bands, width 16,
state 8) and the ``full`` preset's (64 pixels, 50 tokens of 2 bands, width 32, state 16).
Figures in docs/dev/ws-net.md ("Third pass").
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from hubench.methods.wsnet.attention import attention_weights, biased_attention
from hubench.methods.wsnet.cpu_kernels import load
from hubench.methods.wsnet.fused_mamba import mamba_inner
from hubench.methods.wsnet.mamba_branch import TorchMamba

SIZES = {"quick": (128, 7, 16, 8), "full": (64, 50, 32, 16)}  # pixels, tokens, width, state


@pytest.fixture(autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    load()  # compile / load the kernels outside the timings
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("impl", ["compiled", "traced"])
@pytest.mark.parametrize("preset", list(SIZES))
def test_mamba_block(benchmark: Any, impl: str, preset: str) -> None:
    pixels, tokens, width, state = SIZES[preset]
    torch.manual_seed(0)
    block = TorchMamba(width, d_state=state)
    xz = torch.randn(pixels, tokens, 2 * block.d_inner, requires_grad=True)
    weights = [block.conv1d.weight, block.conv1d.bias, block.x_proj.weight, block.dt_proj.weight,
               block.dt_proj.bias, block.A_log, block.D]

    def step() -> None:
        out = mamba_inner(xz, *weights) if impl == "compiled" else block.inner_traced(xz, scan="sequential")
        out.sum().backward()

    benchmark(step)


@pytest.mark.parametrize("impl", ["compiled", "plain"])
@pytest.mark.parametrize("preset", list(SIZES))
def test_attention(benchmark: Any, impl: str, preset: str) -> None:
    pixels, tokens, width, _ = SIZES[preset]
    torch.manual_seed(0)
    qkv = torch.randn(pixels, tokens, 3 * width, requires_grad=True)
    weakness = torch.rand(pixels, tokens)
    beta = torch.ones(2, requires_grad=True)

    def step() -> None:
        if impl == "compiled":
            out = biased_attention(qkv, weakness, beta)
        else:
            probs, v = attention_weights(qkv, weakness, beta)
            out = (probs @ v).transpose(1, 2).reshape(pixels, tokens, -1)
        out.sum().backward()

    benchmark(step)
