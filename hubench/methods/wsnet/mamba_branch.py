"""WS-Net's Mamba branch: a Mamba block over the spectral token sequence.

:class:`TorchMamba` is the Mamba block (Gu & Dao 2023) written in PyTorch on top of
:func:`~hubench.methods.wsnet.selective_scan.selective_scan`: input projection to
``2 * d_inner`` (sequence ``x`` and gate ``z``), causal depthwise convolution
(:func:`causal_depthwise_conv`, the ``conv1d`` module's weights applied channels-last), SiLU,
input-dependent ``delta``, ``B``, ``C`` from ``x_proj`` (``delta`` through a rank
``dt_rank`` projection, softplus with a learned bias), selective scan with
``A = -exp(A_log)`` and skip ``D``, gating by ``silu(z)``, output projection. Its
parameter names, shapes and initialisation follow ``mamba_ssm.Mamba`` (``in_proj``,
``conv1d``, ``x_proj``, ``dt_proj``, ``A_log``, ``D``, ``out_proj``; S4D-real ``A``,
``dt`` log-uniform in ``[dt_min, dt_max]``), so a state dict loads into either.

:func:`make_mamba_block` chooses the implementation: ``mamba_ssm.Mamba`` (fused CUDA
kernels) only when the target device is CUDA, ``torch.cuda.is_available()`` and the
package imports; :class:`TorchMamba` otherwise. ``mamba_ssm`` is imported inside that
function and nowhere else, so on a machine without CUDA nothing imports it (released
``mamba_ssm`` builds fail at import time without their CUDA extension).
"""

from __future__ import annotations

import importlib
import math

import torch
import torch.nn.functional as F
from torch import nn

from hubench.methods.wsnet.fused_mamba import mamba_inner
from hubench.methods.wsnet.selective_scan import selective_scan


