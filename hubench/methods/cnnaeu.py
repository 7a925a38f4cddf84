"""CNNAEU: the convolutional unmixing autoencoder of Palsson, Ulfarsson and Sveinsson,
"Convolutional Autoencoder for Spectral-Spatial Hyperspectral Unmixing", IEEE TGRS 59,
2021.

Trained on image patches (40 x 40 in the paper). Encoder: conv 3x3 (``L -> 48``,
reflect padding, no bias) -> LeakyReLU(0.02) -> BatchNorm -> Dropout2d(0.2) ->
conv 1x1 (``48 -> p``, no bias) -> LeakyReLU(0.02) -> BatchNorm -> Dropout2d(0.2) ->
softmax over channels of ``scale * x`` (the abundance maps). Decoder: one convolution
``p -> L`` with a ``K x K`` kernel (11 or 13 in the paper), no bias, non-negative.
Loss: the spectral angle between each input pixel and its reconstruction, averaged
over pixels and patches (``mean(acos(clamp(cos)))``).

Choices (see docs/dev/methods.md and docs/dev/deep-methods.md):

- Endmembers: the decoder kernel summed over space, ``E[k] = sum_ij W[:, k, i, j]``
  (``K^2`` times the paper's spatial average: the same spectra up to one common
  factor), so that ``A @ E`` reproduces ``Y`` where abundances are locally constant.
  The decoder is a spatial filter, so the estimate's ``Y_hat`` is the network's own
  reconstruction, not ``A @ E``.
- Non-negativity: the kernel is clamped at zero after every step.
- Initialisation: ``init="random"`` by default, as the authors' published code starts
  the decoder at random (and keeps it non-negative); ``init="vca"`` starts from VCA's
  endmembers (the ``ci`` and ``quick`` presets: a short run refines a good start).
  Inferred: the kernel is a spatial delta, ``E_init`` at its centre and zeros
  elsewhere (the authors' random kernel fills every tap).
- ``decoder_lr_scale`` (default 1, the paper) lets short runs slow the decoder down.
- Patches: ``patch_draw="fixed"`` (default, as the authors' code): ``n_patches`` random
  windows are drawn once per fit and every epoch goes over that set in a new order;
  ``"fresh"`` (the ``ci`` and ``quick`` presets) draws new windows every epoch, so a
  short run sees more of the image. An image smaller than
  ``patch_size`` along an axis uses its full extent there. Convolutions pad by
  reflection (edge replication when the image is smaller than the padding), so the
  trained network runs on the whole image, of any size, at inference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from hubench.deep.base import DeepMethod, crop_windows, decoder_param_groups
from hubench.deep.layers import UnmixingNetwork, pad2d
from hubench.deep.losses import sad_loss
from hubench.method import register_method
from hubench.params import Choice, Int, Real, Rule
from hubench.scene import Observation


class CNNAEUNetwork(UnmixingNetwork):
    """The CNNAEU autoencoder; ``forward((batch, L, H, W)) -> (batch, L, H, W)``."""

    def __init__(
        self, E_init: torch.Tensor, *, hidden: int, kernel_size: int, leaky_slope: float,
        dropout: float, softmax_scale: float,
    ) -> None:
        super().__init__()
        p, n_bands = E_init.shape
        self.kernel_size = kernel_size
        self.softmax_scale = softmax_scale
        self.conv1 = nn.Conv2d(n_bands, hidden, 3, bias=False)
        self.conv2 = nn.Conv2d(hidden, p, 1, bias=False)
        self.stage1 = nn.Sequential(nn.LeakyReLU(leaky_slope), nn.BatchNorm2d(hidden), nn.Dropout2d(dropout))
        self.stage2 = nn.Sequential(nn.LeakyReLU(leaky_slope), nn.BatchNorm2d(p), nn.Dropout2d(dropout))
        # Inferred: the kernel starts as a spatial delta holding E_init at its centre, so
        # the untrained decoder is the linear mixing model and spatial spread is learnt.
        # (A uniform start E_init / K^2 blurs every reconstruction over K x K pixels, and
        # RMSprop's step of about lr per entry is then large against taps of size E/K^2.)
        kernel = torch.zeros(n_bands, p, kernel_size, kernel_size, dtype=E_init.dtype, device=E_init.device)
        kernel[:, :, kernel_size // 2, kernel_size // 2] = E_init.T.clamp_min(0)
        self.decoder = nn.Parameter(kernel)

    def encode(self, cube: torch.Tensor) -> torch.Tensor:
        """Abundance maps ``(batch, p, H, W)``: softmax over the ``p`` channels."""
        h = self.stage1(self.conv1(pad2d(cube, 1)))
        h = self.stage2(self.conv2(h))
        return torch.softmax(self.softmax_scale * h, dim=1)

    def decode(self, maps: torch.Tensor) -> torch.Tensor:
        """``(batch, p, H, W) -> (batch, L, H, W)``, same spatial size."""
        return nn.functional.conv2d(pad2d(maps, self.kernel_size // 2), self.decoder)

    def forward(self, cube: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(cube))

    def abundances(self, data: torch.Tensor) -> torch.Tensor:
        maps = self.encode(data)[0]  # (p, H, W)
        return maps.permute(1, 2, 0).reshape(-1, maps.shape[0])

    def endmembers(self) -> torch.Tensor:
        return self.decoder.sum(dim=(2, 3)).T

    def reconstruction(self, data: torch.Tensor) -> torch.Tensor:
        cube = self(data)[0]  # (L, H, W)
        return cube.permute(1, 2, 0).reshape(-1, cube.shape[0])

    def constrain_(self) -> None:
        self.decoder.data.clamp_(min=0.0)


@register_method
class CNNAEU(DeepMethod):
    """Convolutional autoencoder unmixing (Palsson et al. 2021): blind, spectral-spatial.

    Parameters
    ----------
    epochs, batch_size, lr : int, int, float
        Training length, patches per batch, RMSprop learning rate.
    n_patches : int
        Random patches per epoch.
    patch_draw : {"fixed", "fresh"}
        ``"fixed"``: one set of ``n_patches`` windows drawn at the start, shuffled every
        epoch (the authors' code: 250 patches); ``"fresh"``: new windows every epoch.
    patch_size : int
        Side of the square training patches (clipped to the image size).
    kernel_size : int
        Side of the decoder kernel (odd).
    hidden : int
        Channels of the first convolution (48 in the paper).
    leaky_slope, dropout, softmax_scale : float
        LeakyReLU slope, Dropout2d rate, factor applied before the softmax.
    decoder_lr_scale : float
        The decoder learns at ``lr * decoder_lr_scale`` (1 in the paper). RMSprop has no
        bias correction, so its first steps are about ``10 * lr`` per kernel tap; a
        smaller decoder rate keeps the VCA start from being blurred away in short runs.
        The ``quick`` preset also turns dropout off: Dropout2d on the five-odd abundance
        channels needs the paper's long schedule to average out.
    lr_step, lr_gamma, grad_clip, stop_tol, stop_window, init, device, random_state
        As in :class:`hubench.deep.DeepMethod` (``stop_tol=0``: run all epochs).
    """

    name = "cnnaeu"
    task = "blind"
    description = "Convolutional autoencoder unmixing on patches (Palsson et al., IEEE TGRS 2021)"
    version = "1"
    deterministic = True
    presets: ClassVar[dict[str, dict[str, object]]] = {
        "ci": {"epochs": 2, "n_patches": 2, "batch_size": 2, "patch_size": 8, "kernel_size": 3, "init": "vca",
               "patch_draw": "fresh"},
        "quick": {"epochs": 150, "n_patches": 4, "batch_size": 2, "patch_size": 24, "kernel_size": 3,
                  "lr": 3e-3, "decoder_lr_scale": 0.01, "dropout": 0.0, "init": "vca",
                  "patch_draw": "fresh"},
        "full": {"epochs": 320, "n_patches": 250, "batch_size": 15, "patch_size": 40, "kernel_size": 11,
                 "lr": 3e-4},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "n_patches": Int(min=1),
        "patch_draw": Choice("fixed", "fresh"),
        "patch_size": Int(min=1),
        "kernel_size": Int(min=1, odd=True, hint="so the output keeps its size"),
        "hidden": Int(min=1),
        "leaky_slope": Real(0, open_lo=True),
        "dropout": Real(0, 1, open_hi=True),
        "softmax_scale": Real(0, open_lo=True),
        "decoder_lr_scale": Real(0, open_lo=True),
    }

    shared_defaults: ClassVar[Mapping[str, Any]] = {"epochs": 320, "batch_size": 15, "lr": 3e-4, "init": "random"}

    def __init__(
        self,
        *,
        n_patches: int = 250,
        patch_draw: str = "fixed",
        patch_size: int = 40,
        kernel_size: int = 11,
        hidden: int = 48,
        leaky_slope: float = 0.02,
        dropout: float = 0.2,
        softmax_scale: float = 3.0,
        decoder_lr_scale: float = 1.0,
        **shared: Any,
    ) -> None:
        super().__init__(**shared)
        self.n_patches = n_patches
        self.patch_draw = patch_draw
        self.patch_size = patch_size
        self.kernel_size = kernel_size
        self.hidden = hidden
        self.leaky_slope = leaky_slope
        self.dropout = dropout
        self.softmax_scale = softmax_scale
        self.decoder_lr_scale = decoder_lr_scale

    def build_network(self, observation: Observation, E_init: torch.Tensor) -> CNNAEUNetwork:
        return CNNAEUNetwork(
            E_init, hidden=self.hidden, kernel_size=self.kernel_size, leaky_slope=float(self.leaky_slope),
            dropout=float(self.dropout), softmax_scale=float(self.softmax_scale),
        )

    def make_optimizer(self, network: UnmixingNetwork) -> torch.optim.Optimizer:
        """RMSprop; the decoder's learning rate is ``lr * decoder_lr_scale``."""
        return torch.optim.RMSprop(decoder_param_groups(network, self.lr, self.decoder_lr_scale))

    def prepare_data(self, Y: torch.Tensor, observation: Observation) -> torch.Tensor:
        """The image as one cube, ``(1, L, H, W)``."""
        height, width = observation.image_shape
        self._patch_set: torch.Tensor | None = None  # the fixed windows, drawn at the first epoch
        return Y.T.reshape(1, Y.shape[1], height, width)

    def batches(self, data: torch.Tensor, generator: torch.Generator) -> list[torch.Tensor]:
        """``n_patches`` random windows, ``(batch, L, h, w)``, in batches of ``batch_size``:
        new ones every epoch (``"fresh"``), or the set drawn at the first epoch in a new
        order (``"fixed"``)."""
        if self.patch_draw == "fixed" and getattr(self, "_patch_set", None) is not None:
            patches = self._patch_set
            assert patches is not None
            order = torch.randperm(patches.shape[0], generator=generator).to(patches.device)
            return list(torch.split(patches[order], self.batch_size))
        _, _, height, width = data.shape
        h, w = min(self.patch_size, height), min(self.patch_size, width)
        top = torch.randint(height - h + 1, (self.n_patches,), generator=generator)
        left = torch.randint(width - w + 1, (self.n_patches,), generator=generator)
        patches = crop_windows(data[0], top, left, h, w)  # (n, L, h, w)
        if self.patch_draw == "fixed":
            self._patch_set = patches
        return list(torch.split(patches, self.batch_size))

    def loss(self, network: UnmixingNetwork, batch: torch.Tensor) -> torch.Tensor:
        return sad_loss(network(batch), batch, dim=1)
