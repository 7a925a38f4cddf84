"""The registered ``smile`` method: contract, odd sizes, determinism, ablation, recovery."""

from __future__ import annotations

import numpy as np
import pytest

import hubench
from hubench.errors import ParameterError
from hubench.methods import get_method, list_methods


def tiny_scene(image_shape: tuple[int, int] = (9, 7), seed: int = 0) -> hubench.Scene:
    return hubench.make_scene("dirichlet", seed=seed, image_shape=image_shape, n_bands=20, n_endmembers=3,
                              snr_db=30.0)


def test_registered_with_presets() -> None:
    assert "smile" in list_methods()
    cls = type(get_method("smile"))
    assert set(cls.presets) == {"ci", "quick", "full"}
    assert cls.task == "blind" and "torch" in cls.requires


@pytest.mark.parametrize(("image_shape", "scale"), [((9, 7), 2), ((7, 5), 3), ((8, 6), 2), ((5, 11), 4)])
def test_shapes_and_simplex_on_any_size(image_shape: tuple[int, int], scale: int) -> None:
    scene = tiny_scene(image_shape)
    estimate = get_method("smile", profile="ci", scale=scale, device="cpu", random_state=0).fit(scene.observation())
    n_pixels = image_shape[0] * image_shape[1]
    assert estimate.A.shape == (n_pixels, 3)
    assert estimate.E is not None and estimate.E.shape == (3, 20)
    assert estimate.A.min() >= 0.0 and estimate.E.min() >= 0.0
    np.testing.assert_allclose(estimate.A.sum(axis=1), 1.0, atol=1e-6)
    padded = tuple(n + (-n) % scale for n in image_shape)
    assert estimate.info["padded_shape"] == padded
    assert len(estimate.info["sr_loss_history"]) == estimate.info["epochs"] == 2
    assert all(loss > 0 for loss in estimate.info["sr_loss_history"])


def test_deterministic_on_cpu() -> None:
    scene = tiny_scene()
    fits = [get_method("smile", profile="ci", epochs=5, device="cpu", random_state=3).fit(scene.observation())
            for _ in range(2)]
    np.testing.assert_array_equal(fits[0].A, fits[1].A)
    np.testing.assert_array_equal(fits[0].E, fits[1].E)
    assert fits[0].info["loss_history"] == fits[1].info["loss_history"]
    other = get_method("smile", profile="ci", epochs=5, device="cpu", random_state=4).fit(scene.observation())
    assert not np.array_equal(other.A, fits[0].A)


def test_sr_weight_zero_turns_guidance_off() -> None:
    scene = tiny_scene()
    off = get_method("smile", profile="ci", sr_weight=0, device="cpu", random_state=0).fit(scene.observation())
    on = get_method("smile", profile="ci", sr_weight=1.0, device="cpu", random_state=0).fit(scene.observation())
    assert off.info["sr_weight"] == 0.0 and off.info["sr_loss_history"] == [0.0, 0.0]
    # Without guidance the training loss is the unmixing loss alone.
    assert off.info["loss_history"] == pytest.approx(off.info["unmix_loss_history"])
    expected = np.add(on.info["unmix_loss_history"], on.info["sr_loss_history"])
    assert on.info["loss_history"] == pytest.approx(expected.tolist())
    np.testing.assert_allclose(off.A.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize(("params", "match"), [
    ({"sr_weight": -1.0}, "sr_weight"), ({"scale": 0}, "scale"), ({"kernel": "lanczos"}, "kernel"),
    ({"unmix_loss": "l1"}, "unmix_loss"), ({"patch_size": 2, "scale": 3}, "patch_size"),
    ({"hidden": 0}, "hidden"), ({"decoder_lr_scale": 0.0}, "decoder_lr_scale"),
])
def test_bad_parameters(params: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        get_method("smile", profile="ci", device="cpu", **params).fit(tiny_scene().observation())


def recovery(random_state: int = 0, scene_seed: int = 0, **overrides: object) -> tuple[hubench.Estimate, dict[str, float]]:
    """The recovery test's fit: ``quick`` preset, noise-free ``dirichlet`` scene (the version-1 ``standard`` scene the limits were measured on) (50 x 50 x 99, 5 endmembers).

    Returns the estimate and its scores plus ``unmix_loss_ratio`` (last / first epoch's
    unmixing loss). Shared with ``benchmarks/threshold_spread.py``.
    """
    scene = hubench.make_scene("dirichlet", seed=scene_seed, snr_db=float("inf"))
    estimate = get_method("smile", profile="quick", device="cpu", random_state=random_state,
                          **overrides).fit(scene.observation())
    losses = estimate.info["unmix_loss_history"]
    return estimate, {**hubench.score(scene, estimate), "unmix_loss_ratio": losses[-1] / losses[0]}


#: Limits of the recovery test, 1.5 x the worst value measured over random_state 0-9 at
#: 1 and 2 torch/BLAS threads and random_state 0-4 with generic CPU kernels, rounded up
#: (benchmarks/threshold_spread.py; table in docs/dev/deep-methods.md "Test thresholds
#: of deep methods"). Measured: msad 0.0067-0.0100, armse 0.067-0.088, unmix_loss_ratio
#: 0.025-0.057. It can still fail (random_state 0-2): an untrained network (lr ~0) or one
#: epoch gives armse >= 0.164 and a loss ratio >= 0.94, random endmembers msad >= 0.63. (msad alone cannot
#: see an untrained network: the VCA start is exact on this scene.)
#: Were msad 0.05, armse 0.1, unmix_loss_ratio 0.1 (one run, one machine).
RECOVERY_LIMITS = {"msad": 0.015, "armse": 0.14, "unmix_loss_ratio": 0.085}


@pytest.mark.slow
def test_recovers_noise_free_standard_scene() -> None:
    """Quick preset on the noise-free 50 x 50 ``standard`` scene (5 endmembers, 99 bands).

    VCA+FCLS is exact here.
    """
    _, scores = recovery()
    for metric, limit in RECOVERY_LIMITS.items():
        assert scores[metric] < limit, (metric, scores[metric])
