"""Training throughput of the deep baselines on CPU: pixels x epochs per second.

Run: ``pytest benchmarks/bench_deep.py --benchmark-only``. Each benchmark trains on the
noise-free 50 x 50 ``standard`` scene (2,500 pixels, 99 bands, 5 endmembers) for a fixed
number of epochs with early stopping off and one torch thread, and records
``pixels_epochs_per_s`` in ``extra_info``. A CNNAEU epoch sees ``n_patches`` windows of
``patch_size``^2 pixels, so its pixel count is that, not the image size.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

import hubench

SETTINGS: dict[str, dict[str, Any]] = {
    "daeu-quick": {"method": "daeu", "profile": "quick", "epochs": 5},
    "daeu-full": {"method": "daeu", "profile": "full", "epochs": 2},
    "cnnaeu-quick": {"method": "cnnaeu", "profile": "quick", "epochs": 20},
    "cnnaeu-full": {"method": "cnnaeu", "profile": "full", "epochs": 1, "n_patches": 15},
}


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_training_throughput(benchmark: Any, setting: str) -> None:
    torch.set_num_threads(1)
    params = dict(SETTINGS[setting])
    name, profile = params.pop("method"), params.pop("profile")
    scene = hubench.make_scene("standard", seed=0, snr_db=float("inf"))
    method = hubench.get_method(name, profile=profile, device="cpu", random_state=0, stop_tol=0, **params)
    estimate = benchmark.pedantic(method.fit, args=(scene.observation(),), rounds=2, iterations=1)
    epochs = estimate.info["epochs"]
    if name == "cnnaeu":
        side = min(method.patch_size, *scene.image_shape)  # type: ignore[attr-defined]
        pixels = method.n_patches * side**2  # type: ignore[attr-defined]
    else:
        pixels = scene.n_pixels
    benchmark.extra_info["pixels_epochs_per_s"] = pixels * epochs / estimate.info["train_seconds"]
    benchmark.extra_info["train_seconds"] = estimate.info["train_seconds"]
