"""Pure-PyTorch selective scan with the semantics of ``mamba_ssm``'s ``selective_scan_ref``.

The recurrence, per batch ``b``, channel ``d`` and state ``n``::

    delta = softplus(delta + delta_bias)        (each step optional)
    x_t   = exp(delta_t * A[d, n]) * x_{t-1} + delta_t * B_t[n] * u_t      x_{-1} = 0
    y_t   = sum_n C_t[n] * x_t[n] + D[d] * u_t
    out   = y * silu(z)                          (when z is given)

``mamba_ssm`` evaluates it with a Python loop over the sequence (the reference) or a
fused CUDA kernel. Here the linear recurrence ``x_t = a_t x_{t-1} + b_t`` is solved one
of two ways (``scan``), both vectorised over batch, channels and states:

- ``"sequential"`` (:func:`sequential_scan`): the recurrence itself, one fused
  multiply-add per position on time-major, contiguous slices, inside a custom autograd
  function whose backward is the adjoint recurrence run in reverse
  (``g_{t-1} += a_t g_t``; ``dL/db_t = g_t``, ``dL/da_t = g_t h_{t-1}``). ``O(T)`` work,
  three saved tensors, two Python steps per position: the fastest on a CPU, where the
  sequence (WS-Net's band tokens) is short and each step is a large vector operation.
  In Mamba's case (input-dependent ``B`` and ``C``) on the CPU, the compiled core of
  :mod:`~hubench.methods.wsnet.fused_scan` instead.
- ``"parallel"`` (:func:`linear_scan`): a parallel prefix scan (Hillis-Steele doubling):
  after the step with stride ``s`` every position holds the combination of the ``2s``
  steps ending there, so ``ceil(log2 T)`` vectorised steps cover a chunk of ``T``
  positions; chunks (``chunk_size``) are chained by carrying the last state. ``O(T log
  T)`` work but few, wide kernels: what a GPU without ``mamba_ssm`` wants.

``"auto"`` picks ``"sequential"`` on the CPU and ``"parallel"`` elsewhere. Neither ever
exponentiates a cumulative sum (they only multiply decays ``a_t``, in ``(0, 1]`` when
``A < 0``, and add), so both are as stable as the step-by-step loop for any ``delta``.

Departure from the reference: it upcasts to float32; here float64 inputs stay float64
(the tests compare in float64) and lower precisions compute in float32.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable

from hubench.errors import ValidationError
from hubench.methods.wsnet.fused_scan import fused_ssm

SCANS = ("auto", "sequential", "parallel")


class _SequentialScan(torch.autograd.Function):
    """``h_t = a_t h_{t-1} + b_t`` along axis 0 of contiguous ``(T, ...)`` tensors."""

    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        h = torch.empty_like(b)
        h[0] = b[0]
        for t in range(1, b.shape[0]):
            torch.addcmul(b[t], a[t], h[t - 1], out=h[t])
        ctx.save_for_backward(a, h)
        return h

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a, h = ctx.saved_tensors
        g = grad_h.contiguous().clone()  # dL/dh_t including every later step: the adjoint
        for t in range(g.shape[0] - 1, 0, -1):
            g[t - 1].addcmul_(a[t], g[t])
        grad_a = torch.empty_like(a)
        grad_a[0] = 0.0  # h_{-1} = 0
        torch.mul(g[1:], h[:-1], out=grad_a[1:])
        return grad_a, g


def sequential_scan(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Solve ``h_t = a_t * h_{t-1} + b_t`` (``h_{-1} = 0``) along axis ``0``, step by step.

    Parameters
    ----------
    a, b : Tensor
        ``(T, ...)``: decays and inputs, broadcastable to one shape (time first, so
        every step reads and writes contiguous memory).

    Returns
    -------
    Tensor
        ``h``, the broadcast shape. Differentiable in ``a`` and ``b`` (once: the
        backward is written out, not traced).
    """
    a, b = torch.broadcast_tensors(a, b)
    return _SequentialScan.apply(a.contiguous(), b.contiguous())


def linear_scan(a: torch.Tensor, b: torch.Tensor, chunk_size: int | None = None) -> torch.Tensor:
    """Solve ``h_t = a_t * h_{t-1} + b_t`` (``h_{-1} = 0``) along axis ``-2``.

    Parameters
    ----------
    a, b : Tensor
        Same shape ``(..., T, N)``: decays and inputs.
    chunk_size : int or None
        Positions scanned in parallel at once (``None``: the whole sequence). Smaller
        chunks cut the ``log2`` work factor at the price of a loop over chunks.

    Returns
    -------
    Tensor
        ``h``, shape ``(..., T, N)``.
    """
    length = a.shape[-2]
    size = length if chunk_size is None else max(1, min(int(chunk_size), length))
    states: list[torch.Tensor] = []
    carry: torch.Tensor | None = None
    for start in range(0, length, size):
        a_c, h_c = a[..., start : start + size, :], b[..., start : start + size, :]
        stride = 1
        while stride < a_c.shape[-2]:
            # shift by `stride` along the sequence, padding with the identity (a=1, h=0)
            h_c = h_c + a_c * F.pad(h_c[..., :-stride, :], (0, 0, stride, 0))
            a_c = a_c * F.pad(a_c[..., :-stride, :], (0, 0, stride, 0), value=1.0)
            stride *= 2
        if carry is not None:
            h_c = h_c + a_c * carry  # a_c is now the cumulative product within the chunk
        carry = h_c[..., -1:, :]
        states.append(h_c)
    return states[0] if len(states) == 1 else torch.cat(states, dim=-2)


