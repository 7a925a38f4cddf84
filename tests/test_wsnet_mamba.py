"""The torch Mamba block: shapes, causality, step-by-step equivalence, mambapy
agreement on the same weights, and the lazy, CUDA-only import of mamba_ssm."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest
import torch
import torch.nn.functional as F

from hubench.methods.wsnet import mamba_branch
from hubench.methods.wsnet.mamba_branch import TorchMamba, make_mamba_block

MAMBA_SSM_KEYS = {
    "in_proj.weight", "conv1d.weight", "conv1d.bias", "x_proj.weight",
    "dt_proj.weight", "dt_proj.bias", "A_log", "D", "out_proj.weight",
}


def block(**kw) -> TorchMamba:
    torch.manual_seed(0)
    return TorchMamba(8, d_state=4, d_conv=3, expand=2, **kw).double()


def recurrent(m: TorchMamba, hidden: torch.Tensor) -> torch.Tensor:
    """One token at a time with explicit conv and SSM states (mamba_ssm's step mode)."""
    batch, length, _ = hidden.shape
    conv_state = torch.zeros(batch, m.d_inner, m.d_conv, dtype=hidden.dtype)
    ssm_state = torch.zeros(batch, m.d_inner, m.d_state, dtype=hidden.dtype)
    A = -torch.exp(m.A_log)
    outs = []
    for t in range(length):
        x, z = m.in_proj(hidden[:, t]).chunk(2, dim=-1)
        conv_state = torch.cat([conv_state[:, :, 1:], x[:, :, None]], dim=-1)
        x = F.silu((conv_state * m.conv1d.weight[:, 0]).sum(-1) + m.conv1d.bias)
        dt, B, C = torch.split(m.x_proj(x), [m.dt_rank, m.d_state, m.d_state], dim=-1)
        dt = F.softplus(m.dt_proj(dt))
        ssm_state = torch.exp(dt[..., None] * A) * ssm_state + dt[..., None] * B[:, None] * x[..., None]
        y = (ssm_state * C[:, None]).sum(-1) + m.D * x
        outs.append(m.out_proj(y * F.silu(z)))
    return torch.stack(outs, dim=1)


@pytest.mark.parametrize("chunk_size", [None, 4])
def test_block_equals_recurrent_form(chunk_size: int | None) -> None:
    m = block(chunk_size=chunk_size)
    hidden = torch.randn(3, 11, 8, dtype=torch.float64)
    torch.testing.assert_close(m(hidden), recurrent(m, hidden), rtol=1e-10, atol=1e-10)


def test_causal_and_state_dict_names() -> None:
    m = block()
    hidden = torch.randn(2, 10, 8, dtype=torch.float64)
    changed = hidden.clone()
    changed[:, 6:] += 1.0
    torch.testing.assert_close(m(hidden)[:, :6], m(changed)[:, :6])
    assert set(m.state_dict()) == MAMBA_SSM_KEYS


def test_agrees_with_mambapy_on_the_same_weights() -> None:
    mambapy = pytest.importorskip("mambapy.mamba")
    m = block()
    config = mambapy.MambaConfig(d_model=8, n_layers=1, d_state=4, expand_factor=2, d_conv=3)
    other = mambapy.MambaBlock(config).double()
    other.load_state_dict(m.state_dict())
    hidden = torch.randn(2, 16, 8, dtype=torch.float64)
    torch.testing.assert_close(m(hidden), other(hidden), rtol=1e-8, atol=1e-10)


def test_cpu_never_imports_mamba_ssm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "mamba_ssm", raising=False)
    assert make_mamba_block(8, d_state=4, device="cpu").hubench_backend == "torch"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert make_mamba_block(8, d_state=4, device="cuda").hubench_backend == "torch"
    assert "mamba_ssm" not in sys.modules


@pytest.mark.slow
def test_fresh_interpreter_fit_path_does_not_import_mamba_ssm() -> None:
    code = (
        "import sys, torch; import hubench.methods as m; "
        "from hubench.methods.wsnet.mamba_branch import make_mamba_block; "
        "b = make_mamba_block(8, d_state=4, device='cuda' if torch.cuda.is_available() else 'cpu'); "
        "b(torch.randn(1, 5, 8)); "
        "assert torch.cuda.is_available() or 'mamba_ssm' not in sys.modules, 'imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_cuda_path_uses_mamba_ssm_when_it_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    class FakeMamba(torch.nn.Module):
        def __init__(self, d_model: int, d_state: int, d_conv: int, expand: int) -> None:
            super().__init__()
            self.args = (d_model, d_state, d_conv, expand)

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setitem(sys.modules, "mamba_ssm", types.SimpleNamespace(Mamba=FakeMamba))
    chosen = make_mamba_block(8, d_state=4, d_conv=3, expand=2, device="cuda")
    assert isinstance(chosen, FakeMamba) and chosen.args == (8, 4, 3, 2)
    assert chosen.hubench_backend == "mamba_ssm"
    assert make_mamba_block(8, device="cuda", prefer_cuda=False).hubench_backend == "torch"
    # a package that fails to import (no CUDA extension) falls back to torch
    monkeypatch.setitem(sys.modules, "mamba_ssm", None)
    assert mamba_branch.cuda_mamba_class(torch.device("cuda")) is None


def test_causal_depthwise_conv_equals_conv1d() -> None:
    torch.manual_seed(1)
    conv = torch.nn.Conv1d(6, 6, 4, groups=6, padding=3).double()
    x = torch.randn(3, 9, 6, dtype=torch.float64)
    expected = conv(x.transpose(1, 2))[..., :9].transpose(1, 2)
    torch.testing.assert_close(mamba_branch.causal_depthwise_conv(x, conv.weight, conv.bias), expected)
    no_bias = conv(x.transpose(1, 2))[..., :9].transpose(1, 2) - conv.bias
    torch.testing.assert_close(mamba_branch.causal_depthwise_conv(x, conv.weight, None), no_bias)
