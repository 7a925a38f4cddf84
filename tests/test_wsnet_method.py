"""The registered ws-net: shapes, ANC/ASC, determinism, ablations, the KL term, recovery."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
import torch

import hubench
from hubench.errors import ParameterError
from hubench.methods.wsnet.model import separability_penalty, weak_mask

SMALL = {"epochs": 2, "batch_size": 64, "width": 8, "d_state": 4, "expand": 1, "patch": 5, "device": "cpu"}


@pytest.fixture(scope="module")
def scene() -> hubench.Scene:
    return hubench.make_scene("weak", seed=0, snr_db=30.0, image_shape=(12, 12), n_bands=40, abundance="dirichlet")


def fit(scene: hubench.Scene, **params: object) -> hubench.Estimate:
    method = hubench.get_method("ws-net", random_state=0, **{**SMALL, **params})
    return method.fit(scene.observation())


def test_registered_with_presets() -> None:
    assert "ws-net" in hubench.list_methods()
    for profile in ("ci", "quick", "full"):
        assert hubench.get_method("ws-net", profile=profile).epochs >= 1


def test_shapes_simplex_and_no_mamba_ssm_on_cpu(scene: hubench.Scene) -> None:
    est = fit(scene)
    n, p = scene.A.shape
    assert est.A.shape == (n, p) and est.E is not None and est.E.shape == scene.E.shape
    assert est.A.min() >= -1e-6 and np.abs(est.A.sum(1) - 1).max() < 1e-6
    assert est.E.min() >= 0
    assert est.info["mamba_backend"] == "torch" and len(est.info["loss_history"]) == 2
    if not torch.cuda.is_available():
        assert "mamba_ssm" not in sys.modules


def test_deterministic_on_cpu(scene: hubench.Scene) -> None:
    a, b = fit(scene), fit(scene)
    np.testing.assert_array_equal(a.A, b.A)
    np.testing.assert_array_equal(a.E, b.E)


@pytest.mark.parametrize(
    "switch",
    [{"use_wavelet": False}, {"use_mamba": False}, {"use_attention": False}, {"use_gate": False},
     {"kl_weight": 0.0}, {"ls_prior": False}, {"use_mamba": False, "use_attention": False}],
)
def test_each_ablation_runs(scene: hubench.Scene, switch: dict[str, object]) -> None:
    est = fit(scene, epochs=1, **switch)
    assert np.isfinite(est.A).all() and np.abs(est.A.sum(1) - 1).max() < 1e-6
    assert est.info["mamba_backend"] == ("off" if switch.get("use_mamba") is False else "torch")


@pytest.mark.parametrize(
    "bad", [{"use_gate": 1}, {"kl_weight": -1.0}, {"wavelet": "db99x"}, {"width": 7, "heads": 2}, {"patch": 0}]
)
def test_bad_parameters(scene: hubench.Scene, bad: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        fit(scene, **bad)


def test_weak_mask_and_penalty() -> None:
    E = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0], [0.1, 0.1, 0.2, 0.1]])
    weak = weak_mask(torch.tensor([0.5, 0.45, 0.05]), E)
    assert weak.tolist() == [False, False, True]  # rare (0.05 < 0.5/3) and dark
    assert weak_mask(torch.tensor([0.4, 0.4, 0.2]), E * torch.tensor([[1.0], [1.0], [1.0]])).tolist() == [False, False, True]
    # the penalty: exp(-symmetric KL) averaged over (weak, dominant) pairs
    P = E / E.sum(1, keepdim=True)
    expected = np.mean([math.exp(-float(((P[2] - P[d]) * (P[2].log() - P[d].log())).sum())) for d in (0, 1)])
    assert abs(float(separability_penalty(E, weak, eps=0.0)) - expected) < 1e-6
    assert float(separability_penalty(E, torch.tensor([False, False, False]))) == 0.0
    # pulling a look-alike weak spectrum away from the dominant ones lowers the penalty
    close = separability_penalty(torch.stack([E[0], E[1], E[0] * 0.1 + 0.01]), weak)
    assert float(close) > float(separability_penalty(E, weak))


def recovery(random_state: int = 0, scene_seed: int = 0, **overrides: object) -> tuple[hubench.Estimate, dict[str, float]]:
    """The recovery test's fit: ``quick`` preset with 8 epochs, noise-free 20 x 20 x 50 ``standard`` scene.

    Shared with ``benchmarks/threshold_spread.py``, which runs it over seeds and threads.
    """
    clean = hubench.make_scene("dirichlet", seed=scene_seed, snr_db=math.inf, image_shape=(20, 20), n_bands=50)
    params = {"epochs": 8, **overrides}
    method = hubench.get_method("ws-net", profile="quick", random_state=random_state, device="cpu", **params)
    est = method.fit(clean.observation())
    return est, hubench.score(clean, est)


#: Limits of the recovery test, 1.5 x the worst value measured over random_state 0-9 at
#: 1 and 2 torch/BLAS threads and random_state 0-4 with generic CPU kernels, rounded up
#: (benchmarks/threshold_spread.py; table in docs/dev/deep-methods.md "Test thresholds
#: of deep methods"). Measured: msad 5.3e-4-1.15e-3, armse 4.6e-4-7.6e-4; again with 16
#: bands per token (the quick preset since issue 16): msad 4.6e-4-9.8e-4, armse
#: 4.7e-4-6.5e-4; for WS-Net v2 (compiled CPU kernels) msad 4.7e-4-9.8e-4, armse
#: 4.7e-4-8.2e-4, so armse's limit went to 0.0013 (1.6x the worst; msad 1.8x). What it can
#: catch (random_state 0-2): a broken least-squares prior (ls_prior=False, one epoch:
#: armse >= 0.17) or broken endmembers (random init: msad >= 0.6). What it cannot: a
#: network that does not learn. On this noise-free scene the LS prior is exact and the
#: loss starts at its floor, so an untrained network (lr ~0) passes (armse 3.2e-4, msad
#: 3e-8); the test checks the VCA + LS-prior pipeline and that training does not spoil it.
RECOVERY_LIMITS = {"msad": 0.0018, "armse": 0.0013}  # were 0.01 and 0.01 (one run, one machine)


@pytest.mark.slow
def test_recovers_noise_free_standard_scene() -> None:
    _, scores = recovery()
    for metric, limit in RECOVERY_LIMITS.items():
        assert scores[metric] < limit, (metric, scores[metric])
