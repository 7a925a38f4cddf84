"""SMILE with and without super-resolution guidance, against DAEU and VCA+FCLS.

Not a pytest benchmark: a script whose printed Markdown table goes into docs/smile.md.
Run (one thread): ``python benchmarks/smile_compare.py [--seeds 0 1 2] [--snr 10 30]``.
Scene seed and ``random_state`` are the same number; means over seeds.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

import hubench

CONFIGS: list[tuple[str, str, dict[str, object]]] = [
    ("vca+fcls", "vca+fcls", {}),
    ("smile (sr_weight=1)", "smile", {"profile": "quick", "device": "cpu"}),
    ("smile (sr_weight=0)", "smile", {"profile": "quick", "device": "cpu", "sr_weight": 0.0}),
    ("daeu", "daeu", {"profile": "quick", "device": "cpu"}),
]
METRICS = ("armse", "msad", "weak_recall", "weak_ap")


def _mean(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    return f"{sum(finite) / len(finite):.3f}" if finite else "-"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--snr", type=float, nargs="+", default=[10.0, 30.0])
    parser.add_argument("--scenarios", nargs="+", default=["standard", "weak", "spatial"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| scenario | SNR dB | method | " + " | ".join(METRICS) + " | fit s |")
    print("|:--|--:|:--|" + "--:|" * (len(METRICS) + 1))
    for scenario in args.scenarios:
        for snr in args.snr:
            for label, name, params in CONFIGS:
                rows: dict[str, list[float]] = {m: [] for m in (*METRICS, "seconds")}
                for seed in args.seeds:
                    scene = hubench.make_scene(scenario, seed=seed, snr_db=snr)
                    overrides = dict(params)
                    profile = overrides.pop("profile", None)
                    method = hubench.get_method(name, profile=profile, random_state=seed, **overrides)
                    start = time.perf_counter()
                    estimate = method.fit(scene.observation())
                    rows["seconds"].append(time.perf_counter() - start)
                    scores = hubench.score(scene, estimate)
                    for metric in METRICS:
                        rows[metric].append(float(scores[metric]))
                cells = [_mean(v) for v in rows.values()]
                print(f"| {scenario} | {snr:g} | {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
