"""SMILE with and without super-resolution guidance, against DAEU and VCA+FCLS.

Not a pytest benchmark: a script whose printed Markdown table goes into docs/dev/smile.md.
Run (one thread): ``python benchmarks/smile_compare.py [--seeds 0 1 2] [--snr 10 30]``.
Scene seed and ``random_state`` are the same number; means over seeds.
"""

from __future__ import annotations

import argparse

import torch
from compare_util import fit_over_seeds

CONFIGS: list[tuple[str, str, dict[str, object]]] = [
    ("vca+fcls", "vca+fcls", {}),
    ("smile (sr_weight=1)", "smile", {"profile": "quick", "device": "cpu"}),
    ("smile (sr_weight=0)", "smile", {"profile": "quick", "device": "cpu", "sr_weight": 0.0}),
    ("daeu", "daeu", {"profile": "quick", "device": "cpu"}),
]
METRICS = ("armse", "msad", "weak_recall", "weak_ap")


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
                cells = fit_over_seeds(scenario, args.seeds, name, params, METRICS, snr_db=snr)
                print(f"| {scenario} | {snr:g} | {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
