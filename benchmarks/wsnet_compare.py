"""WS-Net vs DAEU vs VCA+FCLS, and WS-Net's ablations, on `weak` and `rare` at 10 dB.

Not a pytest benchmark: a script whose printed Markdown table goes into docs/dev/ws-net.md.
Run: ``python benchmarks/wsnet_compare.py [--seeds 0 1] [--size 30]`` (one thread).
"""

from __future__ import annotations

import argparse

import torch
from compare_util import fit_over_seeds

CONFIGS: list[tuple[str, str, dict[str, object]]] = [
    ("vca+fcls", "vca+fcls", {}),
    ("daeu (quick)", "daeu", {"profile": "quick", "device": "cpu"}),
    ("ws-net (quick)", "ws-net", {"profile": "quick", "device": "cpu"}),
    ("  use_wavelet=False", "ws-net", {"profile": "quick", "device": "cpu", "use_wavelet": False}),
    ("  use_mamba=False", "ws-net", {"profile": "quick", "device": "cpu", "use_mamba": False}),
    ("  use_attention=False", "ws-net", {"profile": "quick", "device": "cpu", "use_attention": False}),
    ("  use_gate=False", "ws-net", {"profile": "quick", "device": "cpu", "use_gate": False}),
    ("  kl_weight=0", "ws-net", {"profile": "quick", "device": "cpu", "kl_weight": 0.0}),
    ("  ls_prior=False", "ws-net", {"profile": "quick", "device": "cpu", "ls_prior": False}),
]
METRICS = ("weak_recall", "weak_ap", "armse", "weak_armse", "msad")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--size", type=int, default=30)
    parser.add_argument("--snr", type=float, default=10.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print("| scenario | method | " + " | ".join(METRICS) + " | fit s |")
    print("|---|---|" + "---|" * (len(METRICS) + 1))
    for scenario in ("weak", "rare"):
        for label, name, params in CONFIGS:
            cells = fit_over_seeds(scenario, args.seeds, name, params, METRICS, snr_db=args.snr,
                                   image_shape=(args.size, args.size))
            print(f"| {scenario} | {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
