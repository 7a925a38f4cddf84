"""SMILE's multi-task network: a shared encoder with an unmixing and a super-resolution head.

Inferred design (only the paper's abstract is public; see docs/dev/smile.md). All parts are
fully convolutional, so one set of weights runs at any resolution:

- **Shared spatial-spectral encoder** ``phi``: input scaled by a fixed data scale, a
  spectral ``1x1`` convolution ``L -> hidden`` and LeakyReLU, then a spatial ``3x3``
  convolution ``hidden -> hidden`` (reflect padding) and LeakyReLU added back to its
  input (residual). It is the only part both tasks train.
- **Unmixing head** (task-specific): ``1x1`` conv ``hidden -> hidden``, LeakyReLU,
  ``1x1`` conv ``hidden -> p``, softmax over the ``p`` channels (abundances: ANC and
  ASC by construction), then the non-negative linear decoder ``y = a @ E`` whose weight
  is the endmember matrix (VCA-initialised, clamped at zero after every step). It reads
  ``phi`` of the observed image.
- **Super-resolution head** (task-specific): ``3x3`` conv ``hidden -> hidden * s^2``,
  LeakyReLU, pixel shuffle by ``s`` (sub-pixel upsampling), ``1x1`` conv
  ``hidden -> L`` (zero-initialised), scaled back to data units and added to the
  bilinear upsampling of its input (global residual): it starts as bilinear upsampling. It reads ``phi`` of the *degraded* image ``D x`` and
  predicts ``x``.

So the same encoder weights see the observed image (unmixing loss) and its degraded
copy (super-resolution loss): both losses shape the shared representation, which is
the task-affinity mechanism the paper's abstract describes.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from hubench.deep.layers import LinearDecoder, UnmixingNetwork, pad2d
from hubench.methods.smile.degradation import crop


class SharedEncoder(nn.Module):
    """``(b, L, H, W) -> (b, hidden, H, W)``: spectral 1x1 then residual spatial 3x3."""

    def __init__(self, n_bands: int, hidden: int, leaky_slope: float) -> None:
        super().__init__()
        self.spectral = nn.Conv2d(n_bands, hidden, 1)
        self.spatial = nn.Conv2d(hidden, hidden, 3)
        self.act = nn.LeakyReLU(leaky_slope)

    def forward(self, cube: torch.Tensor) -> torch.Tensor:
        h = self.act(self.spectral(cube))
        return h + self.act(self.spatial(pad2d(h, 1)))


class UnmixingHead(nn.Module):
    """``(b, hidden, H, W) -> (b, p, H, W)`` abundance maps (softmax over channels)."""

    def __init__(self, hidden: int, n_endmembers: int, leaky_slope: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(leaky_slope), nn.Conv2d(hidden, n_endmembers, 1)
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.layers(features), dim=1)


class SuperResolutionHead(nn.Module):
    """``(b, hidden, h, w) -> (b, L, h * s, w * s)``: a residual over bilinear upsampling.

    The spatial context sits in the ``3x3`` convolution at the low resolution; the
    projection to bands after the pixel shuffle is ``1x1`` (it dominates the cost).
    """

    def __init__(self, hidden: int, n_bands: int, scale: int, leaky_slope: float) -> None:
        super().__init__()
        self.scale = scale
        self.expand = nn.Conv2d(hidden, hidden * scale**2, 3)
        self.shuffle = nn.PixelShuffle(scale)
        self.act = nn.LeakyReLU(leaky_slope)
        self.project = nn.Conv2d(hidden, n_bands, 1, bias=False)
        # Zero-initialised residual branch: the head starts as bilinear upsampling.
        nn.init.zeros_(self.project.weight)

    def forward(self, features: torch.Tensor, low: torch.Tensor) -> torch.Tensor:
        """``features`` of the normalised low-resolution image ``low`` (both ``(b, ., h, w)``)."""
        h = self.act(self.shuffle(self.expand(pad2d(features, 1))))
        detail = self.project(h)
        base = F.interpolate(low, scale_factor=self.scale, mode="bilinear", align_corners=False)
        return base + detail


class SmileNetwork(UnmixingNetwork):
    """Shared encoder + unmixing head + super-resolution head.

    Parameters
    ----------
    E_init : Tensor
        Initial endmembers ``(p, L)``, non-negative (VCA by default).
    image_shape : tuple of int
        ``(H, W)`` of the observed image; :meth:`abundances` crops to it.
    scale : int
        Super-resolution factor ``s`` (the degradation's).
    hidden : int
        Channels of the shared representation.
    leaky_slope : float
        Slope of every LeakyReLU.
    data_scale : float
        Inputs are divided by it (e.g. the mean absolute value of ``Y``) so that
        activations are of order one whatever the reflectance scale; the SR head's
        output is multiplied back.
    """

    def __init__(
        self, E_init: torch.Tensor, *, image_shape: tuple[int, int], scale: int, hidden: int,
        leaky_slope: float, data_scale: float,
    ) -> None:
        super().__init__()
        p, n_bands = E_init.shape
        self.image_shape = image_shape
        self.data_scale = data_scale
        self.encoder = SharedEncoder(n_bands, hidden, leaky_slope)
        self.unmixing_head = UnmixingHead(hidden, p, leaky_slope)
        self.decoder = LinearDecoder(E_init)
        self.sr_head = SuperResolutionHead(hidden, n_bands, scale, leaky_slope)

    def abundance_maps(self, cube: torch.Tensor) -> torch.Tensor:
        """``(b, L, H, W) -> (b, p, H, W)``, on the simplex along channels."""
        return self.unmixing_head(self.encoder(cube / self.data_scale))

    def decode(self, maps: torch.Tensor) -> torch.Tensor:
        """``(b, p, H, W) -> (b, L, H, W)``: ``y = a @ E`` at every pixel."""
        return self.decoder(maps.movedim(1, -1)).movedim(-1, 1)

    def forward(self, cube: torch.Tensor) -> torch.Tensor:
        """Unmixing reconstruction of ``cube``, ``(b, L, H, W)``."""
        return self.decode(self.abundance_maps(cube))

    def super_resolve(self, low: torch.Tensor) -> torch.Tensor:
        """``(b, L, h, w) -> (b, L, h * s, w * s)``: the SR head on the shared encoding."""
        normalised = low / self.data_scale
        return self.sr_head(self.encoder(normalised), normalised) * self.data_scale

    def abundances(self, data: torch.Tensor) -> torch.Tensor:
        """Abundances of the observed pixels ``(H * W, p)`` from the padded cube ``(1, L, H', W')``."""
        maps = crop(self.abundance_maps(data), self.image_shape)[0]  # (p, H, W)
        return maps.permute(1, 2, 0).reshape(-1, maps.shape[0])

    def endmembers(self) -> torch.Tensor:
        return self.decoder.weight

    def constrain_(self) -> None:
        self.decoder.clamp_()
