"""The selective scan's core as one autograd function with a written-out backward (CPU).

:func:`fused_ssm` computes, time-major, for input-dependent ``B`` and ``C``::

    h_t = exp(delta_t * A) * h_{t-1} + (delta_t * u_t) B_t        h_{-1} = 0
    y_t = h_t C_t

(``(L, batch, dim)`` sequences, ``A`` ``(dim, N)``, ``B``/``C`` ``(L, batch, N)``), the
same recurrence as :func:`~hubench.methods.wsnet.selective_scan.selective_scan` without
its skip, gate and softplus, which stay in autograd.

Why a function of its own: traced by autograd, the scan's core writes and reads some
twenty ``(L, batch, dim, N)`` temporaries per training step (the broadcast products, the
sums over ``N`` and over ``dim`` of their gradients), and on a CPU the step costs what
moving them costs. Here the forward keeps two (the decays ``exp(delta A)`` and the states
``h``), the backward one more (the adjoint states ``g``), the recurrences run one
contiguous time slice at a time, and every sum over ``N`` or ``dim`` is a batched matrix
product. The backward, for the loss gradient ``gy_t = dL/dy_t``:

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


class _FusedSSM(torch.autograd.Function):
    # States are laid out (L, batch, N, dim): the channel axis innermost, so the
    # broadcasts against A, B, C and du and the sums over N run along contiguous rows
    # (measured 2-4x faster on one CPU thread than with N innermost, or than tiny bmm).

    @staticmethod
    def forward(ctx: Any, delta: torch.Tensor, u: torch.Tensor, A: torch.Tensor, B: torch.Tensor,
                C: torch.Tensor) -> torch.Tensor:
        A_t = A.t()  # (N, dim)
        decay = torch.mul(delta[:, :, None, :], A_t).exp_()  # (L, batch, N, dim)
        du = delta * u
        h = B[..., None] * du[:, :, None, :]  # the inputs b_t, overwritten by the states
        for t in range(1, h.shape[0]):
            h[t].addcmul_(decay[t], h[t - 1])
        y = (h * C[..., None]).sum(2)
        ctx.save_for_backward(delta, u, A_t, B, C, du, decay, h)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        delta, u, A_t, B, C, du, decay, h = ctx.saved_tensors
        length = delta.shape[0]
        g = C[..., None] * grad_y[:, :, None, :]  # dL/dh_t from y_t alone, then the adjoint
        for t in range(length - 2, -1, -1):
            g[t].addcmul_(decay[t + 1], g[t + 1])
        # one scratch buffer for every product that is summed at once (fewer large
        # allocations, which cost page faults on a CPU)
        scratch = torch.empty_like(h)
        grad_C = torch.mul(h, grad_y[:, :, None, :], out=scratch).sum(-1)
        grad_du = torch.mul(g, B[..., None], out=scratch).sum(2)
        grad_B = torch.mul(g, du[:, :, None, :], out=scratch).sum(-1)
        grad_delta = grad_du * u
        grad_u = grad_du * delta
        grad_A_t = torch.zeros_like(A_t)
        if length > 1:
            s = torch.mul(g[1:], h[:-1], out=scratch[1:])
            s.mul_(decay[1:])  # dL/d(delta_t A) for t >= 1 (h_{-1} = 0)
            grad_delta[1:] += (s * A_t).sum(2)
            grad_A_t = s.mul_(delta[1:, :, None, :]).sum((0, 1))
        return grad_delta, grad_u, grad_A_t.t(), grad_B, grad_C


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

    All in one floating dtype; made contiguous here. Differentiable once in every input.
    """
    return _FusedSSM.apply(delta.contiguous(), u.contiguous(), A.contiguous(), B.contiguous(), C.contiguous())
