"""Check the CUDA paths of every deep method on a machine with a GPU.

Not a test (CI has no GPU): run by hand where ``torch.cuda.is_available()``::

    python benchmarks/gpu_check.py [--profile quick] [--out gpu-check.json]

For each deep method, fits the ``standard`` scene (seed 0, 20 dB) with ``device='cpu'``
and ``device='cuda'`` under the profile's preset and reports, per device: wall seconds,
msad, armse, the device the estimate says it ran on, the abundance simplex residual,
and (ws-net) the Mamba backend chosen. It also checks that ``device='auto'`` resolves
to CUDA, that two CUDA fits with the same seed agree (deterministic kernels), and that
``hubench run --device cuda`` stores ok rows. Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

import hubench
from hubench.deep.device import resolve_device

DEEP = ("daeu", "cnnaeu", "deq-unmix", "ws-net", "smile")


def fit(name: str, profile: str, device: str, scene: hubench.Scene) -> dict:
    method = hubench.get_method(name, profile=profile, device=device, random_state=0)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    estimate = method.fit(scene.observation())
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    scores = hubench.score(scene, estimate)
    A = np.asarray(estimate.A)
    row = {
        "method": name, "device": device, "seconds": round(seconds, 3),
        "msad": float(scores["msad"]), "armse": float(scores["armse"]),
        "finite": bool(np.isfinite(A).all() and np.isfinite(estimate.E).all()),
        "simplex_residual": float(max(np.abs(A.sum(axis=1) - 1).max(), max(0.0, -A.min()))),
        "info_device": str(estimate.info.get("device")),
        "mamba_backend": estimate.info.get("mamba_backend"),
        "epochs": estimate.info.get("epochs"),
        "training_converged": estimate.info.get("training_converged"),
    }
    if device.startswith("cuda"):
        row["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return row, estimate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--methods", default=",".join(DEEP))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    failures: list[str] = []
    report: dict = {
        "torch": torch.__version__, "cuda": torch.version.cuda,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "profile": args.profile, "rows": [],
    }
    if not torch.cuda.is_available():
        print("no CUDA GPU visible: nothing to check", file=sys.stderr)
        return 1
    if resolve_device("auto").type != "cuda":
        failures.append("device='auto' did not resolve to CUDA")
    scene = hubench.make_scene("standard", seed=0, snr_db=20, profile=args.profile)
    for name in args.methods.split(","):
        for device in ("cpu", "cuda"):
            try:
                row, estimate = fit(name, args.profile, device, scene)
            except Exception as exc:  # report every method, not only the first failure
                failures.append(f"{name} on {device}: {type(exc).__name__}: {exc}")
                print(failures[-1], flush=True)
                continue
            if device == "cuda":
                _again, estimate2 = fit(name, args.profile, device, scene)
                row["repeat_max_abs_diff"] = float(np.abs(estimate.A - estimate2.A).max())
                if "cuda" not in row["info_device"]:
                    failures.append(f"{name}: estimate says it ran on {row['info_device']}")
            if not row["finite"] or row["simplex_residual"] > 1e-4:
                failures.append(f"{name} on {device}: non-finite or off-simplex abundances")
            report["rows"].append(row)
            print(json.dumps(row), flush=True)
    # The harness path: a run with --device cuda (one fit, then an ensemble of 2) stores
    # ok rows; hubench unmix on cuda writes its outputs.
    with tempfile.TemporaryDirectory() as tmp:
        store = os.path.join(tmp, "gpu.db")
        base = [sys.executable, "-m", "hubench", "run", "--methods", "daeu,ws-net,deq-unmix",
                "--scenarios", "standard", "--snr", "20", "--seeds", "0", "--profile", "ci",
                "--device", "cuda", "--store", store, "--no-progress"]
        image = os.path.join(tmp, "img.npz")
        np.savez(image, Y=scene.Y.reshape(*scene.image_shape, -1))
        for name, cmd in (("run", base), ("run --ensemble 2", [*base, "--ensemble", "2"]),
                          ("unmix", [sys.executable, "-m", "hubench", "unmix", image, "--method",
                                     "daeu", "--n-endmembers", str(scene.n_endmembers),
                                     "--profile", "ci", "--device", "cuda",
                                     "--out", os.path.join(tmp, "out.npz")])):
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
            report[f"{name}_rc"] = proc.returncode
            report[f"{name}_tail"] = (proc.stdout + proc.stderr)[-1500:]
            print(f"--- {name} (exit {proc.returncode})\n" + report[f"{name}_tail"], flush=True)
            if proc.returncode != 0:
                failures.append(f"hubench {name} --device cuda exited {proc.returncode}")
    report["failures"] = failures
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=1, default=str)
    for failure in failures:
        print("FAIL:", failure)
    print("gpu check:", "ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
