"""G_theta: the learned gradient of DEQ-Unmix's data term.

In proximal gradient descent on ``0.5 |Y - A M|^2`` over the simplex, the step is
``A <- prox(A - eta * (A M - Y) M^T)`` (rows = pixels, ``M`` is ``(p, n_bands)``).
DEQ-Unmix replaces that gradient by a trainable convolutional network that sees the
spectral-spatial neighbourhood. The authors withhold its architecture; the choice made
here (inferred, see docs/dev/deq-unmix.md):

* input features per pixel: the current abundances ``A`` and the exact data-term
  gradient ``D = (A M - Y) M^T`` (both ``p`` channels), laid out as a ``(1, 2p, H, W)``
  image. ``D`` carries everything ``Y`` and ``M`` say about the pixel in abundance
  coordinates, so ``Y`` is not fed band by band (that would tie the network to one
  sensor's band count);
* three 3x3 convolutions (``2p -> hidden -> hidden -> p``, ELU between), so each output
  sees a 7x7 neighbourhood;
* residual form ``G = D + net(A, D / scale)``, the last convolution initialised to
  zero: at initialisation the layer is exact projected-gradient unmixing with the
  superpixel prox, and training learns a correction (in gradient units, so the step
  ``eta`` also damps it; scaling the correction up by ``scale`` made AdamW's first
  steps move the fixed point by whole abundance units and training diverged).
  ``scale`` normalises the input ``D`` by the Lipschitz constant of the data term at the
  initial endmembers, so the network sees O(1) inputs whatever the image's brightness
  and band count.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn


def data_gradient(A: torch.Tensor, Y: torch.Tensor, M: torch.Tensor) -> torch.Tensor:
    """Gradient of ``0.5 |Y - A M|_F^2`` with respect to ``A``.

    Parameters
    ----------
    A : Tensor, shape (n_pixels, p)
    Y : Tensor, shape (n_pixels, n_bands)
    M : Tensor, shape (p, n_bands)

    Returns
    -------
    Tensor, shape (n_pixels, p)
        ``(A M - Y) M^T``.
    """
    return (A @ M - Y) @ M.T


class DataTerms(NamedTuple):
    """What the data gradient needs of ``Y`` and ``M``, in abundance coordinates.

    ``(A M - Y) M^T = A (M M^T) - Y M^T``: with ``gram = M M^T`` ``(p, p)`` and
    ``projection = Y M^T`` ``(n_pixels, p)`` computed once per equilibrium solve (``M``
    is fixed during a solve), an evaluation costs ``O(n p^2)`` instead of
    ``O(n p L)`` and never forms the ``(n_pixels, n_bands)`` residual. Gradients with
    respect to ``M`` flow through both terms.
    """

    gram: torch.Tensor
    projection: torch.Tensor

    @classmethod
    def of(cls, Y: torch.Tensor, M: torch.Tensor) -> DataTerms:
        return cls(M @ M.T, Y @ M.T)

    def gradient(self, A: torch.Tensor) -> torch.Tensor:
        """:func:`data_gradient` at ``A``: ``A gram - projection``."""
        return torch.addmm(-self.projection, A, self.gram)


class GradientNet(nn.Module):
    """The learned gradient ``G_theta(A, Y, M)``.

    Parameters
    ----------
    n_endmembers : int
    image_shape : (H, W)
    hidden : int
        Channels of the two hidden convolutions.
    scale : float
        Positive normaliser of the data gradient (the Lipschitz constant
        ``|M0 M0^T|_2`` of the data term at the initial endmembers).
    """

    def __init__(
        self, n_endmembers: int, image_shape: tuple[int, int], hidden: int = 32, scale: float = 1.0
    ) -> None:
        super().__init__()
        if scale <= 0:
            raise ValueError(f"scale must be positive, got {scale}")
        p = n_endmembers
        self.image_shape = (int(image_shape[0]), int(image_shape[1]))
        self.scale = float(scale)
        self.net = nn.Sequential(
            nn.Conv2d(2 * p, hidden, 3, padding=1, padding_mode="replicate"),
            nn.ELU(),
            nn.Conv2d(hidden, hidden, 3, padding=1, padding_mode="replicate"),
            nn.ELU(),
            nn.Conv2d(hidden, p, 3, padding=1, padding_mode="replicate"),
        )
        last = self.net[-1]
        assert isinstance(last, nn.Conv2d)
        nn.init.zeros_(last.weight)
        if last.bias is not None:
            nn.init.zeros_(last.bias)

    def _to_image(self, X: torch.Tensor) -> torch.Tensor:
        H, W = self.image_shape
        return X.T.reshape(1, X.shape[1], H, W)

    def forward(self, A: torch.Tensor, Y: torch.Tensor, M: torch.Tensor,
                terms: DataTerms | None = None) -> torch.Tensor:
        """``(n_pixels, p)`` learned gradient at ``A`` for pixels ``Y`` and endmembers ``M``.

        ``terms``: :class:`DataTerms` of ``Y`` and ``M`` when the caller has them (the
        equilibrium layer computes them once per solve); else computed here.
        """
        D = (terms if terms is not None else DataTerms.of(Y, M)).gradient(A)
        features = torch.cat([self._to_image(A), self._to_image(D / self.scale)], dim=1)
        correction = self.net(features)[0].reshape(A.shape[1], -1).T
        return D + correction
