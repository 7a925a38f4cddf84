"""Training throughput of the deep baselines on CPU: pixels x epochs per second.

Run: ``pytest benchmarks/bench_deep.py --benchmark-only``. Each benchmark trains on the
noise-free 50 x 50 ``standard`` scene (2,500 pixels, 99 bands, 5 endmembers) for a fixed
number of epochs with early stopping off and one torch thread, and records in
``extra_info``: ``pixels_epochs_per_s`` (against the fit's wall-clock training seconds),
``pixels_epochs_per_cpu_s`` (against the CPU seconds of this thread per epoch, timed
from the end of the first epoch to the end of the last through the ``progress`` hook:
the steadier figure on a shared machine) and both times. A CNNAEU or SMILE epoch sees ``n_patches`` windows
of ``patch_size``^2 pixels, so its pixel count is that, not the image size; a DEQ-Unmix
epoch is one equilibrium solve (forward and implicit backward) over the whole image.

Before/after figures of the CPU speed work (issue 16) are in docs/dev/deep-methods.md.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import torch

import hubench

SETTINGS: dict[str, dict[str, Any]] = {
    "daeu-quick": {"method": "daeu", "profile": "quick", "epochs": 5},
    "daeu-full": {"method": "daeu", "profile": "full", "epochs": 2},
    "cnnaeu-quick": {"method": "cnnaeu", "profile": "quick", "epochs": 20},
    "cnnaeu-full": {"method": "cnnaeu", "profile": "full", "epochs": 2, "n_patches": 15},
    "smile-quick": {"method": "smile", "profile": "quick", "epochs": 20},
    "ws-net-quick": {"method": "ws-net", "profile": "quick", "epochs": 3},
    "ws-net-full": {"method": "ws-net", "profile": "full", "epochs": 2},
    "deq-unmix-quick": {"method": "deq-unmix", "profile": "quick", "epochs": 5},
}
PATCH_METHODS = ("cnnaeu", "smile")


@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_training_throughput(benchmark: Any, setting: str) -> None:
    torch.set_num_threads(1)
    params = dict(SETTINGS[setting])
    name, profile = params.pop("method"), params.pop("profile")
    scene = hubench.make_scene("standard", seed=0, snr_db=float("inf"))
    method = hubench.get_method(name, profile=profile, device="cpu", random_state=0, stop_tol=0, **params)
    epoch_ends: list[float] = []
    method.progress = lambda epoch, n_epochs, loss: epoch_ends.append(time.thread_time())

    def fit() -> Any:
        epoch_ends.clear()
        return method.fit(scene.observation())

    estimate = benchmark.pedantic(fit, rounds=2, iterations=1)
    epochs = estimate.info["epochs"]
    if name in PATCH_METHODS:
        side = min(method.patch_size, *scene.image_shape)  # type: ignore[attr-defined]
        pixels = method.n_patches * side**2  # type: ignore[attr-defined]
    else:
        pixels = scene.n_pixels
    cpu_per_epoch = (epoch_ends[-1] - epoch_ends[0]) / (len(epoch_ends) - 1)
    benchmark.extra_info["pixels_epochs_per_s"] = pixels * epochs / estimate.info["train_seconds"]
    benchmark.extra_info["pixels_epochs_per_cpu_s"] = pixels / cpu_per_epoch
    benchmark.extra_info["train_seconds"] = estimate.info["train_seconds"]
    benchmark.extra_info["cpu_seconds_per_epoch"] = cpu_per_epoch
