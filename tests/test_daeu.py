"""DAEU: contract, constraints, reproducibility, and recovery of a noise-free scene."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import hubench
from hubench.errors import ParameterError, UnavailableError
from hubench.methods import get_method, list_methods
from hubench.methods.daeu import DAEU, DAEUNetwork, GaussianDropout, ThresholdReLU
from hubench.scene import Observation


def tiny_observation(seed: int = 0) -> Observation:
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.1, 1.0, (3, 16))
    A = rng.dirichlet(np.ones(3), size=48)
    return Observation(Y=A @ E, image_shape=(6, 8), n_endmembers=3)


def test_registered_with_presets() -> None:
    assert "daeu" in list_methods()
    assert DAEU.task == "blind" and "torch" in DAEU.requires
    assert set(DAEU.presets) == {"ci", "quick", "full"}
    assert DAEU.defaults()["init"] == "vca"


def test_network_shapes_and_simplex() -> None:
    torch.manual_seed(0)
    net = DAEUNetwork(torch.rand(4, 20), leaky_slope=0.1, dropout=0.0)
    y = torch.rand(10, 20)
    assert net(y).shape == (10, 20)
    a = net.eval().abundances(y)
    assert a.shape == (10, 4) and a.min() >= 0
    assert torch.allclose(a.sum(1)[a.sum(1) > 0], torch.ones(1), atol=1e-5)


def test_layers() -> None:
    thr = ThresholdReLU(3)
    thr.alpha.data = torch.tensor([0.0, 0.5, 1.0])
    assert torch.equal(thr(torch.ones(1, 3)), torch.tensor([[1.0, 0.5, 0.0]]))
    drop = GaussianDropout(0.2)
    x = torch.ones(20000, 1)
    assert torch.equal(drop.eval()(x), x)
    noisy = drop.train()(x)
    assert abs(float(noisy.mean()) - 1) < 0.02 and abs(float(noisy.std()) - 0.5) < 0.02  # std sqrt(.2/.8)


def test_ci_fit_contract() -> None:
    est = get_method("daeu", profile="ci", init="random", device="cpu", random_state=0).fit(tiny_observation())
    assert est.A.shape == (48, 3) and est.E is not None and est.E.shape == (3, 16)
    assert est.A.min() >= 0 and np.abs(est.A.sum(1) - 1).max() < 1e-6
    assert est.E.min() >= 0
    assert est.info["epochs"] == len(est.info["loss_history"]) == DAEU.presets["ci"]["epochs"]
    assert est.info["device"] == "cpu"


def test_same_seed_same_estimate_on_cpu() -> None:
    obs = tiny_observation()
    runs = [get_method("daeu", profile="ci", init="random", device="cpu", random_state=7).fit(obs) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].A, runs[1].A)
    np.testing.assert_array_equal(runs[0].E, runs[1].E)


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_raises() -> None:
    with pytest.raises(UnavailableError, match="CUDA"):
        get_method("daeu", profile="ci", device="cuda").fit(tiny_observation())


@pytest.mark.parametrize(("param", "value"), [("dropout", 1.0), ("leaky_slope", 0.0), ("decoder_lr_scale", -1.0)])
def test_bad_parameters(param: str, value: float) -> None:
    with pytest.raises(ParameterError, match=param):
        get_method("daeu", profile="ci", init="random", **{param: value}).fit(tiny_observation())


def quick_recovery(random_state: int = 0, scene_seed: int = 0, **overrides: object) -> tuple[hubench.Estimate, dict[str, float]]:
    """The recovery test's fit: ``quick`` preset, noise-free ``dirichlet`` scene (the version-1 ``standard`` scene the limits were measured on) (50 x 50 x 99, 5 endmembers).

    Shared with ``benchmarks/threshold_spread.py``, which runs it over seeds and threads.
    """
    scene = hubench.make_scene("dirichlet", seed=scene_seed, snr_db=float("inf"))
    est = get_method("daeu", profile="quick", device="cpu", random_state=random_state, **overrides).fit(scene.observation())
    return est, hubench.score(scene, est)


#: Limits of the recovery test, 1.5 x the worst value measured over random_state 0-9 at
#: 1 and 2 torch/BLAS threads and random_state 0-4 with generic CPU kernels, rounded up
#: (benchmarks/threshold_spread.py; table in docs/dev/deep-methods.md "Test thresholds
#: of deep methods"). Measured: msad 0.009-0.0175, armse 0.011-0.033 (median 0.020). The
#: scene matters more than the machine: on the seed-1 scene armse reaches 0.10, so these
#: limits hold for this test's scene (seed 0) only. It can still fail (random_state 0-2): an
#: untrained network (lr ~0) gives armse >= 0.289, one epoch >= 0.172, random endmembers
#: msad >= 0.631. (msad
#: alone cannot see an untrained network: the VCA start is exact on this scene.)
#: Re-measured after the stopping rule (issue 16; the quick run now ends at its loss
#: plateau, ~70 of 120 epochs): random_state 0-9 at 1 and 2 threads, native ISA only (the
#: generic kernels were not re-run): msad 0.009-0.0186, armse 0.018-0.053 (median 0.027);
#: 1.5 x worst, rounded up. Broken variants still fail armse (>= 0.172) or msad (0.631).
RECOVERY_LIMITS = {"msad": 0.028, "armse": 0.08}  # were 0.027 / 0.05 (120 epochs), first 0.1 / 0.1


@pytest.mark.slow
def test_quick_preset_recovers_noise_free_standard_scene() -> None:
    est, scores = quick_recovery()
    for metric, limit in RECOVERY_LIMITS.items():
        assert scores[metric] < limit, (metric, scores[metric])
    assert est.A.min() >= 0 and np.abs(est.A.sum(1) - 1).max() < 1e-6
