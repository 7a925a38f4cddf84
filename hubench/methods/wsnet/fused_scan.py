"""The selective scan's core as one autograd function on the CPU, and the two steps of it
that :mod:`~hubench.methods.wsnet.fused_mamba` shares.

:func:`fused_ssm` computes, time-major, for input-dependent ``B`` and ``C``::

    h_t = exp(delta_t * A) * h_{t-1} + (delta_t * u_t) B_t        h_{-1} = 0
    y_t = h_t C_t

(``(L, batch, dim)`` sequences, ``A`` ``(dim, N)``, ``B``/``C`` ``(L, batch, N)``), the
same recurrence as :func:`~hubench.methods.wsnet.selective_scan.selective_scan` without
its skip, gate and softplus, which stay in autograd.

Traced by autograd, the scan's core writes and reads some twenty ``(L, batch, dim, N)``
temporaries per training step; here the decays ``exp(delta A)`` are one vectorised torch
``exp`` and the recurrence and its adjoint are compiled loops
(:func:`~hubench.methods.wsnet.cpu_kernels.scan_forward` and ``scan_backward``): the
forward keeps the decays and the states, the backward one running adjoint per pixel.
For the loss gradient ``gy_t = dL/dy_t``:

- adjoint recurrence, in reverse: ``g_t = gy_t C_t^T + exp(delta_{t+1} A) * g_{t+1}``
  (``g_t = dL/dh_t``, counting every later step);
- ``dL/dC_t = h_t^T gy_t``, ``dL/dB_t = g_t^T (delta_t u_t)``,
  ``dL/d(delta_t u_t) = g_t B_t``;
- through the decays, ``s_t = g_t * h_{t-1} * exp(delta_t A)`` (zero at ``t = 0``):
  ``dL/ddelta_t += sum_n s_t A`` and ``dL/dA = sum_{t, batch} s_t delta_t``.

The tests compare it with a plain step-by-step loop under autograd in float64 (values and
gradients of every input).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable

from hubench.methods.wsnet.cpu_kernels import scan_backward, scan_forward


def core_forward(delta: torch.Tensor, du: torch.Tensor, A_t: torch.Tensor, B: torch.Tensor,
                 C: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The decays ``(L, batch, N, dim)``, the states (same shape) and ``y`` ``(L, batch, dim)``.

    ``delta``, ``du`` ``(L, batch, dim)``; ``A_t`` ``(N, dim)``; ``B``, ``C`` ``(L, batch, N)``;
    all contiguous, one dtype, on the CPU, none requiring a gradient.
    """
    decay = torch.mul(delta[:, :, None, :], A_t).exp_()
    h = torch.empty_like(decay)
    y = torch.empty_like(du)
    scan_forward(decay.numpy(), du.numpy(), B.numpy(), C.numpy(), h.numpy(), y.numpy())
    return decay, h, y


def core_backward(grad_y: torch.Tensor, delta: torch.Tensor, du: torch.Tensor, A_t: torch.Tensor,
                  B: torch.Tensor, C: torch.Tensor, decay: torch.Tensor,
                  h: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``dL/d(du)``, the part of ``dL/ddelta`` through the decays, ``dL/dB``, ``dL/dC`` and
    ``dL/dA_t`` for ``grad_y = dL/dy``, the other inputs as :func:`core_forward` had them."""
    g_du, g_delta = torch.empty_like(du), torch.empty_like(du)
    g_B, g_C, g_A_t = torch.empty_like(B), torch.empty_like(C), torch.empty_like(A_t)
    scan_backward(grad_y.contiguous().numpy(), delta.numpy(), du.numpy(), A_t.numpy(), B.numpy(), C.numpy(),
                  decay.numpy(), h.numpy(), g_du.numpy(), g_delta.numpy(), g_B.numpy(), g_C.numpy(),
                  g_A_t.numpy())
    return g_du, g_delta, g_B, g_C, g_A_t


class _FusedSSM(torch.autograd.Function):

    @staticmethod
    def forward(ctx: Any, delta: torch.Tensor, u: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                C: torch.Tensor) -> torch.Tensor:
        delta, u, B, C = (t.detach() for t in (delta, u, B, C))
        A_t = A.detach().t().contiguous()
        du = delta * u
        decay, h, y = core_forward(delta, du, A_t, B, C)
        ctx.intermediates = (delta, u, A_t, B, C, du, decay, h)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        delta, u, A_t, B, C, du, decay, h = ctx.intermediates
        g_du, g_delta, g_B, g_C, g_A_t = core_backward(grad_y, delta, du, A_t, B, C, decay, h)
        return g_delta.addcmul_(g_du, u), g_du * delta, g_A_t.t(), g_B, g_C


def fused_ssm(delta: torch.Tensor, u: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
              C: torch.Tensor) -> torch.Tensor:
    """``y`` ``(L, batch, dim)`` of the recurrence in the module docstring.

    Parameters
    ----------
    delta, u : Tensor
        ``(L, batch, dim)``: step sizes (after any softplus) and inputs.
    A : Tensor
        ``(dim, N)``.
    B, C : Tensor
        ``(L, batch, N)``.

    All in one floating dtype, on the CPU; made contiguous here. Differentiable once in
    every input.
    """
    return _FusedSSM.apply(delta.contiguous(), u.contiguous(), A.contiguous(), B.contiguous(), C.contiguous())
