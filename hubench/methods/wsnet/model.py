"""The WS-Net network: encoder, two branches, gate, abundance head, decoder, loss.

Inferred from the abstract of arXiv 2603.09037 (no code or hyperparameters are public);
each choice below is a hyperparameter or a documented constant:

- **Encoder**: :class:`~hubench.methods.wsnet.wavelet.WaveletEncoder` turns the pixel
  spectrum (divided by the image's RMS, a fixed buffer) into ``T`` band tokens.
- **Branches** (pre-LayerNorm each): the Mamba block over the token sequence and
  :class:`~hubench.methods.wsnet.attention.WeakSignalAttention`.
- **Gate**: ``g = sigmoid(W [h_mamba; h_attn] + b)`` per token and channel,
  ``h = g * h_mamba + (1 - g) * h_attn``; without the gate the mean of the two; with
  one branch switched off, that branch alone. The fused features are added to the
  encoder tokens (a residual path keeps the linear information abundances need).
- **Abundance head**: softmax over ``p`` logits (ANC and ASC by construction). The
  logits are ``log(max(a_ls, 1e-3))`` -- the unconstrained least-squares abundances
  under the current (detached) decoder, a linear-unmixing prior -- plus a correction
  from a two-layer MLP (GELU) of the flattened tokens whose last layer starts at
  zero, so training starts from the least-squares solution projected on the simplex
  by the softmax and learns what the linear model misses. ``ls_prior=False`` drops
  the prior (logits from the MLP alone): a softmax of a network of ``Y`` cannot
  reproduce abundances that are linear in ``Y``, and on CPU budgets it fits poorly.
- **Decoder**: :class:`~hubench.deep.layers.LinearDecoder`, non-negative by projection,
  initialised from VCA by the base class.
- **Dominance**: the running mean abundance ``abar_k`` (exponential average over training
  batches, momentum 0.1, starting at ``1/p``) and the signal energy
  ``abar_k * |e_k|``. An endmember is *weak* when ``abar_k < 0.5 / p`` (less than half an
  equal share: rare) or its energy is below 25% of the strongest (low albedo), the
  rule hubench uses for real scenes, made relative to ``p``; the others are dominant,
  and the strongest is always dominant.
- **Dominant pattern** for the attention: the least-squares projection of the pixel
  onto the span of the dominant endmembers (decoder weights, detached).
- **KL separability**: spectra normalised to distributions over bands
  (``(e + eps) / sum``); for each (weak, dominant) pair the symmetric KL divergence
  ``KL(p||q) + KL(q||p)``; the penalty is the mean of ``exp(-KL_sym)``: bounded in
  ``(0, 1]``, largest for look-alike pairs, and it stops pushing once a pair is well
  apart (maximising a raw KL would be unbounded). Zero when no endmember is weak.
- **Scan**: on a CPU the torch Mamba block solves the recurrence step by step with the
  fused core of :mod:`~hubench.methods.wsnet.fused_scan` (``scan="auto"``); on other
  devices without ``mamba_ssm``, the parallel doubling scan in chunks of ``chunk_size``
  (16) tokens. The same numbers up to rounding; see ``docs/dev/ws-net.md``.
- **Loss**: ``MSE(Y_hat, Y) / rms(Y)^2 + sad_weight * SAD + kl_weight * penalty``; the
  MSE term keeps brightness (a SAD-only loss cannot tell a dark endmember's abundance).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hubench.deep.layers import LinearDecoder, UnmixingNetwork
from hubench.deep.losses import sad_loss
from hubench.methods.wsnet.attention import WeakSignalAttention
from hubench.methods.wsnet.mamba_branch import make_mamba_block
from hubench.methods.wsnet.wavelet import WaveletEncoder

RARE_SHARE = 0.5  # weak when the mean abundance is below RARE_SHARE / p
ENERGY_RATIO = 0.25  # weak when the energy is below this fraction of the strongest
MOMENTUM = 0.1  # running mean abundance update
EVAL_BLOCK = 2048
LS_FLOOR = 1e-3  # least-squares abundances are floored here before the log  # pixels per block when unmixing a whole image


def weak_mask(mean_abundance: torch.Tensor, E: torch.Tensor) -> torch.Tensor:
    """Which endmembers are weak, ``(p,), (p, L) -> (p,)`` bool (see module docstring)."""
    p = E.shape[0]
    energy = mean_abundance * torch.linalg.vector_norm(E, dim=1)
    weak = (mean_abundance < RARE_SHARE / p) | (energy < ENERGY_RATIO * energy.max())
    weak[int(energy.argmax())] = False
    return weak


def separability_penalty(E: torch.Tensor, weak: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Mean ``exp(-KL_sym)`` over (weak, dominant) pairs of spectra ``E`` ``(p, L)``.

    All ``p x p`` pairs are computed and the (weak, dominant) ones averaged with a mask:
    at these sizes a handful of whole-matrix operations costs less than selecting rows.
    """
    pairs = (weak[:, None] & ~weak[None, :]).to(E.dtype)  # (p, p): row weak, column dominant
    n_pairs = float(pairs.sum())
    if n_pairs == 0:
        return E.sum() * 0.0
    P = E.clamp_min(0.0) + eps * E.detach().abs().mean().clamp_min(1e-12)
    P = P / P.sum(dim=1, keepdim=True)
    logP = torch.log(P)
    kl_sym = ((P[:, None] - P[None]) * (logP[:, None] - logP[None])).sum(-1)  # (p, p)
    return (torch.exp(-kl_sym) * pairs).sum() / n_pairs


