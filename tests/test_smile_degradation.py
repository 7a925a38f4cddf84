"""SMILE's degradation operator: adjoint, independent reference, shapes (odd sizes too)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hubench.errors import ParameterError, ValidationError
from hubench.methods.smile.degradation import Degradation, crop, pad_to_multiple, reflect_indices

OPERATORS = [("gaussian", 2, None), ("gaussian", 3, None), ("gaussian", 2, 0.7), ("box", 2, None),
             ("box", 3, None), ("box", 1, None), ("gaussian", 4, 2.5)]


def reference_taps(kernel: str, scale: int, sigma: float) -> np.ndarray:
    """Taps written out from the definition, independently of the module."""
    if kernel == "box":
        return np.full(scale, 1.0 / scale)
    radius = int(np.ceil(3 * sigma))
    centre = radius + (scale - 1) / 2
    taps = np.array([np.exp(-((t - centre) ** 2) / (2 * sigma**2)) for t in range(scale + 2 * radius)])
    return taps / taps.sum()


def reference_apply(x: np.ndarray, kernel: str, scale: int, sigma: float) -> np.ndarray:
    """Blur + decimate one band ``(H, W)`` with loops and numpy's own reflect padding."""
    taps = reference_taps(kernel, scale, sigma)
    radius = (len(taps) - scale) // 2

    def one_axis(signal: np.ndarray) -> np.ndarray:
        padded = np.pad(signal, radius, mode="reflect")
        return np.array([taps @ padded[scale * i: scale * i + len(taps)] for i in range(len(signal) // scale)])

    rows = np.stack([one_axis(col) for col in x.T], axis=1)  # (H/s, W)
    return np.stack([one_axis(row) for row in rows])  # (H/s, W/s)


@pytest.mark.parametrize(("kernel", "scale", "sigma"), OPERATORS)
def test_adjoint_identity_float64(kernel: str, scale: int, sigma: float | None) -> None:
    op = Degradation(scale, kernel, sigma)
    gen = torch.Generator().manual_seed(scale)
    for height, width in [(6 * scale, 4 * scale), (scale, 3 * scale), (2 * scale, scale)]:
        x = torch.randn(2, 3, height, width, generator=gen, dtype=torch.float64)
        y = torch.randn(2, 3, height // scale, width // scale, generator=gen, dtype=torch.float64)
        lhs = float((op.apply(x) * y).sum())
        rhs = float((x * op.adjoint(y)).sum())
        assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


@pytest.mark.parametrize(("kernel", "scale", "sigma"), OPERATORS)
def test_matches_loop_reference(kernel: str, scale: int, sigma: float | None) -> None:
    op = Degradation(scale, kernel, sigma)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5 * scale, 3 * scale))
    expected = reference_apply(x, kernel, scale, op.sigma)
    got = op.apply(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    # The dense matrix agrees too: D x = M_rows x M_cols^T.
    dense = op.matrix(5 * scale).numpy() @ x @ op.matrix(3 * scale).numpy().T
    np.testing.assert_allclose(dense, expected, rtol=0, atol=1e-12)


def test_box_is_block_mean_and_constants_are_kept() -> None:
    x = torch.randn(4, 6, 9, dtype=torch.float64)
    blocks = x.reshape(4, 2, 3, 3, 3).mean(dim=(2, 4))
    torch.testing.assert_close(Degradation(3, "box").apply(x), blocks, rtol=0, atol=1e-14)
    ones = torch.ones(2, 8, 10, dtype=torch.float64)
    torch.testing.assert_close(Degradation(2).apply(ones), torch.ones(2, 4, 5, dtype=torch.float64))


def test_shapes_and_dtype() -> None:
    op = Degradation(2)
    low = op.apply(torch.zeros(3, 10, 8 * 2, 6 * 2))
    assert low.shape == (3, 10, 8, 6) and low.dtype == torch.float32
    assert op.adjoint(low).shape == (3, 10, 16, 12)
    assert op.low_shape((4, 6)) == (2, 3)
    with pytest.raises(ValidationError, match="pad_to_multiple"):
        op.apply(torch.zeros(1, 7, 6))


@pytest.mark.parametrize(("height", "width", "scale"), [(7, 5, 2), (7, 5, 3), (1, 1, 2), (9, 4, 4), (2, 3, 5)])
def test_pad_to_multiple_odd_sizes_and_crop(height: int, width: int, scale: int) -> None:
    x = torch.arange(2 * height * width, dtype=torch.float64).reshape(2, height, width)
    padded = pad_to_multiple(x, scale)
    assert padded.shape[-2] % scale == 0 and padded.shape[-1] % scale == 0
    assert padded.shape[-2] - height < scale and padded.shape[-1] - width < scale
    torch.testing.assert_close(crop(padded, (height, width)), x)
    expected = np.pad(x.numpy(), ((0, 0), (0, padded.shape[-2] - height), (0, padded.shape[-1] - width)),
                      mode="reflect" if min(height, width) > 1 else "edge")
    np.testing.assert_array_equal(padded.numpy(), expected)
    low = Degradation(scale).apply(padded)
    assert low.shape == (2, padded.shape[-2] // scale, padded.shape[-1] // scale)


def test_reflect_indices() -> None:
    assert reflect_indices(4, 2, 2).tolist() == [2, 1, 0, 1, 2, 3, 2, 1]
    assert reflect_indices(2, 3, 3).tolist() == [1, 0, 1, 0, 1, 0, 1, 0]
    assert reflect_indices(1, 2, 1).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize(("kwargs", "match"), [({"scale": 0}, "scale"), ({"scale": 2.0}, "scale"),
                                                 ({"kernel": "bicubic"}, "kernel"), ({"sigma": -1.0}, "sigma")])
def test_bad_parameters(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        Degradation(**kwargs)