class TorchMamba(nn.Module):
    """Mamba block, ``(batch, L, d_model) -> (batch, L, d_model)``, pure PyTorch.

    Parameters
    ----------
    d_model : int
        Token width.
    d_state, d_conv, expand : int
        State size ``N``, causal convolution width, ``d_inner = expand * d_model``.
    dt_rank : int or None
        Rank of the ``delta`` projection (``ceil(d_model / 16)`` when None).
    dt_min, dt_max, dt_init_floor : float
        Range of the initial step sizes.
    chunk_size : int or None
        Passed to the scan.
    """

    def __init__(self, d_model: int, d_state: int = 16, d_conv: int = 4, expand: int = 2,
                 dt_rank: int | None = None, dt_min: float = 1e-3, dt_max: float = 0.1,
                 dt_init_floor: float = 1e-4, chunk_size: int | None = None) -> None:
        super().__init__()
        self.d_model, self.d_state, self.d_conv = d_model, d_state, d_conv
        self.d_inner = expand * d_model
        self.dt_rank = dt_rank if dt_rank is not None else math.ceil(d_model / 16)
        self.chunk_size = chunk_size
        self.in_proj = nn.Linear(d_model, 2 * self.d_inner, bias=False)
        self.conv1d = nn.Conv1d(self.d_inner, self.d_inner, d_conv, groups=self.d_inner, padding=d_conv - 1)
        self.x_proj = nn.Linear(self.d_inner, self.dt_rank + 2 * d_state, bias=False)
        self.dt_proj = nn.Linear(self.dt_rank, self.d_inner, bias=True)
        std = self.dt_rank**-0.5
        nn.init.uniform_(self.dt_proj.weight, -std, std)
        dt = torch.exp(torch.rand(self.d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=dt_init_floor)
        with torch.no_grad():  # bias = softplus^-1(dt)
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        A = torch.arange(1, d_state + 1, dtype=torch.float32).repeat(self.d_inner, 1)
        self.A_log = nn.Parameter(torch.log(A))
        self.D = nn.Parameter(torch.ones(self.d_inner))
        self.out_proj = nn.Linear(self.d_inner, d_model, bias=False)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        xz = self.in_proj(hidden)  # (batch, L, 2 * d_inner): sequence x and gate z
        if hidden.device.type == "cpu":  # the same block as one autograd node (fused_mamba)
            assert self.conv1d.bias is not None  # nn.Conv1d(..., bias=True)
            inner = mamba_inner(xz, self.conv1d.weight, self.conv1d.bias, self.x_proj.weight,
                                self.dt_proj.weight, self.dt_proj.bias, self.A_log, self.D)
        else:
            inner = self.inner_traced(xz)
        return self.out_proj(inner)

    def inner_traced(self, xz: torch.Tensor, scan: str = "auto") -> torch.Tensor:
        """What :func:`~hubench.methods.wsnet.fused_mamba.mamba_inner` computes, as torch
        operations under autograd (devices other than the CPU; the tests' reference)."""
        x, z = xz.chunk(2, dim=-1)
        x = F.silu(causal_depthwise_conv(x, self.conv1d.weight, self.conv1d.bias))
        x_dbl = self.x_proj(x)  # (batch, L, dt_rank + 2N)
        dt, B, C = torch.split(x_dbl, [self.dt_rank, self.d_state, self.d_state], dim=-1)
        delta = dt @ self.dt_proj.weight.T  # bias goes in as delta_bias
        y = selective_scan(
            x.transpose(1, 2), delta.transpose(1, 2), -torch.exp(self.A_log.float()), B.transpose(1, 2),
            C.transpose(1, 2), D=self.D.float(), z=z.transpose(1, 2), delta_bias=self.dt_proj.bias.float(),
            delta_softplus=True, chunk_size=self.chunk_size, scan=scan,
        )
        assert isinstance(y, torch.Tensor)
        return y.transpose(1, 2)


def causal_depthwise_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """``conv1d`` of Mamba's ``(d_inner, 1, d_conv)`` depthwise kernel, causal, channels last.

    ``x`` ``(batch, L, d_inner)``; output ``(batch, L, d_inner)``:
    ``out_t = bias + sum_j weight[:, 0, j] * x_{t - d_conv + 1 + j}`` (zeros before the
    start), what ``nn.Conv1d(..., groups=d_inner, padding=d_conv - 1)`` followed by
    dropping the right padding computes. Written as ``d_conv`` shifted multiply-adds
    along contiguous channel rows: on one CPU thread its forward + backward is about 4x
    faster than the depthwise ``conv1d`` (whose weight gradient is slow there).
    """
    length, width = x.shape[1], weight.shape[-1]
    padded = F.pad(x, (0, 0, width - 1, 0))
    taps = weight[:, 0, :].t()  # (d_conv, d_inner)
    out = padded[:, :length] * taps[0] if bias is None else torch.addcmul(bias, taps[0], padded[:, :length])
    for j in range(1, width):
        out = torch.addcmul(out, taps[j], padded[:, j : j + length])
    return out


def cuda_mamba_class(device: torch.device) -> type[nn.Module] | None:
    """``mamba_ssm.Mamba`` when ``device`` is CUDA, a GPU is there and it imports, else None."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return None
    try:
        module = importlib.import_module("mamba_ssm")
    except Exception:  # ImportError, or the CUDA extension failing to load
        return None
    mamba = getattr(module, "Mamba", None)
    return mamba if isinstance(mamba, type) else None


def make_mamba_block(d_model: int, *, d_state: int = 16, d_conv: int = 4, expand: int = 2,
                     device: torch.device | str = "cpu", chunk_size: int | None = None,
                     prefer_cuda: bool = True) -> nn.Module:
    """A Mamba block for ``device``: ``mamba_ssm.Mamba`` on CUDA when possible, else torch.

    The choice is recorded on the returned module as ``hubench_backend``
    (``"mamba_ssm"`` or ``"torch"``).
    """
    device = torch.device(device)
    cls = cuda_mamba_class(device) if prefer_cuda else None
    block: nn.Module
    if cls is not None:
        block = cls(d_model=d_model, d_state=d_state, d_conv=d_conv, expand=expand)
        block.hubench_backend = "mamba_ssm"  # type: ignore[assignment]
    else:
        block = TorchMamba(d_model, d_state=d_state, d_conv=d_conv, expand=expand, chunk_size=chunk_size)
        block.hubench_backend = "torch"  # type: ignore[assignment]
    return block
