"""SMILE: super-resolution-guided multi-task unmixing (Li, Pan, Qu, Xu, Shi; arXiv
2509.11093, 2025). Only the abstract is public; everything below it is inferred.

Training is self-supervised on the one observed image: each epoch draws random
patches; for a patch ``x`` the loss is

    loss = unmixing_loss(decode(unmix(phi(x))), x) + sr_weight * MSE(SR(phi(D x)), x)

with ``phi`` the shared encoder, ``D`` the blur-and-decimate operator of
:mod:`hubench.methods.smile.degradation` (factor ``scale``, default 2) and the heads of
:mod:`hubench.methods.smile.network`. ``sr_weight=0`` switches the guidance off (the
super-resolution head is then never evaluated): the ablation behind the paper's
task-affinity claim. The unmixing output is the abundance map at the observed
resolution.

Choices (inferred; docs/dev/smile.md):

- Any image size: the image is reflect-padded at the bottom/right to a multiple of
  ``scale`` once, patches have sides that are multiples of ``scale``, and the
  abundances of the padded image are cropped back to ``(H, W)``.
- Unmixing loss: MSE between the patch and its reconstruction (``unmix_loss="mse"``,
  in the same units as the SR loss, so ``sr_weight=1`` weighs them equally), or the
  mean spectral angle (``"sad"``).
- Adam; the endmembers learn at ``lr * decoder_lr_scale`` (they start from VCA, close
  to the answer, and should move slowly: 1e-4 at the default ``lr`` 3e-3 and in every
  preset); decoder clamped at zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch
import torch.nn.functional as F

from hubench.deep.base import DeepMethod, crop_windows, decoder_param_groups
from hubench.deep.layers import UnmixingNetwork
from hubench.deep.losses import sad_loss
from hubench.errors import ParameterError
from hubench.method import register_method
from hubench.methods.smile.degradation import KERNELS, Degradation, pad_to_multiple
from hubench.methods.smile.network import SmileNetwork
from hubench.params import Choice, Int, Real, Rule
from hubench.scene import Estimate, Observation

UNMIX_LOSSES = ("mse", "sad")


@register_method
class SMILE(DeepMethod):
    """Super-resolution-guided multi-task unmixing (inferred design): blind, spectral-spatial.

    Parameters
    ----------
    sr_weight : float
        Weight of the super-resolution loss (``>= 0``; ``0`` turns the guidance off).
    scale : int
        Spatial degradation / super-resolution factor.
    kernel : {"gaussian", "box"}
        Degradation blur; ``sigma`` its Gaussian width in pixels (``None``: ``scale / 2``).
    hidden : int
        Channels of the shared representation.
    unmix_loss : {"mse", "sad"}
        Reconstruction loss of the unmixing task.
    epochs, n_patches, batch_size, patch_size : int
        Epochs; random patches per epoch; patches per step; patch side (rounded down to a
        multiple of ``scale``, clipped to the padded image).
    lr : float
        Adam learning rate of the network.
    decoder_lr_scale : float
        The endmembers (decoder) learn at ``lr * decoder_lr_scale``: by default
        ``3e-3 / 30 = 1e-4``; the ``quick`` preset's ``5e-3 * 0.02`` is 1e-4 too.
    leaky_slope : float
        Slope of the LeakyReLUs.
    lr_step, lr_gamma, grad_clip, stop_tol, stop_window, init, device, random_state
        As in :class:`hubench.deep.base.DeepMethod`.
    """

    name = "smile"
    task = "blind"
    description = "Super-resolution-guided multi-task unmixing (Li et al., arXiv 2025; inferred design)"
    version = "1"
    deterministic = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"epochs": 2, "n_patches": 2, "batch_size": 2, "patch_size": 8, "hidden": 8},
        "quick": {"epochs": 200, "n_patches": 2, "batch_size": 2, "patch_size": 24, "hidden": 32,
                  "lr": 5e-3, "decoder_lr_scale": 0.02},
        "full": {"epochs": 600, "n_patches": 16, "batch_size": 8, "patch_size": 64, "hidden": 64,
                 "lr_step": 200, "lr_gamma": 0.5},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "sr_weight": Real(0, hint="(0 = no guidance)"),
        "scale": Int(min=1),
        "kernel": Choice(*KERNELS),
        "sigma": Real(0, open_lo=True, none_ok="scale / 2"),
        "hidden": Int(min=1),
        "unmix_loss": Choice(*UNMIX_LOSSES),
        "n_patches": Int(min=1),
        "patch_size": Int(min=1),
        "decoder_lr_scale": Real(0, open_lo=True),
        "leaky_slope": Real(0, open_lo=True),
    }

    # stop_window 25: the loss of 2 random patches an epoch is the noisiest of the deep
    # methods and creeps down while the abundances still improve; at 10 the stopping rule
    # ended `quick` at epoch 92 with aRMSE 0.104 (standard 20 dB seed 0), at 25 it runs to
    # the 200-epoch cap with 0.070 (docs/dev/deep-methods.md, "stopping").
    shared_defaults: ClassVar[Mapping[str, Any]] = {"epochs": 250, "batch_size": 2, "lr": 3e-3, "stop_window": 25}

    def __init__(
        self,
        *,
        sr_weight: float = 1.0,
        scale: int = 2,
        kernel: str = "gaussian",
        sigma: float | None = None,
        hidden: int = 32,
        unmix_loss: str = "mse",
        n_patches: int = 2,
        patch_size: int = 32,
        decoder_lr_scale: float = 1 / 30,
        leaky_slope: float = 0.1,
        **shared: Any,
    ) -> None:
        super().__init__(**shared)
        self.sr_weight = sr_weight
        self.scale = scale
        self.kernel = kernel
        self.sigma = sigma
        self.hidden = hidden
        self.unmix_loss = unmix_loss
        self.n_patches = n_patches
        self.patch_size = patch_size
        self.decoder_lr_scale = decoder_lr_scale
        self.leaky_slope = leaky_slope

    # ---- validation -------------------------------------------------------------------
    @classmethod
    def check_param_combinations(cls, params: Mapping[str, Any]) -> None:
        super().check_param_combinations(params)
        if params["patch_size"] < params["scale"]:
            raise ParameterError(f"patch_size: must be at least scale={params['scale']}, got {params['patch_size']}")

    # ---- DeepMethod hooks -----------------------------------------------------------------
    def prepare_data(self, Y: torch.Tensor, observation: Observation) -> torch.Tensor:
        """The image as one cube reflect-padded to a multiple of ``scale``: ``(1, L, H', W')``."""
        height, width = observation.image_shape
        self._degradation = Degradation(self.scale, self.kernel, self.sigma)
        return pad_to_multiple(Y.T.reshape(1, Y.shape[1], height, width), self.scale)

    def build_network(self, observation: Observation, E_init: torch.Tensor) -> SmileNetwork:
        height, width = observation.image_shape
        data_scale = float(abs(observation.Y).mean()) or 1.0
        return SmileNetwork(
            E_init, image_shape=(height, width), scale=self.scale, hidden=self.hidden,
            leaky_slope=float(self.leaky_slope), data_scale=data_scale,
        )

    def make_optimizer(self, network: UnmixingNetwork) -> torch.optim.Optimizer:
        """Adam; the decoder's learning rate is ``lr * decoder_lr_scale``."""
        return torch.optim.Adam(decoder_param_groups(network, self.lr, self.decoder_lr_scale))

    def batches(self, data: torch.Tensor, generator: torch.Generator) -> list[torch.Tensor]:
        """``n_patches`` random windows ``(batch, L, h, w)``, sides multiples of ``scale``."""
        _, _, height, width = data.shape
        side = max(self.scale, self.patch_size - self.patch_size % self.scale)
        h, w = min(side, height), min(side, width)
        top = torch.randint(0, (height - h) // self.scale + 1, (self.n_patches,), generator=generator) * self.scale
        left = torch.randint(0, (width - w) // self.scale + 1, (self.n_patches,), generator=generator) * self.scale
        patches = crop_windows(data[0], top, left, h, w)
        return list(torch.split(patches, self.batch_size))

    def loss(self, network: UnmixingNetwork, batch: torch.Tensor) -> torch.Tensor:
        assert isinstance(network, SmileNetwork)
        unmix, sr = self.loss_terms(network, batch)
        self._terms.append((float(unmix.detach()), float(sr.detach())))
        return unmix + self.sr_weight * sr if self.sr_weight > 0 else unmix

    def loss_terms(self, network: SmileNetwork, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unmixing and super-resolution losses of a batch ``(b, L, h, w)``.

        The SR term is only computed (and is 0) when ``sr_weight > 0``.
        """
        reconstruction = network(batch)
        if self.unmix_loss == "mse":
            unmix = F.mse_loss(reconstruction, batch)
        else:
            unmix = sad_loss(reconstruction, batch, dim=1)
        if self.sr_weight == 0:
            return unmix, torch.zeros((), device=batch.device)
        restored = network.super_resolve(self._degradation.apply(batch))
        return unmix, F.mse_loss(restored, batch)

    def _fit(self, observation: Observation) -> Estimate:
        self._terms: list[tuple[float, float]] = []
        estimate = super()._fit(observation)
        steps = -(-self.n_patches // self.batch_size)
        unmix = [sum(t[0] for t in self._terms[i:i + steps]) / steps for i in range(0, len(self._terms), steps)]
        sr = [sum(t[1] for t in self._terms[i:i + steps]) / steps for i in range(0, len(self._terms), steps)]
        estimate.info.update(
            unmix_loss_history=unmix, sr_loss_history=sr, sr_weight=float(self.sr_weight),
            scale=self.scale, padded_shape=tuple(int(n) for n in self._padded_shape(observation)),
        )
        return estimate

    def _padded_shape(self, observation: Observation) -> tuple[int, int]:
        height, width = observation.image_shape
        return height + (-height) % self.scale, width + (-width) % self.scale
