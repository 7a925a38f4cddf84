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

import math

import torch
import torch.nn.functional as F
from torch import nn


def band_weakness(x: torch.Tensor, r: torch.Tensor, window: int = 5, eps: float = 1e-12) -> torch.Tensor:
    """``1 -`` windowed cosine similarity of ``x`` and ``r``: ``(B, L), (B, L) -> (B, L)``.

    ``window`` must be odd; windows are truncated at the spectrum's ends.
    """
    pad = window // 2
    pairs = torch.stack([x * r, x * x, r * r], dim=1)  # (B, 3, L)
    sums = F.avg_pool1d(pairs, window, stride=1, padding=pad, count_include_pad=True)
    cosine = sums[:, 0] / torch.sqrt((sums[:, 1] * sums[:, 2]).clamp_min(eps))
    return 1.0 - cosine.clamp(-1.0, 1.0)


def token_weakness(weakness: torch.Tensor, patch: int) -> torch.Tensor:
    """Mean band weakness per token of ``patch`` bands: ``(B, L) -> (B, ceil(L/patch))``."""
    if patch == 1:
        return weakness
    pad = (-weakness.shape[-1]) % patch
    if pad:
        weakness = F.pad(weakness[:, None], (0, pad), mode="replicate")[:, 0]
    return F.avg_pool1d(weakness[:, None], patch, stride=patch)[:, 0]


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
        """Per-token weakness ``(B, T)`` of pixels ``x`` against dominant patterns ``r``."""
        return token_weakness(band_weakness(x, r, self.window), self.patch)

    def weights(self, tokens: torch.Tensor, weakness: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attention weights ``(B, H, T, T)`` and values ``(B, H, T, d/H)``."""
        batch, n_tokens, width = tokens.shape
        q, k, v = self.qkv(tokens).view(batch, n_tokens, 3, self.heads, width // self.heads).permute(2, 0, 3, 1, 4)
        logits = q @ k.transpose(-1, -2) / math.sqrt(width // self.heads)
        beta = F.softplus(self.beta_raw)[None, :, None, None]
        logits = logits + beta * weakness[:, None, None, :]
        return torch.softmax(logits, dim=-1), v

    def forward(self, tokens: torch.Tensor, x: torch.Tensor, r: torch.Tensor) -> torch.Tensor:
        attn, v = self.weights(tokens, self.weakness(x, r))
        mixed = (attn @ v).transpose(1, 2).reshape(tokens.shape)
        return self.out(mixed)
