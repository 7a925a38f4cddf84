"""WS-Net's CPU fast paths against their plain torch forms, values and gradients in float64:
the fused Mamba block (compiled recurrence and convolution), the biased attention, the
token weakness; and the packed optimiser groups against per-parameter Adam."""

from __future__ import annotations

import pytest
import torch

from hubench.deep.flat import FLAT, flatten_param_groups, is_flat
from hubench.deep.training import StoppingRule, train
from hubench.methods.wsnet.attention import (
    WeakSignalAttention,
    attention_weights,
    band_weakness,
    biased_attention,
    token_weakness,
)
from hubench.methods.wsnet.fused_mamba import mamba_inner
from hubench.methods.wsnet.mamba_branch import TorchMamba


def mamba_block(d_conv: int = 4, seed: int = 0) -> TorchMamba:
    torch.manual_seed(seed)
    m = TorchMamba(8, d_state=4, d_conv=d_conv, expand=2).double()
    with torch.no_grad():  # move every weight off its special initial value
        m.D.normal_()
        m.conv1d.bias.normal_()
        m.A_log.add_(0.1 * torch.randn_like(m.A_log))
    return m


def weights(m: TorchMamba) -> list[torch.Tensor]:
    return [m.conv1d.weight, m.conv1d.bias, m.x_proj.weight, m.dt_proj.weight, m.dt_proj.bias, m.A_log, m.D]


@pytest.mark.parametrize(("length", "d_conv"), [(11, 3), (7, 4), (3, 4), (1, 4)])
def test_mamba_inner_equals_traced_block(length: int, d_conv: int) -> None:
    """Values and the gradient of every input against the block under autograd (the
    parallel doubling scan, which shares no code with the compiled core, in float64: A
    enters the traced form rounded to float32, as in mamba_ssm, so the comparison allows
    for that)."""
    m = mamba_block(d_conv)
    hidden = torch.randn(3, length, 8, dtype=torch.float64)
    xz = m.in_proj(hidden).detach().requires_grad_(True)
    grad = torch.randn(3, length, m.d_inner, dtype=torch.float64)
    fast = mamba_inner(xz, *weights(m))
    fast_grads = torch.autograd.grad(fast, [xz, *weights(m)], grad)
    traced = m.inner_traced(xz, scan="parallel")
    # one step: the doubling scan never multiplies by a decay, so A_log's gradient is
    # absent there; it is zero in value, which is what the fast path must give too
    traced_grads = torch.autograd.grad(traced, [xz, *weights(m)], grad, allow_unused=True, materialize_grads=True)
    torch.testing.assert_close(fast, traced, rtol=1e-6, atol=1e-7)
    for got, want in zip(fast_grads, traced_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)


def test_mamba_inner_gradcheck() -> None:
    m = mamba_block(3)
    xz = torch.randn(2, 5, 2 * m.d_inner, dtype=torch.float64, requires_grad=True)
    inputs = [xz] + [w.detach().clone().requires_grad_(True) for w in weights(m)]
    assert torch.autograd.gradcheck(mamba_inner, inputs)


