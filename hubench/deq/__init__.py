"""Building blocks of DEQ-Unmix (deep-equilibrium unmixing, Wang et al. 2026).

``anderson`` (the fixed-point solver), ``superpixel_prox`` (SLIC superpixels, graph
smoothing and the simplex projection), ``gradient_net`` (the learned gradient
``G_theta``) and ``fixed_point`` (the equilibrium layer with implicit or unrolled
backward). The registered method is :mod:`hubench.methods.deq_unmix`.
"""
