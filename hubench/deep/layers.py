"""Building blocks shared by deep unmixing networks.

:class:`UnmixingNetwork` is the interface :class:`hubench.deep.DeepMethod` talks to;
:class:`LinearDecoder` is the non-negative linear decoder ``y = E^T a`` whose weights
are the endmembers; :func:`pad2d` pads images for convolutions of any size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class UnmixingNetwork(nn.Module):
    """A network that unmixes: abundances from data, endmembers from its decoder.

    Subclasses implement ``forward(batch) -> reconstruction`` and the two read-outs
    below; :meth:`constrain_` re-imposes constraints after every optimiser step and
    :meth:`reconstruction` is overridden by networks whose decoder is not ``A @ E``.
    The ``data`` argument is whatever the method's ``prepare_data`` returned.
    """

    def abundances(self, data: torch.Tensor) -> torch.Tensor:
        """Abundances of every pixel, ``(n_pixels, n_endmembers)`` in C pixel order."""
        raise NotImplementedError

    def endmembers(self) -> torch.Tensor:
        """Endmember spectra, ``(n_endmembers, n_bands)``."""
        raise NotImplementedError

    def reconstruction(self, data: torch.Tensor) -> torch.Tensor | None:
        """``(n_pixels, n_bands)`` when the decoder is not linear in ``A`` and ``E``."""
        return None

    def constrain_(self) -> None:
        """Project parameters onto their feasible set (called under ``no_grad``)."""


class LinearDecoder(nn.Module):
    """``y = a @ E``: a linear decoder without bias whose weight is the endmember matrix.

    Non-negativity is kept by projection: :meth:`clamp_` sets negative entries to zero
    and is called after every optimiser step (projected gradient descent). This keeps
    the optimiser's plain Euclidean geometry, unlike an ``abs``/softplus
    reparametrisation, and lets a weight sit exactly at zero.

    Parameters
    ----------
    E_init : Tensor
        Initial endmembers, ``(n_endmembers, n_bands)``; negative entries are clamped.
    """

    def __init__(self, E_init: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(E_init.detach().clone().clamp_min(0.0))

    def forward(self, abundances: torch.Tensor) -> torch.Tensor:
        """``(..., n_endmembers) -> (..., n_bands)``."""
        return abundances @ self.weight

    def clamp_(self) -> None:
        """Set negative weights to zero, in place."""
        self.weight.data.clamp_(min=0.0)


def pad2d(images: torch.Tensor, pad: int) -> torch.Tensor:
    """Pad ``(batch, channels, H, W)`` by ``pad`` on every side, reflecting the border.

    Reflection needs ``pad < H`` and ``pad < W``; a smaller image is padded by
    replicating its edge instead, so that any image size works.
    """
    if pad == 0:
        return images
    height, width = images.shape[-2:]
    mode = "reflect" if pad < height and pad < width else "replicate"
    return F.pad(images, (pad, pad, pad, pad), mode=mode)
