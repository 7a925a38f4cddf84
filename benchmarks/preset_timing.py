"""Fit time and recovery of the deep methods' presets on one thread (a script, not a test).

For every method and profile asked for, fit the ``standard`` scenario (scene seed 0;
``quick`` and ``full`` presets on the ``quick`` scene, 50 x 50 pixels, 99 bands,
5 endmembers; the ``ci`` preset on the ``ci`` scene, 16 x 16 x 60) noise-free and at
20 dB, with ``device="cpu"`` and ``random_state=0``, in one process with one torch
thread and one BLAS thread (as a harness worker runs with ``--jobs 2`` on 2 cores).
Each method is fitted once first to warm it up (lazy imports, first-call costs that a
worker pays once), then ``--repeats`` times on the noise-free scene.

Printed as a Markdown table: the minimum wall time of the repeats (the machine is
shared, so the minimum is the least disturbed figure) and the process CPU time of that
fit (less sensitive to other jobs), epochs run, and msad / armse noise-free and at
20 dB; with the load average before and after.

Usage::

    python benchmarks/preset_timing.py --methods daeu,cnnaeu --profiles quick,ci --repeats 3
"""

from __future__ import annotations

import os

# One BLAS thread, set before numpy loads OpenBLAS (it reads these at load time): on a
# loaded 2-core machine a second BLAS thread made a 2500 x 99 SVD 150x slower.
for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_name] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

import hubench  # noqa: E402

SCENE_PROFILE = {"ci": "ci", "quick": "quick", "full": "quick"}


def fit_and_score(
    method: str, profile: str, snr_db: float, repeats: int
) -> tuple[float, float, dict[str, float], int]:
    """Minimum wall seconds over ``repeats`` fits, that fit's CPU seconds, scores, epochs."""
    scene = hubench.make_scene("standard", seed=0, profile=SCENE_PROFILE[profile], snr_db=snr_db)
    observation = scene.observation()
    best = (float("inf"), float("inf"))
    estimate = None
    for _ in range(repeats):
        model = hubench.get_method(method, profile=profile, device="cpu", random_state=0)
        wall, cpu = time.perf_counter(), time.process_time()
        estimate = model.fit(observation)
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
    assert estimate is not None
    scores = hubench.score(scene, estimate)
    return best[0], best[1], scores, int(estimate.info.get("epochs", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--methods", default="daeu,cnnaeu,deq-unmix,smile,ws-net")
    parser.add_argument("--profiles", default="quick,ci")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    rows = []
    for method in args.methods.split(","):
        for profile in args.profiles.split(","):
            fit_and_score(method, profile, float("inf"), 1)  # warm-up
            wall, cpu, clean, epochs = fit_and_score(method, profile, float("inf"), args.repeats)
            _, _, noisy, _ = fit_and_score(method, profile, 20.0, 1)
            scene = "16x16x60" if SCENE_PROFILE[profile] == "ci" else "50x50x99"
            rows.append(
                f"| {method} | {profile} | {scene} | {wall:.2f} | {cpu:.2f} | {epochs} | {clean['msad']:.3f} "
                f"| {clean['armse']:.3f} | {noisy['msad']:.3f} | {noisy['armse']:.3f} |"
            )
            print(rows[-1], flush=True)
    load_after = os.getloadavg()
    print()
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, 1 torch + 1 BLAS thread; "
        f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after"
    )
    print()
    print("| method | preset | scene | fit s (min wall) | CPU s | epochs | msad clean | armse clean "
          "| msad 20 dB | armse 20 dB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
