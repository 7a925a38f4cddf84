"""The DEQ-Unmix equilibrium layer: implicit vs unrolled gradients, residual, memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hubench.errors import ParameterError
from hubench.methods.deq_unmix.fixed_point import DEQUnmixLayer

H, W, P, B = 6, 6, 3, 8


def _tiny_layer(backward: str, *, max_iter: int = 200, tol: float = 1e-11) -> tuple[DEQUnmixLayer, torch.Tensor]:
    """A float64 layer on a 6x6 image with well-conditioned endmembers and random weights."""
    rng = np.random.default_rng(0)
    E = np.full((P, B), 0.1)
    for k in range(P):  # near-disjoint band supports: M M^T well conditioned, fast contraction
        E[k, 2 * k : 2 * k + 3] = 1.0
    A = rng.dirichlet(np.ones(P), size=H * W)
    Y = A @ E + 0.01 * rng.standard_normal((H * W, B))
    labels = np.repeat(np.arange(4), 9)  # four 9-pixel superpixels in row-major blocks
    torch.manual_seed(0)
    layer = DEQUnmixLayer(
        torch.from_numpy(Y), torch.from_numpy(E * 1.1), labels, (H, W),
        eta=0.3, hidden=4, pixel_weight=0.7, max_iter=max_iter, tol=tol,
        backward=backward, backward_max_iter=200, backward_tol=1e-12,
    ).double()
    with torch.no_grad():  # non-zero correction network, small enough to stay contractive
        for p in layer.gradient_net.parameters():
            p.copy_(0.05 * torch.randn_like(p))
    A0 = torch.full((H * W, P), 1.0 / P, dtype=torch.float64)
    return layer, A0


def _gradients(backward: str) -> dict[str, torch.Tensor]:
    layer, A0 = _tiny_layer(backward)
    A, info = layer(A0)
    assert info.converged
    target = torch.from_numpy(np.random.default_rng(1).dirichlet(np.ones(P), size=H * W))
    loss = ((A - target) ** 2).sum() + (A @ layer.M).square().mean()
    loss.backward()
    return {name: p.grad.clone() for name, p in layer.named_parameters() if p.grad is not None}


def test_implicit_gradient_matches_unrolled() -> None:
    implicit = _gradients("implicit")
    unrolled = _gradients("unrolled")
    assert set(implicit) == set(unrolled)
    assert {"M", "prox.blend_logits", "gradient_net.net.0.weight"} <= set(implicit)
    for name in implicit:
        diff = torch.linalg.vector_norm(implicit[name] - unrolled[name])
        scale = torch.linalg.vector_norm(unrolled[name])
        assert scale > 0, name
        assert float(diff / scale) < 1e-3, name


def test_residual_at_returned_solution_is_below_tolerance() -> None:
    layer, A0 = _tiny_layer("implicit", max_iter=100, tol=1e-6)
    with torch.no_grad():
        A, info = layer(A0)
        fA = layer.step(A)
    residual = float(torch.linalg.vector_norm(fA - A) / torch.linalg.vector_norm(fA))
    assert info.converged and info.residual == pytest.approx(residual)
    assert residual < 1e-6
    assert 2 <= info.n_iter < 100
    assert float(A.min()) >= 0.0
    np.testing.assert_allclose(A.sum(dim=1).numpy(), 1.0, atol=1e-12)


def test_capped_solve_reports_not_converged() -> None:
    layer, A0 = _tiny_layer("implicit", max_iter=2, tol=1e-12)
    with torch.no_grad():
        _, info = layer(A0)
    assert info.n_iter == 2 and not info.converged and info.residual > 1e-12


def _saved_bytes(backward: str, max_iter: int) -> int:
    """Bytes autograd keeps for the backward pass of one forward (distinct storages)."""
    layer, A0 = _tiny_layer(backward, max_iter=max_iter, tol=0.0)
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        A, _ = layer(A0)
    A.sum().backward()
    return sum(seen.values())


def test_implicit_backward_memory_does_not_grow_with_iterations() -> None:
    implicit = [_saved_bytes("implicit", cap) for cap in (10, 40)]
    unrolled = [_saved_bytes("unrolled", cap) for cap in (10, 40)]
    assert implicit[0] == implicit[1]
    assert unrolled[1] > 3 * unrolled[0]
    assert unrolled[0] > implicit[0]


def test_unknown_backward_is_rejected() -> None:
    with pytest.raises(ParameterError, match="backward"):
        _tiny_layer("adjoint")
