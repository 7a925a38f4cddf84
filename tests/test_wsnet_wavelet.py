"""The torch DWT against PyWavelets, its inverse, gradients and the encoder's shapes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import pywt
import torch

from hubench.errors import ParameterError
from hubench.methods.wsnet.wavelet import MODES, WaveletEncoder, idwt, wavedec, waverec

WAVELETS = ["haar", "db2", "sym4", "bior2.2"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wavelet", WAVELETS)
@pytest.mark.parametrize("n", [33, 7])
def test_wavedec_matches_pywt(wavelet: str, mode: str, n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal((3, n))
    level = 3 if n > 8 else 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # pywt: level too high for short signals
        expected = pywt.wavedec(x, wavelet, mode=mode, level=level, axis=-1)
        got = wavedec(torch.as_tensor(x), wavelet, level, mode)
        assert len(got) == len(expected)
        for g, e in zip(got, expected, strict=True):
            assert g.shape == e.shape
            np.testing.assert_allclose(g.numpy(), e, rtol=1e-12, atol=1e-12)
        # the inverse matches pywt.waverec and gives back the signal
        back = waverec(got, wavelet, mode)
        np.testing.assert_allclose(back.numpy(), pywt.waverec(expected, wavelet, mode=mode), atol=1e-12)
        np.testing.assert_allclose(waverec(got, wavelet, mode, length=n).numpy(), x, atol=1e-10)


def test_idwt_matches_pywt_on_arbitrary_coefficients() -> None:
    rng = np.random.default_rng(1)
    cA, cD = rng.standard_normal((2, 4, 9))
    for mode in MODES:
        got = idwt(torch.as_tensor(cA), torch.as_tensor(cD), "db2", mode).numpy()
        np.testing.assert_allclose(got, pywt.idwt(cA, cD, "db2", mode=mode, axis=-1), atol=1e-12)


def test_transform_is_differentiable() -> None:
    x = torch.randn(2, 20, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: torch.cat(wavedec(t, "db2", 2, "symmetric"), -1), (x,))


def test_bad_names_are_parameter_errors() -> None:
    with pytest.raises(ParameterError, match="did you mean"):
        wavedec(torch.zeros(1, 16), "dbx2", 1)
    with pytest.raises(ParameterError, match="wavelet_mode"):
        wavedec(torch.zeros(1, 16), "db2", 1, mode="zeros")
    with pytest.raises(ParameterError, match="levels"):
        wavedec(torch.zeros(1, 16), "db2", 0)


@pytest.mark.parametrize("use_wavelet", [True, False])
def test_encoder_shapes(use_wavelet: bool) -> None:
    torch.manual_seed(0)
    enc = WaveletEncoder(50, 8, patch=4, wavelet="db2", levels=2, use_wavelet=use_wavelet)
    x = torch.rand(5, 50)
    tokens = enc(x)
    assert tokens.shape == (5, 13, 8)
    assert enc.channels(x).shape == (5, 4 if use_wavelet else 1, 50)
    tokens.sum().backward()
    assert enc.project.weight.grad is not None


@pytest.mark.parametrize("use_wavelet", [True, False])
@pytest.mark.parametrize("mode", ["symmetric", "periodization"])
def test_encoder_matrix_equals_channels(use_wavelet: bool, mode: str) -> None:
    """The encoder's one matrix product equals channels() + replicate padding + projection."""
    torch.manual_seed(0)
    enc = WaveletEncoder(45, 8, patch=4, wavelet="db2", levels=2, mode=mode, use_wavelet=use_wavelet).double()
    x = torch.rand(5, 45, dtype=torch.float64)
    stacked = torch.nn.functional.pad(enc.channels(x), (0, 3), mode="replicate")
    expected = enc.project(stacked).transpose(1, 2) + enc.position
    torch.testing.assert_close(enc(x), expected, rtol=1e-12, atol=1e-12)
    assert "transform" not in enc.state_dict()