def test_block_on_cpu_uses_the_fused_path_and_breaks_without_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CPU forward goes through mamba_inner: a broken kernel changes the output."""
    from hubench.methods.wsnet import fused_scan

    m = mamba_block()
    hidden = torch.randn(2, 6, 8, dtype=torch.float64)
    before = m(hidden)
    monkeypatch.setattr(fused_scan, "scan_forward", lambda decay, du, B, C, h, y: y.fill(0.0))
    assert not torch.allclose(m(hidden), before)


def plain_attention(qkv: torch.Tensor, weakness: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    probs, v = attention_weights(qkv, weakness, beta)
    return (probs @ v).transpose(1, 2).reshape(qkv.shape[0], qkv.shape[1], -1)


@pytest.mark.parametrize(("tokens", "heads", "dh"), [(6, 2, 4), (1, 1, 3), (9, 4, 2)])
def test_biased_attention_equals_plain_form(tokens: int, heads: int, dh: int) -> None:
    torch.manual_seed(tokens)
    qkv = torch.randn(5, tokens, 3 * heads * dh, dtype=torch.float64, requires_grad=True)
    weakness = torch.rand(5, tokens, dtype=torch.float64)
    beta = torch.rand(heads, dtype=torch.float64, requires_grad=True)
    grad = torch.randn(5, tokens, heads * dh, dtype=torch.float64)
    fast = biased_attention(qkv, weakness, beta)
    plain = plain_attention(qkv, weakness, beta)
    torch.testing.assert_close(fast, plain, rtol=1e-12, atol=1e-12)
    for got, want in zip(torch.autograd.grad(fast, [qkv, beta], grad),
                         torch.autograd.grad(plain, [qkv, beta], grad), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    assert torch.autograd.gradcheck(lambda q, b: biased_attention(q, weakness, b), [qkv, beta])


def test_biased_attention_is_a_softmax_over_keys() -> None:
    """Large weakness on one key draws every query to it; values pass through."""
    qkv = torch.zeros(1, 4, 6, dtype=torch.float64)
    qkv[0, :, 4:] = torch.arange(4, dtype=torch.float64)[:, None]  # value of token s = s
    weakness = torch.tensor([[0.0, 0.0, 40.0, 0.0]], dtype=torch.float64)
    out = biased_attention(qkv, weakness, torch.ones(1, dtype=torch.float64))
    torch.testing.assert_close(out[0, :, 0], torch.full((4,), 2.0, dtype=torch.float64))


@pytest.mark.parametrize(("n_bands", "patch", "window"), [(99, 16, 5), (12, 4, 5), (13, 5, 3), (3, 2, 7), (20, 1, 5)])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_token_weakness_kernel_equals_torch_form(n_bands: int, patch: int, window: int, dtype: torch.dtype) -> None:
    torch.manual_seed(n_bands)
    x = torch.rand(7, n_bands, dtype=dtype) + 0.05
    r = torch.rand(7, n_bands, dtype=dtype) + 0.05
    r[0] = 3.0 * x[0]  # weakness 0
    r[1, : n_bands // 2] = 0.0  # a zero stretch: the eps floor
    attention = WeakSignalAttention(8, 2, window, patch)
    want = token_weakness(band_weakness(x.double(), r.double(), window), patch)
    got = attention.weakness(x, r)
    assert got.dtype == dtype and got.shape == (7, -(-n_bands // patch))
    tol = 1e-12 if dtype == torch.float64 else 1e-6
    torch.testing.assert_close(got.double(), want, rtol=tol, atol=tol)
    assert float(got[0].abs().max()) < tol


class _Tiny(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.body = torch.nn.Linear(4, 3)
        self.decoder = torch.nn.Linear(3, 4, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(torch.tanh(self.body(x)))


def _groups(net: _Tiny) -> list[dict]:
    return [{"params": list(net.body.parameters()), "lr": 1e-2},
            {"params": list(net.decoder.parameters()), "lr": 1e-3}]


def test_flat_groups_are_views_and_adam_matches_per_parameter_adam() -> None:
    reference, packed_net = _Tiny(), _Tiny()
    packed_net.load_state_dict(reference.state_dict())
    groups = flatten_param_groups(_groups(packed_net))
    assert [len(g["params"]) for g in groups] == [1, 1] and all(g[FLAT] for g in groups)
    assert groups[0]["params"][0].numel() == 4 * 3 + 3
    torch.testing.assert_close(packed_net(torch.ones(2, 4)), reference(torch.ones(2, 4)), rtol=0, atol=0)
    flat_opt = torch.optim.Adam(groups)
    ref_opt = torch.optim.Adam(_groups(reference))
    assert is_flat(flat_opt) and not is_flat(ref_opt)
    data = torch.randn(16, 4, generator=torch.Generator().manual_seed(1))
    for net, opt in ((packed_net, flat_opt), (reference, ref_opt)):
        result = train(net, batches=lambda _e: torch.split(data, 4), loss_fn=lambda n, b: (n(b) - b).square().mean(),
                       optimizer=opt, scheduler=None, epochs=3, stopping=StoppingRule(0.0, 1),
                       constrain=lambda n=net: n.decoder.weight.clamp_(min=0.0))
        assert result.epochs == 3
    # the same rule element for element: the parameters agree (the per-tensor and the
    # packed Adam differ at most in rounding)
    for got, want in zip(packed_net.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(got, want, rtol=1e-6, atol=1e-7)
    assert float(packed_net.decoder.weight.detach().min()) >= 0.0  # constraints act on the packed storage
    assert packed_net.body.weight.data_ptr() == groups[0]["params"][0].data_ptr()


def test_flat_refuses_mixed_dtypes_and_keeps_gradients_zeroed_in_place() -> None:
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2, dtype=torch.float64))
    with pytest.raises(ValueError, match="dtype and device"):
        flatten_param_groups([{"params": [a, b]}])
    net = _Tiny()
    opt = torch.optim.SGD(flatten_param_groups(_groups(net)), lr=0.1)
    grad_before = net.body.weight.grad
    net(torch.ones(1, 4)).sum().backward()
    assert net.body.weight.grad is grad_before  # accumulated in place, into the packed gradient
    assert float(opt.param_groups[0]["params"][0].grad.abs().sum()) > 0


def test_kernels_compile_without_a_writable_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """No place for numba's disk cache: the decorator compiles without it instead of failing."""
    import numba.core.caching

    from hubench.methods.wsnet.cpu_kernels import compiled

    monkeypatch.setattr(numba.core.caching.CacheImpl, "_locator_classes", [])

    @compiled()
    def twice(x: float) -> float:
        return 2.0 * x

    assert twice(1.5) == 3.0
    assert type(twice._cache).__name__ == "NullCache"  # compiled, not cached
