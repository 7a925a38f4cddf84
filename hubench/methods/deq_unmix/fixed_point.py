"""The DEQ-Unmix equilibrium layer: ``A* = prox(A* - eta * G_theta(A*, Y, M))``.

Forward: Anderson acceleration (:mod:`hubench.methods.deq_unmix.anderson`) from ``A_0`` to a relative
residual ``|f(A) - A| / |f(A)| <= tol`` or ``max_iter`` evaluations, without autograd.
Backward, ``"implicit"``: torchdeq's implicit-function-theorem gradient
(:class:`torchdeq.core.DEQIndexing` with ``ift=True``): one differentiable application
``A = f(A*)`` whose incoming gradient ``g`` is replaced by the solution of the adjoint
fixed point ``u = J_f(A*)^T u + g`` (solved by the same Anderson solver), so memory does
not depend on the number of forward iterations. ``"unrolled"``: autograd records every
solver iteration (memory grows with them), kept for comparison.

Both paths return ``f`` applied once more to the solver's best point, so the output is
always on the simplex; :attr:`SolveInfo.residual` is measured at that output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torchdeq.core import DEQIndexing

from hubench.errors import ParameterError
from hubench.methods.deq_unmix.anderson import SOLVER_NAME, anderson, residual_norms
from hubench.methods.deq_unmix.gradient_net import DataTerms, GradientNet
from hubench.methods.deq_unmix.superpixel_prox import SuperpixelProx

BACKWARDS = ("implicit", "unrolled")
ENDMEMBER_FLOOR = 1e-5


@dataclass(frozen=True)
class SolveInfo:
    """What one equilibrium solve did.

    ``n_iter``: evaluations of ``f`` by the solver; ``residual``: relative fixed-point
    residual ``|f(A) - A| / |f(A)|`` at the returned ``A``; ``converged``: ``residual <=
    tol``; ``fallbacks``: Anderson steps that fell back to plain iteration.
    """

    n_iter: int
    residual: float
    converged: bool
    fallbacks: int


class DEQUnmixLayer(nn.Module):
    """Equilibrium abundance layer with learnable endmembers.

    Parameters
    ----------
    Y : Tensor, shape (n_pixels, n_bands)
    M0 : Tensor, shape (p, n_bands)
        Initial endmembers (VCA); become the parameter ``M``.
    labels : ndarray of int, shape (n_pixels,)
        Superpixel labels (see :func:`hubench.methods.deq_unmix.superpixel_prox.slic_superpixels`).
    image_shape : (H, W)
    eta : float
        Step size of the unrolled proximal-gradient iteration.
    hidden : int
        Width of ``G_theta``.
    pixel_weight : float
        Initial weight of the pixel term in the superpixel blend.
    max_iter, tol : int, float
        Forward solver cap and relative residual tolerance.
    anderson_m, anderson_lam : int, float
        Anderson memory and (relative) regularisation.
    backward : {"implicit", "unrolled"}
    backward_max_iter, backward_tol : int, float
        Cap and relative tolerance of the adjoint solve (implicit backward only).
    """

    Y: torch.Tensor

    def __init__(
        self,
        Y: torch.Tensor,
        M0: torch.Tensor,
        labels: np.ndarray,
        image_shape: tuple[int, int],
        *,
        eta: float,
        hidden: int = 32,
        pixel_weight: float = 0.8,
        max_iter: int = 10,
        tol: float = 1e-4,
        anderson_m: int = 5,
        anderson_lam: float = 0.1,
        backward: str = "implicit",
        backward_max_iter: int = 40,
        backward_tol: float = 1e-6,
    ) -> None:
        super().__init__()
        if backward not in BACKWARDS:
            raise ParameterError(f"backward: expected one of {', '.join(BACKWARDS)}, got {backward!r}")
        self.register_buffer("Y", Y)
        self.M = nn.Parameter(M0.clone())
        scale = float(torch.linalg.matrix_norm(M0 @ M0.T, ord=2))
        self.gradient_net = GradientNet(M0.shape[0], image_shape, hidden=hidden, scale=scale)
        self.prox = SuperpixelProx(labels, image_shape, pixel_weight=pixel_weight)
        self.eta = float(eta)
        self.max_iter = int(max_iter)
        self.tol = float(tol)
        self.anderson_m = int(anderson_m)
        self.anderson_lam = float(anderson_lam)
        self.backward = backward
        self.deq = DEQIndexing(
            ift=True, f_solver=SOLVER_NAME, b_solver=SOLVER_NAME,
            f_max_iter=self.max_iter, f_tol=self.tol, f_stop_mode="rel",
            b_max_iter=int(backward_max_iter), b_tol=float(backward_tol), b_stop_mode="rel",
        )

    def step(self, A: torch.Tensor, terms: DataTerms | None = None) -> torch.Tensor:
        """One application of ``f``: ``(n_pixels, p) -> (n_pixels, p)`` on the simplex.

        ``terms``: :meth:`DataTerms.of` ``(Y, M)``, computed here when not given.
        """
        return self.prox(A - self.eta * self.gradient_net(A, self.Y, self.M, terms))

    def clamp_endmembers(self) -> None:
        """Keep ``M >= 1e-5`` (call after every optimiser step)."""
        with torch.no_grad():
            self.M.clamp_(min=ENDMEMBER_FLOOR)

    def forward(
        self, A0: torch.Tensor, max_iter: int | None = None
    ) -> tuple[torch.Tensor, SolveInfo]:
        """Solve for the equilibrium abundances from ``A0``.

        Parameters
        ----------
        A0 : Tensor, shape (n_pixels, p)
            Starting point (the FCLS abundances).
        max_iter : int, optional
            Overrides the solver cap for this call.

        Returns
        -------
        A : Tensor, shape (n_pixels, p)
            On the simplex; differentiable in the parameters when grad mode is on.
        info : SolveInfo
        """
        cap = self.max_iter if max_iter is None else int(max_iter)
        A0 = A0.detach()
        terms = DataTerms.of(self.Y, self.M)  # M is fixed during the solve

        def f(A: torch.Tensor) -> torch.Tensor:
            return self.step(A, terms)

        if not torch.is_grad_enabled() or self.backward == "unrolled":
            # Without grad this is the plain solve; with grad autograd records every step.
            z, _, stats = anderson(
                f, A0, max_iter=cap, tol=self.tol, stop_mode="rel",
                m=self.anderson_m, lam=self.anderson_lam,
            )
            A = f(z)
        else:
            self.deq.train()  # torchdeq attaches the implicit gradient in training mode only
            outputs, stats = self.deq(
                f, A0, solver_kwargs={"m": self.anderson_m, "lam": self.anderson_lam, "f_max_iter": cap}
            )
            A = outputs[-1]
        with torch.no_grad():
            _, rel = residual_norms(f(A.detach()), A.detach())
        info = SolveInfo(
            n_iter=int(stats["n_evals"]), residual=rel, converged=rel <= self.tol,
            fallbacks=int(stats["fallbacks"]),
        )
        return A, info
