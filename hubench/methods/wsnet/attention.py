"""Weak Signal Attention: self-attention over band tokens that favours weak spectral cues.

The paper's abstract says only that this branch "enhances low-similarity spectral cues".
Inferred design, documented here and in ``docs/dev/ws-net.md``:

1. **Dominant pattern.** For each pixel ``x`` (``(L,)``) the model supplies ``r``, its
   reconstruction by the *dominant* endmembers alone (the least-squares projection of
   ``x`` on their span; see :mod:`hubench.methods.wsnet.model` for how dominance is
   decided). What ``r`` misses is where weak endmembers live.
2. **Weakness per band.** ``s_l`` is the cosine similarity between ``x`` and ``r`` over a
   window of ``window`` bands centred on ``l`` (zero padding at the ends), and the
   weakness is ``w_l = 1 - s_l`` in ``[0, 2]``. The cosine is blind to amplitude, so a
   low-albedo or low-abundance component that bends the spectrum's *shape* counts as
   much as a bright one. A token covering ``patch`` bands takes the mean of theirs.
3. **Attention.** Multi-head scaled dot-product attention over the tokens whose logits
   get a per-key bias ``beta_h * w_key`` (``beta_h = softplus(.) >= 0``, learned per
   head, 1 at the start): every token attends more to the bands where the pixel departs
   from the dominant pattern, so those cues are amplified rather than averaged away.
   With ``r = x`` (nothing but dominant signal) it is plain self-attention.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from hubench.methods.wsnet.cpu_kernels import attention_backward, attention_forward
from hubench.methods.wsnet.cpu_kernels import token_weakness as token_weakness_kernel

#: Floor of the product of the two windowed means under the cosine's square root.
WEAKNESS_EPS = 1e-12


def band_weakness(x: torch.Tensor, r: torch.Tensor, window: int = 5, eps: float = WEAKNESS_EPS) -> torch.Tensor:
    """``1 -`` windowed cosine similarity of ``x`` and ``r``: ``(B, L), (B, L) -> (B, L)``.

    ``window`` must be odd; windows are truncated at the spectrum's ends. The three
    windowed sums (``x r``, ``x x``, ``r r``) are one product with a banded matrix.
    """
    pairs = torch.stack([x * r, x * x, r * r])  # (3, B, L)
    sums = pairs @ _banded(x.shape[-1], window).to(dtype=x.dtype, device=x.device)
    cosine = sums[0] / torch.sqrt((sums[1] * sums[2]).clamp_min(eps))
    return 1.0 - cosine.clamp(-1.0, 1.0)


def token_weakness(weakness: torch.Tensor, patch: int) -> torch.Tensor:
    """Mean band weakness per token of ``patch`` bands: ``(B, L) -> (B, ceil(L/patch))``.

    The last token repeats the last band to fill its ``patch`` places (as the encoder).
    """
    if patch == 1:
        return weakness
    return weakness @ _token_means(weakness.shape[-1], patch).to(dtype=weakness.dtype, device=weakness.device)


@functools.lru_cache(maxsize=32)
def _banded(n_bands: int, window: int) -> torch.Tensor:
    """``(L, L)``: column ``l`` averages the bands within ``window // 2`` of ``l``, over
    ``window`` places (the places past the ends count as zeros)."""
    offsets = np.arange(n_bands)
    inside = np.abs(offsets[:, None] - offsets[None, :]) <= window // 2
    return torch.as_tensor(inside / window)


@functools.lru_cache(maxsize=32)
def _token_means(n_bands: int, patch: int) -> torch.Tensor:
    """``(L, T)``: column ``t`` averages token ``t``'s ``patch`` bands, the last band
    standing in for the places past the end."""
    n_tokens = -(-n_bands // patch)
    source = np.minimum(np.arange(n_tokens * patch), n_bands - 1)
    means = np.zeros((n_bands, n_tokens))
    np.add.at(means, (source, np.arange(n_tokens * patch) // patch), 1.0 / patch)
    return torch.as_tensor(means)


class WeakSignalAttention(nn.Module):
    """Self-attention with a weak-signal bias on the keys.

    Parameters
    ----------
    width : int
        Token width ``d`` (divisible by ``heads``).
    heads : int
        Attention heads.
    window : int
        Odd window (bands) of the local cosine similarity.
    patch : int
        Bands per token (as in the encoder).

    ``forward(tokens (B, T, d), x (B, L), r (B, L)) -> (B, T, d)``.
    """

    def __init__(self, width: int, heads: int = 2, window: int = 5, patch: int = 1) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"width {width} is not divisible by heads {heads}")
        self.heads, self.window, self.patch = heads, window, patch
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.beta_raw = nn.Parameter(torch.full((heads,), math.log(math.e - 1.0)))  # softplus = 1

    def weakness(self, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        """Per-token weakness ``(B, T)`` of pixels ``x`` against dominant patterns ``r``
        (a constant: no gradient flows through it). On the CPU one compiled loop
        (:func:`~hubench.methods.wsnet.cpu_kernels.token_weakness`), else the torch form."""
        if x.device.type != "cpu":
            return token_weakness(band_weakness(x, r, self.window), self.patch).detach()
        out = x.new_empty(x.shape[0], -(-x.shape[1] // self.patch))
        token_weakness_kernel(x.detach().contiguous().numpy(), r.detach().contiguous().numpy(), self.window,
                              self.patch, WEAKNESS_EPS, out.numpy())
        return out

    def weights(self, tokens: torch.Tensor, weakness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention weights ``(B, H, T, T)`` and values ``(B, H, T, d/H)``."""
        return attention_weights(self.qkv(tokens), weakness, F.softplus(self.beta_raw))

    def forward(self, tokens: torch.Tensor, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        mixed = biased_attention(self.qkv(tokens), self.weakness(x, r), F.softplus(self.beta_raw))
        return self.out(mixed)


class _BiasedAttention(torch.autograd.Function):

    @staticmethod
    def forward(ctx: Any, qkv: torch.Tensor, weakness: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
        batch, n_tokens, three_width = qkv.shape
        heads = beta.shape[0]
        dh = three_width // (3 * heads)
        qkv_in = qkv.detach().reshape(batch, n_tokens, 3, heads, dh).contiguous()
        weakness = weakness.detach().contiguous()
        qkv_t = qkv.new_empty(3, heads, n_tokens, dh, batch)  # the pixel axis innermost
        probs = qkv.new_empty(heads, n_tokens, n_tokens, batch)
        out = qkv.new_empty(batch, n_tokens, heads * dh)
        attention_forward(qkv_in.numpy(), weakness.numpy(), beta.detach().contiguous().numpy(), qkv_t.numpy(),
                          probs.numpy(), out.view(batch, n_tokens, heads, dh).numpy())
        ctx.intermediates = (qkv_t, weakness, probs)  # none of them an input: a plain attribute
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_mixed: torch.Tensor) -> tuple[torch.Tensor, None, torch.Tensor]:
        qkv_t, weakness, probs = ctx.intermediates
        _, heads, n_tokens, dh, batch = qkv_t.shape
        grad_qkv = qkv_t.new_empty(batch, n_tokens, 3 * heads * dh)
        grad_beta = qkv_t.new_empty(heads)
        attention_backward(grad_mixed.reshape(batch, n_tokens, heads, dh).contiguous().numpy(), qkv_t.numpy(),
                           weakness.numpy(), probs.numpy(), grad_qkv.view(batch, n_tokens, 3, heads, dh).numpy(),
                           grad_beta.numpy())
        return grad_qkv, None, grad_beta


def biased_attention(qkv: torch.Tensor, weakness: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Multi-head attention with a per-key bias, as one autograd function.

    ``qkv`` ``(batch, T, 3 d)`` (queries, keys, values, each ``heads`` blocks of
    ``d / heads``), ``weakness`` ``(batch, T)`` (treated as a constant) and ``beta``
    ``(heads,)``: ``softmax(q k^T / sqrt(d / heads) + beta_h * weakness_key) v`` per head,
    heads concatenated, ``(batch, T, d)``; what :meth:`WeakSignalAttention.weights`
    computes, followed by the product with the values. On the CPU, compiled loops
    forward and backward (:mod:`~hubench.methods.wsnet.cpu_kernels`); elsewhere the
    plain form under autograd. The tests compare the two in float64.
    """
    if qkv.device.type == "cpu":
        return _BiasedAttention.apply(qkv, weakness, beta)
    probs, v = attention_weights(qkv, weakness, beta)
    return (probs @ v).transpose(1, 2).reshape(qkv.shape[0], qkv.shape[1], -1)


def attention_weights(qkv: torch.Tensor, weakness: torch.Tensor, beta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The plain form of :func:`biased_attention`'s weights under autograd.

    Returns the attention weights ``(B, H, T, T)`` and the values ``(B, H, T, d/H)``.
    """
    batch, n_tokens, three_width = qkv.shape
    heads = beta.shape[0]
    dh = three_width // (3 * heads)
    q, k, v = qkv.view(batch, n_tokens, 3, heads, dh).permute(2, 0, 3, 1, 4)
    logits = q @ k.transpose(-1, -2) / math.sqrt(dh)
    logits = logits + beta[None, :, None, None] * weakness[:, None, None, :]
    return torch.softmax(logits, dim=-1), v
