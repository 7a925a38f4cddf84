"""Differentiable multi-level 1-D discrete wavelet transform along the spectrum.

WS-Net's encoder is "multi-resolution wavelet-fused" (arXiv 2603.09037, abstract only).
Here the transform is the ordinary decimated DWT of each pixel's spectrum, written as
strided ``conv1d`` / ``conv_transpose1d`` with the filter banks of PyWavelets
(``pywt.Wavelet(name).dec_lo/dec_hi/rec_lo/rec_hi``), so it runs on any device and
gradients flow through it.

Boundary handling reproduces ``pywt.wavedec(x, wavelet, mode=mode, level=level)``
coefficient for coefficient (tested) for the modes in :data:`MODES`:

- every mode but ``periodization``: ``cA[k] = sum_j dec_lo[j] * ext(x)[2k + 1 - j]``
  for ``k < floor((N + F - 1) / 2)`` (``F`` = filter length), where ``ext`` extends the
  signal by zeros, by its edge value, by half-sample (``symmetric``) or whole-sample
  (``reflect``) mirroring, or periodically;
- ``periodization``: an odd-length signal first repeats its last sample, then
  ``cA[k] = sum_j dec_lo[j] * x[(2k + F/2 - j) mod N]`` for ``k < ceil(N / 2)``
  (an orthogonal transform for orthogonal wavelets: no redundant coefficients).

The extension is a gather with precomputed indices, so any signal length works, even
one shorter than the filter (as pywt allows, with a warning, at high levels).
:class:`WaveletEncoder` turns the coefficients into band tokens (see its docstring).
"""

from __future__ import annotations

import numpy as np
import pywt
import torch
import torch.nn.functional as F
from torch import nn

from hubench.errors import ParameterError, suggest

MODES = ("zero", "constant", "symmetric", "reflect", "periodic", "periodization")
DISCRETE_WAVELETS = tuple(pywt.wavelist(kind="discrete"))


