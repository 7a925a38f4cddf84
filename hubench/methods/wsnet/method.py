"""``ws-net``: WS-Net (Long, Zia, Fu, Rolland, Zhou; arXiv 2603.09037, 2026) as a method.

Only the abstract is public; the network and every inferred choice are described in
:mod:`hubench.methods.wsnet.model` and ``docs/dev/ws-net.md``. Training (device, seeding,
early stopping, LR schedule, clipping, loss history, peak memory) is the shared
:class:`~hubench.deep.base.DeepMethod` loop; this module adds the hyperparameters, the
ablation switches (``use_wavelet``, ``use_mamba``, ``use_attention``, ``use_gate``,
``kl_weight=0``) and Adam with a smaller learning rate for the endmembers,
``lr * decoder_lr_scale`` (inferred: VCA already puts them close).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import torch

from hubench.deep.base import DeepMethod, decoder_param_groups
from hubench.deep.flat import flatten_param_groups
from hubench.deep.layers import UnmixingNetwork
from hubench.errors import ParameterError
from hubench.method import register_method
from hubench.methods.wsnet import cpu_kernels
from hubench.methods.wsnet.model import WSNetwork
from hubench.methods.wsnet.wavelet import DISCRETE_WAVELETS, MODES
from hubench.params import Bool, Choice, Int, Real, Rule
from hubench.scene import Estimate, Observation

SWITCHES = ("use_wavelet", "use_mamba", "use_attention", "use_gate", "ls_prior")


@register_method
class WSNet(DeepMethod):
    """WS-Net: wavelet encoder, Mamba + Weak Signal Attention, gate, KL-regularised decoder.

    Parameters
    ----------
    epochs, batch_size, lr : int, int, float
        Training length, pixels per batch, Adam learning rate of the network.
    decoder_lr_scale : float
        The endmembers (decoder) learn at ``lr * decoder_lr_scale`` (``2e-3 * 0.025 =
        5e-5`` by default and in every preset).
    lr_step, lr_gamma, grad_clip, stop_tol, stop_window
        Shared training controls (see :class:`~hubench.deep.base.DeepMethod`).
    width, d_state, expand, patch, heads : int
        Token width, Mamba state size and expansion, bands per token, attention heads.
    wavelet, levels, wavelet_mode : str, int, str
        The encoder's DWT (any discrete PyWavelets wavelet; modes as ``pywt``).
    use_wavelet, use_mamba, use_attention, use_gate : bool
        Ablation switches (False removes that component).
    ls_prior : bool
        Start the abundance logits from the least-squares abundances (see
        :mod:`hubench.methods.wsnet.model`); False: the network alone.
    kl_weight, sad_weight : float
        Weights of the KL separability penalty (0 disables it) and of the SAD term.
    init : {"vca", "random"}
    device : {"auto", "cpu", "cuda"}
    random_state : int or None
    """

    name = "ws-net"
    task = "blind"
    description = "WS-Net: wavelet-fused Mamba + weak-signal attention unmixing (arXiv 2603.09037; inferred design)"
    version = "2"
    deterministic = True
    presets: ClassVar[dict[str, dict[str, Any]]] = {
        "ci": {"epochs": 2, "batch_size": 256, "width": 8, "d_state": 4, "patch": 8},
        "quick": {"epochs": 5, "batch_size": 128, "width": 16, "d_state": 8, "patch": 16},
        "full": {"epochs": 150, "batch_size": 64, "width": 32, "d_state": 16, "patch": 2},
    }
    param_rules: ClassVar[Mapping[str, Rule]] = {
        "decoder_lr_scale": Real(0, open_lo=True),
        "width": Int(min=1),
        "d_state": Int(min=1),
        "expand": Int(min=1),
        "patch": Int(min=1),
        "heads": Int(min=1),
        "wavelet": Choice(*DISCRETE_WAVELETS, describe="a discrete PyWavelets wavelet such as 'haar', 'db2', 'sym4'"),
        "levels": Int(min=1),
        "wavelet_mode": Choice(*MODES),
        **{name: Bool() for name in SWITCHES},
        "kl_weight": Real(0, hint="(0 disables the term)"),
        "sad_weight": Real(0, hint="(0 disables the term)"),
    }

    shared_defaults: ClassVar[Mapping[str, Any]] = {
        "epochs": 60, "batch_size": 128, "lr": 2e-3, "grad_clip": 1.0,
    }

    def __init__(
        self,
        *,
        decoder_lr_scale: float = 0.025,
        width: int = 16,
        d_state: int = 8,
        expand: int = 2,
        patch: int = 4,
        heads: int = 2,
        wavelet: str = "db2",
        levels: int = 2,
        wavelet_mode: str = "symmetric",
        use_wavelet: bool = True,
        use_mamba: bool = True,
        use_attention: bool = True,
        use_gate: bool = True,
        ls_prior: bool = True,
        kl_weight: float = 0.01,
        sad_weight: float = 0.1,
        **shared: Any,
    ) -> None:
        super().__init__(**shared)
        self.decoder_lr_scale = decoder_lr_scale
        self.width = width
        self.d_state = d_state
        self.expand = expand
        self.patch = patch
        self.heads = heads
        self.wavelet = wavelet
        self.levels = levels
        self.wavelet_mode = wavelet_mode
        self.use_wavelet = use_wavelet
        self.use_mamba = use_mamba
        self.use_attention = use_attention
        self.use_gate = use_gate
        self.ls_prior = ls_prior
        self.kl_weight = kl_weight
        self.sad_weight = sad_weight

    @classmethod
    def prepare(cls) -> None:
        """Load the compiled CPU kernels (about a second in a fresh process) so that the
        harness does not charge it to the first cell's fit."""
        cpu_kernels.load()

    @classmethod
    def check_param_combinations(cls, params: Mapping[str, Any]) -> None:
        super().check_param_combinations(params)
        if params["width"] % params["heads"]:
            raise ParameterError(f"heads: width={params['width']} must be divisible by heads={params['heads']}")

    def build_network(self, observation: Observation, E_init: torch.Tensor) -> WSNetwork:
        scale = float(torch.as_tensor(observation.Y).square().mean().sqrt()) or 1.0
        network = WSNetwork(
            E_init, scale, width=self.width, d_state=self.d_state, expand=self.expand,
            patch=self.patch, wavelet=self.wavelet, levels=self.levels, wavelet_mode=self.wavelet_mode,
            heads=self.heads, use_wavelet=self.use_wavelet, use_mamba=self.use_mamba,
            use_attention=self.use_attention, use_gate=self.use_gate, ls_prior=self.ls_prior,
        )
        self.mamba_backend_ = network.mamba_backend
        return network

    def make_optimizer(self, network: UnmixingNetwork) -> torch.optim.Optimizer:
        """Adam; the decoder's learning rate is ``lr * decoder_lr_scale``.

        The two groups' parameters are packed into one tensor each
        (:func:`~hubench.deep.flat.flatten_param_groups`) and ``fused=True`` does the
        whole update in one kernel: the same rule at a fraction of the per-tensor cost
        on one CPU thread. torch before 2.4 has no fused CPU kernel and refuses it: the
        plain Adam then.
        """
        groups = flatten_param_groups(decoder_param_groups(network, self.lr, self.decoder_lr_scale))
        try:
            return torch.optim.Adam(groups, fused=True)
        except RuntimeError:
            return torch.optim.Adam(groups)

    def loss(self, network: UnmixingNetwork, batch: torch.Tensor) -> torch.Tensor:
        assert isinstance(network, WSNetwork)
        return network.training_loss(batch, float(self.sad_weight), float(self.kl_weight))

    def _fit(self, observation: Observation) -> Estimate:
        estimate = super()._fit(observation)
        estimate.info["mamba_backend"] = self.mamba_backend_  # "torch", "mamba_ssm" or "off"
        return estimate
