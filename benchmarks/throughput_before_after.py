"""Training throughput of DEQ-Unmix and WS-Net `quick` for comparing two trees (a script).

Run it once per tree, back to back on the same idle machine, e.g. against the tree
before issue 16::

    git worktree add /tmp/before 8c57e4d
    PYTHONPATH=/tmp/before python benchmarks/throughput_before_after.py
    PYTHONPATH=. python benchmarks/throughput_before_after.py

It fits each method's `quick` preset (one torch and one BLAS thread, noise-free
`standard` scene, 2,500 pixels x 99 bands, early stopping off where the tree has the
stopping rule) for a few epochs and prints pixels x epochs per second of training (the
best of 5 fits), with the preset values that set the cost. It works on trees older than
`benchmarks/bench_deep.py`'s DEQ-Unmix and WS-Net settings; the numbers are in
docs/dev/deep-methods.md ("Before and after the CPU speed work").
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import torch

import hubench

EPOCHS = {"deq-unmix": 5, "ws-net": 3}
SHOWN = ("max_iter", "backward_max_iter", "patch", "batch_size")


def main() -> None:
    torch.set_num_threads(1)
    print(f"hubench from {hubench.__file__}")
    scene = hubench.make_scene("standard", seed=0, snr_db=float("inf"))
    for name, epochs in EPOCHS.items():
        params = {"profile": "quick", "device": "cpu", "random_state": 0, "epochs": epochs}
        if "stop_tol" in type(hubench.get_method(name)).param_names():
            params["stop_tol"] = 0
        best = 0.0
        for _ in range(5):
            method = hubench.get_method(name, **params)
            estimate = method.fit(scene.observation())
            best = max(best, scene.n_pixels * estimate.info["epochs"] / estimate.info["train_seconds"])
        preset = {k: v for k, v in method.get_params().items() if k in SHOWN}
        print(f"{name}: {best:,.0f} pixel-epochs per second (best of 5), {preset}")


if __name__ == "__main__":
    main()
