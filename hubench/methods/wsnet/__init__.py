"""WS-Net (Long, Zia, Fu, Rolland, Zhou; arXiv 2603.09037, 2026), registered as ``ws-net``.

Small modules, each tested on its own: :mod:`.wavelet` (differentiable DWT encoder),
:mod:`.selective_scan` (pure-PyTorch selective scan: sequential, with the fused CPU core
of :mod:`.fused_scan`, or parallel), :mod:`.mamba_branch`
(Mamba block; ``mamba_ssm`` on CUDA only), :mod:`.attention` (Weak Signal Attention),
:mod:`.model` (gate, abundance head, decoder, KL separability term) and :mod:`.method`
(the registered method). See ``docs/dev/ws-net.md``.
"""

from hubench.methods.wsnet.method import WSNet

__all__ = ["WSNet"]
