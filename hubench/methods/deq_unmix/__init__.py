"""DEQ-Unmix (deep-equilibrium unmixing, Wang et al. 2026), registered as ``deq-unmix``.

Small modules, each tested on its own: :mod:`.anderson` (the fixed-point solver),
:mod:`.superpixel_prox` (SLIC superpixels, graph smoothing and the simplex projection),
:mod:`.gradient_net` (the learned gradient ``G_theta``), :mod:`.fixed_point` (the
equilibrium layer with implicit or unrolled backward) and :mod:`.method` (the registered
method). See ``docs/dev/deq-unmix.md``.
"""

from hubench.methods.deq_unmix.method import DEQUnmix, DEQUnmixNetwork

__all__ = ["DEQUnmix", "DEQUnmixNetwork"]
