"""VCA + FCLS: the classic blind pipeline (endmembers by VCA, abundances by exact FCLS).

The baseline that most unmixing papers compare against (DEQ-Unmix among them). It is
:class:`hubench.methods.vca.VCA` under the pipeline's own name, so that leaderboards can
list it as the literature does; every VCA hyperparameter (``random_state`` included) and
the FCLS solver settings pass through unchanged.
"""

from __future__ import annotations

from typing import ClassVar

from hubench.method import register_method
from hubench.methods.vca import VCA


@register_method
class VCAFCLS(VCA):
    """VCA endmembers, then exact batched FCLS abundances (see :class:`VCA`)."""

    name: ClassVar[str] = "vca+fcls"
    description: ClassVar[str] = (
        "Blind pipeline: VCA endmembers (Nascimento & Bioucas-Dias 2005), then exact "
        "batched FCLS abundances (Heinz & Chang 2001)"
    )
