"""The selective scan (sequential, fused and parallel) against a plain step-by-step
recurrence (float64)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hubench.errors import ValidationError
from hubench.methods.wsnet.fused_scan import fused_ssm
from hubench.methods.wsnet.selective_scan import linear_scan, selective_scan, sequential_scan


def loop_scan(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """The recurrence written out one step at a time (independent of the module)."""
    if delta_bias is not None:
        delta = delta + delta_bias[:, None]
    if delta_softplus:
        delta = F.softplus(delta)
    batch, dim, length = u.shape
    n_state = A.shape[1]
    x = torch.zeros(batch, dim, n_state, dtype=u.dtype)
    ys = []
    for t in range(length):
        if B.dim() == 2:
            Bt, Ct = B[None], C[None]
        elif B.dim() == 3:
            Bt, Ct = B[:, None, :, t], C[:, None, :, t]
        else:
            rep = dim // B.shape[1]
            Bt = B[..., t].repeat_interleave(rep, dim=1)
            Ct = C[..., t].repeat_interleave(rep, dim=1)
        x = torch.exp(delta[:, :, t, None] * A) * x + delta[:, :, t, None] * Bt * u[:, :, t, None]
        y = (x * Ct).sum(-1)
        if D is not None:
            y = y + D * u[:, :, t]
        ys.append(y)
    out = torch.stack(ys, dim=2)
    if z is not None:
        out = out * F.silu(z)
    return out, x


def make_inputs(bc: str, seed: int = 0, batch: int = 2, dim: int = 4, length: int = 13, n_state: int = 3):
    g = torch.Generator().manual_seed(seed)

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    shapes = {"const": (dim, n_state), "var": (batch, n_state, length), "group": (batch, 2, n_state, length)}
    return {
        "u": r(batch, dim, length),
        "delta": 0.5 * r(batch, dim, length),
        "A": -torch.exp(r(dim, n_state)),
        "B": r(*shapes[bc]),
        "C": r(*shapes[bc]),
        "D": r(dim),
        "z": r(batch, dim, length),
        "delta_bias": 0.1 * r(dim),
    }


@pytest.mark.parametrize("chunk_size", [None, 1, 4, 5, 100])
@pytest.mark.parametrize("bc", ["const", "var", "group"])
def test_outputs_and_last_state_match_loop(bc: str, chunk_size: int | None) -> None:
    inputs = make_inputs(bc)
    out, last = selective_scan(**inputs, delta_softplus=True, return_last_state=True, chunk_size=chunk_size,
                               scan="parallel")
    ref, ref_last = loop_scan(**inputs, delta_softplus=True)
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(last, ref_last, rtol=1e-12, atol=1e-12)


def test_optional_terms_off() -> None:
    inputs = make_inputs("var", seed=3)
    for drop in ({"D", "z", "delta_bias"}, {"z"}, {"D"}):
        kept = {k: v for k, v in inputs.items() if k not in drop}
        delta = kept.pop("delta").abs()
        torch.testing.assert_close(
            selective_scan(delta=delta, **kept), loop_scan(delta=delta, **kept)[0], rtol=1e-12, atol=1e-12
        )


@pytest.mark.parametrize("chunk_size", [None, 3])
def test_gradients_match_loop(chunk_size: int | None) -> None:
    inputs = make_inputs("var", seed=1, length=9)
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    weights = torch.randn_like(inputs["u"])
    (selective_scan(**leaves, delta_softplus=True, chunk_size=chunk_size, scan="parallel") * weights).sum().backward()
    ours = {k: v.grad for k, v in leaves.items()}
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    (loop_scan(**leaves, delta_softplus=True)[0] * weights).sum().backward()
    for name, leaf in leaves.items():
        torch.testing.assert_close(ours[name], leaf.grad, rtol=1e-10, atol=1e-10, msg=name)


def test_large_steps_stay_finite() -> None:
    """Huge delta * |A| (decays underflow to 0): no overflow, same as the loop."""
    inputs = make_inputs("var", seed=2, length=40)
    inputs["delta"] = 50.0 + inputs["delta"]
    inputs["A"] = inputs["A"] * 20
    out = selective_scan(**inputs)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, loop_scan(**inputs)[0], rtol=1e-12, atol=1e-9)


def test_float32_in_float32_out() -> None:
    inputs = {k: v.float() for k, v in make_inputs("var").items()}
    out = selective_scan(**inputs, delta_softplus=True)
    assert out.dtype == torch.float32
    ref = loop_scan(**{k: v.double() for k, v in inputs.items()}, delta_softplus=True)[0]
    torch.testing.assert_close(out.double(), ref, rtol=1e-5, atol=1e-5)


def test_linear_scan_against_cumulative_form() -> None:
    a = torch.rand(3, 17, 2, dtype=torch.float64)
    b = torch.randn(3, 17, 2, dtype=torch.float64)
    h = torch.zeros(3, 2, dtype=torch.float64)
    expected = []
    for t in range(17):
        h = a[:, t] * h + b[:, t]
        expected.append(h)
    torch.testing.assert_close(linear_scan(a, b, chunk_size=6), torch.stack(expected, 1))


def test_bad_shapes() -> None:
    inputs = make_inputs("var")
    with pytest.raises(ValidationError, match="delta"):
        selective_scan(**{**inputs, "delta": inputs["delta"][..., :-1]})
    with pytest.raises(ValidationError, match="groups"):
        bad = make_inputs("group", dim=3)
        selective_scan(**bad)


@pytest.mark.parametrize("scan", ["sequential", "parallel"])
@pytest.mark.parametrize("bc", ["const", "var", "group"])
def test_every_scan_matches_loop(bc: str, scan: str) -> None:
    """Values and the gradients of all eight inputs, each way of solving the recurrence
    (``var`` + ``sequential`` is the fused core of :mod:`~hubench.methods.wsnet.fused_scan`)."""
    inputs = make_inputs(bc, seed=4, length=11)
    weights = torch.randn(2, 4, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    out = selective_scan(**leaves, delta_softplus=True, scan=scan)
    (out * weights).sum().backward()
    ref_leaves = {k: v.clone().requires_grad_(True) for k, v in inputs.items()}
    ref = loop_scan(**ref_leaves, delta_softplus=True)[0]
    (ref * weights).sum().backward()
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    for name, leaf in ref_leaves.items():
        torch.testing.assert_close(leaves[name].grad, leaf.grad, rtol=1e-10, atol=1e-10, msg=name)


def test_fused_core_gradcheck() -> None:
    """The written-out backward of the fused core against finite differences."""
    g = torch.Generator().manual_seed(6)
    L, batch, dim, n = 6, 2, 3, 4
    args = [
        torch.rand(L, batch, dim, generator=g, dtype=torch.float64) + 0.1,
        torch.randn(L, batch, dim, generator=g, dtype=torch.float64),
        -torch.rand(dim, n, generator=g, dtype=torch.float64) * 3,
        torch.randn(L, batch, n, generator=g, dtype=torch.float64),
        torch.randn(L, batch, n, generator=g, dtype=torch.float64),
    ]
    assert torch.autograd.gradcheck(fused_ssm, [a.requires_grad_(True) for a in args])
    one_step = [a.detach()[:1].requires_grad_(True) if a.dim() == 3 else a.detach().requires_grad_(True) for a in args]
    assert torch.autograd.gradcheck(fused_ssm, one_step)  # L = 1: no decay term


def test_sequential_scan_broadcasts_and_matches_linear_scan() -> None:
    a = torch.rand(17, 3, 1, dtype=torch.float64, requires_grad=True)
    b = torch.randn(17, 3, 2, dtype=torch.float64, requires_grad=True)
    h = sequential_scan(a, b)
    expected = linear_scan(a.expand(17, 3, 2).transpose(0, 1), b.transpose(0, 1), chunk_size=5).transpose(0, 1)
    torch.testing.assert_close(h, expected, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(sequential_scan, (a, b))


def test_unknown_scan_refused() -> None:
    with pytest.raises(ValueError, match="scan"):
        selective_scan(**make_inputs("var"), scan="fast")