class WSNetwork(UnmixingNetwork):
    """WS-Net: ``forward((B, L)) -> (B, L)`` reconstruction; see the module docstring."""

    input_scale: torch.Tensor
    mean_abundance: torch.Tensor

    def __init__(self, E_init: torch.Tensor, input_scale: float, *, width: int = 16, d_state: int = 8,
                 expand: int = 2, d_conv: int = 4, patch: int = 1, wavelet: str = "db2", levels: int = 2,
                 wavelet_mode: str = "zero", heads: int = 2, window: int = 5, use_wavelet: bool = True,
                 use_mamba: bool = True, use_attention: bool = True, use_gate: bool = True,
                 ls_prior: bool = True, chunk_size: int | None = 16) -> None:
        super().__init__()
        p, n_bands = E_init.shape
        self.use_gate = use_gate and use_mamba and use_attention
        self.encoder = WaveletEncoder(n_bands, width, patch=patch, wavelet=wavelet, levels=levels,
                                      mode=wavelet_mode, use_wavelet=use_wavelet)
        self.mamba_norm = nn.LayerNorm(width) if use_mamba else None
        self.mamba = (make_mamba_block(width, d_state=d_state, d_conv=d_conv, expand=expand,
                                       device=E_init.device, chunk_size=chunk_size) if use_mamba else None)
        self.attention_norm = nn.LayerNorm(width) if use_attention else None
        self.attention = WeakSignalAttention(width, heads, window, patch) if use_attention else None
        self.gate = nn.Linear(2 * width, width) if self.use_gate else None
        hidden = max(4 * p, width)
        self.head = nn.Sequential(nn.Linear(self.encoder.n_tokens * width, hidden), nn.GELU())
        self.head_out = nn.Linear(hidden, p)
        if ls_prior:
            nn.init.zeros_(self.head_out.weight)
            nn.init.zeros_(self.head_out.bias)
        self.ls_prior = ls_prior
        self.decoder = LinearDecoder(E_init)
        self.register_buffer("input_scale", torch.tensor(float(input_scale)))
        self.register_buffer("mean_abundance", torch.full((p,), 1.0 / p))

    @property
    def mamba_backend(self) -> str:
        return "off" if self.mamba is None else str(getattr(self.mamba, "hubench_backend", "torch"))

    def weak(self) -> torch.Tensor:
        """Current weak-endmember mask, ``(p,)`` bool."""
        return weak_mask(self.mean_abundance, self.decoder.weight.detach())

    def dominant_pattern(self, Y: torch.Tensor, weak: torch.Tensor | None = None) -> torch.Tensor:
        """Projection of pixels ``(B, L)`` on the span of the dominant endmembers
        (``weak``: the mask of :meth:`weak`, when the caller has it already)."""
        E_dom = self.decoder.weight.detach()[~(self.weak() if weak is None else weak)]
        return Y @ torch.linalg.pinv(E_dom) @ E_dom

    def encode(self, Y: torch.Tensor) -> torch.Tensor:
        """Abundances ``(B, p)`` of pixels ``Y`` ``(B, L)``; updates the running mean in training."""
        tokens = self.encoder(Y / self.input_scale)
        E = self.decoder.weight.detach()
        weak = self.weak() if self.attention is not None else None
        none_weak = weak is not None and not bool(weak.any())
        # least-squares abundances under the whole decoder: the prior's, and the dominant
        # pattern's too while no endmember is weak (the same products, computed once)
        least_squares = Y @ torch.linalg.pinv(E) if self.ls_prior or none_weak else None
        h_mamba = h_attn = None
        if self.mamba is not None and self.mamba_norm is not None:
            h_mamba = self.mamba(self.mamba_norm(tokens))
        if self.attention is not None and self.attention_norm is not None:
            if none_weak and least_squares is not None:
                dominant = least_squares @ E
            else:
                dominant = self.dominant_pattern(Y, weak)
            h_attn = self.attention(self.attention_norm(tokens), Y, dominant)
        if h_mamba is not None and h_attn is not None:
            if self.gate is not None:
                g = torch.sigmoid(self.gate(torch.cat([h_mamba, h_attn], dim=-1)))
                fused = g * h_mamba + (1.0 - g) * h_attn
            else:
                fused = 0.5 * (h_mamba + h_attn)
            tokens = tokens + fused
        elif h_mamba is not None or h_attn is not None:
            tokens = tokens + (h_mamba if h_mamba is not None else h_attn)
        logits = self.head_out(self.head(tokens.flatten(1)))
        if least_squares is not None and self.ls_prior:
            logits = logits + torch.log(least_squares.clamp_min(LS_FLOOR))
        A = torch.softmax(logits, dim=1)
        if self.training:
            with torch.no_grad():
                self.mean_abundance.lerp_(A.detach().mean(0), MOMENTUM)
        return A

    def forward(self, Y: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(Y))

    def training_loss(self, Y: torch.Tensor, sad_weight: float, kl_weight: float) -> torch.Tensor:
        """The loss of one batch ``(B, L)`` (see the module docstring)."""
        Y_hat = self(Y)
        loss = F.mse_loss(Y_hat, Y) / self.input_scale**2
        if sad_weight > 0:
            loss = loss + sad_weight * sad_loss(Y_hat, Y, dim=1)
        if kl_weight > 0:
            weak = self.weak()
            if bool(weak.any()):  # else the penalty is 0: adding it changes no bit of loss or gradient
                loss = loss + kl_weight * separability_penalty(self.decoder.weight, weak)
        return loss

    def abundances(self, data: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.encode(block) for block in torch.split(data, EVAL_BLOCK)])

    def endmembers(self) -> torch.Tensor:
        return self.decoder.weight

    def constrain_(self) -> None:
        self.decoder.clamp_()
