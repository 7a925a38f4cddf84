"""Losses shared by deep unmixing methods.

The spectral angle is the loss DAEU and CNNAEU train with: it is blind to a pixel's
brightness, so illumination and topography do not pull the endmembers around.
"""

from __future__ import annotations

import torch

# Keep acos away from +-1, where its derivative is infinite. In float32, 1 - 1e-6 is
# about 8 ulps below one, so the clamp is not rounded away.
_COS_EPS = 1e-6


def spectral_angle(x: torch.Tensor, y: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Angle in radians between spectra ``x`` and ``y`` along ``dim``.

    Parameters
    ----------
    x, y : Tensor
        Same shape, e.g. ``(n_pixels, n_bands)`` with ``dim=-1`` or
        ``(batch, n_bands, H, W)`` with ``dim=1``.

    Returns
    -------
    Tensor
        The shape of ``x`` without ``dim``: one angle per spectrum. A zero spectrum
        gets the angle pi/2 (its cosine is taken as 0) instead of NaN.
    """
    dot = (x * y).sum(dim=dim)
    norms = torch.linalg.vector_norm(x, dim=dim) * torch.linalg.vector_norm(y, dim=dim)
    cosine = dot / norms.clamp_min(torch.finfo(x.dtype).tiny)
    return torch.acos(cosine.clamp(-1.0 + _COS_EPS, 1.0 - _COS_EPS))


def sad_loss(x: torch.Tensor, y: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Mean spectral angle between ``x`` and ``y`` (a scalar, radians).

    The mean is taken over the angles (``mean(acos(cos))``), not inside the arccos:
    ``acos(mean(cos))``, as some public notebooks compute it, is a different and
    flatter loss.
    """
    return spectral_angle(x, y, dim=dim).mean()
