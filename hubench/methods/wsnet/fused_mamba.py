"""The Mamba block between its two projections as one autograd function (CPU).

:func:`mamba_inner` maps the input projection's output ``xz`` ``(batch, T, 2 Di)`` to
the gated scan output ``(batch, T, Di)`` that the output projection takes, with the
block's weights as inputs. Time-major ``(T, batch, .)`` inside, with ``x, z`` the two
halves of ``xz``::

    xc    = conv_b + sum_j conv_w[:, 0, j] * x_{t - K + 1 + j}      (causal, zeros before t = 0)
    xs    = silu(xc)
    [dt, B, C] = xs @ x_proj_w^T                                  (dt_rank, N, N columns)
    delta = softplus(dt @ dt_proj_w^T + dt_proj_b)
    h_t   = exp(delta_t * A) * h_{t-1} + B_t (delta_t * xs_t)       A = -exp(A_log), h_{-1} = 0
    y     = (h_t C_t + D * xs_t) * silu(z_t)

the computation of :class:`~hubench.methods.wsnet.mamba_branch.TorchMamba` from the
convolution to the gate (and of ``mamba_ssm``'s ``mamba_inner_fn`` without its two
projections).

Why: on a CPU, at WS-Net's sizes (a few tokens, a few dozen channels, batches of about a
hundred pixels) a training step costs what dispatching its operations costs, some ten
microseconds each, more than the arithmetic. Traced by autograd the block is about 150
operations forward and backward, each with its own node; here it is one node whose
backward is written out: every product that is summed at once is one multiply and one
reduction, every weight gradient one matrix product, the recurrences run one contiguous
time slice at a time. The backward, for ``gy = dL/dy``:

- gate: ``dL/dz = gy * pre * silu'(z)``, ``dL/dpre = gy * silu(z)`` with ``pre = h C + D xs``;
  ``dL/dD = sum gy_pre * xs``;
- scan (as :mod:`~hubench.methods.wsnet.fused_scan`): adjoint states
  ``g_t = C_t^T dL/dpre_t + exp(delta_{t+1} A) * g_{t+1}``; ``dL/dC_t = h_t dL/dpre_t``,
  ``dL/dB_t = g_t (delta_t xs_t)``, ``dL/d(delta xs)_t = B_t^T g_t``; through the decays
  ``s_t = g_t * h_{t-1} * exp(delta_t A)``: ``dL/ddelta += sum_n s_t A``,
  ``dL/dA = sum s_t delta_t`` and ``dL/dA_log = dL/dA * A``;
- softplus and ``dt_proj``: ``dL/ddpre = dL/ddelta * sigmoid(dpre)``, then the linear
  layer's three gradients;
- ``x_proj``: ``dL/dxs += [dL/ddt, dL/dB, dL/dC] x_proj_w``; SiLU:
  ``dL/dxc = dL/dxs * silu'(xc)``, ``silu'(v) = s + v s (1 - s)`` with ``s = sigmoid(v)``;
- convolution: the same shifted multiply-adds transposed, and one reduction per tap.

The tests compare values and every gradient with the traced block in float64.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from hubench.methods.wsnet.cpu_kernels import conv_backward, conv_forward
from hubench.methods.wsnet.fused_scan import core_backward, core_forward


def _silu_grad(v: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """``d silu(v) / dv`` from ``v`` and ``s = sigmoid(v)``: ``s * (1 + v * (1 - s))``."""
    return (1.0 - s).mul_(v).add_(1.0).mul_(s)


class _MambaInner(torch.autograd.Function):

    @staticmethod
    def forward(ctx: Any, xz: torch.Tensor, conv_w: torch.Tensor, conv_b: torch.Tensor,
                x_proj_w: torch.Tensor, dt_proj_w: torch.Tensor, dt_proj_b: torch.Tensor,
                A_log: torch.Tensor, D: torch.Tensor) -> torch.Tensor:
        batch, length, two_di = xz.shape
        di = two_di // 2
        rank = dt_proj_w.shape[1]
        n_state = (x_proj_w.shape[0] - rank) // 2
        taps = conv_w.detach()[:, 0, :].t().contiguous()  # (K, Di)
        x, z, xc = (xz.new_empty(length, batch, di) for _ in range(3))  # time-major
        conv_forward(xz.detach().contiguous().numpy(), taps.numpy(), conv_b.detach().contiguous().numpy(),
                     x.numpy(), z.numpy(), xc.numpy())
        sig_xc = torch.sigmoid(xc)
        xs = xc * sig_xc
        flat = xs.view(-1, di)
        xdbl = flat @ x_proj_w.t()  # (T * batch, rank + 2N)
        dt = xdbl[:, :rank]
        Bm = xdbl[:, rank : rank + n_state].reshape(length, batch, n_state).contiguous()
        Cm = xdbl[:, rank + n_state :].reshape(length, batch, n_state).contiguous()
        dpre = torch.addmm(dt_proj_b, dt, dt_proj_w.t()).view(length, batch, di)
        delta = F.softplus(dpre)
        A_t = -torch.exp(A_log).t().contiguous()  # (N, Di)
        du = delta * xs
        decay, h, pre = core_forward(delta, du, A_t, Bm, Cm)  # the scan: (T, batch, N, Di) states
        pre.addcmul_(xs, D)
        sig_z = torch.sigmoid(z)
        gate = z * sig_z
        # the weights through save_for_backward (inputs: version-checked); the intermediates,
        # which nothing else can modify, as a plain attribute (no unpacking cost)
        ctx.save_for_backward(x_proj_w, dt_proj_w, D)
        ctx.intermediates = (x, z, sig_z, xc, sig_xc, xs, dt, Bm, Cm, dpre, delta, du, decay, h, pre, gate, A_t,
                             taps)
        return (pre * gate).transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x_proj_w, dt_proj_w, D = ctx.saved_tensors
        x, z, sig_z, xc, sig_xc, xs, dt, Bm, Cm, dpre, delta, du, decay, h, pre, gate, A_t, taps = ctx.intermediates
        length, batch, di = x.shape
        rank = dt_proj_w.shape[1]
        n_state = A_t.shape[0]
        gy = grad_y.transpose(0, 1)
        g_pre = gy * gate
        g_z = (gy * pre).mul_(_silu_grad(z, sig_z))
        g_D = (g_pre * xs).sum((0, 1))
        # the scan's adjoint (fused_scan.core_backward), then the skip
        g_du, g_delta, g_B, g_C, g_A_t = core_backward(g_pre, delta, du, A_t, Bm, Cm, decay, h)
        g_xdbl = torch.empty(length * batch, rank + 2 * n_state, dtype=x.dtype)
        g_xdbl[:, rank : rank + n_state] = g_B.view(-1, n_state)
        g_xdbl[:, rank + n_state :] = g_C.view(-1, n_state)
        g_delta.addcmul_(g_du, xs)
        g_xs = torch.addcmul(g_du.mul_(delta), g_pre, D)
        g_dpre = g_delta.mul_(torch.sigmoid(dpre)).view(-1, di)
        g_dt_b = g_dpre.sum(0)
        g_dt_w = g_dpre.t() @ dt
        torch.mm(g_dpre, dt_proj_w, out=g_xdbl[:, :rank])
        flat_xs = xs.view(-1, di)
        g_x_proj_w = g_xdbl.t() @ flat_xs
        g_xs.view(-1, di).addmm_(g_xdbl, x_proj_w)
        g_xc = g_xs.mul_(_silu_grad(xc, sig_xc))
        # the causal convolution, transposed (and the gate's half of dL/dxz)
        g_xz = torch.empty(batch, length, 2 * di, dtype=x.dtype)
        g_taps = torch.empty_like(taps)
        g_conv_b = torch.empty(di, dtype=x.dtype)
        conv_backward(g_xc.numpy(), g_z.contiguous().numpy(), x.numpy(), taps.numpy(), g_xz.numpy(), g_taps.numpy(),
                      g_conv_b.numpy())
        g_A_log = g_A_t.t().mul_(A_t.t())  # A = -exp(A_log): dA/dA_log = A
        return (g_xz, g_taps.t()[:, None, :], g_conv_b, g_x_proj_w, g_dt_w, g_dt_b, g_A_log, g_D)


def mamba_inner(xz: torch.Tensor, conv_w: torch.Tensor, conv_b: torch.Tensor, x_proj_w: torch.Tensor,
                dt_proj_w: torch.Tensor, dt_proj_b: torch.Tensor, A_log: torch.Tensor,
                D: torch.Tensor) -> torch.Tensor:
    """The gated scan output ``(batch, T, Di)`` of the module docstring.

    Parameters
    ----------
    xz : Tensor
        ``(batch, T, 2 Di)``: the input projection's output (``x`` then ``z``).
    conv_w, conv_b : Tensor
        ``(Di, 1, K)`` and ``(Di,)``: the depthwise causal convolution.
    x_proj_w : Tensor
        ``(dt_rank + 2N, Di)``.
    dt_proj_w, dt_proj_b : Tensor
        ``(Di, dt_rank)`` and ``(Di,)``.
    A_log, D : Tensor
        ``(Di, N)`` and ``(Di,)``.

    All in one floating dtype, on the CPU. Differentiable once in every input.
    """
    return _MambaInner.apply(xz, conv_w, conv_b, x_proj_w, dt_proj_w, dt_proj_b, A_log, D)