def selective_scan(
    u: torch.Tensor,
    delta: torch.Tensor,
    A: torch.Tensor,
    B: torch.Tensor,
    C: torch.Tensor,
    D: torch.Tensor | None = None,
    z: torch.Tensor | None = None,
    delta_bias: torch.Tensor | None = None,
    delta_softplus: bool = False,
    return_last_state: bool = False,
    chunk_size: int | None = None,
    scan: str = "auto",
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The selective scan, argument for argument like ``selective_scan_ref``.

    Parameters
    ----------
    u, delta : Tensor
        ``(batch, dim, L)``: input sequence and step sizes.
    A : Tensor
        ``(dim, N)``, real (Mamba uses ``A = -exp(A_log)``).
    B, C : Tensor
        Input-dependent ``(batch, N, L)`` or grouped ``(batch, G, N, L)`` (``G``
        divides ``dim``), or constant ``(dim, N)``.
    D : Tensor or None
        ``(dim,)`` skip connection.
    z : Tensor or None
        ``(batch, dim, L)`` gate: the output is multiplied by ``silu(z)``.
    delta_bias : Tensor or None
        ``(dim,)`` added to ``delta`` before the optional softplus.
    delta_softplus : bool
        Apply ``softplus`` to ``delta``.
    return_last_state : bool
        Also return the state after the last step, ``(batch, dim, N)``.
    chunk_size : int or None
        See :func:`linear_scan` (the ``"parallel"`` scan only).
    scan : {"auto", "sequential", "parallel"}
        How the recurrence is solved (see the module docstring); ``"auto"``:
        sequential on the CPU, parallel on other devices. The same numbers up to
        rounding.

    Returns
    -------
    Tensor or (Tensor, Tensor)
        ``out`` of shape ``(batch, dim, L)`` in ``u``'s dtype (and the last state).
    """
    if u.dim() != 3 or delta.shape != u.shape:
        raise ValidationError(f"u and delta: expected equal shapes (batch, dim, L), got {tuple(u.shape)} and {tuple(delta.shape)}")
    dtype_in = u.dtype
    dtype = torch.float64 if dtype_in == torch.float64 else torch.float32
    dim = u.shape[1]
    u, delta, A = u.to(dtype), delta.to(dtype), A.to(dtype)
    if delta_bias is not None:
        delta = delta + delta_bias.to(dtype)[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    if scan not in SCANS:
        raise ValueError(f"scan: expected one of {', '.join(SCANS)}, got {scan!r}")
    sequential = scan == "sequential" or (scan == "auto" and u.device.type == "cpu")
    last = None
    if sequential and B.dim() == 3 and C.dim() == 3 and not return_last_state and u.device.type == "cpu":
        # Mamba's case (input-dependent B and C): the fused core, time-major
        y = fused_ssm(delta.permute(2, 0, 1), u.permute(2, 0, 1), A, B.to(dtype).permute(2, 0, 1),
                      C.to(dtype).permute(2, 0, 1)).permute(1, 2, 0)
    elif sequential:
        # time-major (L, batch, dim, N): each step of the loop is one contiguous slice
        delta_t = delta.permute(2, 0, 1).contiguous()
        a_t = torch.exp(delta_t[..., None] * A)
        b_t = (delta_t * u.permute(2, 0, 1))[..., None] * _per_step(B, dim, dtype).permute(2, 0, 1, 3)
        h_t = sequential_scan(a_t, b_t)
        y = (h_t * _per_step(C, dim, dtype).permute(2, 0, 1, 3)).sum(dim=-1).permute(1, 2, 0)
        last = h_t[-1]
    else:
        a = torch.exp(delta[..., None] * A[:, None, :])  # (batch, dim, L, N)
        b = (delta * u)[..., None] * _per_step(B, dim, dtype)
        h = linear_scan(a, b, chunk_size)  # (batch, dim, L, N)
        y = (h * _per_step(C, dim, dtype)).sum(dim=-1)
        last = h[:, :, -1, :]
    if D is not None:
        y = y + u * D.to(dtype)[:, None]
    if z is not None:
        y = y * F.silu(z.to(dtype))
    out = y.to(dtype_in)
    if return_last_state:
        assert last is not None
        return out, last
    return out


def _per_step(M: torch.Tensor, dim: int, dtype: torch.dtype) -> torch.Tensor:
    """B or C as a view broadcastable to ``(batch, dim, L, N)``."""
    M = M.to(dtype)
    if M.dim() == 2:  # (dim, N): the same at every step
        return M[None, :, None, :]
    if M.dim() == 3:  # (batch, N, L): shared by all channels
        return M.transpose(1, 2)[:, None]
    if M.dim() == 4:  # (batch, G, N, L): channel d uses group d // (dim / G)
        groups = M.shape[1]
        if dim % groups:
            raise ValidationError(f"B/C: {groups} groups do not divide {dim} channels")
        return M.repeat_interleave(dim // groups, dim=1).transpose(2, 3)
    raise ValidationError(f"B/C: expected 2, 3 or 4 dimensions, got shape {tuple(M.shape)}")
