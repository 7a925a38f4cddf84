"""DEQ-Unmix building blocks: simplex projection, superpixel graph and prox, Anderson."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from hubench.methods.deq_unmix.anderson import anderson
from hubench.methods.deq_unmix.gradient_net import DataTerms, data_gradient
from hubench.methods.deq_unmix.superpixel_prox import (
    SuperpixelProx,
    normalised_adjacency,
    project_simplex,
    slic_superpixels,
)


def _bisection_projection(v: np.ndarray) -> np.ndarray:
    """Independent reference: find theta with sum(max(v - theta, 0)) = 1 by bisection."""
    lo, hi = v.min() - 1.0, v.max()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.maximum(v - mid, 0.0).sum() > 1.0:
            lo = mid
        else:
            hi = mid
    return np.maximum(v - 0.5 * (lo + hi), 0.0)


def test_projection_matches_bisection_and_is_on_simplex() -> None:
    rng = np.random.default_rng(0)
    V = rng.normal(scale=2.0, size=(500, 5))
    P = project_simplex(torch.from_numpy(V)).numpy()
    ref = np.stack([_bisection_projection(v) for v in V])
    np.testing.assert_allclose(P, ref, atol=1e-12)
    assert P.min() >= 0.0
    np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
    # Points already on the simplex are fixed.
    A = rng.dirichlet(np.ones(5), size=50)
    np.testing.assert_allclose(project_simplex(torch.from_numpy(A)).numpy(), A, atol=1e-14)


def test_projection_is_differentiable() -> None:
    rng = np.random.default_rng(1)
    V = torch.tensor(rng.normal(size=(6, 4)), requires_grad=True)
    assert torch.autograd.gradcheck(project_simplex, (V,))


def _grid_labels() -> np.ndarray:
    # 4 x 6 image, three vertical strips 0 | 1 | 2, strip 2 split into 2 (top) and 3 (bottom)
    grid = np.zeros((4, 6), dtype=np.int64)
    grid[:, 2:4] = 1
    grid[:2, 4:] = 2
    grid[2:, 4:] = 3
    return grid.reshape(-1)


def test_normalised_adjacency_by_hand() -> None:
    adj_plus_i = np.array(
        [[1, 1, 0, 0], [1, 1, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]], dtype=float
    )
    d = adj_plus_i.sum(axis=1)
    expected = adj_plus_i / np.sqrt(np.outer(d, d))
    np.testing.assert_allclose(normalised_adjacency(_grid_labels(), (4, 6)), expected)


def test_superpixel_prox_against_numpy() -> None:
    labels = _grid_labels()
    prox = SuperpixelProx(labels, (4, 6), pixel_weight=0.6).double()
    rng = np.random.default_rng(2)
    V = rng.normal(size=(24, 3))
    means = np.stack([V[labels == s].mean(axis=0) for s in range(4)])
    propagated = normalised_adjacency(labels, (4, 6)) @ means
    w = prox.blend_weights().detach().numpy()
    np.testing.assert_allclose(w, [0.6, 0.2, 0.2], rtol=1e-6)  # logits are stored in float32
    expected = w[0] * V + w[1] * means[labels] + w[2] * propagated[labels]
    got = prox.smooth(torch.from_numpy(V)).detach().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-12)
    out = prox(torch.from_numpy(V)).detach().numpy()
    np.testing.assert_allclose(out, np.stack([_bisection_projection(v) for v in expected]), atol=1e-10)


def test_slic_superpixels_follow_the_image() -> None:
    rng = np.random.default_rng(3)
    H, W = 24, 24
    Z = gaussian_filter(rng.standard_normal((3, H, W)), (0, 3, 3)) * 5
    A = np.exp(Z).reshape(3, -1).T
    A /= A.sum(axis=1, keepdims=True)
    Y = A @ rng.uniform(0.1, 1.0, size=(3, 20))
    labels = slic_superpixels(Y, (H, W), n_segments=12)
    n = labels.max() + 1
    assert labels.shape == (H * W,)
    assert np.array_equal(np.unique(labels), np.arange(n)) and n >= 4
    # Superpixels are spectrally homogeneous: within-segment variance well below the total.
    within = sum(((Y[labels == s] - Y[labels == s].mean(axis=0)) ** 2).sum() for s in range(n))
    assert within < 0.5 * ((Y - Y.mean(axis=0)) ** 2).sum()


def test_anderson_solves_a_linear_fixed_point() -> None:
    rng = np.random.default_rng(4)
    n = 30
    B = rng.normal(size=(n, n))
    B *= 0.9 / np.linalg.norm(B, 2)
    c = rng.normal(size=n)
    expected = np.linalg.solve(np.eye(n) - B, c)
    Bt, ct = torch.from_numpy(B), torch.from_numpy(c)
    z, _, info = anderson(lambda x: Bt @ x + ct, torch.zeros(n, dtype=torch.float64),
                          max_iter=100, tol=1e-12, m=5, lam=1e-8)
    np.testing.assert_allclose(z.numpy(), expected, atol=1e-9)
    assert info["fallbacks"] == 0
    # Anderson beats plain iteration (rate 0.9 needs ~260 steps for 1e-12).
    assert info["n_evals"] < 100


def test_anderson_falls_back_when_the_system_is_singular() -> None:
    # lam = 0 and a zero residual make the bordered system exactly singular.
    target = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)
    z, _, info = anderson(lambda x: target.clone(), target.clone(), max_iter=6, tol=0.0, m=3, lam=0.0)
    assert info["fallbacks"] >= 1
    assert torch.allclose(z, target)


def test_anderson_is_differentiable_when_unrolled() -> None:
    a = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    # z = a z + 1 has z* = 1 / (1 - a), dz*/da = 1 / (1 - a)^2 = 4 at a = 0.5.
    z, _, _ = anderson(lambda x: a * x + 1.0, torch.zeros(1, dtype=torch.float64),
                       max_iter=60, tol=1e-14, m=3, lam=1e-10)
    z.sum().backward()
    assert a.grad is not None
    assert float(a.grad) == pytest.approx(4.0, rel=1e-6)


def test_data_terms_give_the_data_gradient_and_its_endmember_gradient() -> None:
    """``A (M M^T) - Y M^T`` equals ``(A M - Y) M^T``, values and gradient in ``M``."""
    g = torch.Generator().manual_seed(0)
    A = torch.rand(40, 4, generator=g, dtype=torch.float64)
    Y = torch.rand(40, 30, generator=g, dtype=torch.float64)
    M = torch.rand(4, 30, generator=g, dtype=torch.float64, requires_grad=True)
    W = torch.randn(40, 4, generator=g, dtype=torch.float64)
    fast = DataTerms.of(Y, M).gradient(A)
    (grad_fast,) = torch.autograd.grad((fast * W).sum(), M)
    slow = data_gradient(A, Y, M)
    (grad_slow,) = torch.autograd.grad((slow * W).sum(), M)
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(grad_fast, grad_slow, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("lam", [0.1, 0.0])
def test_anderson_no_grad_path_matches_the_traced_one(lam: float) -> None:
    """The bookkeeping-light path (no autograd) takes the same steps as the traced one."""
    g = torch.Generator().manual_seed(3)
    W = 0.9 * torch.linalg.qr(torch.randn(30, 30, generator=g, dtype=torch.float64))[0]
    c = torch.randn(30, generator=g, dtype=torch.float64)

    def func(x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(W @ x) + c

    x0 = torch.zeros(30, dtype=torch.float64)
    with torch.enable_grad():
        traced, _, info_traced = anderson(func, x0, max_iter=25, tol=1e-10, m=4, lam=lam)
    with torch.no_grad():
        fast, _, info_fast = anderson(func, x0, max_iter=25, tol=1e-10, m=4, lam=lam)
    assert info_fast["n_evals"] == info_traced["n_evals"]
    np.testing.assert_allclose(info_fast["trace"], info_traced["trace"], rtol=1e-6, atol=1e-13)
    torch.testing.assert_close(fast, traced, rtol=1e-9, atol=1e-10)
