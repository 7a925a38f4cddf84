"""Spatial degradation by an integer scale factor, as a linear operator with its adjoint.

SMILE's super-resolution task is self-supervised: the observed image is degraded
spatially and a head learns to restore it. The degradation used here is separable,
the same along rows and columns:

``D = D_rows (x) D_cols``, and along one axis of length ``n`` (a multiple of ``s``)
output sample ``i`` is

    (D_1 x)[i] = sum_t  w[t] * x[fold(s * i - r + t)],   t = 0 .. s + 2r - 1,

a strided correlation of the reflect-padded signal, where ``fold`` reflects an index
that falls outside ``0 .. n-1`` back into it (``-1 -> 1``, ``n -> n - 2``, repeatedly
for very short signals), and the taps ``w`` (summing to one) are a kernel sampled at
distances ``t - r - (s - 1) / 2`` from the centre of the block of ``s`` pixels that
output ``i`` summarises:

- ``kernel="box"``: ``r = 0``, ``w = 1 / s``: the mean of each ``s x s`` block.
- ``kernel="gaussian"``: ``w ~ exp(-d^2 / (2 sigma^2))`` with ``r = ceil(3 sigma)``
  (default ``sigma = s / 2``): an anti-aliasing blur followed by decimation.

The operator maps ``(..., H, W)`` to ``(..., H / s, W / s)``; :meth:`Degradation.adjoint`
is its exact transpose (strided transposed correlation, then the reflected samples
added back onto the pixels they were copied from), so ``<D x, y> = <x, D^T y>`` to
rounding. Images whose sides are not multiples of ``s`` go through
:func:`pad_to_multiple` first and :func:`crop` afterwards.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hubench.errors import ParameterError, ValidationError

KERNELS = ("gaussian", "box")


def reflect_indices(n: int, pad_before: int, pad_after: int) -> torch.Tensor:
    """Source index of every sample of a signal of length ``n`` reflect-padded.

    Returns a ``(pad_before + n + pad_after,)`` int64 tensor: entry ``j`` is the index
    of the original sample at padded position ``j`` (reflection without repeating the
    edge, folded again when the padding exceeds the signal; all zeros when ``n == 1``).
    """
    positions = torch.arange(-pad_before, n + pad_after)
    if n == 1:
        return torch.zeros_like(positions)
    period = 2 * (n - 1)
    folded = torch.remainder(positions, period)
    return torch.where(folded < n, folded, period - folded)


def pad_to_multiple(images: torch.Tensor, scale: int) -> torch.Tensor:
    """Reflect-pad ``(..., H, W)`` at the bottom and right to sides divisible by ``scale``."""
    height, width = images.shape[-2:]
    rows = reflect_indices(height, 0, (-height) % scale).to(images.device)
    cols = reflect_indices(width, 0, (-width) % scale).to(images.device)
    return images.index_select(-2, rows).index_select(-1, cols)


def crop(images: torch.Tensor, image_shape: tuple[int, int]) -> torch.Tensor:
    """The top-left ``(H, W)`` of ``(..., H', W')``: undoes :func:`pad_to_multiple`."""
    height, width = image_shape
    return images[..., :height, :width]


class Degradation:
    """Blur-and-decimate by an integer factor; ``apply`` is ``D``, ``adjoint`` is ``D^T``.

    Parameters
    ----------
    scale : int
        Decimation factor ``s >= 1`` (``s = 1`` with ``kernel="box"`` is the identity).
    kernel : {"gaussian", "box"}
        Blur applied before decimation (see the module docstring).
    sigma : float or None
        Standard deviation of the Gaussian in pixels; ``None`` means ``scale / 2``.
        Ignored for ``kernel="box"``.

    Raises
    ------
    ParameterError
        A scale below 1, an unknown kernel or a non-positive sigma.
    """

    def __init__(self, scale: int = 2, kernel: str = "gaussian", sigma: float | None = None) -> None:
        if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
            raise ParameterError(f"scale: expected an int >= 1, got {scale!r}")
        if kernel not in KERNELS:
            raise ParameterError(f"kernel: expected one of {', '.join(KERNELS)}, got {kernel!r}")
        if sigma is not None and (isinstance(sigma, bool) or not isinstance(sigma, int | float) or not sigma > 0):
            raise ParameterError(f"sigma: expected a number > 0 or None, got {sigma!r}")
        self.scale = scale
        self.kernel = kernel
        self.sigma = float(scale) / 2.0 if sigma is None else float(sigma)
        self.radius = 0 if kernel == "box" else math.ceil(3.0 * self.sigma)
        self.taps = self._taps()
        self._matrices: dict[tuple[int, torch.dtype, torch.device], torch.Tensor] = {}

    def _taps(self) -> torch.Tensor:
        """``(s + 2r,)`` float64 weights summing to one."""
        s, r = self.scale, self.radius
        if self.kernel == "box":
            return torch.full((s,), 1.0 / s, dtype=torch.float64)
        distance = torch.arange(s + 2 * r, dtype=torch.float64) - r - (s - 1) / 2.0
        weights = torch.exp(-(distance**2) / (2.0 * self.sigma**2))
        return weights / weights.sum()

    def __repr__(self) -> str:
        return f"Degradation(scale={self.scale}, kernel={self.kernel!r}, sigma={self.sigma:g})"

    # ---- shapes -------------------------------------------------------------------
    def low_shape(self, image_shape: tuple[int, int]) -> tuple[int, int]:
        """Shape ``(H / s, W / s)`` of the degraded image; sides must divide by ``s``."""
        height, width = image_shape
        if height % self.scale or width % self.scale:
            raise ValidationError(
                f"image shape {(height, width)} is not a multiple of the scale factor {self.scale}; "
                "reflect-pad it first with pad_to_multiple(images, scale)"
            )
        return height // self.scale, width // self.scale

    # ---- the operator ---------------------------------------------------------------
    def apply(self, images: torch.Tensor) -> torch.Tensor:
        """``D x``: ``(..., H, W) -> (..., H / s, W / s)``, in the dtype of ``images``.

        Computed as ``M_rows @ x @ M_cols^T`` with the dense 1-D operators of
        :meth:`matrix` (cached per length, dtype and device): the same operator, but two
        small matrix products instead of gathers and strided convolutions, which is
        several times faster for training patches.
        """
        self.low_shape((images.shape[-2], images.shape[-1]))
        rows = self._cached_matrix(images.shape[-2], images.dtype, images.device)
        cols = self._cached_matrix(images.shape[-1], images.dtype, images.device)
        return torch.matmul(torch.matmul(rows, images), cols.T)

    def _cached_matrix(self, n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """:meth:`matrix` ``(n / s, n)`` in ``dtype`` on ``device``, built once per key."""
        key = (n, dtype, device)
        if key not in self._matrices:
            self._matrices[key] = self.matrix(n).to(dtype=dtype, device=device)
        return self._matrices[key]

    def adjoint(self, low: torch.Tensor) -> torch.Tensor:
        """``D^T y``: ``(..., h, w) -> (..., h * s, w * s)``, the exact transpose of :meth:`apply`."""
        return self._axis(self._axis(low, -2, adjoint=True), -1, adjoint=True)

    def _axis(self, x: torch.Tensor, dim: int, *, adjoint: bool) -> torch.Tensor:
        """Apply the 1-D operator (or its transpose) along ``dim`` (``-2`` or ``-1``)."""
        s, r = self.scale, self.radius
        moved = x.movedim(dim, -1)
        lead, length = moved.shape[:-1], moved.shape[-1]
        signals = moved.reshape(-1, 1, length)
        weight = self.taps.to(dtype=x.dtype, device=x.device).view(1, 1, -1)
        if not adjoint:
            source = reflect_indices(length, r, r).to(x.device)
            out = F.conv1d(signals.index_select(-1, source), weight, stride=s)
        else:
            n = length * s
            padded = F.conv_transpose1d(signals, weight, stride=s)  # (N, 1, n + 2r)
            source = reflect_indices(n, r, r).to(x.device)
            out = torch.zeros(signals.shape[0], 1, n, dtype=x.dtype, device=x.device)
            out.index_add_(-1, source, padded)
        return out.reshape(*lead, out.shape[-1]).movedim(-1, dim)

    def matrix(self, n: int) -> torch.Tensor:
        """The 1-D operator along an axis of length ``n`` as a dense ``(n / s, n)`` float64 matrix.

        For tests and small problems: ``D x = M_rows @ x @ M_cols.T`` for one band.
        """
        eye = torch.eye(n, dtype=torch.float64)
        return self._axis(eye, -1, adjoint=False).T.contiguous()
