"""Pure-PyTorch selective scan with the semantics of ``mamba_ssm``'s ``selective_scan_ref``.

The recurrence, per batch ``b``, channel ``d`` and state ``n``::

    delta = softplus(delta + delta_bias)        (each step optional)
    x_t   = exp(delta_t * A[d, n]) * x_{t-1} + delta_t * B_t[n] * u_t      x_{-1} = 0
    y_t   = sum_n C_t[n] * x_t[n] + D[d] * u_t
    out   = y * silu(z)                          (when z is given)

``mamba_ssm`` evaluates it with a Python loop over the sequence (the reference) or a
fused CUDA kernel. Here the linear recurrence ``x_t = a_t x_{t-1} + b_t`` is solved by a
parallel prefix scan (Hillis-Steele doubling): after the step with stride ``s``, every
position holds the combination of the ``2s`` steps ending there, so ``ceil(log2 T)``
vectorised steps cover a chunk of ``T`` positions; chunks (``chunk_size``) are chained
by carrying the last state, a short loop over chunks only. The scan only multiplies
decays ``a_t`` (in ``(0, 1]`` when ``A < 0``) and adds, never exponentiates a cumulative
sum, so it is as stable as the step-by-step loop for any ``delta``. Everything is
vectorised over batch, channels and states; autograd differentiates through it.

Departure from the reference: it upcasts to float32; here float64 inputs stay float64
(the tests compare in float64) and lower precisions compute in float32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hubench.errors import ValidationError


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
        See :func:`linear_scan`.

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
    a = torch.exp(delta[..., None] * A[:, None, :])  # (batch, dim, L, N)
    b = (delta * u)[..., None] * _per_step(B, dim, dtype)
    h = linear_scan(a, b, chunk_size)  # (batch, dim, L, N)
    Ct = _per_step(C, dim, dtype)
    y = (h * Ct).sum(dim=-1)
    if D is not None:
        y = y + u * D.to(dtype)[:, None]
    if z is not None:
        y = y * F.silu(z.to(dtype))
    out = y.to(dtype_in)
    if return_last_state:
        return out, h[:, :, -1, :]
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
