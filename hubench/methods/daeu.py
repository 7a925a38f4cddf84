"""DAEU: the deep unmixing autoencoder of Palsson, Sigurdsson, Sveinsson and
Ulfarsson, "Hyperspectral Unmixing Using a Neural Network Autoencoder", IEEE Access 6,
2018.

Per pixel, a dense encoder (``L -> 9p -> 6p -> 3p -> p``, no bias, LeakyReLU(0.1))
is followed by batch normalisation, a learnable-threshold ReLU ("dynamical soft
thresholding", ``max(0, x - alpha)`` per unit), sum-to-one normalisation (the
abundances) and Gaussian dropout; the decoder is linear, without bias and
non-negative, and its weight is the endmember matrix. The loss is the spectral angle
between each pixel and its reconstruction, averaged over the batch.

Choices and departures from the public notebook (see docs/dev/methods.md):

- The Gaussian-dropout output feeds the decoder (the notebook computes it and then
  decodes the undropped abundances); it is active in training only.
- SAD is ``mean(acos(cos))`` over pixels, not ``acos(mean(cos))``.
- Non-negativity of the decoder: projection (clamp at zero) after every step.
- Inferred: threshold initial value 0, dropout rate 0.0045 (from public ports),
  sum-to-one guarded against an all-zero row (the returned estimate makes such a row
  uniform), decoder initialised from VCA by default (``init="random"`` for a random
  start).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, ClassVar

import torch
from torch import nn

from hubench.deep.base import DeepMethod, decoder_param_groups
from hubench.deep.layers import LinearDecoder, UnmixingNetwork
from hubench.deep.losses import sad_loss
from hubench.method import register_method
from hubench.params import Real, Rule
from hubench.scene import Observation


class ThresholdReLU(nn.Module):
    """``max(0, x - alpha)`` with a learnable threshold ``alpha`` per feature."""

    def __init__(self, n_features: int) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.zeros(n_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x - self.alpha)


class GaussianDropout(nn.Module):
    """Multiply by noise ``N(1, rate / (1 - rate))`` in training; identity in eval."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.std = (rate / (1.0 - rate)) ** 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0.0:
            return x
        return x * (1.0 + self.std * torch.randn_like(x))


class DAEUNetwork(UnmixingNetwork):
    """The DAEU autoencoder; ``forward((batch, L)) -> (batch, L)``."""

    def __init__(self, E_init: torch.Tensor, leaky_slope: float, dropout: float) -> None:
        super().__init__()
        p, n_bands = E_init.shape
        widths = [n_bands, 9 * p, 6 * p, 3 * p, p]
        layers: list[nn.Module] = []
        for n_in, n_out in itertools.pairwise(widths):
            layers += [nn.Linear(n_in, n_out, bias=False), nn.LeakyReLU(leaky_slope)]
        self.encoder = nn.Sequential(*layers, nn.BatchNorm1d(p), ThresholdReLU(p))
        self.dropout = GaussianDropout(dropout)
        self.decoder = LinearDecoder(E_init)

    def encode(self, Y: torch.Tensor) -> torch.Tensor:
        """Abundances ``(batch, p)``: non-negative, rows summing to one."""
        h = self.encoder(Y)
        # clamp, not + eps: an additive guard visibly breaks ASC when h is small
        return h / h.sum(dim=1, keepdim=True).clamp_min(1e-12)

    def forward(self, Y: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.dropout(self.encode(Y)))

    def abundances(self, data: torch.Tensor) -> torch.Tensor:
        return self.encode(data)

    def endmembers(self) -> torch.Tensor:
        return self.decoder.weight

    def constrain_(self) -> None:
        self.decoder.clamp_()


@register_method
class DAEU(DeepMethod):
    """Deep autoencoder unmixing (Palsson et al. 2018): blind, per-pixel, SAD loss.

    Parameters
    ----------
    epochs, batch_size, lr : int, int, float
        Training length, pixels per batch, RMSprop learning rate.
    lr_step, lr_gamma : int, float
        StepLR schedule (``lr_step=0``: constant learning rate, as in the paper).
    grad_clip : float or None
        Clip the gradient norm (None: no clipping, as in the paper).
    stop_tol, stop_window : float, int
        Stop when the SAD loss averaged over ``stop_window`` epochs has not improved by
        more than ``stop_tol`` (relative) for ``stop_window`` epochs; ``stop_tol=0``: run
        all epochs (:class:`hubench.deep.training.StoppingRule`).
    leaky_slope : float
        Negative slope of the encoder's LeakyReLUs.
    dropout : float
        Gaussian-dropout rate on the abundances, in ``[0, 1)``.
    decoder_lr_scale : float
        The decoder (endmembers) learns at ``lr * decoder_lr_scale`` (1 in the paper).
    init : {"vca", "random"}
        Decoder initialisation.
    device : {"auto", "cpu", "cuda"}
    random_state : int or None
    """

    name = "daeu"
    task = "blind"
    description = "Deep autoencoder unmixing with SAD loss (Palsson et al., IEEE Access 2018)"
    version = "1"
    deterministic = True
    presets: ClassVar[dict[str, dict[str, object]]] = {
        "ci": {"epochs": 3, "batch_size": 64},
        # quick: ~1,200 steps of 256 pixels (per-step overhead dominates on CPU), the
        # rate cut by 0.3 after 50 epochs so the last epochs settle (early stopping on
        # the noisy epoch loss stopped runs at a bad point); see docs/dev/deep-methods.md.
        "quick": {"epochs": 120, "batch_size": 256, "lr": 2e-3, "lr_step": 50, "lr_gamma": 0.3,
                  "decoder_lr_scale": 0.01},
        "full": {"epochs": 100, "batch_size": 20, "lr": 1e-3},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "leaky_slope": Real(0, open_lo=True),
        "dropout": Real(0, 1, open_hi=True),
        "decoder_lr_scale": Real(0, open_lo=True),
    }

    shared_defaults: ClassVar[Mapping[str, Any]] = {"epochs": 100, "batch_size": 20, "lr": 1e-3}

    def __init__(
        self, *, leaky_slope: float = 0.1, dropout: float = 0.0045, decoder_lr_scale: float = 1.0,
        **shared: Any,
    ) -> None:
        super().__init__(**shared)
        self.leaky_slope = leaky_slope
        self.dropout = dropout
        self.decoder_lr_scale = decoder_lr_scale

    def make_optimizer(self, network: UnmixingNetwork) -> torch.optim.Optimizer:
        """RMSprop; the decoder's learning rate is ``lr * decoder_lr_scale``."""
        return torch.optim.RMSprop(decoder_param_groups(network, self.lr, self.decoder_lr_scale))

    def build_network(self, observation: Observation, E_init: torch.Tensor) -> DAEUNetwork:
        return DAEUNetwork(E_init, float(self.leaky_slope), float(self.dropout))

    def loss(self, network: UnmixingNetwork, batch: torch.Tensor) -> torch.Tensor:
        return sad_loss(network(batch), batch, dim=1)
