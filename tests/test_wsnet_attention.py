"""Weak Signal Attention: the weakness map against a direct computation, and its effect."""

from __future__ import annotations

import numpy as np
import torch

from hubench.methods.wsnet.attention import WeakSignalAttention, band_weakness, token_weakness


def test_band_weakness_against_loop() -> None:
    rng = np.random.default_rng(0)
    x, r = rng.random((2, 3, 12))
    got = band_weakness(torch.as_tensor(x), torch.as_tensor(r), window=5).numpy()
    for b in range(3):
        for band in range(12):
            lo, hi = max(0, band - 2), min(12, band + 3)
            xs, rs = x[b, lo:hi], r[b, lo:hi]
            cosine = xs @ rs / np.sqrt((xs @ xs) * (rs @ rs))
            assert abs(got[b, band] - (1 - cosine)) < 1e-12


def test_weakness_is_zero_for_dominant_pixels_and_scale_blind() -> None:
    x = torch.rand(2, 20, dtype=torch.float64) + 0.1
    assert torch.allclose(band_weakness(x, 3.0 * x), torch.zeros(2, 20, dtype=torch.float64), atol=1e-12)
    r = x.clone()
    r[:, 8:12] *= 0.5  # a local change of shape
    w = band_weakness(x, r)
    assert w[:, 9].min() > 0 and w[:, 0].max() < 1e-12
    assert torch.allclose(band_weakness(x, r), band_weakness(1e-3 * x, r))  # amplitude-blind
    assert token_weakness(w, 4).shape == (2, 5)
    torch.testing.assert_close(token_weakness(w, 4)[:, 1], w[:, 4:8].mean(1))


def test_attention_favours_weak_bands() -> None:
    torch.manual_seed(0)
    attn = WeakSignalAttention(8, heads=2, window=3).double()
    with torch.no_grad():
        attn.qkv.weight.zero_()  # no content term: the logits are the weak-signal bias alone
    tokens = torch.randn(1, 10, 8, dtype=torch.float64)
    x = torch.rand(1, 10, dtype=torch.float64) + 0.5
    r = x.clone()
    r[0, 6] = 0.1
    weights, _ = attn.weights(tokens, attn.weakness(x, r))
    assert weights.shape == (1, 2, 10, 10)
    near, far = weights[0, :, :, 5:8], weights[0, :, :, [0, 1, 2, 3, 9]]
    assert near.min() > far.max()  # the windows that see band 6 get the attention
    # r == x: no bias, uniform weights with the content term zeroed
    flat, _ = attn.weights(tokens, attn.weakness(x, x))
    torch.testing.assert_close(flat, torch.full_like(flat, 0.1))


def test_forward_shape_and_gradients() -> None:
    attn = WeakSignalAttention(8, heads=2, patch=3)
    tokens = torch.randn(4, 7, 8, requires_grad=True)
    out = attn(tokens, torch.rand(4, 20), torch.rand(4, 20))
    assert out.shape == (4, 7, 8)
    out.square().sum().backward()
    assert tokens.grad is not None and attn.beta_raw.grad is not None
