"""The superpixel-guided proximal step of DEQ-Unmix, and the simplex projection.

DEQ-Unmix (Wang et al., arXiv 2604.11279) replaces the proximal operator of the
abundance constraint by a step that first smooths the abundances over superpixels and
then returns to the probability simplex. The authors withhold the exact network; the
inferred form used here (documented in docs/dev/deq-unmix.md) is

    prox(V) = P_simplex( w_pix * V + w_mean * S(V) + w_prop * Ahat S(V) )

where ``S(V)`` is the per-superpixel mean of ``V`` broadcast back to the pixels,
``Ahat = D^-1/2 (Adj + I) D^-1/2`` the normalised superpixel adjacency with self loops
(one propagation step), ``(w_pix, w_mean, w_prop)`` a softmax of three learnable
logits (a convex blend, so the row sums of ``V`` are kept), and ``P_simplex`` the exact
Euclidean projection onto ``{a >= 0, sum(a) = 1}``.

Superpixels come from scikit-image's SLIC run on a 3-component PCA rendition of the
image (SLIC's distance assumes a few colour-like channels, not 150 bands), without
the connectivity post-processing (see :func:`slic_superpixels`).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from skimage.segmentation import slic
from torch import nn

from hubench.errors import ParameterError, ValidationError


def project_simplex(V: torch.Tensor) -> torch.Tensor:
    """Exact Euclidean projection of every row of ``V`` onto the probability simplex.

    Sort-based (Held, Wolfe & Crowder 1974; Duchi et al. 2008): with ``u`` the row
    sorted in decreasing order and ``rho`` the largest ``j`` such that
    ``u_j - (sum_{i<=j} u_i - 1) / j > 0``, the projection is
    ``max(v - theta, 0)`` with ``theta = (sum_{i<=rho} u_i - 1) / rho``. Vectorised over
    rows and differentiable almost everywhere by autograd.

    Parameters
    ----------
    V : Tensor, shape (n, p)

    Returns
    -------
    Tensor, shape (n, p)
        Non-negative rows summing to one.
    """
    p = V.shape[-1]
    u, _ = torch.sort(V, dim=-1, descending=True)
    css = torch.cumsum(u, dim=-1) - 1.0
    j = torch.arange(1, p + 1, dtype=V.dtype, device=V.device)
    support = (u - css / j) > 0
    # support is a prefix of True values; rho >= 1 always holds (j=1 gives u_1 - u_1 + 1 > 0).
    rho = support.sum(dim=-1, keepdim=True).clamp_min(1)
    theta = torch.gather(css, -1, rho - 1) / rho.to(V.dtype)
    return torch.clamp(V - theta, min=0.0)


def pca_rendition(Y: np.ndarray, n_components: int = 3) -> np.ndarray:
    """First ``n_components`` principal-component scores of ``Y``, for SLIC.

    All components share one scale (the first component's range maps to [0, 1]), so a
    component that holds only noise stays small instead of being stretched to the
    range of the signal and fragmenting the superpixels.

    Parameters
    ----------
    Y : ndarray, shape (n_pixels, n_bands)

    Returns
    -------
    ndarray, shape (n_pixels, n_components)
    """
    centred = Y - Y.mean(axis=0)
    k = min(n_components, Y.shape[1], Y.shape[0])
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    scores = centred @ vt[:k].T
    scores -= scores.min(axis=0)
    span = scores[:, 0].max()
    return scores / span if span > 0 else scores


def slic_superpixels(
    Y: np.ndarray,
    image_shape: tuple[int, int],
    n_segments: int,
    compactness: float = 1.0,
    enforce_connectivity: bool = False,
) -> np.ndarray:
    """SLIC superpixel labels of a hyperspectral image, from its 3-band PCA rendition.

    Parameters
    ----------
    Y : ndarray, shape (n_pixels, n_bands)
        Pixels in row-major order of ``image_shape``.
    image_shape : (H, W)
    n_segments : int
        Approximate number of superpixels asked of SLIC.
    compactness : float
        SLIC's colour/space trade-off (the rendition's first component spans [0, 1]).
    enforce_connectivity : bool
        scikit-image's post-processing that merges small fragments into neighbours.
        Off by default: on noisy or unstructured images it merges almost everything
        (one segment on the i.i.d. ``standard`` scene), while without it each segment
        stays inside SLIC's local search window. Measured share of the reference
        abundance variance left inside segments (lower = more homogeneous), one
        segment asked per 64 pixels: Samson 2.9% (144 segments) vs 25% (61) with
        connectivity enforced; ``spatial`` scene 10.5% vs 31%; see docs/dev/deq-unmix.md.

    Returns
    -------
    ndarray of int64, shape (n_pixels,)
        Contiguous labels ``0 .. n_superpixels - 1`` in row-major pixel order.
    """
    if n_segments < 1:
        raise ParameterError(f"n_superpixels: must be at least 1, got {n_segments}")
    H, W = image_shape
    rendition = pca_rendition(Y).reshape(H, W, -1)
    labels = slic(
        rendition, n_segments=n_segments, compactness=compactness,
        channel_axis=-1, start_label=0, enforce_connectivity=enforce_connectivity,
    )
    _, contiguous = np.unique(labels.reshape(-1), return_inverse=True)
    return contiguous.astype(np.int64)


def normalised_adjacency(labels: np.ndarray, image_shape: tuple[int, int]) -> np.ndarray:
    """``D^-1/2 (Adj + I) D^-1/2`` of the superpixel graph (4-neighbour touching).

    Parameters
    ----------
    labels : ndarray of int, shape (n_pixels,)
        Contiguous superpixel labels in row-major pixel order.
    image_shape : (H, W)

    Returns
    -------
    ndarray, shape (n_superpixels, n_superpixels)
        Symmetric, with the degree ``D`` counted on ``Adj + I``.
    """
    H, W = image_shape
    grid = labels.reshape(H, W)
    n = int(labels.max()) + 1
    adj = np.eye(n)
    pairs = [(grid[:, :-1], grid[:, 1:]), (grid[:-1, :], grid[1:, :])]
    for a, b in pairs:
        touch = a != b
        adj[a[touch], b[touch]] = 1.0
        adj[b[touch], a[touch]] = 1.0
    d = 1.0 / np.sqrt(adj.sum(axis=1))
    return adj * d[:, None] * d[None, :]


class SuperpixelProx(nn.Module):
    """Learnable superpixel-guided proximal step followed by the simplex projection.

    Parameters
    ----------
    labels : ndarray of int, shape (n_pixels,)
        Contiguous superpixel labels.
    image_shape : (H, W)
    pixel_weight : float
        Initial blend weight of the pixel's own abundances (the rest is split evenly
        between the superpixel mean and the propagated mean), in (0, 1).
    """

    labels: torch.Tensor
    inv_counts: torch.Tensor
    adjacency: torch.Tensor

    def __init__(
        self, labels: np.ndarray, image_shape: tuple[int, int], pixel_weight: float = 0.8
    ) -> None:
        super().__init__()
        if not 0.0 < pixel_weight < 1.0:
            raise ParameterError(f"prox_pixel_weight: must lie in (0, 1), got {pixel_weight}")
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if labels.size != image_shape[0] * image_shape[1]:
            raise ValidationError(
                f"labels: {labels.size} labels for an image of {image_shape[0] * image_shape[1]} pixels"
            )
        counts = np.bincount(labels).astype(np.float64)
        if np.any(counts == 0):
            raise ValidationError("labels: superpixel labels must be contiguous 0..S-1")
        self.n_superpixels = int(counts.size)
        self.register_buffer("labels", torch.from_numpy(labels))
        self.register_buffer("inv_counts", torch.from_numpy(1.0 / counts))
        self.register_buffer("adjacency", torch.from_numpy(normalised_adjacency(labels, image_shape)))
        rest = math.log((1.0 - pixel_weight) / 2.0)
        self.blend_logits = nn.Parameter(torch.tensor([math.log(pixel_weight), rest, rest]))

    def blend_weights(self) -> torch.Tensor:
        """The convex weights (pixel, superpixel mean, propagated mean), shape (3,)."""
        return torch.softmax(self.blend_logits, dim=0)

    def smooth(self, V: torch.Tensor) -> torch.Tensor:
        """The blend before projection: ``(n_pixels, p) -> (n_pixels, p)``."""
        dtype = V.dtype
        sums = torch.zeros(self.n_superpixels, V.shape[1], dtype=dtype, device=V.device)
        sums = sums.index_add(0, self.labels, V)
        means = sums * self.inv_counts.to(dtype)[:, None]
        propagated = self.adjacency.to(dtype) @ means
        w = self.blend_weights().to(dtype)
        return w[0] * V + w[1] * means[self.labels] + w[2] * propagated[self.labels]

    def forward(self, V: torch.Tensor) -> torch.Tensor:
        """``(n_pixels, p) -> (n_pixels, p)`` on the simplex."""
        return project_simplex(self.smooth(V))