def wavelet_filters(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(dec_lo, dec_hi, rec_lo, rec_hi)`` of a discrete PyWavelets wavelet (float64)."""
    if name not in DISCRETE_WAVELETS:
        raise ParameterError(
            f"wavelet: {name!r} is not a discrete PyWavelets wavelet"
            f"{suggest(name, DISCRETE_WAVELETS)}; e.g. 'haar', 'db2', 'sym4'"
        )
    w = pywt.Wavelet(name)
    return tuple(np.asarray(f, dtype=np.float64) for f in (w.dec_lo, w.dec_hi, w.rec_lo, w.rec_hi))  # type: ignore[return-value]


def check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ParameterError(f"wavelet_mode: expected one of {', '.join(MODES)}, got {mode!r}{suggest(mode, MODES)}")


def _extension_indices(n: int, start: int, length: int, mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Indices into a length-``n`` signal of positions ``start .. start+length-1``.

    Returns the gather indices and a 0/1 mask (0 where ``zero`` mode pads with zeros).
    """
    pos = np.arange(start, start + length)
    mask = np.ones(length)
    if mode == "zero":
        mask = ((pos >= 0) & (pos < n)).astype(np.float64)
        idx = np.clip(pos, 0, n - 1)
    elif mode == "constant":
        idx = np.clip(pos, 0, n - 1)
    elif mode in ("periodic", "periodization"):
        idx = pos % n
    elif mode == "symmetric":  # half-sample mirror: ... x1 x0 | x0 x1 ...
        period = 2 * n
        q = pos % period
        idx = np.where(q < n, q, period - 1 - q)
    else:  # reflect, whole-sample mirror: ... x2 x1 | x0 x1 x2 ...
        period = max(2 * n - 2, 1)
        q = pos % period
        idx = np.where(q < n, q, period - q)
    return idx, mask


def _filter_bank(lo: np.ndarray, hi: np.ndarray, like: torch.Tensor, reverse: bool) -> torch.Tensor:
    bank = np.stack([lo[::-1], hi[::-1]] if reverse else [lo, hi])[:, None, :]
    return torch.as_tensor(bank.copy(), dtype=like.dtype, device=like.device)


def dwt(x: torch.Tensor, wavelet: str, mode: str = "zero") -> tuple[torch.Tensor, torch.Tensor]:
    """One DWT level along the last axis: ``(..., N) -> (cA, cD)``, each ``(..., M)``.

    ``M = ceil(N/2)`` for ``periodization``, else ``floor((N + F - 1) / 2)``; equal to
    ``pywt.dwt(x, wavelet, mode=mode)``.
    """
    check_mode(mode)
    dec_lo, dec_hi, _, _ = wavelet_filters(wavelet)
    n_filter = len(dec_lo)
    if mode == "periodization" and x.shape[-1] % 2:
        x = torch.cat([x, x[..., -1:]], dim=-1)
    n = x.shape[-1]
    if mode == "periodization":
        n_out, start = (n + 1) // 2, 1 - n_filter // 2
    else:
        n_out, start = (n + n_filter - 1) // 2, 2 - n_filter
    idx, mask = _extension_indices(n, start, 2 * (n_out - 1) + n_filter, mode)
    ext = x[..., torch.as_tensor(idx, device=x.device)]
    if mode == "zero":
        ext = ext * torch.as_tensor(mask, dtype=x.dtype, device=x.device)
    lead = ext.shape[:-1]
    out = F.conv1d(ext.reshape(-1, 1, ext.shape[-1]), _filter_bank(dec_lo, dec_hi, x, True), stride=2)
    out = out.reshape(*lead, 2, n_out)
    return out[..., 0, :], out[..., 1, :]


def idwt(cA: torch.Tensor, cD: torch.Tensor, wavelet: str, mode: str = "zero") -> torch.Tensor:
    """Inverse of :func:`dwt`, equal to ``pywt.idwt(cA, cD, wavelet, mode=mode)``.

    Output length ``2M`` for ``periodization``, else ``2M - F + 2``.
    """
    check_mode(mode)
    _, _, rec_lo, rec_hi = wavelet_filters(wavelet)
    n_filter = len(rec_lo)
    m = cA.shape[-1]
    lead = cA.shape[:-1]
    coeffs = torch.stack([cA, cD], dim=-2).reshape(-1, 2, m)
    # conv_transpose1d gives the full convolution of the upsampled coefficients with rec
    full = F.conv_transpose1d(coeffs, _filter_bank(rec_lo, rec_hi, cA, False), stride=2)
    full = full.reshape(*lead, full.shape[-1])
    if mode != "periodization":
        return full[..., n_filter - 2 : n_filter - 2 + 2 * m - n_filter + 2]
    n = 2 * m
    target = torch.as_tensor((np.arange(full.shape[-1]) - (n_filter // 2 - 1)) % n, device=cA.device)
    out = torch.zeros(*lead, n, dtype=full.dtype, device=full.device)
    return out.index_add(-1, target, full)


def wavedec(x: torch.Tensor, wavelet: str, level: int, mode: str = "zero") -> list[torch.Tensor]:
    """``level`` DWT levels: ``[cA_level, cD_level, ..., cD_1]`` like ``pywt.wavedec``."""
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise ParameterError(f"levels: expected an int >= 1, got {level!r}")
    details: list[torch.Tensor] = []
    approx = x
    for _ in range(level):
        approx, detail = dwt(approx, wavelet, mode)
        details.append(detail)
    return [approx, *details[::-1]]


def waverec(coeffs: list[torch.Tensor], wavelet: str, mode: str = "zero", length: int | None = None) -> torch.Tensor:
    """Inverse of :func:`wavedec` (as ``pywt.waverec``); ``length`` trims the result."""
    approx = coeffs[0]
    for detail in coeffs[1:]:
        if approx.shape[-1] == detail.shape[-1] + 1:  # pywt's rule for odd lengths
            approx = approx[..., :-1]
        approx = idwt(approx, detail, wavelet, mode)
    return approx if length is None else approx[..., :length]


class WaveletEncoder(nn.Module):
    """Band tokens from a spectrum and its wavelet sub-bands.

    Inferred design (the paper gives no details): each of the ``levels + 1`` sub-bands
    ``[cA_L, cD_L, ..., cD_1]`` is resampled by linear interpolation back onto the band
    grid, so that token ``l`` sees every scale's coefficient at its position; these
    channels are stacked with the raw spectrum, and a strided convolution (kernel =
    stride = ``patch`` bands) projects the ``levels + 2`` channels to ``width`` -- the
    per-channel projections summed, i.e. the sub-bands are projected to a common width
    and fused with the raw-spectrum embedding by addition. A learned positional
    embedding is added. ``use_wavelet=False`` keeps only the raw channel. All of it up to
    the projection is a fixed linear map of the spectrum, applied as one matrix product
    (``transform``, a non-persistent buffer), composed with the projection's weights in
    each call.

    Parameters
    ----------
    n_bands, width, patch : int
        Spectrum length ``L``, token width ``d``, bands per token.
    wavelet, levels, mode : str, int, str
        Passed to :func:`wavedec`.
    use_wavelet : bool
        Fuse the sub-bands (True) or embed the raw spectrum only (the ablation).

    ``forward((B, L)) -> (B, T, d)`` with ``T = ceil(L / patch)``.
    """

    transform: torch.Tensor

    def __init__(self, n_bands: int, width: int, *, patch: int = 1, wavelet: str = "db2",
                 levels: int = 2, mode: str = "zero", use_wavelet: bool = True) -> None:
        super().__init__()
        check_mode(mode)
        wavelet_filters(wavelet)
        self.n_bands, self.patch, self.wavelet, self.levels, self.mode = n_bands, patch, wavelet, levels, mode
        self.use_wavelet = use_wavelet
        n_channels = levels + 2 if use_wavelet else 1
        self.n_tokens = -(-n_bands // patch)
        self.project = nn.Conv1d(n_channels, width, kernel_size=patch, stride=patch)
        self.position = nn.Parameter(0.02 * torch.randn(self.n_tokens, width))
        with torch.no_grad():  # not a parameter: the fixed linear map of channels() + padding
            basis = self._padded(self.channels(torch.eye(n_bands, dtype=torch.float64)))
        # (L * T, C * patch): row (l, t) holds what band l contributes to token t's
        # window of every channel, in the order of the projection's weight (C, patch)
        basis = basis.reshape(n_bands, n_channels, self.n_tokens, patch).permute(0, 2, 1, 3)
        self.register_buffer("transform", basis.reshape(n_bands * self.n_tokens, -1), persistent=False)

    def channels(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, L) -> (B, C, L)``: the raw spectrum and (optionally) its sub-bands."""
        parts = [x[:, None, :]]
        if self.use_wavelet:
            for band in wavedec(x, self.wavelet, self.levels, self.mode):
                parts.append(F.interpolate(band[:, None, :], size=self.n_bands, mode="linear", align_corners=False))
        return torch.cat(parts, dim=1)

    def _padded(self, stacked: torch.Tensor) -> torch.Tensor:
        """``(B, C, L) -> (B, C, T * patch)``, the last band repeated to fill the last token."""
        pad = self.n_tokens * self.patch - self.n_bands
        return F.pad(stacked, (0, pad), mode="replicate") if pad else stacked

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # channels(), the padding and the strided projection are all linear in x: their
        # composition, the (L, T * width) matrix `transform @ projection`, is formed
        # each call (the projection is trained) and applied as one product; the same
        # numbers up to rounding as channels() + pad + conv1d (tested), and a
        # training step has three products instead of a dozen small ops and a
        # strided convolution and its backward.
        weight = self.project.weight.reshape(self.project.out_channels, -1)  # (width, C * patch)
        composed = (self.transform.to(x.dtype) @ weight.t()).reshape(self.n_bands, -1)  # (L, T * width)
        bias = self.project.bias
        assert bias is not None  # nn.Conv1d(..., bias=True)
        offset = (self.position + bias).reshape(-1)
        return torch.addmm(offset, x, composed).view(x.shape[0], self.n_tokens, -1)
